//! Snowflake through the HTTP API its own connectors speak (login-request, query-request,
//! result chunks, abort-request), over [`super::http`].
//!
//! URL: `snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=R`, with
//! - the password from the URL or `SNOWFLAKE_PASSWORD`, or key-pair login with
//!   `private_key_path=FILE` (or `SNOWFLAKE_PRIVATE_KEY_PATH`), a PKCS#8 PEM key, optionally
//!   encrypted (`private_key_passphrase` or `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE`);
//! - `host`, `port` and `protocol` to reach another endpoint than
//!   `https://ACCOUNT.snowflakecomputing.com` (a private link, a proxy, an emulator);
//! - `login_timeout` and `query_timeout` in seconds.
//!
//! One session per connection, reused for every query; an expired session logs in again.
//! Parameters are bound (`bindings`, as TEXT: the SQL casts them), never pasted into the text.

pub mod auth;
pub mod rowset;

use super::http::{self, Http, Method};
use super::tables::{inserts, parse_type, Literals, Table};
use super::url::{self, WarehouseUrl};
use super::{ExecError, ResultSet};
use rowset::Column;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const KNOWN_PARAMS: &[&str] = &[
    "warehouse",
    "role",
    "host",
    "port",
    "protocol",
    "private_key_path",
    "private_key_passphrase",
    "login_timeout",
    "query_timeout",
    "authenticator",
];

/// Snowflake's "still running, ask again" codes.
const IN_PROGRESS: &[&str] = &["333333", "333334"];
/// The session token expired or is no longer known: log in again.
const SESSION_GONE: &[&str] = &["390112", "390114", "390104"];

/// What the URL says, read once.
#[derive(Debug)]
pub struct Settings {
    base: String,
    account: String,
    user: String,
    secret: Secret,
    database: Option<String>,
    schema: Option<String>,
    warehouse: Option<String>,
    role: Option<String>,
    login_timeout: Duration,
    query_timeout: Duration,
}

enum Secret {
    Password(String),
    KeyPair(super::keys::KeyPair),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(***)"),
            Secret::KeyPair(k) => write!(f, "{k:?}"),
        }
    }
}

