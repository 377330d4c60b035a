//! TLS to PostgreSQL through rustls (no OpenSSL): `sslmode` and `sslrootcert` in the URL mean
//! what they mean to libpq.
//!
//! | sslmode | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (default) | when the server offers it | no (as libpq without a root certificate) |
//! | `require` | always | no; with `sslrootcert`, the chain (as libpq) |
//! | `verify-ca` | always | the chain, against `sslrootcert` (else the public web roots) |
//! | `verify-full` | always | the chain and the host name |
//!
//! The PostgreSQL driver parses only `disable`, `prefer` and `require`, so both keys are taken
//! out of the URL here and the rest is handed to the driver.

use super::ExecError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long connecting may take when the URL does not say (`connect_timeout`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// A PostgreSQL URL read: the driver's config and the TLS connector for it.
pub struct Target {
    pub config: postgres::Config,
    pub tls: MakeRustlsConnect,
    pub mode: SslMode,
}

/// Reads `url` (`postgres://`, `postgresql://` or `redshift://`), with `sslmode` and `sslrootcert`.
pub fn target(url: &str) -> Result<Target, ExecError> {
    let shown = super::url::redact(url);
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = SslMode::Prefer;
    let mut root_cert: Option<String> = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = SslMode::parse(v).ok_or_else(|| {
                    ExecError(format!(
                        "sslmode `{v}` in {shown} is not one of disable, prefer, require, verify-ca, verify-full"
                    ))
                })?
            }
            "sslrootcert" => root_cert = Some(percent_decode(v)),
            _ => rest.push(pair),
        }
    }
    // Redshift speaks PostgreSQL's protocol: its URLs are PostgreSQL's, on port 5439 by default.
    let redshift = base.strip_prefix("redshift://");
    let base = match redshift {
        Some(rest) => format!("postgres://{rest}"),
        None => base.to_string(),
    };
    let driver_url = if rest.is_empty() { base } else { format!("{base}?{}", rest.join("&")) };
    let mut config: postgres::Config =
        driver_url.parse().map_err(|e| ExecError(format!("cannot read the database URL {shown}: {e}")))?;
    if redshift.is_some() && config.get_ports().is_empty() {
        config.port(5439);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    config.ssl_mode(match mode {
        SslMode::Disable => postgres::config::SslMode::Disable,
        SslMode::Prefer => postgres::config::SslMode::Prefer,
        _ => postgres::config::SslMode::Require,
    });
    let roots = match &root_cert {
        Some(path) => Some(read_roots(path)?),
        None => None,
    };
    let tls = MakeRustlsConnect::new(client_config(mode, roots)?);
    Ok(Target { config, tls, mode })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // Bytes, not a `&str` slice: what follows `%` may be the middle of a character.
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_roots(path: &str) -> Result<RootCertStore, ExecError> {
    let mut store = RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| ExecError(format!("cannot read sslrootcert `{path}`: {e}")))?;
    for cert in certs {
        let cert = cert.map_err(|e| ExecError(format!("sslrootcert `{path}` is not PEM certificates: {e}")))?;
        store
            .add(cert)
            .map_err(|e| ExecError(format!("sslrootcert `{path}` holds a certificate rustls refuses: {e}")))?;
    }
    if store.is_empty() {
        return Err(ExecError(format!("sslrootcert `{path}` holds no certificate")));
    }
    Ok(store)
}

fn client_config(mode: SslMode, roots: Option<RootCertStore>) -> Result<rustls::ClientConfig, ExecError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ExecError(format!("TLS setup: {e}")))?;
    let checked_roots = |roots: Option<RootCertStore>| -> Arc<RootCertStore> {
        Arc::new(roots.unwrap_or_else(|| RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }))
    };
    let webpki = |roots: Arc<RootCertStore>| {
        WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
            .build()
            .map_err(|e| ExecError(format!("TLS setup: {e}")))
    };
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, roots) {
        (SslMode::VerifyFull, roots) => webpki(checked_roots(roots))?,
        (SslMode::VerifyCa, roots) | (SslMode::Require | SslMode::Prefer, roots @ Some(_)) => {
            Arc::new(Lenient { chain: Some(webpki(checked_roots(roots))?), provider: Arc::clone(&provider) })
        }
        (SslMode::Disable, _) | (_, None) => Arc::new(Lenient { chain: None, provider: Arc::clone(&provider) }),
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// The certificate check of `verify-ca` and of `require`/`prefer`: with a chain verifier, the
/// chain must lead to a trusted root but the name in it is not compared (`verify-ca`); without
/// one, the connection is encrypted, not authenticated (libpq's meaning of `require` without a
/// root certificate; use `verify-full` to know who you talk to). Handshake signatures are checked
/// either way, with the provider's algorithms.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_rootcert_are_read_and_removed() {
        let t = target("postgres://u:p@db:5432/x?sslmode=verify-full&application_name=cubec").unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.config.get_application_name(), Some("cubec"));
        assert_eq!(t.config.get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(target("postgres://db/x").unwrap().mode, SslMode::Prefer);
        assert_eq!(
            target("postgres://db/x?sslmode=disable&connect_timeout=2").unwrap().config.get_connect_timeout(),
            Some(&Duration::from_secs(2))
        );
        let bad = target("postgres://u:secret@db/x?sslmode=sometimes").err().unwrap().0;
        assert!(bad.contains("sometimes") && !bad.contains("secret"), "{bad}");
        let missing = target("postgres://db/x?sslmode=verify-ca&sslrootcert=/no/such.pem").err().unwrap().0;
        assert!(missing.contains("/no/such.pem"), "{missing}");
        assert_eq!(percent_decode("%2Ftmp%2Fca.pem"), "/tmp/ca.pem");
        assert_eq!(percent_decode("a%é%"), "a%é%", "a non-ASCII byte after % is kept, not split");
    }
}
