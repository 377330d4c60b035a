//! Database URLs as text: warehouse URLs read into their parts, percent-encoding, and the one
//! way every engine's messages show a URL (passwords and secret parameters replaced).

use std::time::Duration;

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

/// `scheme://host:port` of a URL, for messages (never its query, which may carry tokens).
pub fn host_of(url: &str) -> String {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[after..].find(['/', '?']).map(|i| i + after).unwrap_or(url.len());
    url[..end].to_string()
}

/// Any password or secret in a URL replaced, for messages: the user-info password and the
/// values of query keys that hold secrets.
pub fn redact(url: &str) -> String {
    let base = redact_password(url);
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

/// The URL with the user-info password replaced.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
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
    fn postgres_passwords_are_hidden() {
        assert_eq!(redact("postgres://me:secret@db:5432/x"), "postgres://me:***@db:5432/x");
        assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(redact("postgres://me@db/x?password=p"), "postgres://me@db/x?password=***");
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
