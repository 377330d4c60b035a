//! Configuration the Cube way: every `cubec serve` flag can come from an environment variable
//! (clap's `env`), Cube's own `CUBEJS_*` variables count where they mean the same thing, and a
//! `.env` file in the working directory is read as Cube reads it. Precedence: a flag, then the
//! environment, then `.env`, then the default; a `CUBEC_*` variable wins over its Cube twin.

use std::collections::BTreeSet;

/// Where each setting came from, for `--print-config`.
#[derive(Default)]
pub(crate) struct Sources {
    /// Variables set by `.env` (not already in the environment).
    pub dotenv: BTreeSet<String>,
    /// `CUBEC_*` variables set from a Cube variable: (ours, Cube's).
    pub from_cube: Vec<(String, String)>,
}

/// Reads `.env` (if any) and maps Cube's variables. Runs first in `main`, before any thread
/// exists, because it sets environment variables.
pub(crate) fn load_environment() -> Result<Sources, String> {
    let mut sources = Sources::default();
    match dotenvy::from_path_iter(".env") {
        Ok(iter) => {
            for item in iter {
                let (k, v) = item.map_err(|e| format!("cannot read .env: {e}"))?;
                if std::env::var_os(&k).is_none() {
                    std::env::set_var(&k, v);
                    sources.dotenv.insert(k);
                }
            }
        }
        Err(e) if e.not_found() => {}
        Err(e) => return Err(format!("cannot read .env: {e}")),
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut map = |ours: &str, cube: &str, value: Option<String>| {
        if var(ours).is_none() {
            if let Some(v) = value {
                std::env::set_var(ours, v);
                sources.from_cube.push((ours.to_string(), cube.to_string()));
            }
        }
    };
    map("CUBEC_PORT", "PORT", var("PORT"));
    map("CUBEC_MODEL", "CUBEJS_SCHEMA_PATH", var("CUBEJS_SCHEMA_PATH"));
    map("CUBEC_DEV", "CUBEJS_DEV_MODE", var("CUBEJS_DEV_MODE"));
    map(
        "CUBEC_MAX_CONCURRENT_QUERIES",
        "CUBEJS_DB_MAX_POOL",
        var("CUBEJS_DB_MAX_POOL").or_else(|| var("CUBEJS_CONCURRENCY")),
    );
    map("CUBEC_DB_URL", "CUBEJS_DB_*", cube_db_url()?);
    let timeout = var("CUBEJS_DB_QUERY_TIMEOUT").map(|t| cube_duration(&t)).transpose()?;
    map("CUBEC_QUERY_TIMEOUT", "CUBEJS_DB_QUERY_TIMEOUT", timeout.map(|s| s.to_string()));
    // Cube keeps its cache and queue in Cube Store in production and in memory otherwise;
    // cubec always keeps them in memory (see the README on several replicas).
    match var("CUBEJS_CACHE_AND_QUEUE_DRIVER").as_deref() {
        None | Some("memory") => {}
        Some("cubestore") => eprintln!(
            "note: CUBEJS_CACHE_AND_QUEUE_DRIVER=cubestore: cubec keeps its cache and queue in memory (there is no Cube Store)"
        ),
        Some(other) => {
            return Err(format!("CUBEJS_CACHE_AND_QUEUE_DRIVER={other}: cubec's cache and queue are in memory (`memory`)"))
        }
    }
    // The SQL API: Cube's port variables (`false` turns Cube's off) and its single SQL user.
    let pg_port = var("CUBEJS_PG_SQL_PORT").filter(|v| v != "false");
    match pg_port {
        Some(p) => map("CUBEC_SQL_PORT", "CUBEJS_PG_SQL_PORT", Some(p)),
        None => map("CUBEC_SQL_PORT", "CUBESQL_PG_PORT", var("CUBESQL_PG_PORT")),
    }
    map("CUBEC_SQL_USER", "CUBEJS_SQL_USER", var("CUBEJS_SQL_USER"));
    map("CUBEC_REFRESH_WORKER", "CUBEJS_REFRESH_WORKER", var("CUBEJS_REFRESH_WORKER"));
    map("CUBEC_ROLLUP_ONLY", "CUBEJS_ROLLUP_ONLY", var("CUBEJS_ROLLUP_ONLY"));
    map("CUBEC_SQL_PASSWORD", "CUBEJS_SQL_PASSWORD", var("CUBEJS_SQL_PASSWORD"));
    Ok(sources)
}

/// Seconds of a Cube duration setting: `600`, `30s`, `10m`, `1h` (Cube reads `10m` by default).
fn cube_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, factor) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        _ => (t, 1.0),
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)
        .map(|n| n * factor)
        .ok_or_else(|| format!("CUBEJS_DB_QUERY_TIMEOUT `{text}` is not a duration such as 600, 30s or 10m"))
}

