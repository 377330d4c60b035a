//! Databricks SQL warehouses through the SQL Statement Execution API (2.0):
//! `databricks://token:TOKEN@WORKSPACE-HOST/WAREHOUSE_ID?catalog=main&schema=analytics`
//! (the token may come from `DATABRICKS_TOKEN` instead).
//!
//! A statement is one POST with its named parameters (`:p1`) bound by the warehouse, waiting up to
//! 10 s for the answer; a longer one is polled until it ends, and a result larger than one chunk
//! is read chunk by chunk (INLINE, JSON_ARRAY: every value as text, typed here by the manifest's
//! column types). A running statement is cancelled through the API. The API is sessionless, so
//! fixtures made "temporary" go to a scratch schema of the connection's own that unqualified
//! names resolve to, dropped with the connection.

use super::http::{random_id, Http, Method, Reply};
use super::url::{encode, redact, WarehouseUrl};
use super::{Cell, ExecError, ResultSet};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KNOWN: &[&str] = &["catalog", "schema", "protocol", "port", "connect_timeout"];

/// Statements poll at most this long (the pool's query timeout cancels long before).
const STATEMENT_LIMIT: Duration = Duration::from_secs(6 * 3600);

pub struct Settings {
    /// `https://host` (or what `protocol`/`port` say).
    base: String,
    warehouse: String,
    catalog: Option<String>,
    schema: Option<String>,
    token: String,
    connect_timeout: Duration,
    shown: String,
}

