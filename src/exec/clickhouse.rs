//! ClickHouse over its HTTP interface, as Cube's driver talks to it:
//! `clickhouse://user:password@host:8123/database` (`?secure=true` for HTTPS on 8443), or the
//! same as an `http://` / `https://` URL.
//!
//! Each statement is one POST: the SQL in the body, its parameters bound by the server
//! (`{p1:String}` in the text, `param_p1` in the URL, in ClickHouse's escaped form), and the
//! session's settings in the URL: UTC, `join_use_nulls` (as Cube's driver sets it) and quoted
//! 64-bit integers and decimals, so no number goes through a float. `wait_end_of_query` makes the
//! server finish before it answers, so an error arrives as an error status, never half a body.
//! A running query is stopped with `KILL QUERY` by its `query_id`, from a request of its own.

use super::http::{random_id, Http, Method, Reply};
use super::url::{encode, redact, WarehouseUrl};
use super::{Cell, ExecError, ResultSet};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KNOWN: &[&str] = &["secure", "connect_timeout"];

/// Longest a single request may take; the pool's query timeout cancels long before.
const REQUEST_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// Where and as whom to connect (no connection made).
pub struct Settings {
    /// `http(s)://host:port`, without credentials (they travel in headers).
    base: String,
    database: String,
    user: String,
    password: Option<String>,
    connect_timeout: Duration,
    shown: String,
}

impl Settings {
    pub fn parse(url: &str) -> Result<Settings, ExecError> {
        let shown = redact(url);
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("clickhouse");
        let bad = |e: String| ExecError(format!("cannot read the ClickHouse URL {shown}: {e}"));
        let u = WarehouseUrl::parse_known(url, scheme, KNOWN).map_err(bad)?;
        let secure = match (scheme, u.param("secure")) {
            ("https", _) => true,
            ("http", _) => false,
            (_, None) => false,
            (_, Some(v)) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(bad(format!("secure=`{v}` is not true or false"))),
            },
        };
        if u.host.is_empty() || u.host.contains(['/', '?', '#', ' ']) {
            return Err(bad("expected clickhouse://user:password@host:port/database".to_string()));
        }
        if u.path.len() > 1 {
            return Err(bad("expected one database after the host".to_string()));
        }
        let has_port = match u.host.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(':') && !p.contains(']') => {
                p.parse::<u16>().map_err(|_| bad(format!("`{p}` is not a port")))?;
                true
            }
            _ => false,
        };
        let port = if has_port {
            ""
        } else if secure {
            ":8443"
        } else {
            ":8123"
        };
        Ok(Settings {
            base: format!("{}://{}{port}", if secure { "https" } else { "http" }, u.host),
            database: u.path.first().cloned().unwrap_or_else(|| "default".to_string()),
            user: u.user.clone().unwrap_or_else(|| "default".to_string()),
            password: u.password.clone(),
            connect_timeout: u.seconds("connect_timeout", 5).map_err(bad)?,
            shown,
        })
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        let mut h = vec![("X-ClickHouse-User", self.user.as_str()), ("Content-Type", "text/plain; charset=UTF-8")];
        if let Some(p) = &self.password {
            h.push(("X-ClickHouse-Key", p.as_str()));
        }
        h
    }
}

/// The query a connection is running, for [`cancel`] from another thread.
pub struct Running {
    settings: Arc<Settings>,
    query_id: Mutex<Option<String>>,
}

pub struct ClickHouse {
    http: Http,
    settings: Arc<Settings>,
    running: Arc<Running>,
    /// Set once the connection makes a temporary table: ClickHouse keeps those per HTTP session.
    session: Option<String>,
    /// The server went away mid-request: a session's temporary tables may be gone with it.
    broken: bool,
}

