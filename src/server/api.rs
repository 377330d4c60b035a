//! The `/cubejs-api/v1` endpoints: request parsing, compiling, running, and Cube's envelopes.
//!
//! Status codes: 400 for anything wrong with the query (including a `limit` over the maximum,
//! which Cube answers with 500) and for statements the database rejects, as Cube does; 403 for
//! auth and access denials; 413 for an oversized body; 503 while the database cannot be reached
//! or a connection is lost; 504 when a query passes the timeout (it is cancelled on the
//! database); 500 only for faults of cubec itself, logged with the request id.

use super::reload::Snapshot;
use super::AppState;
use crate::cache::pool::RunError;
use crate::cache::{CacheMode, LoadError};
use crate::diag::{Code, Diagnostic};
use crate::exec::shape;
use crate::preagg::matcher::Miss;
use crate::preagg::route::Used;
use crate::query::QueryOptions;
use crate::sql::{CompiledSql, RenderOptions};
use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// An error response: a status and Cube's `{"error": ...}` body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    /// Logged, never sent: what went wrong inside for a 500.
    pub internal: Option<String>,
}

impl ApiError {
    pub fn user(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "type": "UserError", "error": message.into() }),
            internal: None,
        }
    }

    fn diagnostics(diags: &[Diagnostic]) -> ApiError {
        // An access denial is the caller's lack of rights, not a malformed query: 403, with
        // only the denial's own message (nothing about other members).
        if let Some(d) = diags.iter().find(|d| d.code == Code::AccessDenied) {
            return ApiError {
                status: StatusCode::FORBIDDEN,
                body: json!({ "type": "AccessDenied", "error": d.message }),
                internal: None,
            };
        }
        let message = crate::diag::messages(diags, "\n");
        let list: Vec<Value> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| json!({ "code": d.code.as_str(), "message": d.message, "help": d.help }))
            .collect();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "type": "UserError", "error": message, "diagnostics": list }),
            internal: None,
        }
    }

    pub fn forbidden(message: &str) -> ApiError {
        ApiError { status: StatusCode::FORBIDDEN, body: json!({ "error": message }), internal: None }
    }

    pub fn internal(detail: String) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({ "error": "Internal error: see the server log for this request id" }),
            internal: Some(detail),
        }
    }

    fn from_run(e: RunError) -> ApiError {
        match e {
            RunError::Database(m) => {
                ApiError { status: StatusCode::BAD_REQUEST, body: json!({ "error": m }), internal: None }
            }
            RunError::Unavailable(m) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                body: json!({ "error": format!("the database is unavailable, try again: {m}") }),
                internal: None,
            },
            RunError::Timeout(t) => ApiError {
                status: StatusCode::GATEWAY_TIMEOUT,
                body: json!({ "error": format!("the query ran longer than {} s and was cancelled", t.as_secs_f64()) }),
                internal: None,
            },
            RunError::Internal(m) => ApiError::internal(m),
        }
    }
}

/// What the request log event reports beside status and time.
#[derive(Debug, Default)]
pub struct RequestStats {
    pub query_hash: Option<String>,
    pub rows: usize,
    /// Milliseconds spent getting rows (the cache, the queue and the database).
    pub db_ms: f64,
    /// How the cache answered: `hit`, `stale`, `miss` or `wait` (`Continue wait`); for several
    /// queries, the least cached of them.
    pub cache: Option<&'static str>,
}

/// What a request asks: the query (one, or a list) and its options.
pub struct ApiRequest {
    pub query: Value,
    pub multi: bool,
    /// `/v1/sql?dialect=...`: SQL for another warehouse than the one the server runs on.
    pub dialect: Option<String>,
    /// Cube's `cache` request parameter (`stale-if-slow` by default); a query's
    /// `renewQuery: true` makes it `no-cache`.
    pub cache: CacheMode,
    /// `format: "sql"` with a SQL statement as the query: plan it as the SQL API would.
    pub sql_text: Option<String>,
}