impl Settings {
    pub fn parse(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ExecError> {
        let shown = redact(url);
        let bad = |e: String| ExecError(format!("cannot read the Databricks URL {shown}: {e}"));
        let u = WarehouseUrl::parse_known(url, "databricks", KNOWN).map_err(bad)?;
        if u.host.is_empty() || u.path.len() != 1 {
            return Err(bad("expected databricks://token:TOKEN@WORKSPACE-HOST/WAREHOUSE_ID".to_string()));
        }
        let protocol = match u.param("protocol").unwrap_or("https") {
            p @ ("https" | "http") => p,
            other => return Err(bad(format!("protocol `{other}` is not https or http"))),
        };
        let port = match u.param("port") {
            Some(p) => format!(":{}", p.parse::<u16>().map_err(|_| bad(format!("`{p}` is not a port")))?),
            None => String::new(),
        };
        let token =
            u.password.clone().filter(|t| !t.is_empty()).or_else(|| env("DATABRICKS_TOKEN")).ok_or_else(|| {
                bad("no access token: give it as the URL's password (token:TOKEN@) or in DATABRICKS_TOKEN".to_string())
            })?;
        Ok(Settings {
            base: format!("{protocol}://{}{port}", u.host),
            warehouse: u.path[0].clone(),
            catalog: u.param("catalog").map(str::to_string),
            schema: u.param("schema").map(str::to_string),
            token,
            connect_timeout: u.seconds("connect_timeout", 10).map_err(bad)?,
            shown,
        })
    }

    fn headers(&self) -> [(String, String); 1] {
        [("Authorization".to_string(), format!("Bearer {}", self.token))]
    }
}

/// The statement a connection is running, for [`cancel`] from another thread.
pub struct Running {
    settings: Arc<Settings>,
    statement: Mutex<Option<String>>,
    cancelled: AtomicBool,
}

pub struct Databricks {
    http: Http,
    settings: Arc<Settings>,
    running: Arc<Running>,
    /// The schema unqualified names resolve to: the URL's, or the scratch schema.
    schema: Option<String>,
    scratch: Option<String>,
}

impl Databricks {
    /// Checks the warehouse exists and the token is accepted; a failure is "unavailable".
    pub fn connect(url: &str) -> Result<Databricks, ExecError> {
        let settings = Arc::new(Settings::parse(url, &|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?);
        let http = Http::new(settings.connect_timeout, Duration::from_secs(120));
        let running = Arc::new(Running {
            settings: settings.clone(),
            statement: Mutex::new(None),
            cancelled: AtomicBool::new(false),
        });
        let mut db = Databricks { http, schema: settings.schema.clone(), settings, running, scratch: None };
        db.ping()?;
        Ok(db)
    }

    pub fn running(&self) -> Arc<Running> {
        self.running.clone()
    }

    /// The warehouse's state (a metadata read, no compute).
    pub fn ping(&mut self) -> Result<(), ExecError> {
        let url = format!("{}/api/2.0/sql/warehouses/{}", self.settings.base, encode(&self.settings.warehouse));
        let headers = self.settings.headers();
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = self
            .http
            .send_within(Method::Get, &url, &refs, Some(super::http::PING_TIMEOUT))
            .map_err(|e| ExecError::unavailable(format!("{}: {e}", self.settings.shown)))?;
        if reply.is_success() {
            Ok(())
        } else {
            Err(ExecError::unavailable(format!("{}: {}", self.settings.shown, api_error(&reply))))
        }
    }

    pub fn execute_batch(&mut self, sql: &str) -> Result<(), ExecError> {
        self.query(sql, &[]).map(|_| ())
    }

    pub fn query(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        self.running.cancelled.store(false, Ordering::SeqCst);
        let parameters: Vec<Value> =
            params.iter().enumerate().map(|(i, v)| json!({"name": format!("p{}", i + 1), "value": v})).collect();
        let mut body = json!({
            "statement": sql, "warehouse_id": self.settings.warehouse, "parameters": parameters,
            "wait_timeout": "10s", "on_wait_timeout": "CONTINUE", "disposition": "INLINE", "format": "JSON_ARRAY",
        });
        if let Some(c) = &self.settings.catalog {
            body["catalog"] = json!(c);
        }
        if let Some(s) = &self.schema {
            body["schema"] = json!(s);
        }
        let url = format!("{}/api/2.0/sql/statements", self.settings.base);
        let headers = self.settings.headers();
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = self
            .http
            .send(Method::Post(Some(&body)), &url, &refs)
            .map_err(|e| ExecError::unavailable(format!("{}: {e}", self.settings.shown)))?;
        let mut answer = self.answer(&reply)?;
        let id = answer["statement_id"].as_str().unwrap_or_default().to_string();
        if let Ok(mut s) = self.running.statement.lock() {
            *s = Some(id.clone());
        }
        // A cancel that came while the statement was being submitted had no id to cancel yet.
        if self.running.cancelled.load(Ordering::SeqCst) {
            cancel(&self.running)?;
        }
        let started = Instant::now();
        let mut wait = Duration::from_millis(50);
        let outcome = loop {
            match answer["status"]["state"].as_str().unwrap_or("") {
                "PENDING" | "RUNNING" if started.elapsed() < STATEMENT_LIMIT => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(1));
                    let poll = format!("{url}/{}", encode(&id));
                    answer = self.answer(&self.http.retrying(Method::Get, &poll, &refs)?)?;
                }
                "SUCCEEDED" => break self.rows(&answer, &refs),
                "CANCELED" | "CLOSED" => break Err(ExecError("Databricks: the query was cancelled".to_string())),
                "FAILED" => {
                    let e = &answer["status"]["error"];
                    break Err(ExecError(format!(
                        "Databricks could not run the query: {} ({})",
                        e["message"].as_str().unwrap_or("no message"),
                        e["error_code"].as_str().unwrap_or("no code")
                    )));
                }
                other => break Err(ExecError(format!("Databricks: statement {id} in state `{other}`"))),
            }
        };
        if let Ok(mut s) = self.running.statement.lock() {
            *s = None;
        }
        outcome
    }

    /// A reply's JSON, or the API's error: bad credentials and an overloaded or unreachable
    /// service are "unavailable", a malformed request is the query's.
    fn answer(&self, reply: &Reply) -> Result<Value, ExecError> {
        if !reply.is_success() {
            let message = format!("{}: {}", self.settings.shown, api_error(reply));
            return Err(if matches!(reply.status, 401 | 403 | 429 | 500..=599) {
                ExecError::unavailable(message)
            } else {
                ExecError(message)
            });
        }
        reply.json().map_err(|e| ExecError(format!("Databricks: {e}")))
    }

    /// The manifest's columns and every chunk's rows.
    fn rows(&self, answer: &Value, headers: &[(&str, &str)]) -> Result<ResultSet, ExecError> {
        let columns = answer["manifest"]["schema"]["columns"].as_array().cloned().unwrap_or_default();
        let names: Vec<String> = columns.iter().map(|c| c["name"].as_str().unwrap_or("").to_string()).collect();
        let types: Vec<String> =
            columns.iter().map(|c| c["type_name"].as_str().unwrap_or("STRING").to_string()).collect();
        let mut rows = Vec::new();
        let mut chunk = answer["result"].clone();
        loop {
            for row in chunk["data_array"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let values = row.as_array().map(Vec::as_slice).unwrap_or(&[]);
                let mut cells = Vec::with_capacity(types.len());
                for (i, ty) in types.iter().enumerate() {
                    cells.push(cell(values.get(i).unwrap_or(&Value::Null), ty, &names[i])?);
                }
                rows.push(cells);
            }
            let Some(link) = chunk["next_chunk_internal_link"].as_str() else { break };
            let url = format!("{}{link}", self.settings.base);
            chunk = self.answer(&self.http.retrying(Method::Get, &url, headers)?)?;
        }
        Ok(ResultSet { columns: names, rows })
    }