impl ClickHouse {
    /// Connects to `url` and proves it with `SELECT 1` (credentials and database checked); a
    /// failure is "unavailable".
    pub fn connect(url: &str) -> Result<ClickHouse, ExecError> {
        let settings = Arc::new(Settings::parse(url)?);
        let http = Http::new(settings.connect_timeout, REQUEST_LIMIT);
        let running = Arc::new(Running { settings: settings.clone(), query_id: Mutex::new(None) });
        let mut db = ClickHouse { http, settings, running, session: None, broken: false };
        db.query("SELECT 1", &[]).map_err(|e| {
            if e.is_unavailable() {
                e
            } else {
                ExecError::unavailable(format!("cannot connect to {}: {e}", db.settings.shown))
            }
        })?;
        Ok(db)
    }

    pub fn is_closed(&self) -> bool {
        self.broken
    }

    pub fn running(&self) -> Arc<Running> {
        self.running.clone()
    }

    /// `GET /ping`, bounded by the health check's limit.
    pub fn ping(&mut self) -> Result<(), ExecError> {
        let url = format!("{}/ping", self.settings.base);
        match self.http.send_within(Method::Get, &url, &[], Some(super::http::PING_TIMEOUT)) {
            Ok(r) if r.is_success() => Ok(()),
            Ok(r) => Err(ExecError::unavailable(format!("ClickHouse answered a ping with HTTP {}", r.status))),
            Err(e) => {
                self.broken = true;
                Err(ExecError::unavailable(format!("ClickHouse did not answer a ping: {e}")))
            }
        }
    }

    pub fn execute_batch(&mut self, sql: &str) -> Result<(), ExecError> {
        self.query(sql, &[]).map(|_| ())
    }

    pub fn query(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        let query_id = random_id();
        let mut args: Vec<(String, String)> = vec![
            ("database".into(), self.settings.database.clone()),
            ("query_id".into(), query_id.clone()),
            ("default_format".into(), "JSONCompact".into()),
            ("wait_end_of_query".into(), "1".into()),
            ("session_timezone".into(), "UTC".into()),
            ("join_use_nulls".into(), "1".into()),
            ("enable_positional_arguments".into(), "1".into()),
            ("output_format_json_quote_64bit_integers".into(), "1".into()),
            ("output_format_json_quote_decimals".into(), "1".into()),
            ("output_format_json_quote_denormals".into(), "1".into()),
        ];
        if let Some(s) = &self.session {
            args.push(("session_id".into(), s.clone()));
        }
        args.extend(params.iter().enumerate().map(|(i, v)| (format!("param_p{}", i + 1), escaped(v))));
        let query: Vec<String> = args.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        let url = format!("{}/?{}", self.settings.base, query.join("&"));
        set_running(&self.running, Some(query_id));
        let sent = self.http.send(Method::PostText(sql), &url, &self.settings.headers());
        set_running(&self.running, None);
        let reply = sent.map_err(|e| {
            self.broken = true;
            ExecError::unavailable(format!("{}: {e}", self.settings.shown))
        })?;
        if !reply.is_success() {
            return Err(error(&reply));
        }
        read_result(&reply.body)
    }

