//! Where the state lives: a SQLite file (the default, one process) or a PostgreSQL server that
//! several replicas share. Chosen by `[daemon] database`; read by `store` and the CLI.

use std::fmt;
use std::path::{Path, PathBuf};

/// The configured database.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

impl Database {
    /// The SQLite file, if that is the backend.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }

    /// For messages, like `Path::display`: a path, or the URL without its password.
    pub fn display(&self) -> &Database {
        self
    }

    /// Whether there is anything to read yet: a SQLite file may not exist before the first
    /// run; a server is always asked.
    pub fn exists(&self) -> bool {
        match self {
            Database::Sqlite(path) => path.exists(),
            Database::Postgres(_) => true,
        }
    }
}

/// Shown in logs, `check` and errors: a path, or the URL without its password.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl serde::Serialize for Database {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How many connections a process keeps to PostgreSQL unless `[daemon] database_connections`
/// says otherwise: polls record concurrently (`concurrency` is the ceiling of fetches in
/// flight, and most of a poll is the fetch), deliverers and the CLI read.
pub const DEFAULT_DATABASE_CONNECTIONS: usize = 8;

/// A `postgres://` or `postgresql://` URL. It may hold a password (from `${credential:…}`), so
/// it is only ever displayed with the password replaced by `***`.
///
/// It also carries the size of the process's connection pool (`[daemon]
/// database_connections`): every command that opens the database gets it with the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    url: String,
    connections: usize,
}

impl PostgresUrl {
    /// `None` unless `url` is a PostgreSQL URL.
    pub fn parse(url: &str) -> Option<PostgresUrl> {
        let lower = url.get(..13).unwrap_or(url).to_ascii_lowercase();
        (lower.starts_with("postgres://") || lower.starts_with("postgresql://")).then(|| {
            PostgresUrl {
                url: url.to_string(),
                connections: DEFAULT_DATABASE_CONNECTIONS,
            }
        })
    }

