//! External services a test needs that a fresh machine may not have: a PostgreSQL server and a
//! WebDriver (chromedriver with Debian's chromium). A test asks for one by its environment
//! variable; without it the test says by name that it was skipped and passes, so `cargo test`
//! passes on a laptop with neither. `.ci/run` sets `WATCHWORD_TEST_REQUIRE_EXTERNAL=1`, which
//! turns a missing service into a failure: CI never skips them silently.

/// The PostgreSQL server URL (`postgres://user@127.0.0.1:5432/test`).
pub const POSTGRES: &str = "WATCHWORD_TEST_POSTGRES";
/// The chromedriver binary (`/usr/bin/chromedriver`) that drives Debian's chromium.
pub const CHROMEDRIVER: &str = "WATCHWORD_TEST_CHROMEDRIVER";
/// Set by `.ci/run`: a test that would skip fails instead.
pub const REQUIRE: &str = "WATCHWORD_TEST_REQUIRE_EXTERNAL";

/// The value of `var`, or `None` after printing `SKIPPED <test>: <var> is not set` to the
/// terminal (past the test harness's output capture, so a plain `cargo test` shows it). Panics
/// instead of skipping when [`REQUIRE`] is set.
pub fn service(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => skip(test, &format!("{var} is not set")),
    }
}

/// `None` after printing `SKIPPED <test>: <why>`; a panic instead when [`REQUIRE`] is set.
pub fn skip<T>(test: &str, why: &str) -> Option<T> {
    if std::env::var_os(REQUIRE).is_some() {
        panic!("{test}: {why}, and {REQUIRE} forbids skipping this test");
    }
    let line = format!("SKIPPED {test}: {why}\n");
    // libtest captures print!/eprint! of a passing test; /dev/stderr is the same terminal
    // through a descriptor of our own, which it does not capture.
    match std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
        Ok(mut tty) => {
            let _ = std::io::Write::write_all(&mut tty, line.as_bytes());
        }
        Err(_) => eprint!("{line}"),
    }
    None
}

/// Expands to the calling test function's path, for [`service`]'s message.
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        let name = std::any::type_name_of_val(&here);
        name.strip_suffix("::here").unwrap_or(name)
    }};
}

/// A schema of its own on the test PostgreSQL server, dropped with everything in it when the
/// value is dropped: tests run in parallel on one database without seeing each other.
pub struct PgSchema {
    pub name: String,
    /// The server URL with this schema as the search path: what a config's `database` gets.
    pub url: String,
    server: String,
}

impl PgSchema {
    /// `None` (after saying so by name) when no server is configured; see [`service`].
    pub fn create(test: &str) -> Option<PgSchema> {
        let server = service(POSTGRES, test)?;
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "ww_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        sql(&server, &format!("CREATE SCHEMA {name}")).expect("create the test schema");
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options=-c%20search_path%3D{name}");
        Some(PgSchema { name, url, server })
    }

    /// Runs `query` in this schema and returns the first column of each row as text.
    pub fn query(&self, query: &str) -> Vec<String> {
        sql(&self.url, query).unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    /// [`PgSchema::query`], for a schema the daemon may not have created yet.
    pub fn try_query(&self, query: &str) -> Result<Vec<String>, String> {
        sql(&self.url, query)
    }
}

impl PgSchema {
    /// The test server's certificate file, for tests of TLS: `None` (after saying why, by the
    /// test's name; a failure under [`REQUIRE`]) when the server has `ssl = off` or its
    /// certificate cannot be read from here.
    pub fn server_certificate(&self, test: &str) -> Option<std::path::PathBuf> {
        if self.query("SHOW ssl") != ["on"] {
            return skip(test, "the PostgreSQL server has ssl = off");
        }
        let file = self.query("SHOW ssl_cert_file").concat();
        // A relative ssl_cert_file is in the server's data directory.
        let path = match std::path::Path::new(&file) {
            path if path.is_absolute() => path.to_path_buf(),
            path => std::path::Path::new(&self.query("SHOW data_directory").concat()).join(path),
        };
        match std::fs::read_to_string(&path) {
            Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => Some(path),
            _ => skip(
                test,
                &format!(
                    "the PostgreSQL server's certificate {} cannot be read here",
                    path.display()
                ),
            ),
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let dropped = sql(
            &self.server,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        if let Err(e) = dropped {
            eprintln!("cannot drop test schema {}: {e}", self.name);
        }
    }
}

/// One statement on `url`, its rows' first columns as text (`::text` casts are the caller's).
fn sql(url: &str, query: &str) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
        let driver = tokio::spawn(connection);
        let rows = client
            .simple_query(query)
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            });
        drop(client);
        let _ = driver.await;
        Ok(rows?
            .into_iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("").to_string())
                }
                _ => None,
            })
            .collect())
    })
}