/// A database URL from `CUBEJS_DB_TYPE`, `_HOST`, `_PORT`, `_NAME`, `_USER`, `_PASS`, `_SSL`.
fn cube_db_url() -> Result<Option<String>, String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let Some(kind) = var("CUBEJS_DB_TYPE") else { return Ok(None) };
    // Cube's type: the URL scheme, its default port, and how it asks for TLS.
    let (scheme, default_port, tls_query) = match kind.as_str() {
        "postgres" => ("postgres", "5432", "?sslmode=require"),
        "redshift" => ("redshift", "5439", "?sslmode=require"),
        "mysql" => ("mysql", "3306", "?ssl-mode=REQUIRED"),
        "clickhouse" => ("clickhouse", "8123", "?secure=true"),
        "duckdb" => {
            return Ok(Some(format!("duckdb:{}", var("CUBEJS_DB_DUCKDB_DATABASE_PATH").unwrap_or_default())));
        }
        "snowflake" => return snowflake_url(&var).map(Some),
        "bigquery" => return bigquery_url(&var).map(Some),
        "databricks-jdbc" | "databricks" => return databricks_url(&var).map(Some),
        other => {
            return Err(format!(
                "CUBEJS_DB_TYPE={other} is not a database cubec runs on (postgres, redshift, mysql, clickhouse, databricks-jdbc, snowflake, bigquery, duckdb); set CUBEC_DB_URL or --db"
            ))
        }
    };
    let host = var("CUBEJS_DB_HOST").unwrap_or_else(|| "localhost".to_string());
    let port = var("CUBEJS_DB_PORT").unwrap_or_else(|| default_port.to_string());
    if port.parse::<u16>().is_err() {
        return Err(format!("CUBEJS_DB_PORT `{port}` is not a port number"));
    }
    let name = var("CUBEJS_DB_NAME").unwrap_or_else(|| {
        match scheme {
            "mysql" => "",
            "clickhouse" => "default",
            _ => "postgres",
        }
        .to_string()
    });
    let user = var("CUBEJS_DB_USER").map(|u| encode(&u));
    let pass = var("CUBEJS_DB_PASS").map(|p| encode(&p));
    let creds = match (user, pass) {
        (Some(u), Some(p)) => format!("{u}:{p}@"),
        (Some(u), None) => format!("{u}@"),
        (None, Some(p)) => format!(":{p}@"),
        (None, None) => String::new(),
    };
    let ssl = matches!(var("CUBEJS_DB_SSL").as_deref(), Some("true" | "1" | "yes"));
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
    let query = if ssl { tls_query } else { "" };
    Ok(Some(format!("{scheme}://{creds}{host}:{port}/{}{query}", encode(&name))))
}

/// A Snowflake URL from Cube's `CUBEJS_DB_SNOWFLAKE_*` variables (account, region, warehouse,
/// role, private key path and passphrase) and `CUBEJS_DB_NAME`, `_USER`, `_PASS`.
fn snowflake_url(var: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let account =
        var("CUBEJS_DB_SNOWFLAKE_ACCOUNT").ok_or("CUBEJS_DB_TYPE=snowflake needs CUBEJS_DB_SNOWFLAKE_ACCOUNT")?;
    let account = match var("CUBEJS_DB_SNOWFLAKE_REGION") {
        Some(region) => format!("{account}.{region}"),
        None => account,
    };
    let user = var("CUBEJS_DB_USER").ok_or("CUBEJS_DB_TYPE=snowflake needs CUBEJS_DB_USER")?;
    let creds = match var("CUBEJS_DB_PASS") {
        Some(p) => format!("{}:{}@", encode(&user), encode(&p)),
        None => format!("{}@", encode(&user)),
    };
    let mut query = Vec::new();
    for (key, name) in [
        ("warehouse", "CUBEJS_DB_SNOWFLAKE_WAREHOUSE"),
        ("role", "CUBEJS_DB_SNOWFLAKE_ROLE"),
        ("private_key_path", "CUBEJS_DB_SNOWFLAKE_PRIVATE_KEY_PATH"),
        ("private_key_passphrase", "CUBEJS_DB_SNOWFLAKE_PRIVATE_KEY_PASS"),
    ] {
        if let Some(v) = var(name) {
            query.push(format!("{key}={}", encode(&v)));
        }
    }
    let path = var("CUBEJS_DB_NAME").map(|d| format!("/{}", encode(&d))).unwrap_or_default();
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    Ok(format!("snowflake://{creds}{}{path}{query}", encode(&account)))
}

