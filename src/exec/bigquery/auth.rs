//! Google credentials for BigQuery, read as Google's own tools read them: a JSON file named by
//! `GOOGLE_APPLICATION_CREDENTIALS` (or the URL's `key_file`), either a service account key
//! (`"type": "service_account"`: a JWT signed with its private key is exchanged at its
//! `token_uri` for an access token, RFC 7523) or a user's application-default credentials
//! (`"type": "authorized_user"`: a refresh token exchanged for an access token).
//!
//! Access tokens are cached and shared by every connection, and renewed a minute before they
//! expire.

use super::super::http::{Http, Method};
use super::super::keys::KeyPair;
use super::super::url;
use super::super::ExecError;
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

pub enum Credentials {
    ServiceAccount { email: String, key_id: Option<String>, key: KeyPair, token_uri: String },
    AuthorizedUser { client_id: String, client_secret: String, refresh_token: String, token_uri: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only, never secrets.
        match self {
            Credentials::ServiceAccount { email, .. } => write!(f, "ServiceAccount({email})"),
            Credentials::AuthorizedUser { client_id, .. } => write!(f, "AuthorizedUser({client_id})"),
        }
    }
}

impl Credentials {
    /// Reads a credentials JSON document (`source` names it in errors).
    pub fn from_json(text: &str, source: &str) -> Result<Credentials, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("{source} is not JSON: {e}"))?;
        let field = |k: &str| {
            v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string).ok_or_else(|| format!("{source} has no `{k}`"))
        };
        let token_uri = v["token_uri"].as_str().unwrap_or(GOOGLE_TOKEN_URI).to_string();
        match v["type"].as_str() {
            Some("service_account") => {
                // Read now, so a broken key fails at startup rather than at the first query.
                let key = KeyPair::from_pem(&field("private_key")?, None)
                    .map_err(|e| format!("{source}: `private_key` is not an RSA PEM key: {e}"))?;
                Ok(Credentials::ServiceAccount {
                    email: field("client_email")?,
                    key_id: v["private_key_id"].as_str().map(str::to_string),
                    key,
                    token_uri,
                })
            }
            Some("authorized_user") => Ok(Credentials::AuthorizedUser {
                client_id: field("client_id")?,
                client_secret: field("client_secret")?,
                refresh_token: field("refresh_token")?,
                token_uri,
            }),
            other => Err(format!(
                "{source}: credentials of type {} are not supported (use a service account key or `gcloud auth application-default login`)",
                other.map(|t| format!("`{t}`")).unwrap_or_else(|| "(none)".into())
            )),
        }
    }

    /// The signed assertion a service account exchanges for a token.
    pub fn assertion(&self, now: u64) -> Result<Option<String>, String> {
        let Credentials::ServiceAccount { email, key_id, key, token_uri } = self else { return Ok(None) };
        let claims = serde_json::json!({
            "iss": email, "scope": SCOPE, "aud": token_uri, "iat": now, "exp": now + 3600,
        });
        key.sign(&claims, key_id.as_deref()).map(Some)
    }

    fn token_request(&self, now: u64) -> Result<(String, String), String> {
        Ok(match self {
            Credentials::ServiceAccount { token_uri, .. } => {
                let jwt = self.assertion(now)?.unwrap_or_default();
                (
                    token_uri.clone(),
                    format!(
                        "grant_type={}&assertion={jwt}",
                        url::encode("urn:ietf:params:oauth:grant-type:jwt-bearer")
                    ),
                )
            }
            Credentials::AuthorizedUser { client_id, client_secret, refresh_token, token_uri } => (
                token_uri.clone(),
                format!(
                    "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                    url::encode(client_id),
                    url::encode(client_secret),
                    url::encode(refresh_token)
                ),
            ),
        })
    }
}

/// Credentials and the access token they last gave.
#[derive(Debug)]
pub struct TokenSource {
    credentials: Credentials,
    cached: Mutex<Option<(String, Instant)>>,
}