impl Settings {
    /// Reads the URL; `env` looks up variables (the process environment, or a test's map).
    pub fn parse(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ExecError> {
        let bad = |why: String| ExecError(format!("Snowflake URL `{}`: {why}", url::redact(url)));
        let u = WarehouseUrl::parse_known(url, "snowflake", KNOWN_PARAMS).map_err(bad)?;
        if u.host.is_empty() {
            return Err(bad("the account is missing: snowflake://USER@ACCOUNT/DATABASE/SCHEMA".into()));
        }
        let user = u.user.clone().ok_or_else(|| bad("the user is missing: snowflake://USER@ACCOUNT/...".into()))?;
        if u.path.len() > 2 {
            return Err(bad("the path is DATABASE/SCHEMA; it has more parts".into()));
        }
        let key_path = u.param("private_key_path").map(str::to_string).or_else(|| env("SNOWFLAKE_PRIVATE_KEY_PATH"));
        let secret = match (key_path, u.password.clone().or_else(|| env("SNOWFLAKE_PASSWORD"))) {
            (Some(path), _) => {
                let pem = std::fs::read_to_string(&path)
                    .map_err(|e| bad(format!("cannot read the private key file `{path}`: {e}")))?;
                let pass = u
                    .param("private_key_passphrase")
                    .map(str::to_string)
                    .or_else(|| env("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"));
                Secret::KeyPair(super::keys::KeyPair::from_pem(&pem, pass.as_deref()).map_err(|e| {
                    bad(format!("`{path}`: {e} (private_key_passphrase or SNOWFLAKE_PRIVATE_KEY_PASSPHRASE)"))
                })?)
            }
            (None, Some(p)) => Secret::Password(p),
            (None, None) => {
                return Err(bad(
                    "no credentials: put the password in the URL or SNOWFLAKE_PASSWORD, or give private_key_path"
                        .into(),
                ))
            }
        };
        let protocol = u.param("protocol").unwrap_or("https");
        if !matches!(protocol, "https" | "http") {
            return Err(bad(format!("`protocol={protocol}`: use https or http")));
        }
        let host = u.param("host").map(str::to_string).unwrap_or_else(|| format!("{}.snowflakecomputing.com", u.host));
        let port = match u.param("port") {
            Some(p) => p.parse::<u16>().map_err(|_| bad(format!("`port={p}` is not a port number")))?,
            None if protocol == "http" => 80,
            None => 443,
        };
        Ok(Settings {
            base: format!("{protocol}://{host}:{port}"),
            account: u.host.clone(),
            user,
            secret,
            database: u.path.first().cloned(),
            schema: u.path.get(1).cloned(),
            warehouse: u.param("warehouse").map(str::to_string),
            role: u.param("role").map(str::to_string),
            login_timeout: u.seconds("login_timeout", 30).map_err(bad)?,
            query_timeout: u.seconds("query_timeout", 3600).map_err(bad)?,
        })
    }
}

/// What a canceller needs: where to send the abort, the session, and the running request.
#[derive(Default)]
pub struct Running {
    base: String,
    token: Option<String>,
    request: Option<(String, String)>,
}

pub struct Snowflake {
    settings: Arc<Settings>,
    http: Http,
    token: String,
    sequence: u64,
    running: Arc<Mutex<Running>>,
}

/// Snowflake's answer as an error: its message, code, SQL state and query id.
fn answer_error(v: &Value, what: &str) -> String {
    let message = v["message"].as_str().unwrap_or("failed without a message");
    let mut text = format!("Snowflake {what}: {message}");
    // Some servers already start the message with the code.
    if let Some(code) = v["code"].as_str().filter(|c| !message.starts_with(c)) {
        text.push_str(&format!(" (code {code}"));
        if let Some(state) = v["data"]["sqlState"].as_str() {
            text.push_str(&format!(", SQL state {state}"));
        }
        text.push(')');
    }
    if let Some(id) = v["data"]["queryId"].as_str() {
        text.push_str(&format!(" [query id {id}]"));
    }
    text
}

impl Snowflake {
    pub fn connect(url: &str) -> Result<Snowflake, ExecError> {
        let settings = Settings::parse(url, &|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
        Snowflake::connect_with(Arc::new(settings))
    }

    pub fn connect_with(settings: Arc<Settings>) -> Result<Snowflake, ExecError> {
        // A query answers within ~45 s with "still running"; the request bound leaves room.
        let http = Http::new(settings.login_timeout, Duration::from_secs(120));
        let token = login(&http, &settings)?;
        let running =
            Arc::new(Mutex::new(Running { base: settings.base.clone(), token: Some(token.clone()), request: None }));
        Ok(Snowflake { settings, http, token, sequence: 0, running })
    }

    pub fn running(&self) -> Arc<Mutex<Running>> {
        Arc::clone(&self.running)
    }

    fn auth_header(&self) -> String {
        format!("Snowflake Token=\"{}\"", self.token)
    }

    /// Keeps the session alive and proves the service answers (the pool's check).
    pub fn ping(&mut self) -> Result<(), ExecError> {
        let url = format!("{}/session/heartbeat?requestId={}", self.settings.base, http::random_id());
        let auth = self.auth_header();
        // Once and briefly: a failed check makes the pool open a new connection.
        let reply = self
            .http
            .send_within(
                Method::Post(None),
                &url,
                &[("Authorization", &auth), ("Accept", "application/snowflake")],
                Some(http::PING_TIMEOUT),
            )
            .map_err(|e| ExecError::unavailable(format!("Snowflake heartbeat: {e}")))?;
        let v = reply.json().map_err(ExecError::unavailable)?;
        if v["success"].as_bool() == Some(true) {
            return Ok(());
        }
        if v["code"].as_str().is_some_and(|c| SESSION_GONE.contains(&c)) {
            return self.relogin();
        }
        Err(ExecError::unavailable(answer_error(&v, "heartbeat")))
    }

    fn relogin(&mut self) -> Result<(), ExecError> {
        self.token = login(&self.http, &self.settings)?;
        if let Ok(mut r) = self.running.lock() {
            r.token = Some(self.token.clone());
        }
        Ok(())
    }

    pub fn query(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        match self.submit(sql, params) {
            Err(Submit::SessionGone) => {
                self.relogin()?;
                match self.submit(sql, params) {
                    Err(Submit::SessionGone) => {
                        Err(ExecError::unavailable("Snowflake: the new session expired at once"))
                    }
                    Err(Submit::Failed(e)) => Err(e),
                    Ok(v) => self.rows(&v),
                }
            }
            Err(Submit::Failed(e)) => Err(e),
            Ok(v) => self.rows(&v),
        }
    }

    /// Sends one statement and waits for it to finish; the answer's `data`.
    fn submit(&mut self, sql: &str, params: &[String]) -> Result<Value, Submit> {
        self.sequence += 1;
        let id = http::random_id();
        let bindings: serde_json::Map<String, Value> = params
            .iter()
            .enumerate()
            .map(|(i, p)| ((i + 1).to_string(), json!({"type": "TEXT", "value": p})))
            .collect();
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let mut body = json!({
            "sqlText": sql,
            "asyncExec": false,
            "sequenceId": self.sequence,
            "querySubmissionTime": now_ms,
        });
        if !bindings.is_empty() {
            body["bindings"] = Value::Object(bindings);
        }
        if let Ok(mut r) = self.running.lock() {
            r.request = Some((id.clone(), sql.to_string()));
        }
        let result = self.submit_and_wait(&id, &body);
        if let Ok(mut r) = self.running.lock() {
            r.request = None;
        }
        result
    }

    fn submit_and_wait(&self, id: &str, body: &Value) -> Result<Value, Submit> {
        let auth = self.auth_header();
        let headers = [("Authorization", auth.as_str()), ("Accept", "application/snowflake")];
        // The same request id on a retry: Snowflake runs a request id once.
        let url = format!("{}/queries/v1/query-request?requestId={id}", self.settings.base);
        let reply = self.http.retrying(Method::Post(Some(body)), &url, &headers).map_err(Submit::Failed)?;
        let mut v = reply.json().map_err(|e| Submit::Failed(ExecError(format!("Snowflake: {e}"))))?;
        let deadline = Instant::now() + self.settings.query_timeout;
        let mut wait = Duration::from_millis(50);
        loop {
            let code = v["code"].as_str().unwrap_or("");
            if v["success"].as_bool() == Some(true) && !IN_PROGRESS.contains(&code) {
                return Ok(v["data"].take());
            }
            if SESSION_GONE.contains(&code) || reply.status == 401 && !code.is_empty() && code.starts_with("390") {
                return Err(Submit::SessionGone);
            }
            if !IN_PROGRESS.contains(&code) {
                return Err(Submit::Failed(ExecError(answer_error(&v, "rejected the query"))));
            }
            if Instant::now() >= deadline {
                return Err(Submit::Failed(ExecError(format!(
                    "Snowflake: the query ran past query_timeout ({} s)",
                    self.settings.query_timeout.as_secs()
                ))));
            }
            let Some(path) = v["data"]["getResultUrl"].as_str() else {
                return Err(Submit::Failed(ExecError("Snowflake: a running query came without its result URL".into())));
            };
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(2));
            let poll = format!("{}{path}", self.settings.base);
            let r = self.http.retrying(Method::Get, &poll, &headers).map_err(Submit::Failed)?;
            v = r.json().map_err(|e| Submit::Failed(ExecError(format!("Snowflake: {e}"))))?;
        }
    }