    /// Creates and fills `t`. Temporary: in this connection's scratch schema, which unqualified
    /// names then resolve to. Otherwise built under a staging name and put in place with
    /// `CREATE OR REPLACE TABLE ... AS SELECT` (one atomic step on Delta).
    pub fn load_table(&mut self, t: &super::tables::Table, temporary: bool) -> Result<(), ExecError> {
        let (schema, name) = t.schema_and_name();
        let defs: Vec<String> = t.columns.iter().map(|(c, ty)| format!("{} {}", quote(c), spark_type(ty))).collect();
        let schema = if temporary {
            if schema.is_some() {
                return Err(ExecError(format!("`{}`: a temporary table is named without its schema", t.name)));
            }
            if self.scratch.is_none() {
                let scratch = format!("cubec_scratch_{}", random_id().replace('-', "_"));
                self.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(&scratch)))?;
                self.scratch = Some(scratch.clone());
                self.schema = Some(scratch);
            }
            self.scratch.clone()
        } else {
            schema.map(str::to_string).or_else(|| self.schema.clone())
        };
        let qualified = |n: &str| match &schema {
            Some(s) => format!("{}.{}", quote(s), quote(n)),
            None => quote(n),
        };
        let (target, staging) = (qualified(name), qualified(&format!("{name}__cubec_staging")));
        let inserts = typed_inserts(&staging, t);
        super::tables::replace_through_staging(&mut |sql| self.execute_batch(sql), &target, &staging, &defs, &inserts)
    }

    pub fn drop_temporary_table(&mut self, name: &str) -> Result<(), ExecError> {
        match self.scratch.clone() {
            Some(s) => self.execute_batch(&format!("DROP TABLE IF EXISTS {}.{}", quote(&s), quote(name))),
            None => Ok(()),
        }
    }
}

impl Drop for Databricks {
    fn drop(&mut self) {
        if let Some(s) = self.scratch.take() {
            let _ = self.execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quote(&s)));
        }
    }
}

impl std::fmt::Debug for Databricks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Databricks({})", self.settings.shown)
    }
}

/// Cancels the statement `running` has in flight (nothing to do when there is none).
pub fn cancel(running: &Running) -> Result<(), ExecError> {
    running.cancelled.store(true, Ordering::SeqCst);
    let Some(id) = running.statement.lock().ok().and_then(|s| s.clone()) else { return Ok(()) };
    let s = &running.settings;
    let http = Http::new(s.connect_timeout, Duration::from_secs(10));
    let headers = s.headers();
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let url = format!("{}/api/2.0/sql/statements/{}/cancel", s.base, encode(&id));
    let reply = http.retrying(Method::Post(None), &url, &refs)?;
    if reply.is_success() {
        Ok(())
    } else {
        Err(ExecError(format!("Databricks could not cancel statement {id}: {}", api_error(&reply))))
    }
}

/// The API's `{"error_code", "message"}` as text.
fn api_error(reply: &Reply) -> String {
    match reply.json() {
        Ok(v) => format!(
            "HTTP {}: {} ({})",
            reply.status,
            v["message"].as_str().unwrap_or("no message"),
            v["error_code"].as_str().unwrap_or("no code")
        ),
        Err(e) => e,
    }
}

/// One JSON_ARRAY value (text or null) as a [`Cell`], read by the column's type name.
fn cell(v: &Value, ty: &str, column: &str) -> Result<Cell, ExecError> {
    let Some(text) = v.as_str() else {
        return Ok(if v.is_null() { Cell::Null } else { Cell::Text(v.to_string()) });
    };
    let bad = |what: &str| ExecError(format!("Databricks: column `{column}` ({ty}): cannot read {what} from `{text}`"));
    Ok(match ty {
        "BYTE" | "SHORT" | "INT" | "LONG" => Cell::Int(text.parse().map_err(|_| bad("an integer"))?),
        "FLOAT" | "DOUBLE" => Cell::Float(text.parse().map_err(|_| bad("a number"))?),
        "DECIMAL" => Cell::Decimal(
            text.parse::<rust_decimal::Decimal>().map(|d| d.normalize().to_string()).unwrap_or(text.into()),
        ),
        "BOOLEAN" => Cell::Bool(text == "true"),
        "DATE" | "TIMESTAMP" | "TIMESTAMP_NTZ" => {
            Cell::Timestamp(crate::vocab::time::parse_local_datetime(text).ok_or_else(|| bad("a time"))?)
        }
        _ => Cell::Text(text.to_string()),
    })
}