/// Reads `query` (and `queryType`, `dialect`) from the URL, or from a JSON body for POST.
pub fn read_request(uri: &Uri, body: &Bytes) -> Result<ApiRequest, ApiError> {
    let url: HashMap<String, String> = axum::extract::Query::try_from_uri(uri)
        .map(|q: axum::extract::Query<HashMap<String, String>>| q.0)
        .map_err(|e| ApiError::user(format!("the URL's query string is malformed: {e}")))?;
    let mut query = url.get("query").map(|q| Value::String(q.clone()));
    let mut query_type = url.get("queryType").cloned();
    let dialect = url.get("dialect").cloned();
    let mut cache = url.get("cache").map(|c| Value::String(c.clone()));
    let mut format = url.get("format").cloned();
    if !body.is_empty() {
        let body = body.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(body);
        let parsed: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::user(format!("the request body is not valid JSON: {e}")))?;
        let Value::Object(mut obj) = parsed else {
            return Err(ApiError::user("the request body must be a JSON object with a `query` field"));
        };
        if let Some(q) = obj.remove("query") {
            query = Some(q);
        }
        if let Some(Value::String(t)) = obj.remove("queryType") {
            query_type = Some(t);
        }
        if let Some(c) = obj.remove("cache") {
            cache = Some(c);
        }
        if let Some(Value::String(f)) = obj.remove("format") {
            format = Some(f);
        }
    }
    if format.as_deref() == Some("sql") {
        return match query {
            Some(Value::String(sql)) => Ok(ApiRequest {
                query: Value::Null,
                multi: false,
                dialect,
                cache: CacheMode::default(),
                sql_text: Some(sql),
            }),
            _ => Err(ApiError::user("with `format: \"sql\"` the query is a SQL statement, as a string")),
        };
    }
    let query = match query {
        None => return Err(ApiError::user("Query param is required")),
        Some(Value::String(text)) => {
            serde_json::from_str(&text).map_err(|e| ApiError::user(format!("the query is not valid JSON: {e}")))?
        }
        Some(v) => v,
    };
    let cache = match cache {
        None => CacheMode::default(),
        Some(Value::String(c)) => CacheMode::parse(&c).ok_or_else(|| {
            ApiError::user(format!(
                "`cache` must be stale-if-slow, stale-while-revalidate, must-revalidate or no-cache, got `{c}`"
            ))
        })?,
        Some(other) => return Err(ApiError::user(format!("`cache` must be a string, got {other}"))),
    };
    // `renewQuery: true` in the query (each query of a list) always goes to the database.
    let renew = |q: &Value| q.get("renewQuery") == Some(&Value::Bool(true));
    let renew = match &query {
        Value::Array(items) => items.iter().any(renew),
        one => renew(one),
    };
    let cache = if renew { CacheMode::NoCache } else { cache };
    Ok(ApiRequest { query, multi: query_type.as_deref() == Some("multi"), dialect, cache, sql_text: None })
}

/// The queries of a request and how Cube names the request's type. A list needs
/// `queryType=multi`, as in Cube, and so does a `compareDateRange` query, which becomes one
/// query per range.
fn queries(req: &ApiRequest) -> Result<(Vec<Value>, &'static str), ApiError> {
    match &req.query {
        Value::Array(items) if items.is_empty() => Err(ApiError::user("the query list is empty")),
        Value::Array(_) if !req.multi => {
            Err(ApiError::user("'blendingQuery' query type is not supported by the client.Please update the client."))
        }
        Value::Array(items) => {
            blending_granularity(items)?;
            Ok((items.clone(), BLENDING))
        }
        one => match crate::query::compare::split(one).map_err(|d| ApiError::diagnostics(&[d]))? {
            Some(_) if !req.multi => Err(ApiError::user(
                "'compareDateRangeQuery' query type is not supported by the client.Please update the client.",
            )),
            Some(parts) => Ok((parts, COMPARE)),
            None => Ok((vec![one.clone()], "regularQuery")),
        },
    }
}