/// A BigQuery URL from Cube's `CUBEJS_DB_BQ_PROJECT_ID`, `_KEY_FILE` and `_LOCATION`.
fn bigquery_url(var: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let project = var("CUBEJS_DB_BQ_PROJECT_ID").ok_or("CUBEJS_DB_TYPE=bigquery needs CUBEJS_DB_BQ_PROJECT_ID")?;
    if var("CUBEJS_DB_BQ_CREDENTIALS").is_some() && var("CUBEJS_DB_BQ_KEY_FILE").is_none() {
        return Err("CUBEJS_DB_BQ_CREDENTIALS (inline base64 JSON) is not read by cubec: write the key to a file and \
             set CUBEJS_DB_BQ_KEY_FILE or GOOGLE_APPLICATION_CREDENTIALS"
            .to_string());
    }
    let mut query = Vec::new();
    if let Some(f) = var("CUBEJS_DB_BQ_KEY_FILE") {
        query.push(format!("key_file={}", encode(&f)));
    }
    if let Some(l) = var("CUBEJS_DB_BQ_LOCATION") {
        query.push(format!("location={}", encode(&l)));
    }
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    Ok(format!("bigquery://{}{query}", encode(&project)))
}

/// A Databricks URL from Cube's `CUBEJS_DB_DATABRICKS_URL` (its JDBC URL:
/// `jdbc:databricks://HOST:443/default;...;httpPath=/sql/1.0/warehouses/ID;...;PWD=TOKEN`),
/// `CUBEJS_DB_DATABRICKS_TOKEN` (which wins over the URL's `PWD`) and `_CATALOG`, and
/// `CUBEJS_DB_NAME` as the schema.
fn databricks_url(var: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let jdbc =
        var("CUBEJS_DB_DATABRICKS_URL").ok_or("CUBEJS_DB_TYPE=databricks-jdbc needs CUBEJS_DB_DATABRICKS_URL")?;
    let rest = jdbc
        .strip_prefix("jdbc:databricks://")
        .or_else(|| jdbc.strip_prefix("jdbc:spark://"))
        .ok_or("CUBEJS_DB_DATABRICKS_URL is not a jdbc:databricks:// URL")?;
    let mut parts = rest.split(';');
    let address = parts.next().unwrap_or("");
    let host = address.split(['/', ':']).next().unwrap_or("");
    let setting = |key: &str| {
        rest.split(';')
            .skip(1)
            .find_map(|p| p.split_once('=').filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
    };
    let path = setting("httpPath").ok_or("CUBEJS_DB_DATABRICKS_URL has no httpPath=/sql/1.0/warehouses/ID")?;
    let warehouse = path
        .trim_end_matches('/')
        .rsplit_once("/warehouses/")
        .map(|(_, id)| id)
        .or_else(|| path.trim_end_matches('/').rsplit_once("/endpoints/").map(|(_, id)| id))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or("CUBEJS_DB_DATABRICKS_URL's httpPath names no SQL warehouse (/sql/1.0/warehouses/ID)")?;
    let token = var("CUBEJS_DB_DATABRICKS_TOKEN")
        .or_else(|| setting("PWD").map(str::to_string))
        .ok_or("CUBEJS_DB_TYPE=databricks-jdbc needs CUBEJS_DB_DATABRICKS_TOKEN (or PWD= in the URL)")?;
    if host.is_empty() {
        return Err("CUBEJS_DB_DATABRICKS_URL names no host".to_string());
    }
    let mut query = Vec::new();
    if let Some(c) = var("CUBEJS_DB_DATABRICKS_CATALOG") {
        query.push(format!("catalog={}", encode(&c)));
    }
    if let Some(s) = var("CUBEJS_DB_NAME") {
        query.push(format!("schema={}", encode(&s)));
    }
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    Ok(format!("databricks://token:{}@{host}/{}{query}", encode(&token), encode(warehouse)))
}

/// Percent-encodes what a URL's user, password or path may not hold.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A value for `--print-config`: secrets and passwords in URLs masked.
pub(crate) fn shown(key: &str, value: &str) -> String {
    if key.contains("secret") || key.contains("password") {
        return if value.is_empty() { String::new() } else { "***".to_string() };
    }
    cubec::exec::url::redact(value)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cube_warehouse_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let sf = super::snowflake_url(&vars(&[
            ("CUBEJS_DB_SNOWFLAKE_ACCOUNT", "xy123"),
            ("CUBEJS_DB_SNOWFLAKE_REGION", "eu-west-1"),
            ("CUBEJS_DB_SNOWFLAKE_WAREHOUSE", "WH"),
            ("CUBEJS_DB_USER", "svc"),
            ("CUBEJS_DB_PASS", "p@ss"),
            ("CUBEJS_DB_NAME", "ANALYTICS"),
        ]))
        .unwrap();
        assert_eq!(sf, "snowflake://svc:p%40ss@xy123.eu-west-1/ANALYTICS?warehouse=WH");
        assert!(super::snowflake_url(&vars(&[("CUBEJS_DB_USER", "x")])).unwrap_err().contains("ACCOUNT"));
        let bq = super::bigquery_url(&vars(&[
            ("CUBEJS_DB_BQ_PROJECT_ID", "proj"),
            ("CUBEJS_DB_BQ_KEY_FILE", "/k.json"),
            ("CUBEJS_DB_BQ_LOCATION", "EU"),
        ]))
        .unwrap();
        assert_eq!(bq, "bigquery://proj?key_file=%2Fk.json&location=EU");
        assert!(super::bigquery_url(&vars(&[("CUBEJS_DB_BQ_PROJECT_ID", "p"), ("CUBEJS_DB_BQ_CREDENTIALS", "e30=")]))
            .unwrap_err()
            .contains("KEY_FILE"));
    }

    #[test]
    fn cube_databricks_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let url = super::databricks_url(&vars(&[
            (
                "CUBEJS_DB_DATABRICKS_URL",
                "jdbc:databricks://adb-1.2.azuredatabricks.net:443/default;transportMode=http;ssl=1;\
                 httpPath=/sql/1.0/warehouses/abc123;AuthMech=3;UID=token;PWD=dapiURL",
            ),
            ("CUBEJS_DB_DATABRICKS_TOKEN", "dapi+env"),
            ("CUBEJS_DB_DATABRICKS_CATALOG", "main"),
            ("CUBEJS_DB_NAME", "sales"),
        ]))
        .unwrap();
        assert_eq!(url, "databricks://token:dapi%2Benv@adb-1.2.azuredatabricks.net/abc123?catalog=main&schema=sales");
        let from_pwd = super::databricks_url(&vars(&[(
            "CUBEJS_DB_DATABRICKS_URL",
            "jdbc:databricks://h:443/default;httpPath=/sql/1.0/warehouses/w;PWD=dapiURL",
        )]))
        .unwrap();
        assert_eq!(from_pwd, "databricks://token:dapiURL@h/w");
        assert!(super::databricks_url(&vars(&[("CUBEJS_DB_DATABRICKS_URL", "jdbc:databricks://h:443/default;PWD=x")]))
            .unwrap_err()
            .contains("httpPath"));
        assert!(super::databricks_url(&vars(&[])).is_err());
    }

    #[test]
    fn encoding() {
        assert_eq!(super::encode("p@ss:w/rd"), "p%40ss%3Aw%2Frd");
        assert_eq!(super::shown("api_secret", "abc"), "***");
        assert_eq!(super::shown("db", "postgres://u:p@h/d"), "postgres://u:***@h/d");
    }
}
