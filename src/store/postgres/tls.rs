//! TLS to PostgreSQL with libpq's `sslmode` meaning ([`PgTls`], read from the URL by
//! `model`), on rustls with the aws-lc-rs provider that reqwest and lettre already use.
//!
//! One certificate verifier serves every mode, as libpq's modes are one check added to the
//! next: `prefer` and `require` accept any certificate (still checking that the server holds
//! its key: the handshake's signature is verified, as OpenSSL does for libpq), `verify-ca`
//! adds the chain to a trusted authority, `verify-full` the host name.

use std::error::Error as StdError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::BoxFuture;
use tokio_postgres::tls::MakeTlsConnect;
use tracing::{debug, warn};

use rustls::AlertDescription;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::model::{ClientCert, PgTls, RootCerts, SslMode};

/// The connector for `tls`; fails (saying what to do) when its `sslrootcert` cannot be read.
fn connector(tls: &PgTls) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = if tls.verifies_chain() {
        Some(Arc::new(trusted_roots(tls.root.as_ref())?))
    } else {
        None
    };
    let verifier = Verifier {
        roots,
        check_name: tls.verifies_name(),
        algorithms: provider.signature_verification_algorithms,
    };
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match &tls.client {
        Some(client) => {
            let (chain, key) = client_identity(client)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!(
                    "sslcert={} and sslkey={} do not make a client certificate: {e}; give the \
                     certificate and the key that belongs to it",
                    client.cert.display(),
                    client.key.display()
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = tls.sni;
    Ok(MakeRustlsConnect::new(config))
}

/// Opens connections as libpq does for `tls`'s `sslmode`: for `prefer` (the default), TLS
/// when the server offers it, and a second try without TLS when the TLS attempt fails (the
/// handshake, or the server refusing the session it opened), where tokio-postgres alone would
/// give up. The pool's connections and the outbox listener's are opened here.
#[derive(Clone)]
pub(super) struct Connector {
    tls: MakeRustlsConnect,
    fall_back_to_plain: bool,
    /// Whether a fallback has been logged: once per process, not once per connection.
    warned: Arc<AtomicBool>,
}

impl Connector {
    /// The connector for `tls`; fails (saying what to do) when its `sslrootcert` cannot be
    /// read.
    pub(super) fn new(tls: &PgTls) -> Result<Connector, String> {
        Ok(Connector {
            tls: connector(tls)?,
            fall_back_to_plain: tls.mode == SslMode::Prefer,
            warned: Arc::default(),
        })
    }

    pub(super) async fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio_postgres::Connection<
                tokio_postgres::Socket,
                <MakeRustlsConnect as MakeTlsConnect<tokio_postgres::Socket>>::Stream,
            >,
        ),
        tokio_postgres::Error,
    > {
        let tls_failed = match config.connect(self.tls.clone()).await {
            Ok(connected) => return Ok(connected),
            Err(e) if self.fall_back_to_plain => e,
            Err(e) => return Err(e),
        };
        let mut plain = config.clone();
        plain.ssl_mode(tokio_postgres::config::SslMode::Disable);
        match plain.connect(self.tls.clone()).await {
            Ok(connected) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    warn!(
                        "connected to PostgreSQL without TLS: the TLS attempt failed ({}), and \
                         sslmode=prefer (the default) allows that; set sslmode=require to refuse \
                         it, or sslmode=disable to skip the attempt",
                        crate::store::StoreError::from(tls_failed)
                    );
                }
                Ok(connected)
            }
            // Why TLS failed says more than why the second try did (the same refusal, most
            // often).
            Err(_) => Err(tls_failed),
        }
    }
}

impl deadpool_postgres::Connect for Connector {
    fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> BoxFuture<
        '_,
        Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>,
    > {
        let config = config.clone();
        Box::pin(async move {
            let (client, connection) = Connector::connect(self, &config).await?;
            let driver = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    debug!(
                        "a PostgreSQL connection ended: {}",
                        crate::store::StoreError::from(e)
                    );
                }
            });
            Ok((client, driver))
        })
    }
}

/// What tokio-postgres is told: it knows whether TLS is tried and whether it is required;
/// what is checked is the verifier's business.
pub(super) fn driver_mode(mode: SslMode) -> tokio_postgres::config::SslMode {
    use tokio_postgres::config::SslMode as Driver;
    match mode {
        SslMode::Disable => Driver::Disable,
        SslMode::Prefer => Driver::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Driver::Require,
    }
}

