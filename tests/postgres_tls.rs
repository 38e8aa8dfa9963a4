//! The connection to PostgreSQL: TLS with libpq's `sslmode` and `sslrootcert`, and the size of
//! a process's pool (`[daemon] database_connections`), through the real `watchword` binary and
//! asked of the real server (`pg_stat_ssl`, `pg_stat_activity`). The server is the project's
//! (`WATCHWORD_TEST_POSTGRES`); the TLS tests also need it to have `ssl = on` (Debian's is,
//! with its snakeoil certificate, which names the machine, not 127.0.0.1) and say so by name
//! when it has not. Each test has a schema of its own.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::external::PgSchema;
use common::*;

/// A certificate authority that signed nothing the server has (a throwaway key, not kept).
const UNRELATED_AUTHORITY: &str = "-----BEGIN CERTIFICATE-----
MIIBxjCCAWugAwIBAgIUf4ZoPfyLHifv0nVPJ6pV01Ym7hMwCgYIKoZIzj0EAwIw
NzE1MDMGA1UEAwwsd2F0Y2h3b3JkIHRlc3QgYXV0aG9yaXR5IHRoYXQgc2lnbmVk
IG5vdGhpbmcwIBcNMjYxMjA0MjM1MTM1WhgPMjEyNjExMTAyMzUxMzVaMDcxNTAz
BgNVBAMMLHdhdGNod29yZCB0ZXN0IGF1dGhvcml0eSB0aGF0IHNpZ25lZCBub3Ro
aW5nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEcHdXMNJwUMeLKBcWZqpSaPar
5jOPDah1j9bQB7EBvQi5qm1K2YqeHhaY1+RYxrCxZAAnls9uDumXdWVg/MOGbaNT
MFEwHQYDVR0OBBYEFBldb/fHOHspyar9gKOzGDhw5MEfMB8GA1UdIwQYMBaAFBld
b/fHOHspyar9gKOzGDhw5MEfMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SQAwRgIhAK6/1u004NCdZinVUoSLDqomIymsLzAThAf84gcXByeeAiEAoUyIOtIB
Oy5roebPofEPkSX0Uvi+IaFkmlZfkVfN79s=
-----END CERTIFICATE-----
";

/// A password the server (trust authentication) ignores, so that every message can be
/// searched for it.
const PASSWORD: &str = "pg-s3cret-pw";

/// `url` with `user:password@` as its credentials.
fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..authority_end].rsplit_once('@') {
        Some((_, host)) => host,
        None => &rest[..authority_end],
    };
    format!(
        "{scheme}://{user}:{password}@{host}{}",
        &rest[authority_end..]
    )
}

/// `url` with `host` instead of its host (the port kept).
fn with_host(url: &str, host: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (user, address) = match rest[..authority_end].rsplit_once('@') {
        Some((user, address)) => (format!("{user}@"), address),
        None => (String::new(), &rest[..authority_end]),
    };
    let port = address.rsplit_once(':').map(|(_, p)| format!(":{p}"));
    format!(
        "{scheme}://{user}{host}{}{}",
        port.unwrap_or_default(),
        &rest[authority_end..]
    )
}