const COMPARE: &str = "compareDateRangeQuery";
const BLENDING: &str = "blendingQuery";

/// The first time dimension's granularity of a query, if any.
fn first_granularity(q: &Value) -> Option<&str> {
    q.get("timeDimensions")?.get(0)?.get("granularity")?.as_str()
}

/// A list of queries is Cube's data blending: every query's first time dimension must have the
/// same granularity (the rows are put on one time axis).
fn blending_granularity(items: &[Value]) -> Result<String, ApiError> {
    let grans: Vec<Option<&str>> = items.iter().map(first_granularity).collect();
    match grans.first().copied().flatten() {
        None if grans.iter().all(Option::is_none) => {
            Err(ApiError::user("Data blending query without granularity is not supported"))
        }
        Some(g) if grans.iter().all(|x| *x == Some(g)) => Ok(g.to_string()),
        _ => Err(ApiError::user("Data blending query granularities must match")),
    }
}

/// Compiled queries of one request.
struct Compiled {
    kind: &'static str,
    parts: Vec<Part>,
}

/// One query of a request: normalized, compiled, routed.
struct Part {
    query: Value,
    sql: Arc<CompiledSql>,
    /// The range label a `compareDateRange` query's rows carry.
    label: Option<String>,
    used: Option<Used>,
    misses: Vec<Miss>,
}

pub fn options(state: &AppState, context: Value) -> QueryOptions {
    QueryOptions {
        max_limit: state.limits.max_limit,
        security_context: context,
        access: state.access.clone(),
        ..QueryOptions::default()
    }
}

/// `/v1/meta`: the shared body when no policy is in force, else the caller's own.
pub fn meta(state: &AppState, snapshot: &Snapshot, context: &Value) -> Result<Value, ApiError> {
    let model = &snapshot.checked.model;
    let caller = crate::access::Caller::new(model, context, &state.access).map_err(|d| ApiError::diagnostics(&[d]))?;
    if !caller.is_policed() {
        return Ok(snapshot.meta.clone());
    }
    Ok(super::meta::meta(model, Some(&caller)))
}

/// Compiles every query of the request for `dialect` (the database's unless asked otherwise),
/// each over the rollup that answers it when there is one (for the database's own dialect).
fn compile_all(state: &AppState, snapshot: &Snapshot, req: &ApiRequest, context: Value) -> Result<Compiled, ApiError> {
    let name = req.dialect.as_deref().unwrap_or(state.pool.dialect_name());
    let dialect = state.dialects.get(name).map_err(|d| ApiError::diagnostics(&[d]))?;
    let opts = options(state, context);
    let (list, kind) = queries(req)?;
    let model = &snapshot.checked.model;
    let catalog = if req.dialect.is_none() { state.catalog(snapshot) } else { None };
    let available = state.rollups.available();
    let rollups = catalog.as_deref().map(|catalog| crate::Rollups { catalog, available: &available });
    let mut parts = Vec::with_capacity(list.len());
    for q in &list {
        let compiled = crate::compile_routed(model, q, &dialect, &opts, RenderOptions::default(), rollups.as_ref())
            .map_err(|d| ApiError::diagnostics(&d))?;
        let label = if kind == COMPARE {
            Some(crate::query::compare::label(model, q, &opts).map_err(|d| ApiError::diagnostics(&d))?)
        } else {
            None
        };
        parts.push(Part {
            query: normalized(q, &opts),
            sql: Arc::new(compiled.sql),
            label,
            used: compiled.used,
            misses: compiled.misses,
        });
    }
    Ok(Compiled { kind, parts })
}

/// Rollup-only mode's answer to a query no rollup serves: 503 while a rollup that fits is not
/// built yet (the refresh worker's business), 400 when none fits (the query's).
fn rollup_only_error(misses: &[Miss]) -> ApiError {
    let refusal = crate::preagg::route::rollup_only_refusal(misses);
    if refusal.unbuilt {
        ApiError { status: StatusCode::SERVICE_UNAVAILABLE, body: json!({ "error": refusal.message }), internal: None }
    } else {
        ApiError::user(refusal.message)
    }
}

