//! Snowflake key-pair authentication: a JWT signed with the user's RSA private key (see
//! [`super::super::keys`]), as Snowflake recommends for services.
//!
//! The token's issuer is `ACCOUNT.USER.SHA256:<fingerprint>` (the fingerprint is what
//! Snowflake shows as `RSA_PUBLIC_KEY_FP`) and its subject `ACCOUNT.USER`; both upper case, the
//! account without its region or cloud suffix. Tokens live one hour; one is made per login.

use super::super::keys::KeyPair;

/// A login token for `account` (its locator; a region suffix is dropped) and `user`, issued at
/// `now` (Unix seconds), valid for an hour.
pub fn login_token(key: &KeyPair, account: &str, user: &str, now: u64) -> Result<String, String> {
    let account = account.split('.').next().unwrap_or(account).to_ascii_uppercase();
    let user = user.to_ascii_uppercase();
    let claims = serde_json::json!({
        "iss": format!("{account}.{user}.{}", key.fingerprint()),
        "sub": format!("{account}.{user}"),
        "iat": now,
        "exp": now + 3600,
    });
    key.sign(&claims, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::keys::tests::{verifier, ENCRYPTED};

    #[test]
    fn token_verifies_with_the_public_key() {
        let k = KeyPair::from_pem(ENCRYPTED, Some("test")).unwrap();
        let token = login_token(&k, "xy12345.us-east-1", "svc_cubec", 1_700_000_000).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &verifier(), &validation).unwrap();
        assert_eq!(data.claims["sub"], "XY12345.SVC_CUBEC");
        assert_eq!(data.claims["iss"], format!("XY12345.SVC_CUBEC.{}", k.fingerprint()));
        assert_eq!(data.claims["exp"].as_u64().unwrap() - data.claims["iat"].as_u64().unwrap(), 3600);
    }
}
