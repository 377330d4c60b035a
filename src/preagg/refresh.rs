//! Which partitions of a rollup are out of date, and bringing them up to date.
//!
//! A rollup's partitions come from its build range (`build_range_start` / `_end`, else the
//! first and last time of its data) cut by `partition_granularity`. A partition is rebuilt when
//! it was never built, when it was built for another structure (a model change), or when its
//! refresh key moved: the rollup's own `refresh_key`, else its cube's, else every hour (Cube's
//! default), evaluated as the query cache evaluates keys. With `incremental: true`, a partition
//! that ended longer ago than `update_window` keeps the value it was built under, so only the
//! recent partitions are rebuilt.

use super::build::{self, Partition};
use super::layout::Grain;
use super::store::{self, Connections, Entry, Job, Store};
use super::Catalog;
use crate::exec::{Cell, Database, ExecError};
use crate::resolve::{Every, Model};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// A partition and what the manifest says of it.
#[derive(Debug, Clone)]
pub struct PartitionState {
    pub partition: Partition,
    pub entry: Option<Entry>,
    /// The refresh key's value now.
    pub key_value: String,
    /// Why it is to be built (`None`: up to date).
    pub stale: Option<String>,
}

/// A rollup's partitions for one time zone and security context.
#[derive(Debug, Clone)]
pub struct RollupState {
    pub layout: usize,
    pub structure: String,
    pub covers_all: bool,
    pub partitions: Vec<PartitionState>,
}

fn compile_error(d: Vec<crate::diag::Diagnostic>) -> ExecError {
    ExecError(crate::diag::messages(&d, "; "))
}

/// A timestamp cell as a UTC instant, shown in `timezone`.
fn local(c: &Cell, timezone: chrono_tz::Tz) -> Option<NaiveDateTime> {
    let utc = match c {
        Cell::Timestamp(t) => *t,
        Cell::Text(s) => crate::vocab::time::parse_local_datetime(s)?,
        _ => return None,
    };
    Some(utc.and_utc().with_timezone(&timezone).naive_local())
}

/// The local range the rollup is built for, and whether it is the data's own range.
pub fn build_range(
    catalog: &Catalog,
    model: &Model,
    layout: usize,
    timezone: &str,
    context: &Value,
    source: &mut Database,
) -> Result<(Option<(NaiveDateTime, NaiveDateTime)>, bool), ExecError> {
    let tz: chrono_tz::Tz = timezone.parse().map_err(|_| ExecError(format!("unknown time zone `{timezone}`")))?;
    let p = catalog.definition(model, layout);
    let l = &catalog.layouts[layout];
    if let (Some(start), Some(end)) = (&p.build_range_start, &p.build_range_end) {
        let json = build::build_query(&catalog.building, l, timezone, None);
        let mut bound = |t: &crate::resolve::SqlTemplate| -> Result<Option<NaiveDateTime>, ExecError> {
            let (sql, params) = crate::sql::render_sql(&catalog.building, &json, t, &catalog.source_dialect, context)
                .map_err(compile_error)?;
            let rs = source.run_sql(&sql, &params)?;
            Ok(rs.rows.first().and_then(|r| r.first()).and_then(|c| local(c, tz)))
        };
        return Ok((bound(start)?.zip(bound(end)?), false));
    }
    let Some(json) = build::data_range_query(&catalog.building, l, timezone) else {
        return Ok((None, true));
    };
    let sql =
        build::compile(&catalog.building, &json, &catalog.source_dialect, context, false).map_err(compile_error)?;
    let rs = source.run(&sql)?;
    let row = rs.rows.first();
    let min = row.and_then(|r| r.first()).and_then(|c| local(c, tz));
    let max = row.and_then(|r| r.get(1)).and_then(|c| local(c, tz));
    Ok((min.zip(max), true))
}

/// The refresh key's value for a partition now.
pub fn key_value(
    catalog: &Catalog,
    model: &Model,
    layout: usize,
    partition: &Partition,
    context: &Value,
    now: DateTime<Utc>,
    source: &mut Database,
) -> Result<String, ExecError> {
    let p = catalog.definition(model, layout);
    let l = &catalog.layouts[layout];
    let cube_key = model.cube(l.at.cube).refresh_key.as_ref();
    let key = p.refresh_key.as_ref().or(cube_key);
    if let (Some(k), Some((_, end))) = (p.refresh_key.as_ref(), partition.range) {
        if k.incremental {
            let window = chrono::Duration::seconds(k.update_window.unwrap_or(0) as i64);
            // Past its update window a partition keeps its value: it is never rebuilt again.
            if end + window < now.naive_utc() {
                return Ok("settled".into());
            }
        }
    }
    match key {
        Some(k) if k.immutable && k.every.is_none() && k.sql.is_none() => Ok("immutable".into()),
        Some(k) => match (&k.sql, &k.every) {
            (Some(sql), _) => {
                let json = build::build_query(&catalog.building, l, "UTC", None);
                let (sql, params) =
                    crate::sql::render_sql(&catalog.building, &json, sql, &catalog.source_dialect, context)
                        .map_err(compile_error)?;
                let rs = source.run_sql(&sql, &params)?;
                let rows: Vec<Vec<Value>> =
                    rs.rows.iter().map(|r| r.iter().map(Cell::to_cube_json).collect()).collect();
                Ok(serde_json::to_string(&rows).unwrap_or_default())
            }
            (None, Some(every)) => Ok(every.bucket(now)),
            (None, None) => Ok(Every::Interval(3600).bucket(now)),
        },
        None => Ok(Every::Interval(3600).bucket(now)),
    }
}