/// Cube's name for a rollup's tables: `schema.<cube>_<rollup>`.
fn rollup_table(state: &AppState, used: &Used) -> String {
    format!("{}.{}", state.rollups.config.schema, used.base_name)
}

/// A `usedPreAggregations` entry, keyed by [`rollup_table`].
fn used_entry(state: &AppState, used: &Used) -> (String, Value) {
    let schema = &state.rollups.config.schema;
    let tables: Vec<String> = used.tables.iter().map(|t| format!("{schema}.{t}")).collect();
    // One partition: its table; several: Cube's union of them.
    let target = match tables.as_slice() {
        [one] => one.clone(),
        many => {
            format!("({})", many.iter().map(|t| format!("SELECT * FROM {t}")).collect::<Vec<_>>().join(" UNION ALL "))
        }
    };
    let keys: Vec<Value> = used.key_values.iter().map(|k| json!([{ "refresh_key": k }])).collect();
    let updated = used.last_built.map(|t| t.and_utc().timestamp_millis());
    (
        rollup_table(state, used),
        json!({
            "targetTableName": target,
            "refreshKeyValues": keys,
            "lastUpdatedAt": updated,
            "preAggregationId": used.id,
            "type": "rollup",
        }),
    )
}

/// An entry of `/v1/sql`'s and `/v1/dry-run`'s `preAggregations` list.
fn pre_aggregation_entry(state: &AppState, used: &Used, timezone: &str) -> Value {
    json!({
        "preAggregationId": used.id,
        "tableName": rollup_table(state, used),
        "targetTableNames": used.tables.iter().map(|t| format!("{}.{t}", state.rollups.config.schema)).collect::<Vec<_>>(),
        "external": used.external,
        "type": "rollup",
        "timezone": timezone,
        "partitionGranularity": used.partition_granularity,
        "dataSource": "default",
    })
}

/// Cube's `pivotQuery`: the first normalized query; for a comparison, with `compareDateRange`
/// first among its dimensions.
fn pivot_of(compiled: &Compiled) -> Value {
    let mut p = compiled.parts.first().map(|p| pivot_query(&p.query)).unwrap_or(Value::Null);
    if compiled.kind == BLENDING {
        // The union of the queries' measures and dimensions on one `time` axis.
        let union = |key: &str| {
            let mut out: Vec<Value> = Vec::new();
            for part in &compiled.parts {
                for m in part.query.get(key).and_then(Value::as_array).into_iter().flatten() {
                    if !out.contains(m) {
                        out.push(m.clone());
                    }
                }
            }
            Value::Array(out)
        };
        let g = compiled.parts.first().and_then(|p| first_granularity(&p.query)).unwrap_or("day").to_string();
        if let Some(o) = p.as_object_mut() {
            o.insert("measures".into(), union("measures"));
            o.insert("dimensions".into(), union("dimensions"));
            o.insert("timeDimensions".into(), json!([{ "dimension": "time", "granularity": g }]));
            o.insert("queryType".into(), json!(BLENDING));
        }
        return p;
    }
    if compiled.kind == COMPARE {
        if let Some(o) = p.as_object_mut() {
            let mut dims = vec![json!("compareDateRange")];
            dims.extend(o.get("dimensions").and_then(Value::as_array).cloned().unwrap_or_default());
            o.insert("dimensions".into(), Value::Array(dims));
            o.insert("queryType".into(), json!(COMPARE));
        }
    }
    p
}

