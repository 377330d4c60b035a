//! Cube's Orchestration API, `POST /cubejs-api/v1/pre-aggregations/jobs`: a data pipeline asks
//! for rollups to be built (`{"action": "post", "selector": ...}`, answered with one token per
//! partition, time zone and security context, as Cube answers) and polls them (`{"action":
//! "get", "tokens": [...]}`) until each is `done` (or `failure: ...`). It needs the `jobs` API
//! scope, which Cube's default scopes leave out.
//!
//! Builds go through the same lease, check and switch as the refresh worker's, under a lease
//! owner of their own: a job and the worker never build one partition at once, and a partition
//! that is up to date is `done` without a build (Cube's jobs do not force either).

use super::api::ApiError;
use super::reload::Snapshot;
use super::AppState;
use crate::preagg::build::{self, Partition};
use crate::preagg::refresh::{self, PartitionState};
use crate::preagg::store::{self, Connections, Job, Store};
use crate::preagg::Catalog;
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Jobs are answered for a day after they were posted (Cube keeps them in its cache for
/// about as long); at most this many are kept.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
const MAX_JOBS: usize = 100_000;
/// How long a job waits for a partition another builder holds before it gives up.
const LEASE_WAIT: Duration = Duration::from_secs(600);

/// The jobs posted to this process.
#[derive(Default)]
pub struct Jobs {
    records: Mutex<HashMap<String, Record>>,
    posted: AtomicU64,
    /// Bounds the builds jobs run at once (the refresh worker's concurrency).
    builders: OnceLock<Arc<tokio::sync::Semaphore>>,
}

/// One token's job.
#[derive(Debug, Clone)]
struct Record {
    rollup: String,
    cube: String,
    data_source: String,
    context: Value,
    timezone: String,
    table: String,
    status: String,
    posted: Instant,
}

impl Jobs {
    fn set(&self, token: &str, status: &str, table: Option<&str>) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = records.get_mut(token) {
            r.status = status.to_string();
            if let Some(t) = table {
                r.table = t.to_string();
            }
        }
    }

    fn insert(&self, token: String, record: Record) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() >= MAX_JOBS {
            records.retain(|_, r| r.posted.elapsed() < KEEP_FOR);
        }
        if records.len() >= MAX_JOBS {
            if let Some(oldest) = records.iter().min_by_key(|(_, r)| r.posted).map(|(t, _)| t.clone()) {
                records.remove(&oldest);
            }
        }
        records.insert(token, record);
    }

    fn get(&self, token: &str) -> Option<Record> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.get(token).filter(|r| r.posted.elapsed() < KEEP_FOR).cloned()
    }

    /// A new token: 32 hexadecimal characters, as Cube's.
    fn token(&self, owner: &str, parts: &[&str]) -> String {
        use sha2::{Digest, Sha256};
        let n = self.posted.fetch_add(1, Ordering::Relaxed);
        let mut h = Sha256::new();
        h.update(owner.as_bytes());
        h.update(n.to_le_bytes());
        h.update(chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default().to_le_bytes());
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A request, checked.
enum Request {
    Post(Selector),
    Get { tokens: Vec<String>, as_object: bool },
}

struct Selector {
    /// Security contexts (the `securityContext` of each entry).
    contexts: Vec<Value>,
    timezones: Vec<String>,
    data_sources: Option<Vec<String>>,
    cubes: Option<Vec<String>>,
    pre_aggregations: Option<Vec<String>>,
    date_range: Option<(NaiveDateTime, NaiveDateTime)>,
}

fn invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::user(format!("Invalid Job query format: {why}"))
}