    /// The rows of a finished query: the first rowset, then every chunk in order.
    fn rows(&self, data: &Value) -> Result<ResultSet, ExecError> {
        let columns: Vec<Column> =
            data["rowtype"].as_array().map(|a| a.iter().map(Column::from_rowtype).collect()).unwrap_or_default();
        let arrow = data["queryResultFormat"].as_str().is_some_and(|f| f.eq_ignore_ascii_case("arrow"));
        let decode_err = |e: String| ExecError(format!("Snowflake result: {e}"));
        let mut rows = if arrow {
            let b64 = data["rowsetBase64"].as_str().unwrap_or("");
            let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
                .map_err(|e| decode_err(format!("the Arrow rowset is not base64: {e}")))?;
            rowset::arrow_rows(&columns, &bytes).map_err(decode_err)?
        } else {
            match &data["rowset"] {
                Value::Null => Vec::new(),
                r => rowset::json_rows(&columns, r).map_err(decode_err)?,
            }
        };
        if let Some(chunks) = data["chunks"].as_array() {
            let mut headers: Vec<(String, String)> = Vec::new();
            if let Some(h) = data["chunkHeaders"].as_object() {
                headers.extend(h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())));
            } else if let Some(key) = data["qrmk"].as_str() {
                headers.push(("x-amz-server-side-encryption-customer-algorithm".into(), "AES256".into()));
                headers.push(("x-amz-server-side-encryption-customer-key".into(), key.into()));
            }
            let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            for chunk in chunks {
                let Some(url) = chunk["url"].as_str() else { continue };
                let reply = self.http.retrying(Method::Get, url, &refs)?;
                if !reply.is_success() {
                    return Err(ExecError(format!("Snowflake: downloading a result chunk gave HTTP {}", reply.status)));
                }
                rows.extend(if arrow {
                    rowset::arrow_rows(&columns, &reply.body).map_err(decode_err)?
                } else {
                    rowset::json_chunk(&columns, &reply.body).map_err(decode_err)?
                });
            }
        }
        Ok(ResultSet { columns: columns.into_iter().map(|c| c.name).collect(), rows })
    }

    /// Runs one statement without results (Snowflake takes one statement per request).
    pub fn execute(&mut self, sql: &str) -> Result<(), ExecError> {
        self.query(sql, &[]).map(|_| ())
    }

    /// Drops a temporary table of this session; a real table of the same name is not touched
    /// (Snowflake would drop it if no temporary one existed, so the kind is checked first).
    pub fn drop_temporary_table(&mut self, name: &str) -> Result<(), ExecError> {
        let shown = self.query(&format!("SHOW TABLES LIKE '{}'", name.replace('\'', "''")), &[])?;
        let kind_col = shown.columns.iter().position(|c| c.eq_ignore_ascii_case("kind"));
        let temporary = shown
            .rows
            .iter()
            .any(|r| kind_col.and_then(|i| r.get(i)).is_some_and(|k| k.to_text().eq_ignore_ascii_case("TEMPORARY")));
        if temporary {
            self.execute(&format!("DROP TABLE IF EXISTS {}", quote(name)))?;
        }
        Ok(())
    }

    /// Creates and fills `t`: as a temporary table (it shadows a real table of the same name
    /// for this session only, and is gone with it), or replacing the real table only once the
    /// new one is complete (built as a staging table first, so a failure leaves the old one).
    pub fn load_table(&mut self, t: &Table, temporary: bool) -> Result<(), ExecError> {
        let (schema, name) = t.schema_and_name();
        let q = LITERALS.quote;
        let target = match schema {
            Some(s) => format!("{}.{}", q(s), q(name)),
            None => q(name),
        };
        let defs: Vec<String> = t.columns.iter().map(|(c, ty)| format!("{} {}", q(c), column_type(ty))).collect();
        if temporary {
            self.execute(&format!("CREATE OR REPLACE TEMPORARY TABLE {target} ({})", defs.join(", ")))?;
            for insert in inserts(&target, &t.rows, &LITERALS) {
                self.execute(&insert)?;
            }
            return Ok(());
        }
        if let Some(s) = schema {
            self.execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", q(s)))?;
        }
        let staging = match schema {
            Some(s) => format!("{}.{}", q(s), q(&format!("{name}__cubec_load"))),
            None => q(&format!("{name}__cubec_load")),
        };
        let mut execute = |sql: &str| self.execute(sql);
        let inserts = super::tables::inserts(&staging, &t.rows, &LITERALS);
        super::tables::replace_through_staging(&mut execute, &target, &staging, &defs, &inserts)
    }
}

