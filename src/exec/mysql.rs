//! MySQL and MariaDB through the `mysql` crate: `mysql://user:password@host:3306/database`.
//! Parameters are bound (the binary protocol's prepared statements), never pasted. Each session
//! runs in UTC with backslash escapes on, as the `mysql` dialect's SQL expects (and as Cube's
//! driver sets its sessions). A running query is stopped with `KILL QUERY` from a second
//! connection, which leaves the first one usable.

use super::url::{redact, WarehouseUrl};
use super::{Cell, ExecError, ResultSet};
use mysql::consts::ColumnType;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, SslOpts, Value};

/// URL parameters, with the names MySQL's own clients use and libpq's (as in `postgres://`).
const KNOWN: &[&str] = &["ssl-mode", "sslmode", "ssl-ca", "sslrootcert", "connect_timeout"];

/// How a connection uses TLS (`ssl-mode`, as MySQL's clients name the modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    Disabled,
    /// TLS when the server offers it, certificates not checked (MySQL's default).
    Preferred,
    /// TLS always, certificates not checked unless a CA is given.
    Required,
    /// TLS, the chain checked against the CA (or the public web roots), not the host name.
    VerifyCa,
    VerifyIdentity,
}

impl TlsMode {
    fn parse(s: &str) -> Option<TlsMode> {
        Some(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "disabled" | "disable" => TlsMode::Disabled,
            "preferred" | "prefer" => TlsMode::Preferred,
            "required" | "require" => TlsMode::Required,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-identity" | "verify-full" => TlsMode::VerifyIdentity,
            _ => return None,
        })
    }
}

/// A MySQL URL read (no connection made).
pub struct Settings {
    opts: OptsBuilder,
    tls: TlsMode,
    ca: Option<String>,
}

impl Settings {
    pub fn parse(url: &str) -> Result<Settings, ExecError> {
        let shown = redact(url);
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("mysql");
        let u = WarehouseUrl::parse_known(url, scheme, KNOWN)
            .map_err(|e| ExecError(format!("cannot read the MySQL URL {shown}: {e}")))?;
        let (host, port) = host_and_port(&u.host)
            .ok_or_else(|| ExecError(format!("cannot read the MySQL URL {shown}: `{}` is not host[:port]", u.host)))?;
        if u.path.len() > 1 {
            return Err(ExecError(format!(
                "cannot read the MySQL URL {shown}: expected mysql://user:password@host:port/database"
            )));
        }
        let mode = u.param("ssl-mode").or(u.param("sslmode"));
        let tls = match mode {
            None => TlsMode::Preferred,
            Some(m) => TlsMode::parse(m).ok_or_else(|| {
                ExecError(format!(
                    "ssl-mode `{m}` in {shown} is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
                ))
            })?,
        };
        let connect_timeout =
            u.seconds("connect_timeout", 5).map_err(|e| ExecError(format!("in the MySQL URL {shown}: {e}")))?;
        let opts = OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(port)
            .user(u.user.clone())
            .pass(u.password.clone())
            .db_name(u.path.first().cloned())
            // The crate would move a loopback connection to the server's Unix socket, where the
            // account is 'user'@'localhost', not the 'user'@'127.0.0.1' the URL means.
            .prefer_socket(false)
            .tcp_connect_timeout(Some(connect_timeout))
            .tcp_keepalive_time_ms(Some(30_000))
            .init(vec![
                "SET time_zone = '+00:00'".to_string(),
                "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')".to_string(),
                // Decimal division and AVG keep 4 digits past the dividend's by default: a ratio
                // of 1/3 would read 0.3333. 30 is MySQL's most.
                "SET SESSION div_precision_increment = 30".to_string(),
            ]);
        Ok(Settings { opts, tls, ca: u.param("ssl-ca").or(u.param("sslrootcert")).map(str::to_string) })
    }