/// `sslcert`'s certificates (the client's, then any intermediates) and `sslkey`'s key.
fn client_identity(
    client: &ClientCert,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let cert = client.cert.display();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&client.cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("cannot read sslcert={cert}: {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "sslcert={cert} holds no certificate (no \"-----BEGIN CERTIFICATE-----\" block): \
             give the client certificate in PEM form"
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&client.key).map_err(|e| {
        format!(
            "cannot read sslkey={}: {e}; give the client certificate's key, unencrypted, in \
             PEM form",
            client.key.display()
        )
    })?;
    Ok((chain, key))
}

/// `sslrootcert`'s certificates, or the system's authorities when it is `system` or not given.
fn trusted_roots(root: Option<&RootCerts>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match root {
        Some(RootCerts::File(path)) => {
            let shown = path.display();
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect())
                .map_err(|e| {
                    format!(
                        "cannot read sslrootcert={shown}: {e}; give a PEM file of the \
                         certificates of the authorities that sign the server's certificate"
                    )
                })?;
            if certs.is_empty() {
                return Err(format!(
                    "sslrootcert={shown} holds no certificate (no \"-----BEGIN \
                     CERTIFICATE-----\" block): give a PEM file of the authorities to trust"
                ));
            }
            for cert in certs {
                store.add(cert).map_err(|e| {
                    format!("sslrootcert={shown} holds a certificate rustls cannot use: {e}")
                })?;
            }
        }
        Some(RootCerts::System) | None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _unusable) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Err(format!(
                    "found no trusted certificate authorities on this system{why} to verify \
                     the server with: give them with sslrootcert=PATH (a PEM file)"
                ));
            }
        }
    }
    Ok(store)
}

#[derive(Debug)]
struct Verifier {
    /// `None`: any certificate is accepted (`prefer`, `require`).
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if self.check_name {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What to do about a connection that failed in TLS, in the words of the URL's options: `None`
/// when `error` is not about TLS (the caller shows it as it is).
pub(super) fn explain(error: &tokio_postgres::Error, tls: &PgTls, host: &str) -> Option<String> {
    let mode = tls.describe();
    if let Some(rustls) = rustls_error(error) {
        return Some(match rustls {
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => {
                let names = match rustls {
                    rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForNameContext { presented, .. },
                    ) if !presented.is_empty() => {
                        let names: Vec<&str> = presented.iter().map(|n| plain_name(n)).collect();
                        format!(" (it names {})", names.join(", "))
                    }
                    _ => String::new(),
                };
                format!(
                    "the server's certificate is not valid for the host {host:?}{names}, and \
                     {mode} checks that it is: connect by a name the certificate holds, or use \
                     sslmode=verify-ca to check only that a trusted authority signed it"
                )
            }
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                // A root file makes even require check the chain (libpq's rule).
                let (trusted, unchecked) = match &tls.root {
                    Some(RootCerts::File(path)) => (
                        format!("sslrootcert={}", path.display()),
                        "remove sslrootcert and use",
                    ),
                    _ => ("the authorities this system trusts".to_string(), "use"),
                };
                format!(
                    "the server's certificate is not signed by {trusted} ({mode}): give the \
                     certificate of the authority that signed it (for a self-signed server \
                     certificate, that certificate itself) with sslrootcert=PATH, or \
                     {unchecked} sslmode=require to encrypt without checking who the server is"
                )
            }
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired)
                if tls.client.is_none() =>
            {
                "the server asks for a client certificate: give its PEM file with \
                 sslcert=PATH and the key's with sslkey=PATH, or let this user log in without \
                 one (pg_hba.conf)"
                    .to_string()
            }
            rustls::Error::AlertReceived(
                alert @ (AlertDescription::UnknownCA
                | AlertDescription::BadCertificate
                | AlertDescription::CertificateUnknown
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateRevoked
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::AccessDenied),
            ) if tls.client.is_some() => {
                let cert = tls
                    .client
                    .as_ref()
                    .map(|c| c.cert.display().to_string())
                    .unwrap_or_default();
                format!(
                    "the server refused the client certificate sslcert={cert} ({alert:?}): it \
                     must be signed by an authority in the server's ssl_ca_file, be valid today, \
                     and be made for client authentication"
                )
            }
            other => format!("TLS with the server failed ({mode}): {other}"),
        });
    }
    // tokio-postgres's own words when the server answers the TLS request with "no".
    let refused =
        error.source().map(ToString::to_string).as_deref() == Some("server does not support TLS");
    // Who asked for a verified server is not told how to do without TLS.
    let or_else = if tls.mode == SslMode::Require {
        ", or use sslmode=prefer to connect without TLS when the server offers none"
    } else {
        ""
    };
    refused.then(|| {
        format!(
            "the server does not accept TLS (`ssl = off` in its postgresql.conf), and {mode} \
             requires it: turn `ssl` on at the server{or_else}"
        )
    })
}

/// The rustls error under a failed connection: tokio-postgres wraps it in an `io::Error`,
/// whose `source()` skips the error it carries, so each link is also looked inside.
fn rustls_error(error: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut link: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(current) = link {
        if let Some(found) = current.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(found);
        }
        link = current.source();
    }
    None
}

/// `localhost` for webpki's `DnsName("localhost")`, `10.0.0.1` for `IpAddress(10.0.0.1)`.
fn plain_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(name)
}