fn quote(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// Literals in Spark's SQL: backticks, backslash escapes in strings.
const LITERALS: super::tables::Literals = super::tables::Literals {
    quote,
    text: |s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
    float: |f| if f.is_finite() { format!("{f:?}D") } else { format!("CAST('{f}' AS DOUBLE)") },
    timestamp: |t| format!("TIMESTAMP'{t}'"),
};

/// `INSERT INTO target SELECT CAST(c1 AS type), ... FROM VALUES (...) AS v(c1, ...)`: Spark's
/// inserts take no text for a TIMESTAMP column (ANSI store assignment), so each value is cast to
/// its column's type.
fn typed_inserts(target: &str, t: &super::tables::Table) -> Vec<String> {
    let names: Vec<String> = (1..=t.columns.len()).map(|i| format!("c{i}")).collect();
    let casts: Vec<String> =
        t.columns.iter().zip(&names).map(|((_, ty), n)| format!("CAST({n} AS {})", spark_type(ty))).collect();
    t.rows
        .chunks(super::tables::BATCH)
        .map(|chunk| {
            let values: Vec<String> = chunk
                .iter()
                .map(|r| {
                    format!(
                        "({})",
                        r.iter().map(|c| super::tables::literal(c, &LITERALS)).collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            format!(
                "INSERT INTO {target} SELECT {} FROM VALUES {} AS v({})",
                casts.join(", "),
                values.join(",\n"),
                names.join(", ")
            )
        })
        .collect()
}

/// A portable column type (see [`super::tables`]) in Spark's words.
fn spark_type(t: &str) -> String {
    super::tables::engine_type(t, &SPARK_TYPES)
}

const SPARK_TYPES: super::tables::TypeWords = super::tables::TypeWords {
    text: "STRING",
    varchar: false,
    timestamp: "TIMESTAMP",
    decimal: "DECIMAL",
    bare_decimal: "38, 12",
    double: "DOUBLE",
    real: "FLOAT",
    integer: "INT",
    bigint: "BIGINT",
    smallint: "SMALLINT",
    boolean: "BOOLEAN",
    date: "DATE",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let none = |_: &str| None;
        let s =
            Settings::parse("databricks://token:dapi123@adb-1.azuredatabricks.net/abc?schema=sales", &none).unwrap();
        assert_eq!((s.base.as_str(), s.warehouse.as_str()), ("https://adb-1.azuredatabricks.net", "abc"));
        assert_eq!((s.schema.as_deref(), s.token.as_str()), (Some("sales"), "dapi123"));
        let env = |k: &str| (k == "DATABRICKS_TOKEN").then(|| "from-env".to_string());
        let s = Settings::parse("databricks://h/w?protocol=http&port=8080", &env).unwrap();
        assert_eq!((s.base.as_str(), s.token.as_str()), ("http://h:8080", "from-env"));
        let e = Settings::parse("databricks://token:dapi123@h", &none).err().unwrap();
        assert!(e.0.contains("WAREHOUSE_ID") && !e.0.contains("dapi123"), "{e}");
        assert!(Settings::parse("databricks://h/w", &none).is_err());
        assert!(Settings::parse("databricks://token:x@h/w?sceham=a", &none).is_err());
    }

    #[test]
    fn values_are_typed_by_column() {
        assert_eq!(cell(&json!("12"), "LONG", "c").unwrap(), Cell::Int(12));
        assert_eq!(cell(&json!("12.500"), "DECIMAL", "c").unwrap(), Cell::Decimal("12.5".into()));
        assert_eq!(cell(&json!("true"), "BOOLEAN", "c").unwrap(), Cell::Bool(true));
        assert_eq!(cell(&Value::Null, "LONG", "c").unwrap(), Cell::Null);
        assert!(matches!(cell(&json!("2024-01-02T03:04:05.678Z"), "TIMESTAMP", "c").unwrap(), Cell::Timestamp(_)));
        assert!(cell(&json!("x"), "INT", "c").is_err());
    }
}