    /// The whole URL, password included: for the driver only.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The URL for tokio-postgres, password included: without the libpq options it does not
    /// know (`sslmode`'s verify modes, `sslrootcert`, `sslsni`), which [`PostgresUrl::tls`]
    /// reads instead.
    pub fn expose_for_driver(&self) -> String {
        let Some(q) = self.url.find('?') else {
            return self.url.clone();
        };
        let (base, query) = (&self.url[..q], &self.url[q + 1..]);
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
                !OURS.contains(&percent_decode(key).as_str())
            })
            .collect();
        if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    }

    /// Connections this process may open (`[daemon] database_connections`).
    pub fn connections(&self) -> usize {
        self.connections
    }

    pub fn with_connections(mut self, connections: usize) -> PostgresUrl {
        self.connections = connections.max(1);
        self
    }

    /// The TLS the URL asks for, with libpq's meaning (`sslmode`, `sslrootcert`, `sslsni`).
    /// The error names the option and says what to write instead, never the whole URL.
    pub fn tls(&self) -> Result<PgTls, String> {
        let mut mode = None;
        let mut root = None;
        let mut sni = true;
        let (mut cert_file, mut key_file) = (None, None);
        let query = self.url.split_once('?').map_or("", |(_, query)| query);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (key, value) = (percent_decode(key), percent_decode(value));
            match key.as_str() {
                "sslmode" => {
                    mode = Some(match value.as_str() {
                        "disable" => SslMode::Disable,
                        "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        // libpq's "allow" tries without TLS first; tokio-postgres cannot.
                        "allow" => {
                            return Err("sslmode=allow is not supported: use sslmode=prefer \
                                        (TLS when the server offers it) or sslmode=disable"
                                .into());
                        }
                        other => {
                            return Err(format!(
                                "sslmode={other:?} is not a TLS mode: use disable, prefer (the \
                                 default), require, verify-ca or verify-full"
                            ));
                        }
                    })
                }
                "sslrootcert" if value.is_empty() => {
                    return Err("sslrootcert is empty: give the path of a PEM file of the \
                                certificates to trust, or sslrootcert=system"
                        .into());
                }
                "sslrootcert" if value == "system" => root = Some(RootCerts::System),
                "sslrootcert" => root = Some(RootCerts::File(PathBuf::from(value))),
                "sslsni" => {
                    sni = match value.as_str() {
                        "1" => true,
                        "0" => false,
                        other => return Err(format!("sslsni={other:?} must be 1 or 0")),
                    }
                }
                "sslcert" | "sslkey" if value.is_empty() => {
                    return Err(format!(
                        "{key} is empty: give the path of a PEM file (sslcert: the client \
                         certificate; sslkey: its private key)"
                    ));
                }
                "sslcert" => cert_file = Some(PathBuf::from(value)),
                "sslkey" => key_file = Some(PathBuf::from(value)),
                "sslpassword" => {
                    return Err(
                        "sslpassword is not supported: give sslkey an unencrypted key \
                                file, readable only by watchword's user"
                            .into(),
                    );
                }
                "sslcertmode" => {
                    return Err("sslcertmode is not supported: with sslcert and sslkey the \
                                certificate is sent when the server asks for one"
                        .into());
                }
                "sslcrl"
                | "sslcrldir"
                | "ssl_min_protocol_version"
                | "ssl_max_protocol_version"
                | "sslcompression"
                | "requirepeer"
                | "gssencmode"
                | "sslkeylogfile" => {
                    return Err(format!(
                        "{key} is not supported (of libpq's TLS options watchword reads \
                         sslmode, sslrootcert, sslcert, sslkey and sslsni): remove it"
                    ));
                }
                _ => {}
            }
        }
        let mode = match (mode, &root) {
            // libpq 16: sslrootcert=system makes verify-full the default, and refuses less.
            (None, Some(RootCerts::System)) => SslMode::VerifyFull,
            (Some(mode), Some(RootCerts::System)) if mode != SslMode::VerifyFull => {
                return Err(format!(
                    "sslrootcert=system needs sslmode=verify-full (as in libpq): a system-wide \
                     authority vouches for names, so the name must be checked; drop sslmode={} \
                     or name the server's own authority with sslrootcert=PATH",
                    mode.name()
                ));
            }
            (mode, _) => mode.unwrap_or(SslMode::Prefer),
        };
        let client = match (cert_file, key_file) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ClientCert { cert, key }),
            // libpq would look in ~/.postgresql/ for the other; a service has no such home.
            (Some(_), None) => {
                return Err(
                    "sslcert needs sslkey: give the PEM file of the certificate's \
                            private key too"
                        .into(),
                );
            }
            (None, Some(_)) => {
                return Err("sslkey needs sslcert: give the PEM file of the client \
                            certificate too"
                    .into());
            }
        };
        if client.is_some() && mode == SslMode::Disable {
            return Err(
                "sslcert and sslkey need TLS, and sslmode=disable turns it off: use \
                        sslmode=require or a verify mode"
                    .into(),
            );
        }
        Ok(PgTls {
            mode,
            root,
            sni,
            client,
        })
    }
}

/// libpq's TLS options that [`PostgresUrl::tls`] reads and tokio-postgres would refuse.
const OURS: [&str; 5] = ["sslmode", "sslrootcert", "sslsni", "sslcert", "sslkey"];

/// `sslmode`, with libpq's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it (libpq's default); the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS, with a certificate signed by an authority of `sslrootcert` (or the system's).
    VerifyCa,
    /// `VerifyCa`, and the certificate names the host connected to.
    VerifyFull,
}

impl SslMode {
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// `sslrootcert`: the authorities a server certificate must chain to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCerts {
    /// `sslrootcert=system`: the authorities the operating system trusts.
    System,
    /// A PEM file of one or more certificates.
    File(PathBuf),
}

/// What a URL asks of TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgTls {
    pub mode: SslMode,
    /// `None`: not given; verify-ca and verify-full then trust the system's authorities.
    pub root: Option<RootCerts>,
    /// Whether to send the host name in the handshake (`sslsni`, on by default).
    pub sni: bool,
    /// `sslcert` and `sslkey`: the certificate shown when the server asks for one.
    pub client: Option<ClientCert>,
}