fn strings(v: Option<&Value>, key: &str, required: bool) -> Result<Option<Vec<String>>, ApiError> {
    match v {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(invalid(format!("\"{key}\" is required"))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(invalid(format!("every item of \"{key}\" must be a non-empty string, not {i}"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(invalid(format!("\"{key}\" must be an array of strings, not {other}"))),
    }
}

/// Reads the body as Cube's request schema describes it; the caller's own security context
/// serves a selector without `contexts` (Cube's older behaviour).
fn parse(body: &[u8], caller: &Value) -> Result<Request, ApiError> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}")))?
    };
    let body = match v {
        Value::Object(m) if !m.is_empty() => m,
        Value::Null | Value::Object(_) => return Err(ApiError::user("No job description provided")),
        other => return Err(invalid(format!("the body must be a JSON object, not {other}"))),
    };
    if let Some(k) = body.keys().find(|k| !["action", "selector", "tokens", "resType"].contains(&k.as_str())) {
        return Err(invalid(format!("\"{k}\" is not allowed")));
    }
    match body.get("action").and_then(Value::as_str) {
        Some("post") => {
            let Some(Value::Object(sel)) = body.get("selector") else {
                return Err(invalid("\"selector\" is required and must be an object"));
            };
            let allowed = ["contexts", "timezones", "dataSources", "cubes", "preAggregations", "dateRange"];
            if let Some(k) = sel.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(invalid(format!("\"selector.{k}\" is not allowed")));
            }
            let contexts = match sel.get("contexts") {
                None | Some(Value::Null) => vec![caller.clone()],
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|c| match c.get("securityContext") {
                        Some(ctx @ Value::Object(_)) => Ok(ctx.clone()),
                        _ => Err(ApiError::user(
                            "Every context element must contain the 'securityContext' property (an object).",
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => return Err(ApiError::user("A user's selector must contain at least one context element.")),
            };
            let timezones = strings(sel.get("timezones"), "selector.timezones", true)?.unwrap_or_default();
            if timezones.is_empty() {
                return Err(invalid("\"selector.timezones\" must contain at least one time zone"));
            }
            if let Some(tz) = timezones.iter().find(|tz| tz.parse::<chrono_tz::Tz>().is_err()) {
                return Err(invalid(format!("\"{tz}\" is not an IANA time zone (for example UTC or Europe/Paris)")));
            }
            let date_range = match strings(sel.get("dateRange"), "selector.dateRange", false)? {
                None => None,
                Some(r) if r.len() == 2 => {
                    let parse = |s: &str| {
                        crate::vocab::time::parse_local_datetime(s)
                            .ok_or_else(|| ApiError::user(format!("Cannot parse selector date range {}", r.join(","))))
                    };
                    Some((parse(&r[0])?, parse(&r[1])?))
                }
                Some(_) => return Err(invalid("\"selector.dateRange\" must hold a start and an end")),
            };
            Ok(Request::Post(Selector {
                contexts,
                timezones,
                data_sources: strings(sel.get("dataSources"), "selector.dataSources", false)?,
                cubes: strings(sel.get("cubes"), "selector.cubes", false)?,
                pre_aggregations: strings(sel.get("preAggregations"), "selector.preAggregations", false)?,
                date_range,
            }))
        }
        Some("get") => {
            let tokens = strings(body.get("tokens"), "tokens", true)?.unwrap_or_default();
            let as_object = match body.get("resType") {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) if s == "array" => false,
                Some(Value::String(s)) if s == "object" => true,
                Some(other) => return Err(invalid(format!("\"resType\" must be one of [object, array], not {other}"))),
            };
            Ok(Request::Get { tokens, as_object })
        }
        Some(other) => Err(invalid(format!("\"action\" must be one of [post, get], not \"{other}\""))),
        None => Err(invalid("\"action\" is required (post or get)")),
    }
}

/// The endpoint.
pub async fn jobs(
    state: &Arc<AppState>,
    snapshot: &Arc<Snapshot>,
    body: &[u8],
    caller: &Value,
) -> Result<Value, ApiError> {
    match parse(body, caller)? {
        Request::Get { tokens, as_object } => Ok(statuses(state, &tokens, as_object)),
        Request::Post(selector) => post(state, snapshot, selector).await,
    }
}

fn statuses(state: &AppState, tokens: &[String], as_object: bool) -> Value {
    let items: Vec<(String, Value)> = tokens
        .iter()
        .map(|token| {
            let item = match state.rollups.jobs.get(token) {
                None => json!({ "status": "not_found" }),
                Some(r) => json!({
                    "table": r.table,
                    "status": r.status,
                    "selector": {
                        "cubes": [r.cube],
                        "preAggregations": [r.rollup],
                        "contexts": [{ "securityContext": r.context }],
                        "timezones": [r.timezone],
                        "dataSources": [r.data_source],
                    },
                }),
            };
            (token.clone(), item)
        })
        .collect();
    if as_object {
        Value::Object(items.into_iter().collect::<Map<_, _>>())
    } else {
        Value::Array(
            items
                .into_iter()
                .map(|(token, mut item)| {
                    item["token"] = json!(token);
                    item
                })
                .collect(),
        )
    }
}

/// One rollup, time zone and security context: its partitions to build, by token.
struct Group {
    layout: usize,
    timezone: String,
    context: Value,
    structure: String,
    covers_all: bool,
    builds: Vec<(String, PartitionState)>,
}

async fn post(state: &Arc<AppState>, snapshot: &Arc<Snapshot>, selector: Selector) -> Result<Value, ApiError> {
    let no_match =
        || ApiError::user("A user's selector doesn't match any of the pre-aggregations defined in the data model.");
    let catalog = state.catalog(snapshot).ok_or_else(no_match)?;
    let model = &snapshot.checked.model;
    let chosen: Vec<usize> = (0..catalog.layouts.len())
        .filter(|&i| {
            let l = &catalog.layouts[i];
            let cube = model.cube(l.at.cube);
            selector.pre_aggregations.as_ref().is_none_or(|ids| ids.contains(&l.id))
                && selector.cubes.as_ref().is_none_or(|cs| cs.contains(&cube.name))
                && selector.data_sources.as_ref().is_none_or(|ds| ds.contains(&cube.data_source))
        })
        .collect();
    if chosen.is_empty() {
        return Err(no_match());
    }
    let this = Arc::clone(state);
    let (snap, cat) = (Arc::clone(snapshot), Arc::clone(&catalog));
    let (tokens, groups) = tokio::task::spawn_blocking(move || this.plan(&snap, &cat, &chosen, &selector))
        .await
        .map_err(|e| ApiError::internal(format!("planning the jobs failed: {e}")))?;
    for group in groups {
        let (this, snap, cat) = (Arc::clone(state), Arc::clone(snapshot), Arc::clone(&catalog));
        let builders = Arc::clone(
            state
                .rollups
                .jobs
                .builders
                .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(state.rollups.config.concurrency.max(1)))),
        );
        tokio::spawn(async move {
            let Ok(_permit) = builders.acquire_owned().await else { return };
            let worker = Arc::clone(&this);
            let built = tokio::task::spawn_blocking(move || worker.build_group(&snap, &cat, group)).await;
            // `done` once queries route to the new tables, so a pipeline that polls until
            // done and then queries reads the rollup.
            this.reload_available().await;
            for (token, table) in built.unwrap_or_default() {
                this.rollups.jobs.set(&token, "done", Some(&table));
            }
        });
    }
    Ok(json!(tokens))
}