    fn ssl_opts(&self) -> Option<SslOpts> {
        let with_ca = |o: SslOpts| match &self.ca {
            Some(path) => o.with_root_cert_path(Some(std::path::PathBuf::from(path))),
            None => o,
        };
        match self.tls {
            TlsMode::Disabled => None,
            TlsMode::Preferred => Some(SslOpts::default().with_danger_accept_invalid_certs(true)),
            TlsMode::Required if self.ca.is_none() => Some(SslOpts::default().with_danger_accept_invalid_certs(true)),
            TlsMode::Required | TlsMode::VerifyCa => {
                Some(with_ca(SslOpts::default()).with_danger_skip_domain_validation(true))
            }
            TlsMode::VerifyIdentity => Some(with_ca(SslOpts::default())),
        }
    }

    fn opts(&self, ssl: Option<SslOpts>) -> Opts {
        self.opts.clone().ssl_opts(ssl).into()
    }
}

/// `host`, `host:port` or `[v6]:port`; 3306 unless said.
fn host_and_port(s: &str) -> Option<(String, u16)> {
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (h, tail) = rest.split_once(']')?;
        return match tail.strip_prefix(':') {
            Some(p) => Some((h.to_string(), p.parse().ok()?)),
            None if tail.is_empty() => Some((h.to_string(), 3306)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h.to_string(), p.parse().ok()?)),
        Some(_) => None,
        None => Some((s.to_string(), 3306)),
    }
}

pub struct MySql {
    conn: Conn,
    /// For `KILL QUERY`, which needs a connection of its own.
    opts: Opts,
    shown: String,
    /// The connection was lost: the pool must not hand it out again.
    broken: bool,
    /// Whether the server has its time-zone tables (CONVERT_TZ to a named zone is NULL without).
    named_zones: bool,
}

impl MySql {
    /// Connects to `url` with TLS as `ssl-mode` says; a failure is "unavailable".
    pub fn connect(url: &str) -> Result<MySql, ExecError> {
        let settings = Settings::parse(url)?;
        let shown = redact(url);
        let fail = |e: mysql::Error| ExecError::unavailable(format!("cannot connect to {shown}: {}", text(&e)));
        let ssl = settings.ssl_opts();
        let (conn, opts) = match Conn::new(settings.opts(ssl.clone())) {
            Ok(c) => (c, settings.opts(ssl)),
            // PREFERRED: a server without TLS is still reached, in the clear.
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
                if settings.tls == TlsMode::Preferred =>
            {
                let plain = settings.opts(None);
                (Conn::new(plain.clone()).map_err(fail)?, plain)
            }
            Err(e) => return Err(fail(e)),
        };
        // `named_zones` starts true so that the probe, itself a CONVERT_TZ, is not refused by the
        // check it is about to inform.
        let mut db = MySql { conn, opts, shown, broken: false, named_zones: true };
        let probe = db.query("SELECT CONVERT_TZ('2024-01-01 00:00:00', '+00:00', 'Europe/Berlin') IS NOT NULL", &[])?;
        db.named_zones = matches!(probe.rows.first().and_then(|r| r.first()), Some(Cell::Int(1)));
        Ok(db)
    }

    pub fn is_closed(&self) -> bool {
        self.broken
    }

    pub fn ping(&mut self) -> Result<(), ExecError> {
        self.conn.ping().map_err(|e| self.error(e, "MySQL did not answer a ping"))
    }

    /// Stops this connection's running query from another thread.
    pub fn canceller(&self) -> (Opts, u32) {
        (self.opts.clone(), self.conn.connection_id())
    }

    pub fn execute_batch(&mut self, sql: &str) -> Result<(), ExecError> {
        self.conn.query_drop(sql).map_err(|e| self.error(e, "MySQL"))
    }

