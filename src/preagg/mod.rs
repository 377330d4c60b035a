//! Pre-aggregations: rollups built, refreshed and routed to, and never a different answer.
//!
//! Input: the resolved model's `pre_aggregations`, a parsed query (after access control), and
//! what the stores hold. Output: the query compiled over a rollup's tables when (and only
//! when) the rollup gives the source's rows, with the reason every other rollup could not; and
//! builds that fill a store partition by partition.
//!
//! - [`layout`]: what a rollup stores (its grain, its leaves) and the serving cube that reads
//!   it back; the building model with the helper members build queries need.
//! - [`matcher`]: the pure routing function, with a reason for every miss.
//! - [`rewrite`]: a routed query compiled over the serving cube by the ordinary stages;
//!   [`route`] chooses and compiles, [`available`] is what the stores hold.
//! - [`build`]: build queries, partitions, table names.
//! - [`store`]: the two stores (the source database, `external: false`; cubec's embedded
//!   DuckDB, `external: true`), the manifest in each, and builds that switch a partition in one
//!   step only after it is checked.
//! - [`refresh`]: which partitions are out of date (refresh keys, `incremental`,
//!   `update_window`), and the refresh worker.

pub mod available;
pub mod build;
pub mod layout;
pub mod matcher;
pub mod refresh;
pub mod rewrite;
pub mod route;
pub mod store;

use crate::resolve::{Model, PreAggregation};
use crate::sql::{Dialect, Dialects};
use layout::Layout;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A rollup (its layout's index), a time zone and a security context (as JSON text).
type StructureKey = (usize, String, String);

/// Cube's schema for pre-aggregation tables (`CUBEJS_PRE_AGGREGATIONS_SCHEMA`); `dev_` in dev
/// mode.
pub fn default_schema(dev: bool) -> &'static str {
    if dev {
        "dev_pre_aggregations"
    } else {
        "prod_pre_aggregations"
    }
}

/// Everything derived from one model for pre-aggregations, built once per model load.
pub struct Catalog {
    pub layouts: Vec<Layout>,
    /// The model with the helper members build queries ask for.
    pub building: Model,
    /// The source's dialect and the embedded store's (DuckDB).
    pub source_dialect: Arc<Dialect>,
    pub embedded_dialect: Arc<Dialect>,
    /// Structure hashes by (layout, time zone, security context).
    structures: Mutex<HashMap<StructureKey, Result<String, String>>>,
}

impl Catalog {
    /// `None` when the model has no pre-aggregations (most queries then skip routing at once).
    pub fn new(model: &Model, dialects: &Dialects, source_dialect: &str) -> Option<Catalog> {
        if model.cubes.iter().all(|c| c.pre_aggregations.is_empty()) {
            return None;
        }
        let source = dialects.get(source_dialect).ok()?;
        let embedded = dialects.get("duckdb").unwrap_or_else(|_| Arc::clone(&source));
        let building = layout::building_model(model);
        let dialect_of = |p: &PreAggregation| if p.external { Arc::clone(&embedded) } else { Arc::clone(&source) };
        let layouts = layout::layouts(model, &building, &dialect_of);
        Some(Catalog {
            layouts,
            building,
            source_dialect: source,
            embedded_dialect: embedded,
            structures: Mutex::new(HashMap::new()),
        })
    }

    pub fn definition<'m>(&self, model: &'m Model, layout: usize) -> &'m PreAggregation {
        let at = self.layouts[layout].at;
        &model.cube(at.cube).pre_aggregations[at.index]
    }

    /// The dialect of the store `layout` lives in.
    pub fn store_dialect(&self, model: &Model, layout: usize) -> &Arc<Dialect> {
        if self.definition(model, layout).external {
            &self.embedded_dialect
        } else {
            &self.source_dialect
        }
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.layouts.iter().position(|l| l.id == id)
    }

    /// The structure hash of a rollup for a time zone and security context: a hash of its build
    /// SQL (without partition bounds) for the source dialect and of the store, so that a
    /// change of the model, the zone or (where the cube's SQL reads it) the context gives new
    /// tables instead of serving old ones.
    pub fn structure(&self, layout: usize, timezone: &str, context: &serde_json::Value) -> Result<String, String> {
        let key = (layout, timezone.to_string(), context.to_string());
        if let Some(known) = self.structures.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return known.clone();
        }
        let l = &self.layouts[layout];
        let json = build::build_query(&self.building, l, timezone, None);
        let out = build::compile(&self.building, &json, &self.source_dialect, context, true)
            .map(|c| build::short_hash(&[&c.sql, &self.source_dialect.name, timezone, &l.id, "cubec-1"]))
            .map_err(|d| crate::diag::messages(&d, "; "));
        let mut known = self.structures.lock().unwrap_or_else(|p| p.into_inner());
        // Every caller's context is a key (tokens carry `iat` and `exp`): bounded, not a leak.
        if known.len() >= 4096 {
            known.clear();
        }
        known.insert(key, out.clone());
        out
    }

    /// The security context's part of a rollup's key in the manifest: `-` when the build SQL
    /// is the same as for an empty context (the cube's SQL does not read it), so every caller
    /// shares one build; else a hash of the context, so no caller reads another's rows.
    pub fn context_key(&self, layout: usize, timezone: &str, context: &serde_json::Value) -> String {
        let empty = serde_json::Value::Object(Default::default());
        if *context == empty || self.structure(layout, timezone, context) == self.structure(layout, timezone, &empty) {
            "-".to_string()
        } else {
            store::context_hash(context)
        }
    }
}
