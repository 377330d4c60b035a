//! HTTP for the warehouse engines (Snowflake's and BigQuery's REST APIs, ClickHouse's HTTP interface) through `ureq`: a
//! blocking client, because the engines run on the blocking threads of the connection pool as
//! the PostgreSQL client does. One agent per connection keeps its TCP/TLS connections alive
//! between requests; TLS is rustls with the public web roots, as for PostgreSQL.
//!
//! Requests that are safe to repeat (reads, logins, polls, requests carrying an idempotency id)
//! go through [`Http::retrying`]: a network failure or a 429/502/503/504 answer is retried with
//! backoff (200 ms, 400 ms, 800 ms) before it is reported.

use super::url::host_of;
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
    /// A body sent as it is, with the content type the caller's headers give (ClickHouse's SQL).
    PostText(&'a str),
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
            Method::Get => prepared(self.agent.get(url), headers, limit).call(),
            Method::Delete => prepared(self.agent.delete(url), headers, limit).call(),
            Method::PostText(text) => prepared(self.agent.post(url), headers, limit).send(text),
            Method::PostForm(form) => {
                let req = self.agent.post(url).header("Content-Type", "application/x-www-form-urlencoded");
                prepared(req, headers, limit).send(form)
            }
            Method::Post(Some(body)) => prepared(self.agent.post(url), headers, limit).send_json(body),
            Method::Post(None) => prepared(self.agent.post(url), headers, limit).send_empty(),
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

/// A request with `headers`, bounded by `limit` where given (else the agent's timeout).
fn prepared<B>(
    mut req: ureq::RequestBuilder<B>,
    headers: &[(&str, &str)],
    limit: Option<Duration>,
) -> ureq::RequestBuilder<B> {
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if limit.is_some() {
        req = req.config().timeout_global(limit).build();
    }
    req
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

fn network_text(e: &ureq::Error) -> String {
    super::error_chain(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_uuids() {
        let a = random_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, random_id());
    }
}