    /// Creates and fills `t`: a temporary table lives in this connection's HTTP session (its
    /// rows in memory); a real one is built under a staging name and swapped in with
    /// `EXCHANGE TABLES`, so readers see the old table or the whole new one.
    pub fn load_table(&mut self, t: &super::tables::Table, temporary: bool) -> Result<(), ExecError> {
        let (schema, name) = t.schema_and_name();
        let defs: Vec<String> =
            t.columns.iter().map(|(c, ty)| format!("{} Nullable({})", quote(c), clickhouse_type(ty))).collect();
        if temporary {
            if schema.is_some() {
                return Err(ExecError(format!(
                    "`{}`: ClickHouse's temporary tables belong to no database; name the table without one",
                    t.name
                )));
            }
            self.session.get_or_insert_with(random_id);
            self.execute_batch(&format!("DROP TEMPORARY TABLE IF EXISTS {}", quote(name)))?;
            self.execute_batch(&format!("CREATE TEMPORARY TABLE {} ({})", quote(name), defs.join(", ")))?;
            for insert in super::tables::inserts(&quote(name), &t.rows, &LITERALS) {
                self.execute_batch(&insert)?;
            }
            return Ok(());
        }
        if let Some(s) = schema {
            self.execute_batch(&format!("CREATE DATABASE IF NOT EXISTS {}", quote(s)))?;
        }
        let qualified = |n: &str| match schema {
            Some(s) => format!("{}.{}", quote(s), quote(n)),
            None => quote(n),
        };
        let (target, staging) = (qualified(name), qualified(&format!("{name}__cubec_staging")));
        self.execute_batch(&format!("DROP TABLE IF EXISTS {staging}"))?;
        self.execute_batch(&format!(
            "CREATE TABLE {staging} ({}) ENGINE = MergeTree ORDER BY tuple()",
            defs.join(", ")
        ))?;
        let filled =
            super::tables::inserts(&staging, &t.rows, &LITERALS).iter().try_for_each(|i| self.execute_batch(i));
        if let Err(e) = filled {
            let _ = self.execute_batch(&format!("DROP TABLE IF EXISTS {staging}"));
            return Err(e);
        }
        self.execute_batch(&format!("CREATE TABLE IF NOT EXISTS {target} AS {staging}"))?;
        self.execute_batch(&format!("EXCHANGE TABLES {target} AND {staging}"))?;
        self.execute_batch(&format!("DROP TABLE IF EXISTS {staging}"))
    }

    pub fn drop_temporary_table(&mut self, name: &str) -> Result<(), ExecError> {
        self.execute_batch(&format!("DROP TEMPORARY TABLE IF EXISTS {}", quote(name)))
    }
}

impl std::fmt::Debug for ClickHouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClickHouse({})", self.settings.shown)
    }
}

fn set_running(running: &Running, id: Option<String>) {
    if let Ok(mut q) = running.query_id.lock() {
        *q = id;
    }
}

/// Sends `KILL QUERY` for the query `running` has in flight (nothing to do when there is none).
pub fn cancel(running: &Running) -> Result<(), ExecError> {
    let Some(id) = running.query_id.lock().ok().and_then(|q| q.clone()) else { return Ok(()) };
    let s = &running.settings;
    let http = Http::new(s.connect_timeout, Duration::from_secs(10));
    // The id is cubec's own UUID: no quote can be in it.
    let sql = format!("KILL QUERY WHERE query_id = '{id}' ASYNC");
    let url = format!("{}/?query_id={}", s.base, random_id());
    match http.send(Method::PostText(&sql), &url, &s.headers()) {
        Ok(r) if r.is_success() => Ok(()),
        Ok(r) => Err(ExecError(format!("cancelling the query: {}", error(&r)))),
        Err(e) => Err(ExecError(format!("cancelling the query: {e}"))),
    }
}

/// ClickHouse's escaped form of a parameter value (`param_pN`): the server reads backslash
/// sequences in it.
fn escaped(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

/// An error answer: ClickHouse's message with its code. Bad credentials, a server overloaded
/// or a gateway without a server are the database being away; a cancelled or timed-out query
/// says so.
fn error(reply: &Reply) -> ExecError {
    let text = String::from_utf8_lossy(&reply.body).trim().to_string();
    let code: Option<u32> = text
        .strip_prefix("Code: ")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse().ok());
    let shown: String = text.chars().take(2000).collect();
    let message = if shown.is_empty() { format!("ClickHouse answered HTTP {}", reply.status) } else { shown };
    match (code, reply.status) {
        (Some(394), _) => ExecError("ClickHouse: the query was cancelled".to_string()),
        (Some(159), _) => ExecError(format!("ClickHouse stopped the query at its time limit: {message}")),
        (Some(516 | 192 | 193 | 194 | 202 | 210 | 209), _) | (_, 401 | 403 | 502 | 503 | 504) => {
            ExecError::unavailable(format!("ClickHouse: {message}"))
        }
        _ => ExecError(format!("ClickHouse could not run the query: {message}")),
    }
}

