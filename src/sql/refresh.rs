//! The refresh keys of a compiled query (Cube's `cacheKeyQueries`): one per cube the plan reads,
//! from the cube's `refresh_key` or, without one, the dialect's default interval. A `sql` key
//! is rendered like any model SQL (`{CUBE}`, the security context bound as parameters); time
//! keys carry their schedule, which the query cache evaluates from the clock.

use super::dialect::Dialect;
use super::render::{Renderer, R};
use super::{finish_params, RefreshCheck, RefreshKeyQuery, RenderOptions};
use crate::plan::Plan;
use crate::query::Query;
use crate::resolve::{Every, Model};
use std::time::Duration;

/// The refresh keys of every cube `plan` reads.
pub(super) fn keys(
    model: &Model,
    query: &Query,
    plan: &Plan,
    dialect: &Dialect,
    opts: RenderOptions,
) -> R<Vec<RefreshKeyQuery>> {
    let default = Every::Interval(dialect.default_refresh_seconds);
    let mut out = Vec::new();
    for cube_id in plan.cubes_read() {
        let cube = model.cube(cube_id);
        let check = match &cube.refresh_key {
            None => RefreshCheck::Every(default.clone()),
            Some(rk) => match (&rk.sql, &rk.every) {
                (Some(sql), every) => {
                    let mut r = Renderer::new(model, query, dialect);
                    let text = r.template(sql, 0)?;
                    let (sql, params) = finish_params(&text, r.into_params(), dialect, opts.inline);
                    // `every` beside `sql` says how often the SQL is run again; without it, as
                    // often as the dialect's default key would change.
                    let renewal = every.as_ref().and_then(Every::seconds).unwrap_or(dialect.default_refresh_seconds);
                    RefreshCheck::Sql { sql, params, renewal: Duration::from_secs(renewal) }
                }
                (None, Some(every)) => RefreshCheck::Every(every.clone()),
                (None, None) if rk.immutable => RefreshCheck::Immutable,
                (None, None) => RefreshCheck::Every(default.clone()),
            },
        };
        out.push(RefreshKeyQuery { cube: cube.name.clone(), check });
    }
    Ok(out)
}