/// One feed and a webhook sink (so that `run` starts its deliverers, and with them the
/// outbox listener's own connection).
fn config(database: &str, feeds: &FeedServer, receiver: &Receiver) -> TomlConfig {
    feeds.put_rss(
        "/wire.xml",
        &rss(&[wire_entry("a", "Nothing to match here")]),
    );
    TomlConfig::new()
        .database(database)
        .daemon("poll_interval = \"1h\"")
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("r", "kazakhstan", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
}

/// Whether each session of `application` is encrypted, as the server sees it: (the LISTEN
/// session's, every other's).
fn sessions_encrypted(schema: &PgSchema, application: &str) -> Vec<String> {
    schema.query(&format!(
        "SELECT (a.query LIKE 'LISTEN%')::text || ' ' || s.ssl::text
           FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
          WHERE a.application_name = '{application}' ORDER BY 1"
    ))
}

/// Runs the daemon on `url` (whose `application_name` is `application`) until its outbox
/// listener has a session, and returns whether it did, what [`sessions_encrypted`] says of its
/// sessions then, and its log.
fn daemon_sessions(
    schema: &PgSchema,
    url: &str,
    application: &str,
    feeds: &FeedServer,
    receiver: &Receiver,
) -> (bool, Vec<String>, String) {
    let ws = Workspace::new();
    config(url, feeds, receiver)
        .daemon(&format!("metrics_listen = \"127.0.0.1:{}\"", free_port()))
        .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    // Its pool's first connection, and the outbox listener's own.
    let listening = wait_for(Duration::from_secs(20), || {
        sessions_encrypted(schema, application)
            .iter()
            .any(|s| s.starts_with("true"))
    });
    let sessions = sessions_encrypted(schema, application);
    (listening, sessions, daemon.stop())
}

#[test]
fn sslmode_decides_whether_the_daemon_s_sessions_are_encrypted() {
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    if schema.server_certificate(test_name!()).is_none() {
        return;
    }
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    // No sslmode is libpq's default, prefer: TLS, since this server offers it.
    for (sslmode, encrypted) in [
        ("require", "true"),
        ("", "true"),
        ("prefer", "true"),
        ("disable", "false"),
    ] {
        let application = format!("{}_{}", schema.name, sslmode);
        let mode = if sslmode.is_empty() {
            String::new()
        } else {
            format!("&sslmode={sslmode}")
        };
        let url = format!(
            "{}{mode}&application_name={application}",
            with_credentials(&schema.url, "postgres", PASSWORD)
        );
        let (listening, sessions, log) =
            daemon_sessions(&schema, &url, &application, &feeds, &receiver);
        assert!(listening, "sslmode={sslmode:?}: no LISTEN session\n{log}");
        assert!(
            sessions.len() >= 2
                && sessions
                    .iter()
                    .all(|s| s.ends_with(&format!(" {encrypted}"))),
            "sslmode={sslmode:?}: every session (the listener's too) encrypted: \
             {encrypted}; the server saw (listener, ssl): {sessions:?}"
        );
        assert!(!log.contains(PASSWORD), "{log}");
    }
}

#[test]
fn verify_full_names_the_host_the_certificate_lacks_and_verify_ca_checks_the_chain_only() {
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let Some(certificate) = schema.server_certificate(test_name!()) else {
        return;
    };
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let root = certificate.display().to_string();
    let base = with_credentials(&schema.url, "postgres", PASSWORD);
    let once = |url: &str| {
        let ws = Workspace::new();
        config(url, &feeds, &receiver).write(&ws);
        let out = ws.watchword(&["once"]);
        (out.status.code(), stderr(&out))
    };

    // The server's certificate names the machine, not 127.0.0.1 (Debian's snakeoil does).
    let (code, err) = once(&format!("{base}&sslmode=verify-full&sslrootcert={root}"));
    assert_eq!(code, Some(1), "{err}");
    for expected in [
        "cannot connect to PostgreSQL at postgres://postgres:***@127.0.0.1",
        "the server's certificate is not valid for the host \"127.0.0.1\" (it names ",
        "sslmode=verify-full checks that it is",
        "use sslmode=verify-ca",
    ] {
        assert!(err.contains(expected), "{expected:?} in:\n{err}");
    }
    assert!(!err.contains(PASSWORD), "{err}");

    // verify-ca checks that the certificate's authority is sslrootcert, and not the name.
    let (code, err) = once(&format!("{base}&sslmode=verify-ca&sslrootcert={root}"));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("feeds_ok=1"), "{err}");

    // verify-full by a name the certificate holds, to the same address, connects.
    let named = err_names(&once(&format!("{base}&sslmode=verify-full&sslrootcert={root}")).1);
    let by_name = format!(
        "{}&hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={root}",
        with_host(&base, &named)
    );
    let (code, err) = once(&by_name);
    assert_eq!(code, Some(0), "verify-full as {named}: {err}");

    // A certificate from an authority sslrootcert does not hold is refused, by either mode.
    let ws = Workspace::new();
    let other = ws.dir.path().join("other-authority.pem");
    std::fs::write(&other, UNRELATED_AUTHORITY).expect("write the unrelated authority");
    for sslmode in ["verify-ca", "require"] {
        let (code, err) = once(&format!(
            "{base}&sslmode={sslmode}&sslrootcert={}",
            other.display()
        ));
        assert_eq!(code, Some(1), "{err}");
        for expected in [
            format!(
                "the server's certificate is not signed by sslrootcert={}",
                other.display()
            ),
            // libpq's require checks the chain too when given a root file.
            if sslmode == "require" {
                "(sslmode=require with sslrootcert)".to_string()
            } else {
                "(sslmode=verify-ca)".to_string()
            },
            "or remove sslrootcert and use sslmode=require to encrypt without checking".to_string(),
        ] {
            assert!(err.contains(&expected), "{expected:?} in:\n{err}");
        }
        assert!(!err.contains(PASSWORD), "{err}");
    }
}