/// A Snowflake identifier: a plain lower-case name unquoted (Snowflake folds it to upper case,
/// as it folds the model's unquoted references to it), anything else quoted as written.
fn quote(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_ascii_uppercase()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// Snowflake's string literals treat `\` as an escape, so it is doubled.
const LITERALS: Literals = Literals {
    quote,
    text: |s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
    float: |f| if f.is_finite() { format!("{f:?}") } else { format!("'{f}'::FLOAT") },
    timestamp: |t| format!("'{t}'"),
};

/// A portable column type (see [`super::tables`]) as Snowflake's.
pub fn column_type(portable: &str) -> String {
    let (base, args) = parse_type(portable);
    match base.as_str() {
        "integer" | "bigint" | "smallint" | "int" => "NUMBER(38,0)".into(),
        "numeric" | "decimal" => match args.as_slice() {
            [p] => format!("NUMBER({},0)", p.min(&38)),
            [p, s] => format!("NUMBER({},{})", p.min(&38), s.min(&37)),
            _ => "NUMBER(38,12)".into(),
        },
        "boolean" => "BOOLEAN".into(),
        "timestamp" => "TIMESTAMP_NTZ".into(),
        "timestamptz" => "TIMESTAMP_TZ".into(),
        "date" => "DATE".into(),
        "real" | "double precision" | "double" | "float" => "FLOAT".into(),
        _ => "VARCHAR".into(),
    }
}

enum Submit {
    SessionGone,
    Failed(ExecError),
}

fn login(http: &Http, s: &Settings) -> Result<String, ExecError> {
    let mut query = vec![format!("request_id={}", http::random_id())];
    for (key, value) in
        [("databaseName", &s.database), ("schemaName", &s.schema), ("warehouse", &s.warehouse), ("roleName", &s.role)]
    {
        if let Some(v) = value {
            query.push(format!("{key}={}", url::encode(v)));
        }
    }
    let url = format!("{}/session/v1/login-request?{}", s.base, query.join("&"));
    let mut data = json!({
        "CLIENT_APP_ID": "cubec",
        "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
        "ACCOUNT_NAME": s.account.split('.').next().unwrap_or(&s.account),
        "LOGIN_NAME": s.user,
        "CLIENT_ENVIRONMENT": {"APPLICATION": "cubec"},
        // Times read back as UTC, as from PostgreSQL; cubec's SQL converts zones itself.
        "SESSION_PARAMETERS": {"TIMEZONE": "UTC", "AUTOCOMMIT": true},
    });
    match &s.secret {
        Secret::Password(p) => data["PASSWORD"] = json!(p),
        Secret::KeyPair(k) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            data["AUTHENTICATOR"] = json!("SNOWFLAKE_JWT");
            data["TOKEN"] = json!(auth::login_token(k, &s.account, &s.user, now).map_err(ExecError)?);
        }
    }
    let body = json!({ "data": data });
    let reply = http.retrying(Method::Post(Some(&body)), &url, &[("Accept", "application/json")])?;
    let v = reply
        .json()
        .map_err(|e| ExecError::unavailable(format!("Snowflake login at {}: {e}", url::host_of(&s.base))))?;
    match v["data"]["token"].as_str() {
        Some(t) if v["success"].as_bool() == Some(true) => Ok(t.to_string()),
        _ => Err(ExecError::unavailable(format!(
            "cannot log in to {}: {}",
            url::host_of(&s.base),
            answer_error(&v, "login")
        ))),
    }
}