impl AppState {
    /// The tokens of every selected partition (recorded as `done`, `scheduled`, `missing_partition`
    /// or `failure: ...`) and the groups with partitions to build.
    fn plan(
        &self,
        snapshot: &Snapshot,
        catalog: &Catalog,
        chosen: &[usize],
        selector: &Selector,
    ) -> (Vec<String>, Vec<Group>) {
        let model = &snapshot.checked.model;
        let jobs = &self.rollups.jobs;
        let owner = self.rollups.job_owner();
        let schema = &self.rollups.config.schema;
        let (mut tokens, mut groups) = (Vec::new(), Vec::new());
        for context in &selector.contexts {
            for tz in &selector.timezones {
                for &layout in chosen {
                    let l = &catalog.layouts[layout];
                    let cube = model.cube(l.at.cube);
                    let external = catalog.definition(model, layout).external;
                    let record = |table: String, status: String| Record {
                        rollup: l.id.clone(),
                        cube: cube.name.clone(),
                        data_source: cube.data_source.clone(),
                        context: context.clone(),
                        timezone: tz.clone(),
                        table,
                        status,
                        posted: Instant::now(),
                    };
                    let base = format!("{schema}.{}", build::base_name(l, model));
                    let planned = match &l.unsupported {
                        Some(why) => Err(crate::exec::ExecError(format!("cubec does not build this rollup: {why}"))),
                        None => {
                            let store = self.stores(catalog).of(external).clone();
                            self.with_build_connections(external, |conns| {
                                refresh::current_state(&store, conns, catalog, model, layout, tz, context)
                            })
                        }
                    };
                    let st = match planned {
                        Err(e) => {
                            let token = jobs.token(&owner, &[&l.id, tz, "failure"]);
                            jobs.insert(token.clone(), record(base, format!("failure: {}", e.0)));
                            tokens.push(token);
                            continue;
                        }
                        Ok(st) => st,
                    };
                    let selected: Vec<PartitionState> =
                        st.partitions.into_iter().filter(|p| overlaps(&p.partition, selector.date_range)).collect();
                    if selected.is_empty() {
                        // No data (or none in the date range): nothing to build, as Cube says.
                        let token = jobs.token(&owner, &[&l.id, tz, "missing"]);
                        jobs.insert(token.clone(), record(base, "missing_partition".into()));
                        tokens.push(token);
                        continue;
                    }
                    let mut builds = Vec::new();
                    for ps in selected {
                        let token = jobs.token(&owner, &[&l.id, tz, &ps.partition.key]);
                        let built = ps.entry.as_ref().and_then(|e| e.table.clone()).filter(|_| ps.stale.is_none());
                        match built {
                            Some(table) => {
                                jobs.insert(token.clone(), record(format!("{schema}.{table}"), "done".into()))
                            }
                            None => {
                                jobs.insert(token.clone(), record(base.clone(), "scheduled".into()));
                                builds.push((token.clone(), ps));
                            }
                        }
                        tokens.push(token);
                    }
                    if !builds.is_empty() {
                        groups.push(Group {
                            layout,
                            timezone: tz.clone(),
                            context: context.clone(),
                            structure: st.structure,
                            covers_all: st.covers_all,
                            builds,
                        });
                    }
                }
            }
        }
        (tokens, groups)
    }