/// The first name in "(it names a, b)" of a verify-full error.
fn err_names(err: &str) -> String {
    let after = err
        .split_once("(it names ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no names in: {err}"));
    after
        .split([',', ')'])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_missing_or_empty_sslrootcert_and_an_unknown_sslmode_are_config_errors_at_their_line() {
    let ws = Workspace::new();
    let not_pem = ws.dir.path().join("not-a-certificate.pem");
    std::fs::write(&not_pem, "just text\n").expect("write");
    let url = format!("postgres://ww:{PASSWORD}@db.internal:5432/watchword");
    for (query, expected) in [
        (
            "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem".to_string(),
            "database: sslrootcert=/nonexistent/ca.pem does not exist: give the PEM file of \
             the authority that signs the server's certificate"
                .to_string(),
        ),
        (
            format!("sslmode=verify-ca&sslrootcert={}", not_pem.display()),
            format!(
                "database: sslrootcert={} holds no PEM certificate",
                not_pem.display()
            ),
        ),
        (
            "sslrootcert=relative/ca.pem".to_string(),
            "database: sslrootcert=relative/ca.pem is a relative path".to_string(),
        ),
        (
            "sslmode=verify_full".to_string(),
            "database: sslmode=\"verify_full\" is not a TLS mode: use disable, prefer (the \
             default), require, verify-ca or verify-full"
                .to_string(),
        ),
    ] {
        ws.write_config(&format!(
            "[daemon]\ndatabase = \"{url}?{query}\"\n\n[[feed]]\nname = \"a\"\nurl = \
             \"http://127.0.0.1:9/a.xml\"\n"
        ));
        let check = ws.watchword(&["check"]);
        let err = stderr(&check);
        assert_eq!(check.status.code(), Some(2), "{query}: {err}");
        assert!(
            err.contains(&format!("watchword.toml:2:12: {expected}")),
            "{query}: {expected:?} in:\n{err}"
        );
        assert!(!err.contains(PASSWORD), "{err}");
    }
}

#[test]
fn a_server_that_refuses_tls_is_named_when_sslmode_requires_it() {
    // A server with `ssl = off` answers each client's TLS request with "N".
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (requests, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let mut request = [0u8; 8];
            if client.read_exact(&mut request).is_ok() {
                let _ = client.write_all(b"N");
            }
            let _ = requests.send(request);
            // Then the client gives up: it sends nothing more.
            let _ = client.read_to_end(&mut Vec::new());
        }
    });
    for (sslmode, advice) in [
        (
            "require",
            "turn `ssl` on at the server, or use sslmode=prefer to connect without TLS when \
             the server offers none",
        ),
        // Who asked for a verified server is not told how to do without TLS.
        ("verify-full", "turn `ssl` on at the server\n"),
    ] {
        let ws = Workspace::new();
        ws.write_config(&format!(
            "[daemon]\ndatabase = \"postgres://ww:{PASSWORD}@127.0.0.1:{port}/watchword?sslmode={sslmode}\"\n\n\
             [[feed]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/a.xml\"\n"
        ));
        let out = ws.watchword(&["once"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "cannot connect to PostgreSQL at postgres://ww:***@127.0.0.1:{port}/watchword?sslmode={sslmode}: \
                 the server does not accept TLS (`ssl = off` in its postgresql.conf), and \
                 sslmode={sslmode} requires it: {advice}"
            )),
            "{err}"
        );
        assert!(!err.contains(PASSWORD), "{err}");
        let request = received.recv().expect("a connection");
        assert_eq!(request, SSL_REQUEST);
    }
}

