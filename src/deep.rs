//! `cubec validate --deep`: the member matrix check.
//!
//! Input: a valid model and dialects. Output: a [`DeepReport`]. Every public measure is compiled
//! alone, with every dimension of its own cube and of the cubes its cube joins directly, and
//! with every granularity (built-in and custom) of each of those time dimensions, for every
//! dialect; each statement must parse with the dialect's sqlparser grammar. Combinations with no
//! join path are counted, not failed. One hop, not the whole reachable graph: in a chain of
//! 1,000 joined cubes every cube reaches every other, and the full matrix would be billions of
//! statements; the one-hop matrix covers every join once from each side.

use crate::diag::{Code, Diagnostic};
use crate::resolve::{Cube, CubeKind, DimensionType, Model};
use crate::sql::{Dialect, RenderOptions};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GRANULARITIES: &[&str] = &["second", "minute", "hour", "day", "week", "month", "quarter", "year"];

/// One combination that did not compile or whose SQL does not parse.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeepFailure {
    pub dialect: String,
    pub members: Vec<String>,
    pub message: String,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct DeepReport {
    /// Queries tried (each for every dialect).
    pub queries: usize,
    /// Statements compiled and parsed.
    pub statements: usize,
    /// Combinations without a join path between the members (not failures).
    pub unreachable: usize,
    pub failures: Vec<DeepFailure>,
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The queries of the matrix, each with the members it names.
pub fn matrix(model: &Model) -> Vec<(Value, Vec<String>)> {
    let mut out = Vec::new();
    for (cube_id, cube) in model.cubes.iter().enumerate().filter(|(_, c)| c.public) {
        let mut neighbours: Vec<&Cube> = vec![cube];
        if cube.kind == CubeKind::Cube {
            neighbours.extend(cube.joins.iter().map(|j| model.cube(j.target)).filter(|c| c.name != cube.name));
        }
        for (mi, m) in cube.measures.iter().enumerate().filter(|(_, m)| m.public) {
            let measure = format!("{}.{}", cube.name, m.name);
            // A time-shifted measure is only asked for with its time dimension (else Q019).
            let (source_cube, source_measure) = match &m.proxy {
                Some(p) => (
                    p.cube,
                    match p.member {
                        crate::resolve::MemberRef::Measure(i) => i,
                        _ => mi,
                    },
                ),
                None => (cube_id, mi),
            };
            let shifted = crate::plan::stages::shifted_time_dimension(model, source_cube, source_measure)
                .and_then(|(c, d)| time_member(model, cube, c, d));
            let with_shift = |mut q: Value, has_time: bool| {
                if let (Some(td), false) = (&shifted, has_time) {
                    q["timeDimensions"] = json!([{"dimension": td, "dateRange": ["2024-01-01", "2024-03-31"]}]);
                }
                q
            };
            out.push((with_shift(json!({ "measures": [measure] }), false), vec![measure.clone()]));
            for other in &neighbours {
                for d in other.dimensions.iter().filter(|d| d.public) {
                    let dim = format!("{}.{}", other.name, d.name);
                    if d.type_ == DimensionType::Time {
                        let custom = d.granularities.iter().map(|g| g.name.as_str());
                        // Another time dimension than the shifted one: the shifted one joins it.
                        let other_time = shifted.as_ref().is_some_and(|s| *s != dim);
                        for g in GRANULARITIES.iter().copied().chain(custom) {
                            // A day of seconds, a quarter of days: rolling windows need a bounded series.
                            let to =
                                if matches!(g, "second" | "minute" | "hour") { "2024-01-01" } else { "2024-03-31" };
                            let mut q = json!({
                                "measures": [measure],
                                "timeDimensions": [{"dimension": dim, "granularity": g, "dateRange": ["2024-01-01", to]}]
                            });
                            if let (true, Some(td), Some(list)) =
                                (other_time, &shifted, q["timeDimensions"].as_array_mut())
                            {
                                list.push(json!({"dimension": td, "dateRange": ["2024-01-01", "2024-03-31"]}));
                            }
                            out.push((q, vec![measure.clone(), format!("{dim}.{g}")]));
                        }
                    } else {
                        let q = with_shift(json!({ "measures": [measure], "dimensions": [dim] }), false);
                        out.push((q, vec![measure.clone(), dim]));
                    }
                }
            }
        }
    }
    out
}

/// The name under which `cube` (a cube or a view) exposes time dimension `d` of cube `c`.
fn time_member(model: &Model, cube: &Cube, c: crate::resolve::CubeId, d: usize) -> Option<String> {
    if cube.kind == CubeKind::Cube {
        return Some(format!("{}.{}", model.cube(c).name, model.cube(c).dimensions[d].name));
    }
    let dim = cube.dimensions.iter().find(|x| {
        x.proxy.as_ref().is_some_and(|p| p.cube == c && p.member == crate::resolve::MemberRef::Dimension(d))
    })?;
    Some(format!("{}.{}", cube.name, dim.name))
}

/// Runs the queries of [`matrix`] on every core (rayon's pool); `progress` counts finished
/// queries.
pub fn check(
    model: &Model,
    queries: &[(Value, Vec<String>)],
    dialects: &[Arc<Dialect>],
    progress: &AtomicUsize,
) -> DeepReport {
    let started = Instant::now();
    let opts = crate::query::QueryOptions {
        now: chrono::DateTime::parse_from_rfc3339("2024-03-13T15:30:00Z")
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now()),
        // A model check compiles every member as the model's author, whoever may query it.
        access: crate::query::AccessOptions::off(),
        ..crate::query::QueryOptions::default()
    };
    // Each rayon worker folds the queries it takes into its own report; the reports are then
    // summed. Work stealing keeps both cores busy when some queries compile slower than others.
    let check_one = |mut local: DeepReport, (q, members): &(Value, Vec<String>)| {
        for d in dialects {
            match crate::compile(model, q, d, &opts, RenderOptions::default()) {
                Ok(c) => {
                    local.statements += 1;
                    if let Err(e) = crate::sql::check_parses(d, &c.sql) {
                        local.failures.push(DeepFailure {
                            dialect: d.name.clone(),
                            members: members.clone(),
                            message: format!("the SQL does not parse: {e}"),
                        });
                    }
                }
                Err(diags) if diags.iter().all(|x| x.code == Code::QueryJoinPath) => local.unreachable += 1,
                Err(diags) => local.failures.push(DeepFailure {
                    dialect: d.name.clone(),
                    members: members.clone(),
                    message: messages(&diags),
                }),
            }
        }
        progress.fetch_add(1, Ordering::Relaxed);
        local
    };
    let sum = |mut a: DeepReport, b: DeepReport| {
        a.statements += b.statements;
        a.unreachable += b.unreachable;
        a.failures.extend(b.failures);
        a
    };
    let mut report = queries.par_iter().fold(DeepReport::default, check_one).reduce(DeepReport::default, sum);
    report.queries = queries.len();
    report.failures.sort_by(|a, b| (&a.members, &a.dialect).cmp(&(&b.members, &b.dialect)));
    report.elapsed = started.elapsed();
    report
}

fn messages(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code.as_str(), d.message))
        .collect::<Vec<_>>()
        .join("; ")
}
