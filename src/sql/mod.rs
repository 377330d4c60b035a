//! Stage 5, render: [`Plan`] + [`Dialect`] to [`CompiledSql`].
//!
//! Input: a plan and a dialect. Output: the SQL text, its parameters in the dialect's order and
//! style, and the map from column aliases back to member names. Every dialect difference is a
//! template of the dialect file; this module only decides what to render, never how a warehouse
//! spells it.

mod calendar;
pub mod dialect;
mod fanout;
mod filters;
mod refresh;
mod render;
mod rolling;
mod stages;

use crate::diag::Diagnostic;
use crate::plan::Plan;
use crate::query::Query;
use crate::resolve::Model;
pub use dialect::{Dialect, Dialects};
use indexmap::IndexMap;
use serde::Serialize;

/// The result of compiling one query for one dialect.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct CompiledSql {
    pub sql: String,
    pub params: Vec<String>,
    #[serde(rename = "aliasNameToMember")]
    pub alias_to_member: IndexMap<String, String>,
    /// Things the user should know about this SQL (e.g. an exact count standing in for an
    /// approximate one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// With `total: true`, the query counting all rows (no order, limit or offset).
    #[serde(rename = "totalQuery", skip_serializing_if = "Option::is_none")]
    pub total: Option<TotalQuery>,
    /// The refresh keys of every cube the query reads: when a cached result of this SQL is out
    /// of date (see [`crate::cache`]).
    #[serde(skip)]
    pub refresh_keys: Vec<RefreshKeyQuery>,
    /// Where it runs: the source database, or cubec's embedded store of pre-aggregations.
    #[serde(skip)]
    pub runs_on: RunsOn,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RunsOn {
    #[default]
    Source,
    /// The embedded DuckDB of `external: true` rollups.
    Embedded,
}

/// One cube's refresh key, as the query cache checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshKeyQuery {
    pub cube: String,
    pub check: RefreshCheck,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RefreshCheck {
    /// Evaluated from the clock (no SQL runs): the bucket of the interval or cron schedule.
    Every(crate::resolve::Every),
    /// Run on the source; the rows it returns are the value, run again once `renewal` passed.
    Sql { sql: String, params: Vec<String>, renewal: std::time::Duration },
    /// `immutable: true`: never changes.
    Immutable,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TotalQuery {
    pub sql: String,
    pub params: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Parameters as escaped literals instead of placeholders.
    pub inline: bool,
}

/// Renders `plan` for `dialect`.
pub fn render(
    model: &Model,
    query: &Query,
    plan: &Plan,
    dialect: &Dialect,
    opts: RenderOptions,
) -> Result<CompiledSql, Vec<Diagnostic>> {
    let mut r = render::Renderer::new(model, query, dialect);
    let (text, warnings) = r.statement(plan).map_err(|d| vec![d])?;
    let total_text = if plan.total { Some(r.total_statement(plan).map_err(|d| vec![d])?) } else { None };
    let values = r.into_params();
    let (sql, params) = finish_params(&text, values.clone(), dialect, opts.inline);
    let total = total_text.map(|t| {
        let (sql, params) = finish_params(&t, values, dialect, opts.inline);
        TotalQuery { sql, params }
    });
    let alias_to_member = plan.columns.iter().map(|c| (c.alias.clone(), c.member.clone())).collect();
    let refresh_keys = refresh::keys(model, query, plan, dialect, opts).map_err(|d| vec![d])?;
    Ok(CompiledSql { sql, params, alias_to_member, warnings, total, refresh_keys, runs_on: RunsOn::Source })
}

/// Renders one model SQL snippet on its own (a pre-aggregation's build range, a refresh key),
/// with `query` (JSON) as the query it is rendered for: its security context is what
/// `SECURITY_CONTEXT` reads, bound as parameters.
pub fn render_sql(
    model: &Model,
    query: &serde_json::Value,
    template: &crate::resolve::SqlTemplate,
    dialect: &Dialect,
    security_context: &serde_json::Value,
) -> Result<(String, Vec<String>), Vec<Diagnostic>> {
    let opts = crate::query::QueryOptions {
        access: crate::query::AccessOptions::off(),
        security_context: security_context.clone(),
        ..Default::default()
    };
    let q = crate::query::parse_query(query, model, &opts)?;
    let mut r = render::Renderer::new(model, &q, dialect);
    let text = r.template(template, 0).map_err(|d| vec![d])?;
    Ok(finish_params(&text, r.into_params(), dialect, false))
}

/// Parameters are rendered as `\u{1}<n>\u{1}` tokens, in allocation order; here they become the
/// dialect's placeholders in textual order (`$1` numbered by first use, `?` once per use), or
/// escaped literals with `--inline`.
fn finish_params(text: &str, values: Vec<String>, dialect: &Dialect, inline: bool) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut params: Vec<String> = Vec::new();
    // Placeholder number of each allocated parameter, once used (a lookup per use, not a scan:
    // a query may carry many thousands of filter values).
    let mut numbered: Vec<Option<usize>> = vec![None; values.len()];
    let mut rest = text;
    while let Some(start) = rest.find(render::PARAM_MARK) {
        out.push_str(&rest[..start]);
        let after = &rest[start + render::PARAM_MARK.len_utf8()..];
        let Some(end) = after.find(render::PARAM_MARK) else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let index: usize = after[..end].parse().unwrap_or(0);
        let value = values.get(index).cloned().unwrap_or_default();
        if inline {
            out.push_str(&dialect.literal(&value));
        } else if dialect.numbered_params {
            let n = match numbered.get(index).copied().flatten() {
                Some(n) => n,
                None => {
                    params.push(value);
                    if let Some(slot) = numbered.get_mut(index) {
                        *slot = Some(params.len());
                    }
                    params.len()
                }
            };
            out.push_str(&dialect.placeholder(n));
        } else {
            params.push(value);
            out.push_str(&dialect.placeholder(params.len()));
        }
        rest = &after[end + render::PARAM_MARK.len_utf8()..];
    }
    out.push_str(rest);
    (out, params)
}

/// Parses `sql` with the sqlparser dialect the SQL dialect names (a check that the output is
/// well-formed for that warehouse's grammar, as far as sqlparser knows it).
pub fn check_parses(dialect: &Dialect, sql: &str) -> Result<(), String> {
    let parser_dialect = sqlparser::dialect::dialect_from_str(&dialect.sqlparser)
        .ok_or_else(|| format!("dialect `{}` names unknown sqlparser dialect `{}`", dialect.name, dialect.sqlparser))?;
    sqlparser::parser::Parser::parse_sql(parser_dialect.as_ref(), sql).map(|_| ()).map_err(|e| e.to_string())
}