impl TokenSource {
    pub fn new(credentials: Credentials) -> TokenSource {
        TokenSource { credentials, cached: Mutex::new(None) }
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    pub fn token(&self, http: &Http) -> Result<String, ExecError> {
        if let Ok(c) = self.cached.lock() {
            if let Some((t, until)) = c.as_ref() {
                if Instant::now() < *until {
                    return Ok(t.clone());
                }
            }
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let (uri, form) = self.credentials.token_request(now).map_err(ExecError)?;
        let reply = http.retrying(Method::PostForm(&form), &uri, &[("Accept", "application/json")])?;
        let v = reply.json().map_err(|e| ExecError::unavailable(format!("Google token endpoint: {e}")))?;
        let Some(token) = v["access_token"].as_str() else {
            let why =
                v["error_description"].as_str().or(v["error"].as_str()).unwrap_or("no access_token in the answer");
            return Err(ExecError::unavailable(format!(
                "Google refused the {:?} credentials at {}: {why}",
                self.credentials,
                url::host_of(&uri)
            )));
        };
        let lifetime = v["expires_in"].as_u64().unwrap_or(3600).saturating_sub(60).max(1);
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((token.to_string(), Instant::now() + Duration::from_secs(lifetime)));
        }
        Ok(token.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::exec::keys::tests::{verifier, PLAIN as KEY};

    /// A token endpoint on a local port answering `reply`; the second value gives the forms it
    /// received.
    fn stub(reply: &'static str) -> (String, impl Fn() -> Vec<String>) {
        let (base, log) = crate::exec::stub::serve(std::sync::Arc::new(move |_| (200, reply.to_string())));
        (format!("{base}/token"), move || log.lock().unwrap().iter().map(|r| r.body.clone()).collect())
    }

    fn form_value(form: &str, key: &str) -> String {
        let raw = form.split('&').find_map(|p| p.strip_prefix(&format!("{key}="))).unwrap_or("");
        url::decode(raw)
    }

    #[test]
    fn service_account_exchanges_a_signed_assertion() {
        let (uri, server) = stub(r#"{"access_token":"ya29.test","expires_in":3599,"token_type":"Bearer"}"#);
        let doc = serde_json::json!({
            "type": "service_account", "client_email": "cubec@p.iam.gserviceaccount.com",
            "private_key_id": "k1", "private_key": KEY, "token_uri": uri,
        });
        let source = TokenSource::new(Credentials::from_json(&doc.to_string(), "key.json").unwrap());
        let http = Http::new(Duration::from_secs(2), Duration::from_secs(5));
        assert_eq!(source.token(&http).unwrap(), "ya29.test");
        let form = server()[0].clone();
        assert_eq!(form_value(&form, "grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
        let jwt = form_value(&form, "assertion");
        let key = verifier();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[uri.as_str()]);
        let data = jsonwebtoken::decode::<Value>(&jwt, &key, &validation).unwrap();
        assert_eq!(data.header.kid.as_deref(), Some("k1"));
        assert_eq!(data.claims["iss"], "cubec@p.iam.gserviceaccount.com");
        assert_eq!(data.claims["scope"], SCOPE);
        // Cached: no second request.
        assert_eq!(source.token(&http).unwrap(), "ya29.test");
        assert_eq!(server().len(), 1);
    }

    #[test]
    fn authorized_user_refreshes_and_refusals_are_clear() {
        let (uri, server) =
            stub(r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#);
        let doc = serde_json::json!({
            "type": "authorized_user", "client_id": "id", "client_secret": "s&x", "refresh_token": "r", "token_uri": uri,
        });
        let source = TokenSource::new(Credentials::from_json(&doc.to_string(), "adc.json").unwrap());
        let http = Http::new(Duration::from_secs(2), Duration::from_secs(5));
        let err = source.token(&http).unwrap_err();
        assert!(err.is_unavailable() && err.0.contains("expired or revoked"), "{err}");
        assert!(!err.0.contains("s&x"));
        let form = server()[0].clone();
        assert_eq!(form_value(&form, "client_secret"), "s&x");
        assert_eq!(form_value(&form, "grant_type"), "refresh_token");
    }

    #[test]
    fn bad_credentials_files() {
        let e = |t: &str| Credentials::from_json(t, "f.json").unwrap_err();
        assert!(e("{").contains("not JSON"));
        assert!(e(r#"{"type":"external_account"}"#).contains("not supported"));
        assert!(
            e(r#"{"type":"service_account","client_email":"x","private_key":"nope"}"#).contains("not an RSA PEM key")
        );
        assert!(e(r#"{"type":"authorized_user","client_id":"x"}"#).contains("client_secret"));
    }
}
