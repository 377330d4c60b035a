//! Cube's auth: `Authorization: <jwt>` (or `Bearer <jwt>`, or `x-cube-authorization`), an HS256
//! token signed with the API secret. Its payload is the security context.

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

pub enum Auth {
    /// Every request needs a token signed with this secret.
    Secret(DecodingKey),
    /// `--dev`: no token needed; the context is empty.
    Dev,
}

/// Why a request was refused (HTTP 403).
#[derive(Debug, PartialEq)]
pub struct Refused(pub &'static str);

impl Auth {
    pub fn from_secret(secret: &str) -> Auth {
        Auth::Secret(DecodingKey::from_secret(secret.as_bytes()))
    }

    /// The security context of a request.
    pub fn context(&self, headers: &HeaderMap) -> Result<Value, Refused> {
        let key = match self {
            Auth::Dev => return Ok(Value::Object(Map::new())),
            Auth::Secret(key) => key,
        };
        let header = headers
            .get("authorization")
            .or_else(|| headers.get("x-cube-authorization"))
            .ok_or(Refused("Authorization header isn't set"))?;
        let text = header.to_str().map_err(|_| Refused("Invalid token"))?.trim();
        // Cube splits on a space and takes the second part, so `Bearer x` and `x` both work.
        let token = match text.split_once(' ') {
            Some((_, t)) => t.trim(),
            None => text,
        };
        if token.is_empty() {
            return Err(Refused("Authorization header isn't set"));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Cube (node's jsonwebtoken) honours `exp` when present but requires no claim, has no
        // leeway, and checks `aud` only when an audience is configured.
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(token, key, &validation).map_err(|_| Refused("Invalid token"))?;
        Ok(security_context(data.claims))
    }
}

/// The payload, with the fields of the legacy `u` claim merged in (as Cube does).
fn security_context(payload: Value) -> Value {
    let Value::Object(mut map) = payload else {
        return Value::Object(Map::new());
    };
    if let Some(Value::Object(u)) = map.get("u").cloned() {
        for (k, v) in u {
            map.entry(k).or_insert(v);
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", value.parse().expect("a valid header value"));
        h
    }

    fn token(alg: Algorithm, secret: &str, claims: Value) -> String {
        encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("a token")
    }

    #[test]
    fn accepts_plain_and_bearer_tokens_and_merges_u() {
        let auth = Auth::from_secret("s3cret");
        let t = token(Algorithm::HS256, "s3cret", serde_json::json!({"tenant": "a", "u": {"id": 7}}));
        let ctx = auth.context(&headers(&t)).expect("accepted");
        assert_eq!(ctx["tenant"], "a");
        assert_eq!(ctx["id"], 7);
        assert_eq!(auth.context(&headers(&format!("Bearer {t}"))), Ok(ctx));
    }

    #[test]
    fn refuses_wrong_secret_algorithm_expiry_and_unsigned_tokens() {
        let auth = Auth::from_secret("s3cret");
        let bad = [
            token(Algorithm::HS256, "other", serde_json::json!({})),
            token(Algorithm::HS512, "s3cret", serde_json::json!({})),
            token(Algorithm::HS256, "s3cret", serde_json::json!({"exp": 1_000_000})),
            // alg "none": header {"alg":"none","typ":"JWT"}, payload {}, no signature.
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.e30.".to_string(),
            "not a token".to_string(),
        ];
        for t in bad {
            assert_eq!(auth.context(&headers(&t)), Err(Refused("Invalid token")), "{t}");
        }
        assert_eq!(auth.context(&HeaderMap::new()), Err(Refused("Authorization header isn't set")));
    }
}