    pub fn query(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        if !self.named_zones && sql.contains("CONVERT_TZ(") {
            return Err(ExecError(
                "this MySQL server has no time-zone tables, so CONVERT_TZ to a named zone would answer NULL: load them \
                 (mysql_tzinfo_to_sql /usr/share/zoneinfo | mysql -u root mysql; on MariaDB mariadb-tzinfo-to-sql), or \
                 query in UTC"
                    .to_string(),
            ));
        }
        let values: Vec<Value> = params.iter().map(|p| Value::Bytes(p.clone().into_bytes())).collect();
        // Statements without parameters go through the text protocol: not every statement can
        // be prepared (SHOW, some DDL), and there is nothing to bind.
        let outcome = if values.is_empty() {
            self.conn.query_iter(sql).map_err(Failed::Driver).and_then(read_result)
        } else {
            self.conn.exec_iter(sql, mysql::Params::Positional(values)).map_err(Failed::Driver).and_then(read_result)
        };
        outcome.map_err(|f| match f {
            Failed::Driver(e) => self.error(e, "MySQL could not run the query"),
            Failed::Value(e) => e,
        })
    }

    /// Creates and fills `t` (fixtures, `cubec load-data`): a temporary table shadows a real
    /// one for this session; a real one is built under a staging name and swapped in with one
    /// `RENAME TABLE`, so readers see the old table or the whole new one.
    pub fn load_table(&mut self, t: &super::tables::Table, temporary: bool) -> Result<(), ExecError> {
        let (schema, name) = t.schema_and_name();
        let defs: Vec<String> = t.columns.iter().map(|(c, ty)| format!("{} {}", quote(c), mysql_type(ty))).collect();
        let target = match schema {
            Some(s) => format!("{}.{}", quote(s), quote(name)),
            None => quote(name),
        };
        if temporary {
            self.execute_batch(&format!("DROP TEMPORARY TABLE IF EXISTS {target}"))?;
            self.execute_batch(&format!("CREATE TEMPORARY TABLE {target} ({})", defs.join(", ")))?;
            for insert in super::tables::inserts(&target, &t.rows, &LITERALS) {
                self.execute_batch(&insert)?;
            }
            return Ok(());
        }
        if let Some(s) = schema {
            self.execute_batch(&format!("CREATE DATABASE IF NOT EXISTS {}", quote(s)))?;
        }
        let staged = |suffix: &str| match schema {
            Some(s) => format!("{}.{}", quote(s), quote(&format!("{name}__{suffix}"))),
            None => quote(&format!("{name}__{suffix}")),
        };
        let (staging, old) = (staged("cubec_staging"), staged("cubec_old"));
        self.execute_batch(&format!("DROP TABLE IF EXISTS {staging}, {old}"))?;
        self.execute_batch(&format!("CREATE TABLE {staging} ({})", defs.join(", ")))?;
        let filled =
            super::tables::inserts(&staging, &t.rows, &LITERALS).iter().try_for_each(|i| self.execute_batch(i));
        if let Err(e) = filled {
            let _ = self.execute_batch(&format!("DROP TABLE IF EXISTS {staging}"));
            return Err(e);
        }
        self.execute_batch(&format!("CREATE TABLE IF NOT EXISTS {target} LIKE {staging}"))?;
        self.execute_batch(&format!("RENAME TABLE {target} TO {old}, {staging} TO {target}"))?;
        self.execute_batch(&format!("DROP TABLE IF EXISTS {old}"))
    }

    pub fn drop_temporary_table(&mut self, name: &str) -> Result<(), ExecError> {
        self.execute_batch(&format!("DROP TEMPORARY TABLE IF EXISTS {}", quote(name)))
    }