/// A role of the test's own whose sessions the server counts (and caps), dropped after the
/// schema that holds its tables.
struct PgRole<'a> {
    schema: &'a PgSchema,
    name: String,
}

impl Drop for PgRole<'_> {
    fn drop(&mut self) {
        let _ = self.schema.try_query(&format!(
            "DROP OWNED BY {0} CASCADE; DROP ROLE IF EXISTS {0}",
            self.name
        ));
    }
}

/// A session holding `table` locked against writes until [`TableLock::release`].
struct TableLock {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl TableLock {
    fn take(url: &str, table: &str) -> TableLock {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(connection);
            client
                .batch_execute(&format!("BEGIN; LOCK TABLE {table} IN EXCLUSIVE MODE"))
                .await
                .expect("lock the table");
            client
        });
        TableLock { runtime, client }
    }

    fn release(self) {
        self.runtime
            .block_on(self.client.batch_execute("COMMIT"))
            .expect("commit");
    }
}

#[test]
fn database_connections_caps_the_sessions_a_process_opens() {
    use watchword::model::{Database, PostgresUrl};
    use watchword::store::Store;
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    const POOL: usize = 3;
    const CALLERS: usize = 8;
    // The server refuses this role a session past the pool: a handle that opened more (the
    // default is 8) would get "too many connections for role" on its fourth.
    let role = PgRole {
        schema: &schema,
        name: format!("{}_pool", schema.name),
    };
    schema.query(&format!(
        "CREATE ROLE {0} LOGIN CONNECTION LIMIT {POOL}; GRANT ALL ON SCHEMA {1} TO {0}",
        role.name, schema.name
    ));
    let url = with_credentials(&schema.url, &role.name, PASSWORD);
    let database = Database::Postgres(
        PostgresUrl::parse(&url)
            .expect("url")
            .with_connections(POOL),
    );
    let store = Store::connect(&database).expect("connect and migrate");

    // Writes to a locked table wait on the server, each holding its pooled connection: as
    // many wait as the pool has connections; the other callers wait in the pool.
    let lock = TableLock::take(&schema.url, "sink_state");
    let callers: Vec<_> = (0..CALLERS)
        .map(|n| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.disable_sink(&format!("sink-{n}"), 1_000, "test", "fp")
            })
        })
        .collect();
    let waiting = || {
        schema.query(&format!(
            "SELECT count(*)::text FROM pg_stat_activity
              WHERE usename = '{}' AND wait_event_type = 'Lock'",
            role.name
        ))
    };
    let pool_full = wait_for(Duration::from_secs(20), || waiting() == [POOL.to_string()]);
    let sessions = schema.query(&format!(
        "SELECT count(*)::text FROM pg_stat_activity WHERE usename = '{}'",
        role.name
    ));
    lock.release();
    let results: Vec<_> = callers
        .into_iter()
        .map(|caller| caller.join().expect("caller"))
        .collect();
    assert!(
        pool_full,
        "{POOL} writes waiting at once, one per pooled connection; saw {:?}",
        waiting()
    );
    assert_eq!(sessions, [POOL.to_string()], "the pool's sessions, no more");
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    assert_eq!(store.disabled_sinks().expect("read").len(), CALLERS);
}

/// A proxy to the server at `upstream` (host:port) whose TLS is broken: it answers a client's
/// TLS request with "S" (go ahead) and then with a fatal `handshake_failure` alert, as a
/// server would whose TLS the client cannot speak; connections that do not ask for TLS are
/// passed through. Returns its port and the first eight bytes of each connection.
fn tls_breaking_proxy(upstream: String) -> (u16, std::sync::mpsc::Receiver<[u8; 8]>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (openings, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let mut opening = [0u8; 8];
            if client.read_exact(&mut opening).is_err() {
                continue;
            }
            let _ = openings.send(opening);
            if opening == SSL_REQUEST {
                // "S", then a TLS alert record: fatal (2), handshake_failure (40).
                let _ = client.write_all(b"S");
                let _ = client.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
                continue;
            }
            let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            if server.write_all(&opening).is_err() {
                continue;
            }
            let (Ok(mut to_server), Ok(mut from_server)) = (client.try_clone(), server.try_clone())
            else {
                continue;
            };
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut to_server, &mut server);
                let _ = server.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut client);
                let _ = client.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, seen)
}

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 4, 210, 22, 47];

