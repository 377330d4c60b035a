//! Reads a `refresh_key` mapping (of a cube or a pre-aggregation) into a [`RawRefreshKey`].

use super::keys::REFRESH_KEYS;
use super::obj::Obj;
use super::raw::RawRefreshKey;
use crate::diag::Diagnostic;
use crate::load::yaml::Node;

pub(super) fn read_refresh_key(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawRefreshKey> {
    let o = Obj::new(node, "refresh key", REFRESH_KEYS, diags)?;
    Some(RawRefreshKey {
        span: node.span,
        every: o.str("every", diags),
        sql: o.str("sql", diags),
        timezone: o.str("timezone", diags),
        immutable: o.bool("immutable", diags),
        incremental: o.bool("incremental", diags),
        update_window: o.str("update_window", diags),
    })
}