    /// The server's error in its words with its code; a lost connection, a server shutting
    /// down or out of connections is the database being away.
    fn error(&mut self, e: mysql::Error, doing: &str) -> ExecError {
        let message = format!("{doing}: {}", text(&e));
        let away = match &e {
            mysql::Error::MySqlError(m) => matches!(m.code, 1040 | 1053 | 1077 | 1152 | 1927 | 2006 | 2013),
            other => other.is_connectivity_error(),
        };
        if away {
            self.broken = true;
            return ExecError::unavailable(message);
        }
        match &e {
            // KILL QUERY (the pool's timeout) or the server's own statement time limit.
            mysql::Error::MySqlError(m) if m.code == 1317 => ExecError(format!("{doing}: the query was cancelled")),
            mysql::Error::MySqlError(m) if matches!(m.code, 1969 | 3024) => {
                ExecError(format!("{doing}: the server stopped the query at its time limit ({})", m.message))
            }
            _ => ExecError(message),
        }
    }
}

impl std::fmt::Debug for MySql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MySql({})", self.shown)
    }
}

/// Sends `KILL QUERY` for connection `id` over a short connection of its own.
pub fn cancel(opts: &Opts, id: u32) -> Result<(), ExecError> {
    let mut conn = Conn::new(opts.clone())
        .map_err(|e| ExecError(format!("cancelling the query: cannot connect: {}", text(&e))))?;
    conn.query_drop(format!("KILL QUERY {id}")).map_err(|e| ExecError(format!("cancelling the query: {}", text(&e))))
}

fn text(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => format!("{} ({}, SQLSTATE {})", m.message, m.code, m.state),
        other => super::error_chain(other),
    }
}

/// Why reading a result stopped: the driver (a server error, a lost connection) or a value cubec
/// cannot read.
enum Failed {
    Driver(mysql::Error),
    Value(ExecError),
}

fn read_result<P: mysql::prelude::Protocol>(mut r: mysql::QueryResult<'_, '_, '_, P>) -> Result<ResultSet, Failed> {
    let mut out = ResultSet::default();
    // The first result set with columns is the answer (a batch may start with statements
    // that return none).
    while let Some(set) = r.iter() {
        let columns = set.columns();
        let types: Vec<ColumnType> = columns.as_ref().iter().map(|c| c.column_type()).collect();
        let names: Vec<String> = columns.as_ref().iter().map(|c| c.name_str().into_owned()).collect();
        let mut rows = Vec::new();
        for row in set {
            let row = row.map_err(Failed::Driver)?;
            let mut cells = Vec::with_capacity(types.len());
            for (i, ty) in types.iter().enumerate() {
                cells.push(cell(row.as_ref(i).unwrap_or(&Value::NULL), *ty, &names[i]).map_err(Failed::Value)?);
            }
            rows.push(cells);
        }
        if out.columns.is_empty() && !names.is_empty() {
            out = ResultSet { columns: names, rows };
        }
    }
    Ok(out)
}

/// One value as a [`Cell`]: the binary protocol sends numbers and times typed; the text
/// protocol sends bytes, read by the column's type.
fn cell(v: &Value, ty: ColumnType, column: &str) -> Result<Cell, ExecError> {
    use ColumnType::*;
    let bad = |what: &str| ExecError(format!("MySQL: column `{column}`: cannot read {what}"));
    Ok(match v {
        Value::NULL => Cell::Null,
        Value::Int(i) => Cell::Int(*i),
        Value::UInt(u) => i64::try_from(*u).map(Cell::Int).unwrap_or_else(|_| Cell::Decimal(u.to_string())),
        Value::Float(f) => Cell::Float(f64::from(*f)),
        Value::Double(f) => Cell::Float(*f),
        Value::Date(y, m, d, h, mi, s, us) => Cell::Timestamp(
            chrono::NaiveDate::from_ymd_opt((*y).into(), (*m).into(), (*d).into())
                .and_then(|date| date.and_hms_micro_opt((*h).into(), (*mi).into(), (*s).into(), *us))
                .ok_or_else(|| bad("a date"))?,
        ),
        Value::Time(neg, days, h, m, s, us) => {
            let hours = u64::from(*days) * 24 + u64::from(*h);
            let frac = if *us == 0 { String::new() } else { format!(".{us:06}") };
            Cell::Text(format!("{}{hours:02}:{m:02}:{s:02}{frac}", if *neg { "-" } else { "" }))
        }
        Value::Bytes(b) => {
            let s = String::from_utf8_lossy(b);
            match ty {
                MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_INT24
                | MYSQL_TYPE_YEAR => match s.parse::<i64>() {
                    Ok(i) => Cell::Int(i),
                    Err(_) => Cell::Decimal(s.into_owned()),
                },
                MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Cell::Float(s.parse().map_err(|_| bad("a number"))?),
                MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => Cell::Decimal(
                    s.parse::<rust_decimal::Decimal>().map(|d| d.normalize().to_string()).unwrap_or(s.into_owned()),
                ),
                MYSQL_TYPE_DATE
                | MYSQL_TYPE_NEWDATE
                | MYSQL_TYPE_DATETIME
                | MYSQL_TYPE_DATETIME2
                | MYSQL_TYPE_TIMESTAMP
                | MYSQL_TYPE_TIMESTAMP2 => Cell::Timestamp(
                    crate::vocab::time::parse_local_datetime(&s).ok_or_else(|| bad(&format!("the time `{s}`")))?,
                ),
                MYSQL_TYPE_BIT => Cell::Int(b.iter().fold(0i64, |acc, x| (acc << 8) | i64::from(*x))),
                _ => Cell::Text(s.into_owned()),
            }
        }
    })
}

