//! HTTP for the warehouse engines (Snowflake's and BigQuery's REST APIs) through `ureq`: a
//! blocking client, because the engines run on the blocking threads of the connection pool as
//! the PostgreSQL client does. One agent per connection keeps its TCP/TLS connections alive
//! between requests; TLS is rustls with the public web roots, as for PostgreSQL.
//!
//! Requests that are safe to repeat (reads, logins, polls, requests carrying an idempotency id)
//! go through [`Http::retrying`]: a network failure or a 429/502/503/504 answer is retried with
//! backoff (200 ms, 400 ms, 800 ms) before it is reported.

use super::ExecError;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest response body read (a result page or chunk).
const BODY_LIMIT: u64 = 1 << 30;

/// How long a health check may take (the pool's check before handing out a connection).
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// How many times a safe request is sent at most.
const ATTEMPTS: u32 = 4;

pub struct Http {
    agent: ureq::Agent,
}

/// An answer: its status and body (any status; the caller decides what an error is).
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let text = String::from_utf8_lossy(&self.body);
            let shown: String = text.chars().take(300).collect();
            format!("HTTP {} with a body that is not JSON ({e}): {shown}", self.status)
        })
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Worth another try: rate limited, or a gateway or the service briefly away.
    fn is_transient(&self) -> bool {
        matches!(self.status, 429 | 502 | 503 | 504)
    }
}