/// `/v1/load`: runs each query and answers with rows, annotation and (with `multi`) the
/// `results` list the JavaScript client expects.
pub async fn load(
    state: &AppState,
    snapshot: &Snapshot,
    req: ApiRequest,
    context: Value,
    request_id: &str,
    stats: &mut RequestStats,
) -> Result<Value, ApiError> {
    if req.dialect.is_some() {
        return Err(ApiError::user("`dialect` applies to /v1/sql only; /v1/load runs on the server's database"));
    }
    // One model for the whole request: a reload meanwhile does not split compile and annotation.
    let compiled = compile_all(state, snapshot, &req, context)?;
    if state.rollups.config.rollup_only {
        if let Some(part) = compiled.parts.iter().find(|p| p.used.is_none()) {
            return Err(rollup_only_error(&part.misses));
        }
    }
    // Every query of the request goes into the queue at once; a request whose queries are not
    // all done within the wait answers `Continue wait`, and those still running carry on.
    let db_started = std::time::Instant::now();
    let answers =
        futures::future::join_all(compiled.parts.iter().map(|part| {
            state.cache.load(Arc::clone(&part.sql), req.cache, state.limits.continue_wait, Some(request_id))
        }))
        .await;
    stats.db_ms += db_started.elapsed().as_secs_f64() * 1e3;
    let mut served = Vec::with_capacity(answers.len());
    for answer in answers {
        match answer {
            Ok(a) => served.push(a),
            Err(LoadError::ContinueWait) => {
                stats.cache = Some("wait");
                return Ok(json!({ "error": "Continue wait" }));
            }
            Err(LoadError::Run(e)) => return Err(ApiError::from_run(e)),
        }
    }
    let least_cached = served.iter().map(|a| a.served).max_by_key(|s| match s {
        crate::cache::Served::Hit => 0,
        crate::cache::Served::Stale => 1,
        crate::cache::Served::Miss => 2,
    });
    stats.cache = least_cached.map(crate::cache::Served::as_str);
    let mut results = Vec::with_capacity(compiled.parts.len());
    for (part, answer) in compiled.parts.iter().zip(&served) {
        let (query, sql, label) = (part.query.clone(), Arc::clone(&part.sql), &part.label);
        let (rows, total) = (&answer.fetched.rows, &answer.fetched.total);
        stats.rows += rows.rows.len();
        let mut data = shape::cube_rows(rows, &sql);
        if let Some(label) = label {
            for row in &mut data {
                row.insert("compareDateRange".into(), json!(label));
            }
        }
        // Blending: each row's time bucket also under `time.<granularity>`, the shared axis.
        if compiled.kind == BLENDING {
            let td = query.get("timeDimensions").and_then(|t| t.get(0));
            let dim = td.and_then(|t| t.get("dimension")).and_then(Value::as_str);
            if let (Some(dim), Some(g)) = (dim, first_granularity(&query)) {
                let source = format!("{dim}.{g}");
                for row in &mut data {
                    let v = row.get(&source).cloned().unwrap_or(Value::Null);
                    row.insert(format!("time.{g}"), v);
                }
            }
        }
        let compact = query.get("responseFormat").and_then(Value::as_str) == Some("compact");
        let data = if compact { compact_rows(&data, &sql, label.is_some()) } else { json!(data) };
        let total = total.as_ref().and_then(|t| t.rows.first().and_then(|r| r.first()).map(|c| c.to_cube_json()));
        let mut body = json!({
            "query": query,
            "data": data,
            "lastRefreshTime": super::utc_text(refreshed_at(answer.fetched.at, part.used.as_ref())),
            "annotation": shape::annotation(&snapshot.checked.model, &sql),
            "dataSource": "default",
            "dbType": state.pool.dialect_name(),
            "extDbType": "cubestore",
            "external": part.used.as_ref().is_some_and(|u| u.external),
            "slowQuery": answer.slow(),
            "total": total.map(|t| t.as_str().and_then(|s| s.parse::<u64>().ok()).map(Value::from).unwrap_or(t)),
        });
        // Cube shows the key values in dev mode only: a `sql` key is computed over every row of
        // the source, not the caller's.
        if state.dev {
            body["refreshKeyValues"] = json!(answer.key_values);
        }
        body["usedPreAggregations"] = Value::Object(part.used.iter().map(|u| used_entry(state, u)).collect());
        results.push(body);
    }
    if req.multi {
        let slow = served.iter().any(crate::cache::Answer::slow);
        Ok(
            json!({ "queryType": compiled.kind, "results": results, "pivotQuery": pivot_of(&compiled), "slowQuery": slow }),
        )
    } else {
        Ok(results.pop().unwrap_or(Value::Null))
    }
}