impl Drop for Snowflake {
    /// Ends the session (best effort: a session left behind expires on its own).
    fn drop(&mut self) {
        let url = format!("{}/session?delete=true&requestId={}", self.settings.base, http::random_id());
        let auth = self.auth_header();
        let _ = self.http.send(Method::Post(None), &url, &[("Authorization", &auth)]);
    }
}

/// Cancels the query a connection runs now (abort-request), from another thread.
pub fn cancel(running: &Mutex<Running>) -> Result<(), ExecError> {
    let (base, token, request) = match running.lock() {
        Ok(r) => (r.base.clone(), r.token.clone(), r.request.clone()),
        Err(_) => return Ok(()),
    };
    let (Some(token), Some((id, sql))) = (token, request) else { return Ok(()) };
    let http = Http::new(Duration::from_secs(5), Duration::from_secs(10));
    let url = format!("{base}/queries/v1/abort-request?requestId={}", http::random_id());
    let auth = format!("Snowflake Token=\"{token}\"");
    let body = json!({"sqlText": sql, "requestId": id});
    let reply = http.retrying(
        Method::Post(Some(&body)),
        &url,
        &[("Authorization", &auth), ("Accept", "application/snowflake")],
    )?;
    match reply.json() {
        Ok(v) if v["success"].as_bool() == Some(true) => Ok(()),
        Ok(v) => Err(ExecError(answer_error(&v, "abort"))),
        Err(e) => Err(ExecError(format!("Snowflake abort: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(map: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| map.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn urls_map_to_endpoints() {
        let s =
            Settings::parse("snowflake://me:pw@xy12345.eu-west-1/DB/PUBLIC?warehouse=WH&role=R", &env(&[])).unwrap();
        assert_eq!(s.base, "https://xy12345.eu-west-1.snowflakecomputing.com:443");
        assert_eq!((s.database.as_deref(), s.schema.as_deref()), (Some("DB"), Some("PUBLIC")));
        assert_eq!(s.warehouse.as_deref(), Some("WH"));
        let e = Settings::parse(
            "snowflake://me@acct/db/s?host=127.0.0.1&port=8080&protocol=http",
            &env(&[("SNOWFLAKE_PASSWORD", "x")]),
        )
        .unwrap();
        assert_eq!(e.base, "http://127.0.0.1:8080");
        assert!(matches!(e.secret, Secret::Password(ref p) if p == "x"));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = |u: &str| Settings::parse(u, &env(&[])).unwrap_err().0;
        assert!(err("snowflake://me@acct/db").contains("no credentials"));
        assert!(err("snowflake://acct/db").contains("user is missing"));
        assert!(err("snowflake://me:pw@acct/db?warehous=x").contains("unknown parameter `warehous`"));
        assert!(err("snowflake://me:pw@acct/db?port=x").contains("not a port"));
        assert!(err("snowflake://me:pw@acct/a/b/c").contains("DATABASE/SCHEMA"));
        assert!(err("snowflake://me@acct/db?private_key_path=/nonexistent.p8").contains("cannot read the private key"));
        assert!(!err("snowflake://me:secret@acct/db?bad=1").contains("secret"));
    }

    fn connect_to(base: &str) -> Snowflake {
        let (host, port) = base.trim_start_matches("http://").split_once(':').unwrap();
        let url = format!("snowflake://me:pw@acct/DB/PUBLIC?host={host}&port={port}&protocol=http");
        Snowflake::connect_with(Arc::new(Settings::parse(&url, &env(&[])).unwrap())).unwrap()
    }

    /// The parts of the protocol fakesnow never uses: a query still running (polled through
    /// getResultUrl), a result in chunks fetched with the chunk headers, a session that expires
    /// (a new login, then the query again), and abort-request naming the running request.
    #[test]
    fn polling_chunks_expiry_and_abort_against_a_stub() {
        use crate::exec::stub::{serve, Seen};
        let logins = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let queries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (l, q) = (Arc::clone(&logins), Arc::clone(&queries));
        let base_cell: Arc<Mutex<String>> = Arc::default();
        let base_for = Arc::clone(&base_cell);
        let (base, log) = serve(Arc::new(move |r: &Seen| {
            use std::sync::atomic::Ordering::SeqCst;
            let base = base_for.lock().unwrap().clone();
            let path = r.target.split('?').next().unwrap_or("");
            match (r.method.as_str(), path) {
                ("POST", "/session/v1/login-request") => {
                    let n = l.fetch_add(1, SeqCst);
                    (200, json!({"success": true, "data": {"token": format!("T{n}")}}).to_string())
                }
                ("POST", "/queries/v1/query-request") => {
                    // The first session expires on its first query.
                    if r.header("authorization") == Some("Snowflake Token=\"T0\"") {
                        return (200, json!({"success": false, "code": "390112", "message": "Your session has expired."}).to_string());
                    }
                    q.fetch_add(1, SeqCst);
                    (200, json!({"success": true, "code": "333334", "data": {"getResultUrl": "/queries/q1/result"}}).to_string())
                }
                ("GET", "/queries/q1/result") => (
                    200,
                    json!({"success": true, "data": {
                        "queryId": "q1",
                        "queryResultFormat": "json",
                        "rowtype": [{"name": "N", "type": "fixed", "scale": 0}, {"name": "AMOUNT", "type": "fixed", "scale": 2}],
                        "rowset": [["1", "10.50"]],
                        "chunks": [{"url": format!("{base}/chunks/1"), "rowCount": 2}, {"url": format!("{base}/chunks/2"), "rowCount": 1}],
                        "chunkHeaders": {"x-amz-server-side-encryption-customer-key": "k3y"},
                    }})
                    .to_string(),
                ),
                ("GET", "/chunks/1") | ("GET", "/chunks/2") => {
                    if r.header("x-amz-server-side-encryption-customer-key") != Some("k3y") {
                        return (403, "{}".into());
                    }
                    (200, if path.ends_with('1') { r#"["2","20.00"],["3",null]"# } else { r#"["4","0.01"]"# }.into())
                }
                ("POST", "/queries/v1/abort-request") => (200, json!({"success": true}).to_string()),
                _ => (200, json!({"success": true}).to_string()),
            }
        }));
        *base_cell.lock().unwrap() = base.clone();
        let mut sf = connect_to(&base);
        let rows = sf.query("SELECT n, amount FROM t WHERE x = ?", &["a".into()]).unwrap();
        assert_eq!(rows.columns, vec!["N", "AMOUNT"]);
        let cells: Vec<Vec<String>> = rows.rows.iter().map(|r| r.iter().map(|c| c.to_text()).collect()).collect();
        assert_eq!(cells, vec![vec!["1", "10.5"], vec!["2", "20"], vec!["3", ""], vec!["4", "0.01"]]);
        assert_eq!(logins.load(std::sync::atomic::Ordering::SeqCst), 2, "the expired session logged in again");
        let seen = log.lock().unwrap().clone();
        let submitted: Vec<&Seen> = seen.iter().filter(|r| r.target.starts_with("/queries/v1/query-request")).collect();
        assert_eq!(submitted.len(), 2);
        let body: Value = serde_json::from_str(&submitted[1].body).unwrap();
        assert_eq!(body["bindings"]["1"], json!({"type": "TEXT", "value": "a"}), "the value is bound, not pasted");
        assert!(!body["sqlText"].as_str().unwrap().contains("'a'"));

        // Abort names the request that is running.
        sf.running().lock().unwrap().request = Some(("req-42".into(), "SELECT 1".into()));
        cancel(&sf.running()).unwrap();
        let seen = log.lock().unwrap().clone();
        let abort = seen.iter().find(|r| r.target.starts_with("/queries/v1/abort-request")).unwrap();
        let body: Value = serde_json::from_str(&abort.body).unwrap();
        assert_eq!(body["requestId"], "req-42");
        assert_eq!(abort.header("authorization"), Some("Snowflake Token=\"T1\""));
    }

    #[test]
    fn tables_in_snowflakes_words() {
        assert_eq!(quote("referrals"), "REFERRALS");
        assert_eq!(quote("Mixed Case"), "\"Mixed Case\"");
        assert_eq!((LITERALS.text)("it's a \\ x"), "'it''s a \\\\ x'");
        assert_eq!(column_type("numeric(10,2)"), "NUMBER(10,2)");
        assert_eq!(column_type("numeric"), "NUMBER(38,12)");
        assert_eq!(column_type("double precision"), "FLOAT");
        assert_eq!(column_type("timestamp"), "TIMESTAMP_NTZ");
        assert_eq!(column_type("varchar(20)"), "VARCHAR");
    }
}