fn quote(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// Literals in MySQL's SQL: backticks, and backslashes escaped in strings.
const LITERALS: super::tables::Literals = super::tables::Literals {
    quote,
    text: |s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
    float: |f| if f.is_finite() { format!("{f:?}") } else { "NULL".to_string() },
    timestamp: |t| format!("'{t}'"),
};

/// A portable column type (see [`super::tables`]) in MySQL's words. DATETIME for both timestamp
/// kinds: the sessions run in UTC, and TIMESTAMP stops at 2038.
fn mysql_type(t: &str) -> String {
    super::tables::engine_type(t, &MYSQL_TYPES)
}

const MYSQL_TYPES: super::tables::TypeWords = super::tables::TypeWords {
    text: "TEXT",
    varchar: true,
    timestamp: "DATETIME(6)",
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
    fn hosts_and_ports() {
        assert_eq!(host_and_port("db"), Some(("db".into(), 3306)));
        assert_eq!(host_and_port("127.0.0.1:43306"), Some(("127.0.0.1".into(), 43306)));
        assert_eq!(host_and_port("[::1]:3307"), Some(("::1".into(), 3307)));
        assert_eq!(host_and_port("db:x"), None);
        assert_eq!(host_and_port(""), None);
    }

    #[test]
    fn urls() {
        assert!(Settings::parse("mysql://u:p@db:3306/shop?ssl-mode=DISABLED").is_ok());
        assert!(Settings::parse("mariadb://u@db/shop?sslmode=require").is_ok());
        let e = Settings::parse("mysql://u:secret@db/shop?ssl-mode=sometimes").err().unwrap();
        assert!(e.0.contains("sometimes") && !e.0.contains("secret"), "{e}");
        assert!(Settings::parse("mysql://u@db/shop?sslmdoe=disabled").is_err());
        assert!(Settings::parse("mysql://u@db/a/b").is_err());
    }

    #[test]
    fn types() {
        assert_eq!(mysql_type("text"), "TEXT");
        assert_eq!(mysql_type("numeric(10,2)"), "DECIMAL(10, 2)");
        assert_eq!(mysql_type("timestamptz"), "DATETIME(6)");
        assert_eq!(
            cell(&Value::Bytes(b"12.50".to_vec()), ColumnType::MYSQL_TYPE_NEWDECIMAL, "x").unwrap(),
            Cell::Decimal("12.5".into())
        );
        assert_eq!(
            cell(&Value::UInt(u64::MAX), ColumnType::MYSQL_TYPE_LONGLONG, "x").unwrap(),
            Cell::Decimal(u64::MAX.to_string())
        );
    }
}