/// A client certificate and its key, both PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl PgTls {
    /// Whether the server's certificate chain is checked. As in libpq, naming a root file
    /// makes `prefer` and `require` check it too (like verify-ca).
    pub fn verifies_chain(&self) -> bool {
        match self.mode {
            SslMode::Disable => false,
            SslMode::Prefer | SslMode::Require => matches!(self.root, Some(RootCerts::File(_))),
            SslMode::VerifyCa | SslMode::VerifyFull => true,
        }
    }

    /// Whether the certificate must name the host.
    pub fn verifies_name(&self) -> bool {
        self.mode == SslMode::VerifyFull
    }

    /// The mode, and what it checks, for messages: "sslmode=require" or "sslmode=require
    /// with sslrootcert".
    pub fn describe(&self) -> String {
        match (self.mode, &self.root) {
            (SslMode::Prefer | SslMode::Require, Some(RootCerts::File(_))) => {
                format!("sslmode={} with sslrootcert", self.mode.name())
            }
            (mode, _) => format!("sslmode={}", mode.name()),
        }
    }
}

/// `%XX` decoded, as tokio-postgres decodes a URL's parameters (`+` stays a plus).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits: at most 255.
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.url;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return f.write_str("postgres://***");
        };
        let rest = &url[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let user = &authority[..at];
                let user = match user.find(':') {
                    Some(colon) => format!("{}:***", &user[..colon]),
                    None => user.to_string(),
                };
                let host = &authority[at + 1..];
                let tail = &rest[authority_end..];
                // A password may also come as a query parameter.
                let tail = redact_query_password(tail);
                write!(f, "{}{user}@{host}{tail}", &url[..scheme_end])
            }
            None => write!(f, "{}{}", &url[..scheme_end], redact_query_password(rest)),
        }
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let (path, query) = tail.split_at(q + 1);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            // libpq's sslpassword (a client key's passphrase) too, though it is refused.
            Some((key, _))
                if key.eq_ignore_ascii_case("password")
                    || key.eq_ignore_ascii_case("sslpassword") =>
            {
                format!("{key}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}{}", pairs.join("&"))
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let shown = |url: &str| PostgresUrl::parse(url).unwrap().to_string();
        assert_eq!(
            shown("postgres://ww:s3cret@db.internal:5432/watchword"),
            "postgres://ww:***@db.internal:5432/watchword"
        );
        assert_eq!(
            shown("postgresql://db/watchword?user=ww&password=s3cret&sslmode=require"),
            "postgresql://db/watchword?user=ww&password=***&sslmode=require"
        );
        assert_eq!(
            shown("postgres://db/ww?sslkey=/k.pem&sslpassword=s3cret"),
            "postgres://db/ww?sslkey=/k.pem&sslpassword=***"
        );
        assert_eq!(
            shown("postgres://ww@127.0.0.1/test"),
            "postgres://ww@127.0.0.1/test"
        );
        assert!(PostgresUrl::parse("/var/lib/watchword.db").is_none());
        assert!(PostgresUrl::parse("POSTGRES://x/y").is_some());
    }

    fn tls(url: &str) -> Result<PgTls, String> {
        PostgresUrl::parse(url).unwrap().tls()
    }

    #[test]
    fn sslmode_means_what_it_means_in_libpq() {
        let mode = |url: &str| tls(url).unwrap().mode;
        assert_eq!(mode("postgres://db/ww"), SslMode::Prefer, "libpq's default");
        assert_eq!(mode("postgres://db/ww?sslmode=disable"), SslMode::Disable);
        assert_eq!(mode("postgres://db/ww?sslmode=require"), SslMode::Require);
        assert_eq!(
            mode("postgres://db/ww?sslmode=verify-ca"),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode("postgres://db/ww?user=a&sslmode=verify-full"),
            SslMode::VerifyFull
        );

        let require = tls("postgres://db/ww?sslmode=require").unwrap();
        assert!(!require.verifies_chain() && !require.verifies_name());
        // libpq: a root file makes require check the chain, as verify-ca does.
        let with_root = tls("postgres://db/ww?sslmode=require&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(with_root.root, Some(RootCerts::File("/etc/ca.pem".into())));
        assert!(with_root.verifies_chain() && !with_root.verifies_name());
        let ca = tls("postgres://db/ww?sslmode=verify-ca").unwrap();
        assert!(ca.verifies_chain() && !ca.verifies_name() && ca.root.is_none());
        let full = tls("postgres://db/ww?sslmode=verify-full").unwrap();
        assert!(full.verifies_chain() && full.verifies_name());
        // libpq 16: sslrootcert=system defaults to verify-full and refuses weaker modes.
        assert_eq!(
            mode("postgres://db/ww?sslrootcert=system"),
            SslMode::VerifyFull
        );
        let weak = tls("postgres://db/ww?sslrootcert=system&sslmode=require").unwrap_err();
        assert!(weak.contains("needs sslmode=verify-full"), "{weak}");
        // Percent-encoded values, as the driver decodes them.
        let spaced = tls("postgres://db/ww?sslrootcert=%2Fetc%2Fmy%20ca.pem").unwrap();
        assert_eq!(spaced.root, Some(RootCerts::File("/etc/my ca.pem".into())));
        assert!(!tls("postgres://db/ww?sslsni=0").unwrap().sni);
    }

    #[test]
    fn tls_options_it_cannot_honour_are_refused_by_name_without_the_password() {
        for (url, expect) in [
            (
                "postgres://u:s3cret@db/ww?sslmode=verify_full",
                "sslmode=\"verify_full\"",
            ),
            ("postgres://u:s3cret@db/ww?sslmode=allow", "sslmode=allow"),
            (
                "postgres://u:s3cret@db/ww?sslcert=/c.pem",
                "sslcert needs sslkey",
            ),
            (
                "postgres://u:s3cret@db/ww?sslkey=/k.pem",
                "sslkey needs sslcert",
            ),
            (
                "postgres://u:s3cret@db/ww?sslcert=&sslkey=/k.pem",
                "sslcert is empty",
            ),
            (
                "postgres://u:s3cret@db/ww?sslmode=disable&sslcert=/c.pem&sslkey=/k.pem",
                "sslmode=disable turns it off",
            ),
            (
                "postgres://u:s3cret@db/ww?sslcert=/c.pem&sslkey=/k.pem&sslpassword=pw",
                "sslpassword is not supported",
            ),
            (
                "postgres://u:s3cret@db/ww?sslcrl=/crl.pem",
                "sslcrl is not supported",
            ),
            (
                "postgres://u:s3cret@db/ww?sslrootcert=",
                "sslrootcert is empty",
            ),
        ] {
            let error = tls(url).unwrap_err();
            assert!(error.contains(expect), "{url}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn a_client_certificate_is_a_pair_of_files() {
        let client =
            tls("postgres://db/ww?sslmode=verify-full&sslcert=/etc/ww/c.pem&sslkey=/etc/ww/c.key")
                .unwrap()
                .client;
        assert_eq!(
            client,
            Some(ClientCert {
                cert: PathBuf::from("/etc/ww/c.pem"),
                key: PathBuf::from("/etc/ww/c.key"),
            })
        );
        assert_eq!(tls("postgres://db/ww").unwrap().client, None);
        let driver =
            PostgresUrl::parse("postgres://db/ww?sslcert=/c.pem&sslkey=/k.pem&application_name=a")
                .unwrap()
                .expose_for_driver();
        assert_eq!(driver, "postgres://db/ww?application_name=a");
    }

    #[test]
    fn the_driver_gets_the_url_without_the_options_it_would_refuse() {
        let driver = |url: &str| PostgresUrl::parse(url).unwrap().expose_for_driver();
        assert_eq!(
            driver("postgres://u:pw@db/ww?sslmode=verify-full&sslrootcert=/ca.pem"),
            "postgres://u:pw@db/ww"
        );
        assert_eq!(
            driver(
                "postgres://db/ww?options=-c%20search_path%3Dx&sslmode=require&application_name=a"
            ),
            "postgres://db/ww?options=-c%20search_path%3Dx&application_name=a"
        );
        assert_eq!(driver("postgres://db/ww"), "postgres://db/ww");
        // The pool's size travels with the URL, not in it.
        let url = PostgresUrl::parse("postgres://db/ww").unwrap();
        assert_eq!(url.connections(), DEFAULT_DATABASE_CONNECTIONS);
        assert_eq!(url.with_connections(3).connections(), 3);
    }
}