/// A `JSONCompact` answer (`meta` names and types, `data` rows) as cells; an empty body (DDL,
/// INSERT) is an empty result.
fn read_result(body: &[u8]) -> Result<ResultSet, ExecError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ResultSet::default());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        let shown: String = String::from_utf8_lossy(body).chars().take(300).collect();
        ExecError(format!("ClickHouse answered with a body that is not JSONCompact ({e}): {shown}"))
    })?;
    let meta = v.get("meta").and_then(Value::as_array).cloned().unwrap_or_default();
    let columns: Vec<String> =
        meta.iter().map(|m| m.get("name").and_then(Value::as_str).unwrap_or("").to_string()).collect();
    let types: Vec<String> =
        meta.iter().map(|m| m.get("type").and_then(Value::as_str).unwrap_or("String").to_string()).collect();
    let mut rows = Vec::new();
    for row in v.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        let values = row.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let mut cells = Vec::with_capacity(types.len());
        for (i, ty) in types.iter().enumerate() {
            cells.push(cell(values.get(i).unwrap_or(&Value::Null), ty, &columns[i])?);
        }
        rows.push(cells);
    }
    Ok(ResultSet { columns, rows })
}

/// `Nullable(LowCardinality(T))` -> `T`.
fn bare_type(mut ty: &str) -> &str {
    loop {
        let inner =
            ["Nullable(", "LowCardinality("].iter().find_map(|w| ty.strip_prefix(w).and_then(|r| r.strip_suffix(')')));
        match inner {
            Some(i) => ty = i,
            None => return ty,
        }
    }
}

/// One JSON value as a [`Cell`], read by the column's ClickHouse type.
fn cell(v: &Value, ty: &str, column: &str) -> Result<Cell, ExecError> {
    let bad = |what: &str| ExecError(format!("ClickHouse: column `{column}` ({ty}): cannot read {what} from {v}"));
    if v.is_null() {
        return Ok(Cell::Null);
    }
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let base = bare_type(ty);
    let word = base.split('(').next().unwrap_or(base);
    Ok(match word {
        "Int8" | "Int16" | "Int32" | "Int64" | "UInt8" | "UInt16" | "UInt32" | "UInt64" | "Int128" | "UInt128"
        | "Int256" | "UInt256" => match text.parse::<i64>() {
            Ok(i) => Cell::Int(i),
            Err(_) if text.chars().all(|c| c.is_ascii_digit() || c == '-') => Cell::Decimal(text),
            Err(_) => return Err(bad("an integer")),
        },
        "Float32" | "Float64" | "BFloat16" => Cell::Float(text.parse().map_err(|_| bad("a number"))?),
        "Decimal" | "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => {
            Cell::Decimal(text.parse::<rust_decimal::Decimal>().map(|d| d.normalize().to_string()).unwrap_or(text))
        }
        "Bool" => match v {
            Value::Bool(b) => Cell::Bool(*b),
            _ => Cell::Bool(matches!(text.as_str(), "true" | "1")),
        },
        "Date" | "Date32" | "DateTime" | "DateTime64" => {
            Cell::Timestamp(crate::vocab::time::parse_local_datetime(&text).ok_or_else(|| bad("a time"))?)
        }
        _ => Cell::Text(text),
    })
}

fn quote(s: &str) -> String {
    format!("`{}`", s.replace('\\', "\\\\").replace('`', "\\`"))
}

/// Literals in ClickHouse's SQL: backticks, backslash escapes in strings.
const LITERALS: super::tables::Literals = super::tables::Literals {
    quote,
    text: |s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
    float: |f| if f.is_finite() { format!("{f:?}") } else { f.to_string().to_ascii_lowercase() },
    timestamp: |t| format!("'{t}'"),
};

/// A portable column type (see [`super::tables`]) in ClickHouse's words (made Nullable by the
/// caller: portable columns may hold NULL).
fn clickhouse_type(t: &str) -> String {
    super::tables::engine_type(t, &CLICKHOUSE_TYPES)
}