/// `/v1/sql` with `format: "sql"`: how the SQL API would answer a statement (Cube's
/// `query_type`: regular, post_processing or pushdown) and the SQL it would run.
pub fn sql4sql(state: &Arc<AppState>, req: ApiRequest, context: Value) -> Result<Value, ApiError> {
    let sql = req.sql_text.unwrap_or_default();
    if req.dialect.is_some() {
        return Err(ApiError::user("`dialect` does not apply with `format: \"sql\"`: the SQL is the server's"));
    }
    let planner = state
        .sql_planner
        .get()
        .ok_or_else(|| ApiError::user("this server plans no SQL API statements (`format: \"sql\"`)"))?;
    let planned = planner.plan(state, &sql, &context).map_err(|e| {
        if e.forbidden {
            ApiError::forbidden(&e.message)
        } else {
            ApiError::user(e.message)
        }
    })?;
    Ok(json!({ "sql": planned }))
}

/// `/v1/sql`: the SQL and parameters of each query, nothing run.
pub fn sql(state: &AppState, snapshot: &Snapshot, req: ApiRequest, context: Value) -> Result<Value, ApiError> {
    // `queryType=multi` is needed by /v1/load only: /v1/sql answers a comparison without it.
    let is_list = req.query.is_array();
    let multi = req.multi || !is_list;
    let compiled = compile_all(state, snapshot, &ApiRequest { multi, ..req }, context)?;
    // A list, and a comparison (one statement per range), answer with a list, as Cube does.
    let list = is_list || compiled.kind == COMPARE;
    let bodies: Vec<Value> = compiled
        .parts
        .iter()
        .map(|part| {
            let (query, c) = (&part.query, &part.sql);
            let mut s = Map::new();
            s.insert("sql".into(), json!([c.sql, c.params]));
            if let Some((alias, member)) = c.alias_to_member.iter().find(|(_, m)| m.matches('.').count() == 2) {
                s.insert("timeDimensionAlias".into(), json!(alias));
                s.insert("timeDimensionField".into(), json!(member.rsplit_once('.').map(|(b, _)| b).unwrap_or(member)));
            }
            s.insert("order".into(), order_object(query));
            s.insert("cacheKeyQueries".into(), json!([]));
            let timezone = query.get("timezone").and_then(Value::as_str).unwrap_or("UTC");
            let used: Vec<Value> = part.used.iter().map(|u| pre_aggregation_entry(state, u, timezone)).collect();
            s.insert("preAggregations".into(), Value::Array(used));
            s.insert("dataSource".into(), json!("default"));
            s.insert("aliasNameToMember".into(), json!(c.alias_to_member));
            s.insert("external".into(), json!(part.used.as_ref().is_some_and(|u| u.external)));
            s.insert("memberNames".into(), json!(c.alias_to_member.values().collect::<Vec<_>>()));
            if let Some(t) = &c.total {
                s.insert("totalQuery".into(), json!([t.sql, t.params]));
            }
            json!({ "sql": Value::Object(s) })
        })
        .collect();
    Ok(if list { Value::Array(bodies) } else { bodies.into_iter().next().unwrap_or(Value::Null) })
}

