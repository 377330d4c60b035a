//! BigQuery through its REST API v2 (jobs.insert, getQueryResults pages, jobs.cancel) over
//! [`super::http`].
//!
//! URL: `bigquery://PROJECT/DATASET?location=EU`, with
//! - credentials from `GOOGLE_APPLICATION_CREDENTIALS` or `key_file=FILE` (see [`auth`]);
//! - `endpoint=http://host:port` to reach another endpoint than `https://bigquery.googleapis.com`
//!   (a proxy, a private endpoint, an emulator); with an endpoint and no credentials, requests
//!   go unauthenticated, as emulators expect;
//! - `query_timeout` in seconds, `maximum_bytes_billed` as BigQuery's job setting.
//!
//! Parameters are bound as positional query parameters of type STRING (cubec's BigQuery SQL
//! casts each to the type it compares with), never pasted into the text. Each query is a job
//! with an id cubec chooses, so a retried request runs once and a cancel can name it at once.

pub mod auth;
pub mod values;

use super::http::{self, Http, Method, Reply};
use super::tables::{inserts, parse_type, Literals, Table};
use super::url::{self, WarehouseUrl};
use super::{ExecError, ResultSet};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use values::Field;

const KNOWN_PARAMS: &[&str] = &["location", "endpoint", "key_file", "query_timeout", "maximum_bytes_billed"];

/// Rows per result page asked for.
const PAGE_ROWS: u32 = 50_000;

#[derive(Debug)]
pub struct Settings {
    base: String,
    project: String,
    dataset: Option<String>,
    location: Option<String>,
    tokens: Option<auth::TokenSource>,
    query_timeout: Duration,
    maximum_bytes_billed: Option<String>,
}

impl Settings {
    pub fn parse(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ExecError> {
        let bad = |why: String| ExecError(format!("BigQuery URL `{}`: {why}", url::redact(url)));
        let u = WarehouseUrl::parse_known(url, "bigquery", KNOWN_PARAMS).map_err(bad)?;
        if u.host.is_empty() {
            return Err(bad("the project is missing: bigquery://PROJECT/DATASET".into()));
        }
        if u.path.len() > 1 {
            return Err(bad("the path is the DATASET alone; it has more parts".into()));
        }
        let endpoint = u.param("endpoint").map(|e| e.trim_end_matches('/').to_string());
        if let Some(e) = &endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(bad(format!("`endpoint={e}` must start with http:// or https://")));
            }
        }
        let key_file = u.param("key_file").map(str::to_string).or_else(|| env("GOOGLE_APPLICATION_CREDENTIALS"));
        let tokens = match key_file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| bad(format!("cannot read credentials `{path}`: {e}")))?;
                Some(auth::TokenSource::new(auth::Credentials::from_json(&text, &format!("`{path}`")).map_err(bad)?))
            }
            None if endpoint.is_some() => None,
            None => return Err(bad(
                "no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file (or key_file=...)"
                    .into(),
            )),
        };
        let query_timeout = u.seconds("query_timeout", 3600).map_err(bad)?;
        let maximum_bytes_billed = match u.param("maximum_bytes_billed") {
            Some(v) if v.parse::<u64>().is_err() => {
                return Err(bad(format!("`maximum_bytes_billed={v}` is not a byte count")))
            }
            other => other.map(str::to_string),
        };
        Ok(Settings {
            base: format!("{}/bigquery/v2", endpoint.as_deref().unwrap_or("https://bigquery.googleapis.com")),
            project: u.host.clone(),
            dataset: u.path.first().cloned(),
            location: u.param("location").map(str::to_string),
            tokens,
            query_timeout,
            maximum_bytes_billed,
        })
    }
}

/// The job a connection runs now, for a canceller on another thread.
#[derive(Default)]
pub struct Running {
    job: Mutex<Option<(String, Option<String>)>>,
    cancelled: AtomicBool,
    settings: Mutex<Option<Arc<Settings>>>,
}

pub struct BigQuery {
    settings: Arc<Settings>,
    http: Http,
    /// The dataset unqualified table names resolve to: the URL's, or a scratch dataset.
    dataset: Option<String>,
    /// A scratch dataset this connection made for test fixtures, dropped with it.
    scratch: Option<String>,
    running: Arc<Running>,
}