/// The host:port of `url`.
fn address_of(url: &str) -> String {
    let (_, rest) = url.split_once("://").expect("a URL");
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, address)| address)
        .to_string()
}

#[test]
fn prefer_connects_without_tls_when_the_tls_handshake_fails_and_require_does_not() {
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let (port, openings) = tls_breaking_proxy(address_of(&schema.url));
    let through_proxy = with_credentials(&schema.url, "postgres", PASSWORD)
        .replace(&address_of(&schema.url), &format!("127.0.0.1:{port}"));
    let feeds = FeedServer::start();
    let receiver = Receiver::start();

    // No sslmode: libpq's prefer. The pool's sessions and the outbox listener's all try TLS,
    // fail, and connect without it, as psql would.
    let application = format!("{}_prefer", schema.name);
    let url = format!("{through_proxy}&application_name={application}");
    let (listening, sessions, log) =
        daemon_sessions(&schema, &url, &application, &feeds, &receiver);
    assert!(listening, "no LISTEN session through the proxy\n{log}");
    assert!(
        sessions.len() >= 2 && sessions.iter().all(|s| s.ends_with(" false")),
        "every session plain TCP; the server saw (listener, ssl): {sessions:?}\n{log}"
    );
    let fallbacks = log
        .matches("connected to PostgreSQL without TLS: the TLS attempt failed")
        .count();
    assert_eq!(fallbacks, 1, "said once, not once per connection:\n{log}");
    assert!(log.contains("sslmode=require to refuse it"), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
    let asked: Vec<[u8; 8]> = openings.try_iter().collect();
    assert!(
        asked.iter().filter(|o| **o == SSL_REQUEST).count() >= 2
            && asked.iter().any(|o| *o != SSL_REQUEST),
        "each connection asked for TLS first, then came back without: {asked:?}"
    );

    // prefer, when the plain try fails too (nothing listens behind the proxy): the TLS
    // failure is the one named, not the closed connection of the second try.
    let (dead_end, _) = tls_breaking_proxy("127.0.0.1:9".into());
    let ws = Workspace::new();
    config(
        &with_credentials(&schema.url, "postgres", PASSWORD)
            .replace(&address_of(&schema.url), &format!("127.0.0.1:{dead_end}")),
        &feeds,
        &receiver,
    )
    .write(&ws);
    let out = ws.watchword(&["once"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "TLS with the server failed (sslmode=prefer): received fatal alert: HandshakeFailure"
        ),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");

    // require: no second try; the failure is named.
    let ws = Workspace::new();
    config(
        &format!("{through_proxy}&sslmode=require"),
        &feeds,
        &receiver,
    )
    .write(&ws);
    let out = ws.watchword(&["once"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("TLS with the server failed (sslmode=require)"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
    let asked: Vec<[u8; 8]> = openings.try_iter().collect();
    assert!(
        asked.iter().all(|o| *o == SSL_REQUEST),
        "sslmode=require never connects without TLS: {asked:?}"
    );
}

/// `tests/tls/NAME`: the test certificates (see tests/tls/README.md).
fn test_tls_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tls")
        .join(name)
}

/// What the front saw of one connection: the client certificate it was shown, or why the
/// handshake failed.
type FrontSaw = Result<Option<Vec<u8>>, String>;

/// A PostgreSQL front that asks for a client certificate signed by `tests/tls/ca.pem`, as a
/// server with `clientcert=verify-ca` in pg_hba.conf does: it answers the TLS request,
/// completes the handshake as `localhost`/`127.0.0.1` (`tests/tls/server.pem`), and passes
/// the decrypted session to the real server at `upstream`. Returns its port and, for each
/// connection, what it saw.
fn client_certificate_front(upstream: String) -> (u16, std::sync::mpsc::Receiver<FrontSaw>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(test_tls_file("ca.pem")).expect("ca.pem") {
        roots.add(cert.expect("a certificate")).expect("add ca.pem");
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        std::sync::Arc::clone(&provider),
    )
    .build()
    .expect("client verifier");
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(test_tls_file("server.pem"))
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("server.pem");
    let key = PrivateKeyDer::from_pem_file(test_tls_file("server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("addr").port();
    let (saw, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, saw, upstream) = (acceptor.clone(), saw.clone(), upstream.clone());
                tokio::spawn(async move {
                    let mut opening = [0u8; 8];
                    if client.read_exact(&mut opening).await.is_err() || opening != SSL_REQUEST {
                        return;
                    }
                    if client.write_all(b"S").await.is_err() {
                        return;
                    }
                    let mut tls = match acceptor.accept(client).await {
                        Ok(tls) => tls,
                        Err(e) => {
                            let _ = saw.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let shown = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|certs| certs.first())
                        .map(|cert| cert.to_vec());
                    let _ = saw.send(Ok(shown));
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                });
            }
        });
    });
    (port, seen)
}

#[test]
fn a_client_certificate_is_shown_to_a_server_that_asks_for_one() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let (port, seen) = client_certificate_front(address_of(&schema.url));
    let ws = Workspace::new();
    // As libpq, watchword refuses a key others can read: the copy is the owner's alone.
    let key = ws.dir.path().join("client.key");
    std::fs::copy(test_tls_file("client.key"), &key).expect("copy the key");
    let chmod = |mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    chmod(0o600);
    let front = with_credentials(&schema.url, "postgres", PASSWORD)
        .replace(&address_of(&schema.url), &format!("127.0.0.1:{port}"));
    let verified = format!(
        "{front}&sslmode=verify-full&sslrootcert={}",
        test_tls_file("ca.pem").display()
    );
    let with_certificate = format!(
        "{verified}&sslcert={}&sslkey={}",
        test_tls_file("client.pem").display(),
        key.display()
    );
    let write_config = |database: &str| {
        ws.write_config(&format!(
            "[daemon]\ndatabase = \"{database}\"\n\n\
             [[feed]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/a.xml\"\n"
        ))
    };

    // With sslcert and sslkey: the server is shown the client certificate, and the session
    // works (the schema is migrated, the feed's failed poll recorded).
    write_config(&with_certificate);
    let out = ws.watchword(&["once"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let client_der = CertificateDer::from_pem_file(test_tls_file("client.pem"))
        .expect("client.pem")
        .to_vec();
    let shown: Vec<FrontSaw> = seen.try_iter().collect();
    assert!(
        !shown.is_empty()
            && shown
                .iter()
                .all(|s| s.as_ref().ok() == Some(&Some(client_der.clone()))),
        "every connection showed tests/tls/client.pem: {:?}",
        shown
            .iter()
            .map(|s| s.as_ref().map(|c| c.is_some()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        schema.query("SELECT COUNT(*) FROM feeds WHERE last_fetch_at IS NOT NULL"),
        ["1"]
    );

    // Without: the server's refusal is named, with what to give.
    write_config(&verified);
    let out = ws.watchword(&["once"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the server asks for a client certificate: give its PEM file with sslcert=PATH"
        ),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");

    // A certificate the server does not accept (the test authority's, but made for a server):
    // its refusal is named, with the file.
    let wrong_key = ws.dir.path().join("server.key");
    std::fs::copy(test_tls_file("server.key"), &wrong_key).expect("copy the key");
    std::fs::set_permissions(
        &wrong_key,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let server_pem = test_tls_file("server.pem");
    write_config(&format!(
        "{verified}&sslcert={}&sslkey={}",
        server_pem.display(),
        wrong_key.display()
    ));
    let out = ws.watchword(&["once"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the server refused the client certificate sslcert={}",
            server_pem.display()
        )),
        "{err}"
    );

    // A key that others can read is refused before any connection, at its line.
    chmod(0o644);
    write_config(&with_certificate);
    let check = ws.watchword(&["check"]);
    let err = stderr(&check);
    assert_ne!(check.status.code(), Some(0), "{err}");
    assert!(
        err.contains(":2:")
            && err.contains("can be read by others (mode 644)")
            && err.contains("chmod 600"),
        "{err}"
    );
}