/// Every partition of a rollup for `timezone` and `context`, with the manifest's entries and
/// which are out of date.
pub fn state(
    catalog: &Catalog,
    model: &Model,
    layout: usize,
    timezone: &str,
    context: &Value,
    manifest: &[Entry],
    source: &mut Database,
) -> Result<RollupState, ExecError> {
    let structure = catalog.structure(layout, timezone, context).map_err(ExecError)?;
    let p = catalog.definition(model, layout);
    let l = &catalog.layouts[layout];
    let (range, covers_all) = build_range(catalog, model, layout, timezone, context, source)?;
    let partitioned = l.grain.iter().any(|g| matches!(g, Grain::Time { .. }));
    let parts = if partitioned && range.is_none() {
        Vec::new() // no rows yet: nothing to build
    } else {
        build::partitions(p.partition_granularity, range)
    };
    if parts.len() > 10_000 {
        return Err(ExecError(format!(
            "`{}` would build {} partitions; narrow build_range_start/build_range_end or partition more coarsely",
            l.id,
            parts.len()
        )));
    }
    let context_hash = catalog.context_key(layout, timezone, context);
    let now = Utc::now();
    let mut partitions = Vec::with_capacity(parts.len());
    for partition in parts {
        let entry = manifest
            .iter()
            .find(|e| {
                e.key.rollup == l.id
                    && e.key.structure == structure
                    && e.key.timezone == timezone
                    && e.key.context == context_hash
                    && e.key.partition == partition.key
            })
            .cloned();
        let key_value = key_value(catalog, model, layout, &partition, context, now, source)?;
        let stale = match &entry {
            None => Some("never built".to_string()),
            Some(e) if e.table.is_none() => Some("never built".to_string()),
            Some(e) if e.range != partition.range && partition.range.is_some() => Some("its range grew".to_string()),
            Some(e) if e.key_value != key_value && key_value != "settled" => Some("its refresh key moved".to_string()),
            Some(_) => None,
        };
        partitions.push(PartitionState { partition, entry, key_value, stale });
    }
    Ok(RollupState { layout, structure, covers_all, partitions })
}

/// [`state`] from the store's manifest as it is now (the manifest created if new).
pub fn current_state(
    store: &Store,
    conns: &mut Connections,
    catalog: &Catalog,
    model: &Model,
    layout: usize,
    timezone: &str,
    context: &Value,
) -> Result<RollupState, ExecError> {
    let manifest = {
        let db: &mut Database = match &mut conns.embedded {
            Some(e) => e,
            None => conns.source,
        };
        store.ensure(db)?;
        store.manifest(db)?
    };
    state(catalog, model, layout, timezone, context, &manifest, conns.source)
}

/// What a refresh did for one partition.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub rollup: String,
    pub timezone: String,
    pub partition: String,
    pub result: Result<Option<store::Built>, String>,
}

/// Builds the stale partitions (every partition with `force`) of one rollup.
#[allow(clippy::too_many_arguments)]
pub fn refresh_rollup(
    catalog: &Catalog,
    model: &Model,
    layout: usize,
    timezone: &str,
    context: &Value,
    store: &Store,
    conns: &mut Connections,
    owner: &str,
    force: bool,
    progress: &dyn Fn(&Outcome),
) -> Result<Vec<Outcome>, ExecError> {
    let st = current_state(store, conns, catalog, model, layout, timezone, context)?;
    let mut out = Vec::new();
    for ps in &st.partitions {
        if ps.stale.is_none() && !force {
            continue;
        }
        let job = Job {
            catalog,
            model,
            layout,
            timezone,
            context,
            partition: &ps.partition,
            structure: &st.structure,
            key_value: &ps.key_value,
            covers_all: st.covers_all,
            owner,
            lease: Duration::from_secs(600),
            force,
        };
        let result = store::build_partition(store, conns, &job).map_err(|e| e.0);
        let o = Outcome {
            rollup: catalog.layouts[layout].id.clone(),
            timezone: timezone.to_string(),
            partition: ps.partition.key.clone(),
            result,
        };
        progress(&o);
        out.push(o);
    }
    Ok(out)
}

/// The log event of one partition's build.
pub fn log_outcome(o: &Outcome) {
    match &o.result {
        Ok(Some(b)) => tracing::info!(
            rollup = o.rollup.as_str(),
            timezone = o.timezone.as_str(),
            partition = o.partition.as_str(),
            rows = b.rows,
            ms = b.millis as u64,
            table = b.table.as_str(),
            "pre-aggregation built"
        ),
        Ok(None) => tracing::info!(
            rollup = o.rollup.as_str(),
            partition = o.partition.as_str(),
            "pre-aggregation partition skipped: another builder holds it or has just built it"
        ),
        Err(e) => tracing::warn!(
            rollup = o.rollup.as_str(),
            timezone = o.timezone.as_str(),
            partition = o.partition.as_str(),
            error = e.as_str(),
            "pre-aggregation build failed; the previous table keeps serving"
        ),
    }
}