const CLICKHOUSE_TYPES: super::tables::TypeWords = super::tables::TypeWords {
    text: "String",
    varchar: false,
    timestamp: "DateTime64(6)",
    decimal: "Decimal",
    bare_decimal: "38, 12",
    double: "Float64",
    real: "Float32",
    integer: "Int32",
    bigint: "Int64",
    smallint: "Int16",
    boolean: "Bool",
    date: "Date32",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let s = Settings::parse("clickhouse://u:secret@db/shop").unwrap();
        assert_eq!((s.base.as_str(), s.database.as_str(), s.user.as_str()), ("http://db:8123", "shop", "u"));
        let s = Settings::parse("clickhouse://db:9000?secure=true").unwrap();
        assert_eq!((s.base.as_str(), s.database.as_str(), s.user.as_str()), ("https://db:9000", "default", "default"));
        assert_eq!(Settings::parse("https://u@db/x").unwrap().base, "https://db:8443");
        let e = Settings::parse("clickhouse://u:secret@db/shop?secure=maybe").err().unwrap();
        assert!(e.0.contains("maybe") && !e.0.contains("secret"), "{e}");
        assert!(Settings::parse("clickhouse://db/a/b").is_err());
        assert!(Settings::parse("clickhouse://db:port/a").is_err());
        assert!(Settings::parse("clickhouse://db/a?sekure=1").is_err());
    }

    #[test]
    fn parameters_are_escaped() {
        assert_eq!(escaped("a\\b\tc\nd'"), "a\\\\b\\tc\\nd'");
    }

    #[test]
    fn results_are_typed() {
        let body = br#"{"meta":[{"name":"n","type":"UInt64"},{"name":"d","type":"Nullable(Decimal(38, 10))"},
            {"name":"t","type":"DateTime64(3)"},{"name":"s","type":"LowCardinality(String)"},{"name":"b","type":"Bool"},
            {"name":"f","type":"Float64"}],
            "data":[["18446744073709551615","12.5000000000","2024-01-02 03:04:05.678","x",true,"inf"],
                    ["1",null,"2024-01-02 00:00:00.000","",false,1.5]]}"#;
        let r = read_result(body).unwrap();
        assert_eq!(r.columns, ["n", "d", "t", "s", "b", "f"]);
        assert_eq!(r.rows[0][0], Cell::Decimal(u64::MAX.to_string()));
        assert_eq!(r.rows[0][1], Cell::Decimal("12.5".into()));
        assert_eq!(r.rows[0][4], Cell::Bool(true));
        assert_eq!(r.rows[0][5], Cell::Float(f64::INFINITY));
        assert_eq!(r.rows[1][0], Cell::Int(1));
        assert_eq!(r.rows[1][1], Cell::Null);
        assert!(matches!(r.rows[0][2], Cell::Timestamp(_)));
        assert!(read_result(b"").unwrap().columns.is_empty());
        assert!(read_result(b"Code: 62").is_err());
    }

    #[test]
    fn errors_are_classified() {
        let reply = |status, body: &str| Reply { status, body: body.as_bytes().to_vec() };
        let e = error(&reply(404, "Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE)"));
        assert!(!e.is_unavailable() && e.0.contains("UNKNOWN_TABLE"), "{e}");
        assert!(error(&reply(401, "Code: 516. DB::Exception: Authentication failed")).is_unavailable());
        assert!(error(&reply(503, "")).is_unavailable());
        assert!(error(&reply(500, "Code: 394. DB::Exception: Query was cancelled.")).0.contains("cancelled"));
    }

    #[test]
    fn types() {
        assert_eq!(clickhouse_type("numeric(10,2)"), "Decimal(10, 2)");
        assert_eq!(clickhouse_type("timestamptz"), "DateTime64(6)");
        assert_eq!(bare_type("Nullable(LowCardinality(String))"), "String");
    }
}