fn error_text(v: &Value) -> String {
    let e = if v["error"].is_object() { &v["error"] } else { v };
    let mut text = e["message"].as_str().unwrap_or("failed without a message").to_string();
    if e["code"].as_u64() == Some(409) {
        text.push_str(" (duplicate)");
        return text;
    }
    if let Some(reason) = e["errors"][0]["reason"].as_str().or(e["reason"].as_str()) {
        text.push_str(&format!(" ({reason})"));
    }
    text
}

impl BigQuery {
    pub fn connect(url: &str) -> Result<BigQuery, ExecError> {
        let settings = Settings::parse(url, &|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
        BigQuery::connect_with(Arc::new(settings))
    }

    /// No session to open: the first token is fetched now, so bad credentials fail here.
    pub fn connect_with(settings: Arc<Settings>) -> Result<BigQuery, ExecError> {
        let http = Http::new(Duration::from_secs(10), Duration::from_secs(120));
        if let Some(t) = &settings.tokens {
            t.token(&http)?;
        }
        let running = Arc::new(Running::default());
        if let Ok(mut s) = running.settings.lock() {
            *s = Some(Arc::clone(&settings));
        }
        Ok(BigQuery { dataset: settings.dataset.clone(), settings, http, scratch: None, running })
    }

    pub fn running(&self) -> Arc<Running> {
        Arc::clone(&self.running)
    }

    fn headers(&self) -> Result<Vec<(&'static str, String)>, ExecError> {
        let mut h = vec![("Accept", "application/json".to_string())];
        if let Some(t) = &self.settings.tokens {
            h.push(("Authorization", format!("Bearer {}", t.token(&self.http)?)));
        }
        Ok(h)
    }

    fn call(&self, method: Method<'_>, url: &str) -> Result<Value, ExecError> {
        let headers = self.headers()?;
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply: Reply = self.http.retrying(method, url, &refs)?;
        let v = if reply.body.is_empty() {
            Value::Null
        } else {
            reply.json().map_err(|e| ExecError(format!("BigQuery: {e}")))?
        };
        match reply.status {
            200..=299 => Ok(v),
            401 | 403 => Err(ExecError::unavailable(format!("BigQuery refused the credentials: {}", error_text(&v)))),
            500..=599 => Err(ExecError::unavailable(format!("BigQuery HTTP {}: {}", reply.status, error_text(&v)))),
            _ => Err(ExecError(format!("BigQuery rejected the query: {}", error_text(&v)))),
        }
    }

    /// Proves the service answers with these credentials (the pool's check): reads the
    /// project's datasets list head, which runs no job.
    pub fn ping(&mut self) -> Result<(), ExecError> {
        let url =
            format!("{}/projects/{}/datasets?maxResults=1", self.settings.base, url::encode(&self.settings.project));
        // Once and briefly: a failed check makes the pool open a new connection.
        let headers = self.headers()?;
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = self
            .http
            .send_within(Method::Get, &url, &refs, Some(http::PING_TIMEOUT))
            .map_err(|e| ExecError::unavailable(format!("BigQuery: {e}")))?;
        match reply.status {
            200..=299 => Ok(()),
            status => Err(ExecError::unavailable(format!("BigQuery answered the health check with HTTP {status}"))),
        }
    }

    pub fn query(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        self.running.cancelled.store(false, Ordering::SeqCst);
        let result = self.run(sql, params);
        if let Ok(mut j) = self.running.job.lock() {
            *j = None;
        }
        result
    }

    fn run(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        let s = Arc::clone(&self.settings);
        // The job id is ours: known before BigQuery answers (a canceller can name it at once),
        // and a retried insert of the same id runs the query once (409 on the repeat).
        let job = format!("cubec_{}", http::random_id().replace('-', ""));
        let mut config = json!({"query": sql, "useLegacySql": false});
        if !params.is_empty() {
            config["parameterMode"] = json!("POSITIONAL");
            config["queryParameters"] = params
                .iter()
                .map(|p| json!({"parameterType": {"type": "STRING"}, "parameterValue": {"value": p}}))
                .collect();
        }
        if let Some(d) = &self.dataset {
            config["defaultDataset"] = json!({"projectId": s.project, "datasetId": d});
        }
        if let Some(m) = &s.maximum_bytes_billed {
            config["maximumBytesBilled"] = json!(m);
        }
        let mut reference = json!({"projectId": s.project, "jobId": job});
        if let Some(l) = &s.location {
            reference["location"] = json!(l);
        }
        let body = json!({"jobReference": reference, "configuration": {"query": config}});
        if let Ok(mut j) = self.running.job.lock() {
            *j = Some((job.clone(), s.location.clone()));
        }
        let url = format!("{}/projects/{}/jobs", s.base, url::encode(&s.project));
        let inserted = match self.call(Method::Post(Some(&body)), &url) {
            Err(e) if e.0.contains("(duplicate)") => Value::Null,
            other => other?,
        };
        if let Some(err) = inserted["status"]["errorResult"].as_object() {
            return Err(ExecError(format!(
                "BigQuery rejected the query: {} [job {job}]",
                error_text(&Value::Object(err.clone()))
            )));
        }
        let location = inserted["jobReference"]["location"].as_str().map(str::to_string).or(s.location.clone());
        let deadline = Instant::now() + s.query_timeout;
        let results_url = |token: Option<&str>| -> String {
            let mut u = format!(
                "{}/projects/{}/queries/{}?timeoutMs=10000&maxResults={PAGE_ROWS}&formatOptions.useInt64Timestamp=true",
                s.base,
                url::encode(&s.project),
                url::encode(&job)
            );
            if let Some(l) = &location {
                u.push_str(&format!("&location={}", url::encode(l)));
            }
            if let Some(t) = token {
                u.push_str(&format!("&pageToken={}", url::encode(t)));
            }
            u
        };
        let with_job = |e: ExecError| if e.is_unavailable() { e } else { ExecError(format!("{} [job {job}]", e.0)) };
        let mut page = self.call(Method::Get, &results_url(None)).map_err(with_job)?;
        // Wait for the job (each request waits up to timeoutMs on BigQuery's side).
        while page["jobComplete"].as_bool() != Some(true) {
            self.check_cancel_and_deadline(deadline, &s)?;
            page = self.call(Method::Get, &results_url(None)).map_err(with_job)?;
        }
        if let Some(errors) = page["errors"].as_array().filter(|e| !e.is_empty()) {
            // A finished job that reports errors and gives no schema failed.
            if page["schema"]["fields"].as_array().is_none_or(|f| f.is_empty()) {
                return Err(ExecError(format!("BigQuery rejected the query: {} [job {job}]", error_text(&errors[0]))));
            }
        }
        let fields: Vec<Field> =
            page["schema"]["fields"].as_array().map(|f| f.iter().map(Field::from_schema).collect()).unwrap_or_default();
        let decode = |e: String| ExecError(format!("BigQuery result: {e}"));
        let mut rows = values::rows(&fields, &page["rows"]).map_err(decode)?;
        while let Some(token) = page["pageToken"].as_str().map(str::to_string) {
            self.check_cancel_and_deadline(deadline, &s)?;
            page = self.call(Method::Get, &results_url(Some(&token))).map_err(with_job)?;
            rows.extend(values::rows(&fields, &page["rows"]).map_err(decode)?);
        }
        Ok(ResultSet { columns: fields.into_iter().map(|f| f.name).collect(), rows })
    }

    fn check_cancel_and_deadline(&self, deadline: Instant, s: &Settings) -> Result<(), ExecError> {
        if self.running.cancelled.load(Ordering::SeqCst) {
            let _ = cancel(&self.running);
            return Err(ExecError("BigQuery: the query was cancelled".into()));
        }
        if Instant::now() >= deadline {
            let _ = cancel(&self.running);
            return Err(ExecError(format!(
                "BigQuery: the query ran past query_timeout ({} s)",
                s.query_timeout.as_secs()
            )));
        }
        Ok(())
    }

    /// Runs a script (BigQuery runs `;`-separated statements as one multi-statement job).
    pub fn execute(&mut self, sql: &str) -> Result<(), ExecError> {
        self.query(sql, &[]).map(|_| ())
    }

    /// Makes a dataset of this connection's own for test fixtures and points unqualified names
    /// at it, so fixtures never touch real tables; it is dropped with the connection.
    pub fn use_scratch_dataset(&mut self) -> Result<(), ExecError> {
        if self.scratch.is_some() {
            return Ok(());
        }
        let name = format!("cubec_scratch_{}", http::random_id().replace('-', ""));
        let mut body = json!({"datasetReference": {"projectId": self.settings.project, "datasetId": name},
            "defaultTableExpirationMs": "3600000",
            "labels": {"created_by": "cubec_test"}});
        if let Some(l) = &self.settings.location {
            body["location"] = json!(l);
        }
        let url = format!("{}/projects/{}/datasets", self.settings.base, url::encode(&self.settings.project));
        self.call(Method::Post(Some(&body)), &url)?;
        self.dataset = Some(name.clone());
        self.scratch = Some(name);
        Ok(())
    }

    /// Creates `dataset` unless it exists (looked up first: creating needs a permission that
    /// reading an existing dataset does not).
    fn ensure_dataset(&mut self, dataset: &str) -> Result<(), ExecError> {
        let s = Arc::clone(&self.settings);
        let url = format!("{}/projects/{}/datasets/{}", s.base, url::encode(&s.project), url::encode(dataset));
        match self.call(Method::Get, &url) {
            Ok(_) => return Ok(()),
            Err(e) if e.0.contains("(notFound)") => {}
            Err(e) => return Err(e),
        }
        let mut body = json!({"datasetReference": {"projectId": s.project, "datasetId": dataset}});
        if let Some(l) = &s.location {
            body["location"] = json!(l);
        }
        let url = format!("{}/projects/{}/datasets", s.base, url::encode(&s.project));
        self.call(Method::Post(Some(&body)), &url).map(|_| ())
    }

    /// Drops a table of this connection's scratch dataset (nothing else is ever dropped).
    pub fn drop_temporary_table(&mut self, name: &str) -> Result<(), ExecError> {
        let Some(scratch) = self.scratch.clone() else { return Ok(()) };
        self.execute(&format!("DROP TABLE IF EXISTS {}.{}", (LITERALS.quote)(&scratch), (LITERALS.quote)(name)))
    }

    /// Creates and fills `t`: in this connection's scratch dataset (`temporary`: test
    /// fixtures), or replacing the real table only once the new one is complete (built as a
    /// staging table first, so a failure leaves the old one). `schema.name` names a dataset.
    pub fn load_table(&mut self, t: &Table, temporary: bool) -> Result<(), ExecError> {
        if temporary {
            self.use_scratch_dataset()?;
        }
        let (schema, name) = t.schema_and_name();
        let q = LITERALS.quote;
        let dataset = match (schema, &self.dataset) {
            (Some(s), _) if !temporary => s.to_string(),
            (_, Some(d)) => d.clone(),
            (_, None) => {
                return Err(ExecError(format!(
                    "loading `{}` into BigQuery needs a dataset: bigquery://PROJECT/DATASET",
                    t.name
                )))
            }
        };
        if !temporary {
            self.ensure_dataset(&dataset)?;
        }
        let target = format!("{}.{}", q(&dataset), q(name));
        let defs: Vec<String> = t.columns.iter().map(|(c, ty)| format!("{} {}", q(c), column_type(ty))).collect();
        if temporary {
            self.execute(&format!("CREATE OR REPLACE TABLE {target} ({})", defs.join(", ")))?;
            return inserts(&target, &t.rows, &LITERALS).iter().try_for_each(|i| self.execute(i));
        }
        let staging = format!("{}.{}", q(&dataset), q(&format!("{name}__cubec_load")));
        let mut execute = |sql: &str| self.execute(sql);
        let inserts = super::tables::inserts(&staging, &t.rows, &LITERALS);
        super::tables::replace_through_staging(&mut execute, &target, &staging, &defs, &inserts)
    }
}

/// BigQuery's quoting: backticks; string literals escape with a backslash.
const LITERALS: Literals = Literals {
    quote: |s| format!("`{}`", s.replace('\\', "\\\\").replace('`', "\\`")),
    text: |s| {
        let escaped = s.replace('\\', "\\\\").replace('\'', "\\'").replace('\n', "\\n").replace('\r', "\\r");
        format!("'{escaped}'")
    },
    float: |f| if f.is_finite() { format!("{f:?}") } else { format!("CAST('{f}' AS FLOAT64)") },
    timestamp: |t| format!("'{t}'"),
};

/// A portable column type (see [`super::tables`]) as BigQuery's.
pub fn column_type(portable: &str) -> String {
    let (base, args) = parse_type(portable);
    match base.as_str() {
        "integer" | "bigint" | "smallint" | "int" => "INT64".into(),
        // NUMERIC holds 29 integer and 9 fractional digits; past that, BIGNUMERIC.
        "numeric" | "decimal" => match args.as_slice() {
            [p] if *p <= 29 => "NUMERIC".into(),
            [p, s] if *s <= 9 && p.saturating_sub(*s) <= 29 => "NUMERIC".into(),
            _ => "BIGNUMERIC".into(),
        },
        "boolean" => "BOOL".into(),
        "timestamp" | "timestamptz" => "TIMESTAMP".into(),
        "date" => "DATE".into(),
        "real" | "double precision" | "double" | "float" => "FLOAT64".into(),
        _ => "STRING".into(),
    }
}

impl Drop for BigQuery {
    fn drop(&mut self) {
        if let Some(name) = self.scratch.take() {
            let url = format!(
                "{}/projects/{}/datasets/{}?deleteContents=true",
                self.settings.base,
                url::encode(&self.settings.project),
                url::encode(&name)
            );
            let _ = self.call(Method::Delete, &url);
        }
    }
}

/// Cancels the job a connection runs now (jobs.cancel), from another thread; a job not yet
/// started is cancelled by its connection as soon as BigQuery names it.
pub fn cancel(running: &Running) -> Result<(), ExecError> {
    running.cancelled.store(true, Ordering::SeqCst);
    let job = running.job.lock().ok().and_then(|j| j.clone());
    let settings = running.settings.lock().ok().and_then(|s| s.clone());
    let (Some((id, location)), Some(s)) = (job, settings) else { return Ok(()) };
    let http = Http::new(Duration::from_secs(5), Duration::from_secs(10));
    let mut url = format!("{}/projects/{}/jobs/{}/cancel", s.base, url::encode(&s.project), url::encode(&id));
    if let Some(l) = location {
        url.push_str(&format!("?location={}", url::encode(&l)));
    }
    let mut headers = Vec::new();
    if let Some(t) = &s.tokens {
        headers.push(("Authorization".to_string(), format!("Bearer {}", t.token(&http)?)));
    }
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = http.retrying(Method::Post(None), &url, &refs)?;
    if reply.is_success() {
        Ok(())
    } else {
        Err(ExecError(format!("BigQuery could not cancel job {id}: HTTP {}", reply.status)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn urls_map_to_endpoints() {
        let s = Settings::parse("bigquery://proj/ds?endpoint=http://127.0.0.1:9050/&location=EU", &none).unwrap();
        assert_eq!(s.base, "http://127.0.0.1:9050/bigquery/v2");
        assert_eq!((s.project.as_str(), s.dataset.as_deref(), s.location.as_deref()), ("proj", Some("ds"), Some("EU")));
        assert!(s.tokens.is_none());
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = |u: &str| Settings::parse(u, &none).unwrap_err().0;
        assert!(err("bigquery://proj/ds").contains("no credentials"));
        assert!(err("bigquery:///ds?endpoint=http://x").contains("project is missing"));
        assert!(err("bigquery://p/a/b?endpoint=http://x").contains("DATASET alone"));
        assert!(err("bigquery://p/d?endpoint=x").contains("must start with http"));
        assert!(err("bigquery://p/d?endpoint=http://x&locaton=EU").contains("unknown parameter `locaton`"));
        assert!(err("bigquery://p/d?key_file=/nonexistent.json").contains("cannot read credentials"));
        assert!(err("bigquery://p/d?endpoint=http://x&query_timeout=-1").contains("seconds"));
    }

    /// What bqemulator never does: a job still running on the first poll, a second page, an
    /// error answered with HTTP 400, and jobs.cancel naming the running job.
    #[test]
    fn polls_pages_errors_and_cancel_against_a_stub() {
        use crate::exec::stub::{serve, Seen};
        let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = Arc::clone(&polls);
        let (base, log) = serve(Arc::new(move |r: &Seen| {
            let path = r.target.split('?').next().unwrap_or("").to_string();
            let fields = json!([{"name": "n", "type": "INTEGER"}, {"name": "at", "type": "TIMESTAMP"}]);
            if r.method == "POST" && path.ends_with("/jobs") {
                let body: Value = serde_json::from_str(&r.body).unwrap_or_default();
                if body["configuration"]["query"]["query"].as_str().unwrap_or("").contains("bad") {
                    return (
                        400,
                        json!({"error": {"code": 400, "message": "Unrecognized name: bad at [1:8]",
                        "errors": [{"reason": "invalidQuery"}]}})
                        .to_string(),
                    );
                }
                return (
                    200,
                    json!({"jobReference": body["jobReference"], "status": {"state": "RUNNING"}}).to_string(),
                );
            }
            if r.method == "GET" && path.contains("/queries/") {
                if r.target.contains("pageToken=p2") {
                    return (
                        200,
                        json!({"jobComplete": true, "schema": {"fields": fields},
                        "rows": [{"f": [{"v": "2"}, {"v": null}]}]})
                        .to_string(),
                    );
                }
                if p.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    return (200, json!({"jobComplete": false}).to_string());
                }
                return (
                    200,
                    json!({"jobComplete": true, "schema": {"fields": fields}, "pageToken": "p2",
                    "rows": [{"f": [{"v": "1"}, {"v": "1704164645678000"}]}]})
                    .to_string(),
                );
            }
            (200, "{}".into())
        }));
        let url = format!("bigquery://proj/ds?endpoint={base}&location=EU");
        let mut bq = BigQuery::connect_with(Arc::new(Settings::parse(&url, &none).unwrap())).unwrap();
        let rows = bq.query("SELECT n, at FROM t WHERE s = ?", &["x".into()]).unwrap();
        let cells: Vec<Vec<String>> = rows.rows.iter().map(|r| r.iter().map(|c| c.to_text()).collect()).collect();
        assert_eq!(cells, vec![vec!["1", "2024-01-02T03:04:05.678"], vec!["2", ""]]);
        let seen = log.lock().unwrap().clone();
        let insert: Value = serde_json::from_str(&seen[0].body).unwrap();
        let job = insert["jobReference"]["jobId"].as_str().unwrap().to_string();
        assert!(job.starts_with("cubec_"));
        assert_eq!(insert["jobReference"]["location"], "EU");
        assert_eq!(insert["configuration"]["query"]["queryParameters"][0]["parameterValue"]["value"], "x");
        assert_eq!(insert["configuration"]["query"]["defaultDataset"]["datasetId"], "ds");
        assert_eq!(
            seen.iter().filter(|r| r.target.contains(&format!("/queries/{job}"))).count(),
            3,
            "two polls, one page"
        );

        let err = bq.query("SELECT bad", &[]).unwrap_err();
        assert!(
            !err.is_unavailable() && err.0.contains("Unrecognized name: bad") && err.0.contains("invalidQuery"),
            "{err}"
        );

        *bq.running.job.lock().unwrap() = Some(("cubec_running".into(), Some("EU".into())));
        cancel(&bq.running).unwrap();
        let seen = log.lock().unwrap().clone();
        assert!(seen
            .iter()
            .any(|r| r.method == "POST"
                && r.target == "/bigquery/v2/projects/proj/jobs/cubec_running/cancel?location=EU"));
    }

    #[test]
    fn tables_in_bigquerys_words() {
        assert_eq!((LITERALS.text)("it's\\\n"), "'it\\'s\\\\\\n'");
        assert_eq!((LITERALS.quote)("a`b"), "`a\\`b`");
        assert_eq!(column_type("numeric(10,2)"), "NUMERIC");
        assert_eq!(column_type("numeric(38,10)"), "BIGNUMERIC");
        assert_eq!(column_type("double precision"), "FLOAT64");
        assert_eq!(column_type("timestamp"), "TIMESTAMP");
    }

    #[test]
    fn errors_keep_bigquerys_words() {
        let v =
            json!({"error": {"code": 400, "message": "Syntax error at [1:1]", "errors": [{"reason": "invalidQuery"}]}});
        assert_eq!(error_text(&v), "Syntax error at [1:1] (invalidQuery)");
    }
}
