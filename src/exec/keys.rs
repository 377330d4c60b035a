//! RSA private keys for signed-JWT logins (Snowflake key-pair authentication, Google service
//! accounts): PEM in, RS256 signatures out. The key is kept as PKCS#1 DER, the form the JWT
//! signer takes, and never printed.

use base64::Engine;
use pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

/// A private key read and ready to sign logins.
pub struct KeyPair {
    pkcs1_der: Vec<u8>,
    /// `SHA256:` and the base64 SHA-256 of the public key's DER (SubjectPublicKeyInfo).
    fingerprint: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        write!(f, "KeyPair({})", self.fingerprint)
    }
}

impl KeyPair {
    /// Reads a PEM private key: `BEGIN PRIVATE KEY` (PKCS#8), `BEGIN ENCRYPTED PRIVATE KEY`
    /// (PKCS#8 with a passphrase), or `BEGIN RSA PRIVATE KEY` (PKCS#1).
    pub fn from_pem(pem: &str, passphrase: Option<&str>) -> Result<KeyPair, String> {
        let key = if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            let pass = passphrase.ok_or("the private key is encrypted: give its passphrase")?;
            RsaPrivateKey::from_pkcs8_encrypted_pem(pem, pass.as_bytes())
                .map_err(|e| format!("cannot decrypt the private key (wrong passphrase?): {e}"))?
        } else if pem.contains("BEGIN RSA PRIVATE KEY") {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| format!("cannot read the PKCS#1 private key: {e}"))?
        } else if pem.contains("BEGIN PRIVATE KEY") {
            RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| format!("cannot read the PKCS#8 private key: {e}"))?
        } else {
            return Err("the private key file is not a PEM RSA private key (expected `-----BEGIN PRIVATE KEY-----`)"
                .to_string());
        };
        let public = RsaPublicKey::from(&key);
        let spki = public.to_public_key_der().map_err(|e| format!("cannot encode the public key: {e}"))?;
        let fingerprint =
            format!("SHA256:{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki.as_bytes())));
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let pkcs1_der =
            key.to_pkcs1_der().map_err(|e| format!("cannot encode the private key: {e}"))?.as_bytes().to_vec();
        Ok(KeyPair { pkcs1_der, fingerprint })
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// An RS256 JWT of `claims`, with `kid` in its header when given.
    pub fn sign(&self, claims: &serde_json::Value, kid: Option<&str>) -> Result<String, String> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        let key = jsonwebtoken::EncodingKey::from_rsa_der(&self.pkcs1_der);
        jsonwebtoken::encode(&header, claims, &key).map_err(|e| format!("cannot sign the token: {e}"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Throwaway test keys (tests/fixtures/keys/README.md says how they were made); the
    // fingerprint is what openssl printed for the public key.
    pub const PLAIN: &str = include_str!("../../tests/fixtures/keys/rsa_key.p8");
    pub const ENCRYPTED: &str = include_str!("../../tests/fixtures/keys/rsa_key_encrypted.p8");
    const FINGERPRINT: &str = include_str!("../../tests/fixtures/keys/rsa_key.fp");

    /// The public half, to check signatures with.
    pub fn verifier() -> jsonwebtoken::DecodingKey {
        use rsa::traits::PublicKeyParts;
        let key = RsaPrivateKey::from_pkcs8_pem(PLAIN).unwrap();
        let public = RsaPublicKey::from(&key);
        let b64 = |b: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        jsonwebtoken::DecodingKey::from_rsa_components(&b64(public.n().to_bytes_be()), &b64(public.e().to_bytes_be()))
            .unwrap()
    }

    #[test]
    fn fingerprint_matches_openssl() {
        let k = KeyPair::from_pem(PLAIN, None).unwrap();
        assert_eq!(k.fingerprint(), format!("SHA256:{}", FINGERPRINT.trim()));
        let e = KeyPair::from_pem(ENCRYPTED, Some("test")).unwrap();
        assert_eq!(e.fingerprint(), k.fingerprint());
    }

    #[test]
    fn bad_keys_are_clear_errors() {
        assert!(KeyPair::from_pem(ENCRYPTED, None).unwrap_err().contains("passphrase"));
        assert!(KeyPair::from_pem(ENCRYPTED, Some("nope")).unwrap_err().contains("wrong passphrase"));
        assert!(KeyPair::from_pem("not a key", None).unwrap_err().contains("PEM"));
        assert!(KeyPair::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", None).is_err());
    }
}
