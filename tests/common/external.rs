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
        _ if std::env::var_os(REQUIRE).is_some() => {
            panic!("{test}: {var} is not set, and {REQUIRE} forbids skipping this test")
        }
        _ => {
            let line = format!("SKIPPED {test}: {var} is not set\n");
            // libtest captures print!/eprint! of a passing test; /dev/stderr is the same
            // terminal through a descriptor of our own, which it does not capture.
            match std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
                Ok(mut tty) => {
                    let _ = std::io::Write::write_all(&mut tty, line.as_bytes());
                }
                Err(_) => eprint!("{line}"),
            }
            None
        }
    }
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