    /// Builds a group's partitions one after another (blocking): failures are recorded at
    /// once, the tables built are returned by token.
    fn build_group(&self, snapshot: &Snapshot, catalog: &Catalog, group: Group) -> Vec<(String, String)> {
        let model = &snapshot.checked.model;
        let external = catalog.definition(model, group.layout).external;
        let store = self.stores(catalog).of(external).clone();
        let owner = self.rollups.job_owner();
        let schema = &self.rollups.config.schema;
        let jobs = &self.rollups.jobs;
        let mut done = Vec::new();
        let result = self.with_build_connections(external, |conns| {
            for (token, ps) in &group.builds {
                jobs.set(token, "processing", None);
                let job = Job {
                    catalog,
                    model,
                    layout: group.layout,
                    timezone: &group.timezone,
                    context: &group.context,
                    partition: &ps.partition,
                    structure: &group.structure,
                    key_value: &ps.key_value,
                    covers_all: group.covers_all,
                    owner: &owner,
                    lease: Duration::from_secs(600),
                    force: false,
                };
                let outcome = build_waiting(&store, conns, &job);
                refresh::log_outcome(&refresh::Outcome {
                    rollup: catalog.layouts[group.layout].id.clone(),
                    timezone: group.timezone.clone(),
                    partition: ps.partition.key.clone(),
                    result: outcome.clone().map(|(_, b)| b),
                });
                match outcome {
                    Ok((table, _)) => done.push((token.clone(), format!("{schema}.{table}"))),
                    Err(e) => jobs.set(token, &format!("failure: {e}"), None),
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            // No connection: every job of the group not yet done failed.
            for (token, _) in &group.builds {
                if jobs.get(token).is_some_and(|r| r.status == "scheduled" || r.status == "processing") {
                    jobs.set(token, &format!("failure: {}", e.0), None);
                }
            }
        }
        done
    }
}

/// Builds a partition; when another builder holds it, waits for that build (the job is done
/// when the partition is built under the same refresh key value) and tries again after it.
/// The serving table's name, and the build when this job made it.
fn build_waiting(store: &Store, conns: &mut Connections, job: &Job) -> Result<(String, Option<store::Built>), String> {
    let started = Instant::now();
    loop {
        if let Some(built) = store::build_partition(store, conns, job).map_err(|e| e.0)? {
            return Ok((built.table.clone(), Some(built)));
        }
        let db = match &mut conns.embedded {
            Some(e) => &mut **e,
            None => &mut *conns.source,
        };
        let key = job.key();
        let entry = store.manifest(db).map_err(|e| e.0)?.into_iter().find(|e| e.key == key);
        if let Some(table) = entry.as_ref().filter(|e| e.key_value == job.key_value).and_then(|e| e.table.clone()) {
            return Ok((table, None));
        }
        if started.elapsed() > LEASE_WAIT {
            return Err("another builder has held the partition for over ten minutes".into());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Whether a partition meets the selector's date range (every partition without one).
fn overlaps(p: &Partition, range: Option<(NaiveDateTime, NaiveDateTime)>) -> bool {
    match (p.range, range) {
        (Some((ps, pe)), Some((from, to))) => ps <= to && pe >= from,
        _ => true,
    }
}