/// `/v1/dry-run`: the normalized queries, checked by compiling them, nothing run.
pub fn dry_run(state: &AppState, snapshot: &Snapshot, req: ApiRequest, context: Value) -> Result<Value, ApiError> {
    let compiled = compile_all(state, snapshot, &ApiRequest { multi: true, ..req }, context)?;
    let normalized: Vec<&Value> = compiled.parts.iter().map(|p| &p.query).collect();
    let mut used: Vec<Value> = Vec::new();
    for part in &compiled.parts {
        let timezone = part.query.get("timezone").and_then(Value::as_str).unwrap_or("UTC");
        if let Some(u) = &part.used {
            let entry = pre_aggregation_entry(state, u, timezone);
            if !used.contains(&entry) {
                used.push(entry);
            }
        }
    }
    let order: Vec<Value> = normalized.iter().map(|q| order_object(q)).collect();
    Ok(json!({
        "queryType": compiled.kind,
        "normalizedQueries": normalized,
        "queryOrder": order,
        "transformedQueries": normalized.iter().map(|_| Value::Null).collect::<Vec<_>>(),
        "pivotQuery": pivot_of(&compiled),
        "preAggregations": used,
    }))
}

/// When an answer's data was current: its fetch, or, from a rollup, the oldest build it read.
fn refreshed_at(fetched: std::time::SystemTime, used: Option<&Used>) -> std::time::SystemTime {
    match used.and_then(|u| u.last_built) {
        Some(built) => fetched.min(built.and_utc().into()),
        None => fetched,
    }
}

/// The query as Cube echoes it: member lists present, limit, timezone and order filled in.
fn normalized(input: &Value, opts: &QueryOptions) -> Value {
    let mut q = input.as_object().cloned().unwrap_or_default();
    for key in ["measures", "dimensions", "timeDimensions", "segments", "filters"] {
        q.entry(key).or_insert_with(|| json!([]));
    }
    let limit = q.get("limit").and_then(Value::as_u64).unwrap_or(crate::query::DEFAULT_LIMIT.min(opts.max_limit));
    q.insert("limit".into(), json!(limit));
    q.insert("rowLimit".into(), json!(limit));
    q.entry("timezone").or_insert_with(|| json!("UTC"));
    let order: Vec<Value> =
        order_pairs(input).into_iter().map(|(id, desc)| json!({ "id": id, "desc": desc })).collect();
    q.insert("order".into(), Value::Array(order));
    q.insert("queryType".into(), json!("regularQuery"));
    Value::Object(q)
}

/// `order` given as `{"m": "desc"}`, `[["m", "desc"]]` or (normalized) `[{"id", "desc"}]`.
fn order_pairs(query: &Value) -> Vec<(String, bool)> {
    match query.get("order") {
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), v.as_str() == Some("desc"))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::Array(p) => {
                    Some((p.first()?.as_str()?.to_string(), p.get(1).and_then(Value::as_str) == Some("desc")))
                }
                Value::Object(o) => Some((o.get("id")?.as_str()?.to_string(), o.get("desc") == Some(&json!(true)))),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn order_object(query: &Value) -> Value {
    let pairs = order_pairs(query);
    Value::Object(pairs.into_iter().map(|(id, desc)| (id, json!(if desc { "desc" } else { "asc" }))).collect())
}

fn pivot_query(normalized: &Value) -> Value {
    let mut p = normalized.clone();
    if let Some(o) = p.as_object_mut() {
        o.insert("queryType".into(), json!("regularQuery"));
    }
    p
}

/// `responseFormat: compact`: member names once, then rows as arrays (a comparison's range
/// label last).
fn compact_rows(rows: &[shape::CubeRow], sql: &CompiledSql, compared: bool) -> Value {
    let members: Vec<&String> = match rows.first() {
        Some(r) => r.keys().collect(),
        None => sql.alias_to_member.values().collect(),
    };
    let compare_key = "compareDateRange".to_string();
    let members: Vec<&String> = if compared && rows.is_empty() {
        members.into_iter().chain(std::iter::once(&compare_key)).collect()
    } else {
        members
    };
    let dataset: Vec<Vec<&Value>> = rows.iter().map(|r| r.values().collect()).collect();
    json!({ "members": members, "dataset": dataset })
}