#[derive(Clone, Copy)]
pub enum Method<'a> {
    Get,
    Delete,
    Post(Option<&'a Value>),
    /// An `application/x-www-form-urlencoded` body (OAuth token requests).
    PostForm(&'a str),
}

impl Http {
    /// `connect` bounds establishing a connection; `request` bounds one whole request (the
    /// warehouses answer long queries with "still running" well within it, and are polled).
    pub fn new(connect: Duration, request: Duration) -> Http {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(connect))
            .timeout_global(Some(request))
            .user_agent(concat!("cubec/", env!("CARGO_PKG_VERSION")))
            .build();
        Http { agent: config.into() }
    }

    /// One request; a network failure is an error, any status is a [`Reply`].
    pub fn send(&self, method: Method<'_>, url: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        self.send_within(method, url, headers, None)
    }

    /// [`Http::send`] bounded by `limit` instead of the agent's request timeout (health checks
    /// must not wait on a database that stopped answering).
    pub fn send_within(
        &self,
        method: Method<'_>,
        url: &str,
        headers: &[(&str, &str)],
        limit: Option<Duration>,
    ) -> Result<Reply, String> {
        let result = match method {
            Method::Get | Method::Delete => {
                let mut req = if matches!(method, Method::Get) { self.agent.get(url) } else { self.agent.delete(url) };
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                if limit.is_some() {
                    req = req.config().timeout_global(limit).build();
                }
                req.call()
            }
            Method::PostForm(form) => {
                let mut req = self.agent.post(url).header("Content-Type", "application/x-www-form-urlencoded");
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                if limit.is_some() {
                    req = req.config().timeout_global(limit).build();
                }
                req.send(form)
            }
            Method::Post(body) => {
                let mut req = self.agent.post(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                if limit.is_some() {
                    req = req.config().timeout_global(limit).build();
                }
                match body {
                    Some(b) => req.send_json(b),
                    None => req.send_empty(),
                }
            }
        };
        let mut response = result.map_err(|e| network_text(&e))?;
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(BODY_LIMIT).read_to_vec().map_err(|e| network_text(&e))?;
        Ok(Reply { status, body })
    }

    /// [`Http::send`] for a request that is safe to repeat, retried with backoff on network
    /// failures and transient statuses. The last network failure is "unavailable".
    pub fn retrying(&self, method: Method<'_>, url: &str, headers: &[(&str, &str)]) -> Result<Reply, ExecError> {
        let mut wait = Duration::from_millis(200);
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.send(method, url, headers) {
                Ok(reply) if reply.is_transient() && attempt < ATTEMPTS => {
                    last = format!("HTTP {}", reply.status);
                }
                Ok(reply) => return Ok(reply),
                Err(e) => last = e,
            }
            if attempt < ATTEMPTS {
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
        Err(ExecError::unavailable(format!("{} (after {ATTEMPTS} attempts): {last}", host_of(url))))
    }
}

/// A random id in UUID form (v4 layout): Snowflake request ids, BigQuery job ids. Random
/// enough to never collide between requests; not a secret.
pub fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for half in bytes.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `scheme://host:port` of a URL, for messages (never its query, which may carry tokens).
pub fn host_of(url: &str) -> String {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[after..].find(['/', '?']).map(|i| i + after).unwrap_or(url.len());
    url[..end].to_string()
}

fn network_text(e: &ureq::Error) -> String {
    super::error_chain(e)
}

/// Percent-encodes a URL query value or path segment.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space in query values); bad escapes are kept as written.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A warehouse URL read: `scheme://[user[:password]@]host[/path...][?k=v&...]`, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WarehouseUrl {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub path: Vec<String>,
    pub params: Vec<(String, String)>,
}

impl WarehouseUrl {
    /// [`WarehouseUrl::parse`], refusing a parameter not in `known` (a typo would otherwise
    /// be ignored silently).
    pub fn parse_known(url: &str, scheme: &str, known: &[&str]) -> Result<WarehouseUrl, String> {
        let u = WarehouseUrl::parse(url, scheme)?;
        let unknown = u.unknown_params(known);
        if !unknown.is_empty() {
            return Err(format!("unknown parameter `{}` (known: {})", unknown.join("`, `"), known.join(", ")));
        }
        Ok(u)
    }

    pub fn parse(url: &str, scheme: &str) -> Result<WarehouseUrl, String> {
        let rest = url
            .strip_prefix(scheme)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| format!("expected a URL starting with {scheme}://"))?;
        let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (creds, location) = match main.rfind('@') {
            Some(at) => (Some(&main[..at]), &main[at + 1..]),
            None => (None, main),
        };
        let (user, password) = match creds {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(decode(u)), Some(decode(p))),
                None => (Some(decode(c)), None),
            },
            None => (None, None),
        };
        let mut parts = location.split('/');
        let host = decode(parts.next().unwrap_or(""));
        let path = parts.filter(|p| !p.is_empty()).map(decode).collect();
        let mut params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((decode(k), decode(v)));
        }
        Ok(WarehouseUrl { user: user.filter(|u| !u.is_empty()), password, host, path, params })
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// A duration parameter in seconds (fractions allowed, up to a day), or `default`.
    pub fn seconds(&self, key: &str, default: u64) -> Result<Duration, String> {
        match self.param(key) {
            None => Ok(Duration::from_secs(default)),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("`{key}={v}` is not a number of seconds (more than 0, at most a day)")),
        }
    }

    /// Keys not in `known`, for a clear error on a typo.
    pub fn unknown_params(&self, known: &[&str]) -> Vec<String> {
        self.params
            .iter()
            .filter(|(k, _)| !known.iter().any(|n| n.eq_ignore_ascii_case(k)))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Any password or secret in a URL replaced, for messages: the user-info password and the
/// values of query keys that hold secrets.
pub fn redact(url: &str) -> String {
    let base = super::postgres::redact(url);
    let Some((main, query)) = base.split_once('?') else { return base };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{main}?{}", parts.join("&"))
}

fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.contains("passphrase") || k == "token"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_and_decoded() {
        let u = WarehouseUrl::parse("snowflake://me%40x:p%2Fss@acct-1/DB/SCH?warehouse=WH&role=R%20X", "snowflake")
            .unwrap();
        assert_eq!(u.user.as_deref(), Some("me@x"));
        assert_eq!(u.password.as_deref(), Some("p/ss"));
        assert_eq!(u.host, "acct-1");
        assert_eq!(u.path, vec!["DB", "SCH"]);
        assert_eq!(u.param("ROLE"), Some("R X"));
        assert!(WarehouseUrl::parse("postgres://x", "snowflake").is_err());
        assert_eq!(u.unknown_params(&["warehouse"]), vec!["role"]);
    }

    #[test]
    fn secrets_are_hidden() {
        assert_eq!(
            redact("snowflake://me:secret@acct/db?private_key_passphrase=abc&role=r"),
            "snowflake://me:***@acct/db?private_key_passphrase=***&role=r"
        );
        assert_eq!(host_of("https://a.b:443/x?token=1"), "https://a.b:443");
    }

    #[test]
    fn random_ids_are_uuids() {
        let a = random_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, random_id());
    }

    #[test]
    fn decoding_never_panics() {
        for s in ["%", "%4", "%zz", "%%41", "%C3%A9", "é%", "a+b"] {
            let _ = decode(s);
        }
        assert_eq!(decode("%C3%A9+x"), "é x");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
