//! Hostile or careless input that must not stop the alerts: clients that open connections to
//! the metrics listener and never speak, and a body template that never ends. Everything runs
//! the real binary against local feed servers and receivers.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(60);

/// `watchword run` with debug logs and its open-files limits set to `soft`/`hard`.
fn start_limited(ws: &Workspace, soft: u64, hard: u64) -> Daemon {
    let mut cmd = Daemon::command(ws);
    cmd.env("WATCHWORD_LOG", "watchword=debug");
    // SAFETY: between fork and exec only setrlimit runs, which is async-signal-safe and
    // touches no memory of the parent but the rlimit on this closure's stack.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Daemon::spawn(cmd)
}

const KAZAKH: &str = "Kazakhstan will join the Abraham Accords";
const QUIET: &str = "Markets close flat";

/// Connections the test opens and never writes to: more than the daemon's descriptor limit.
const IDLE_CONNECTIONS: usize = 300;
/// The daemon's open-files limit, soft and hard (so the raise at start-up cannot undo it).
const FD_LIMIT: u64 = 256;

#[test]
fn idle_connections_to_the_metrics_listener_do_not_stop_alerts() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("q-1", QUIET)]));
    let ws = Workspace::new();
    let port = free_port();
    TomlConfig::for_workspace(&ws)
        .daemon("poll_interval = \"10s\"")
        .daemon(&format!("metrics_listen = \"127.0.0.1:{port}\""))
        .shared_groups()
        .feed("wire", &feeds.url("/wire.xml"))
        .rule(
            "central-asia-accords",
            "@central_asia AND @abraham_accords",
            &["hook"],
        )
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let daemon = start_limited(&ws, FD_LIMIT, FD_LIMIT);
    assert!(
        wait_for(WAIT, || http_status(port, "/readyz") == Some(200)),
        "/readyz never became ready:\n{}",
        daemon.log()
    );
    assert!(wait_for(WAIT, || feeds.hits("/wire.xml") >= 1));

    // More idle connections than the daemon has descriptors. Those it does not take stay
    // in the kernel's queue (connected as far as the client knows) or are refused.
    let mut idle = Vec::new();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..IDLE_CONNECTIONS {
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            idle.push(stream);
        }
    }
    assert!(
        idle.len() > FD_LIMIT as usize,
        "only {} connections opened",
        idle.len()
    );

    // The next matching item is fetched and delivered: the listener left the descriptors
    // for the poller and the deliverer.
    feeds.put_rss(
        "/wire.xml",
        &rss(&[wire_entry("q-1", QUIET), wire_entry("k-1", KAZAKH)]),
    );
    let started = Instant::now();
    assert!(
        wait_for(Duration::from_secs(40), || receiver.accepted().len() == 1),
        "no alert with {} idle connections open:\n{}",
        idle.len(),
        daemon.log()
    );
    eprintln!(
        "alert delivered {:.1} s after the item appeared, {} idle connections open",
        started.elapsed().as_secs_f64(),
        idle.len()
    );
    let log = daemon.log();
    assert!(!log.contains("Too many open files"), "{log}");

    // Silent connections are closed after the header timeout, so health checks get through
    // even while the clients hold on to theirs…
    assert!(
        wait_for(Duration::from_secs(30), || http_status(port, "/healthz")
            == Some(200)),
        "/healthz does not answer while idle connections are held:\n{}",
        daemon.log()
    );
    // …and certainly once they are gone.
    drop(idle);
    assert!(
        wait_for(Duration::from_secs(15), || http_status(port, "/healthz")
            == Some(200)),
        "/healthz does not answer once the connections are closed:\n{}",
        daemon.log()
    );
    assert!(wait_for(Duration::from_secs(15), || http_status(
        port, "/readyz"
    ) == Some(200)));
    let log = daemon.stop();
    assert!(log.contains("connections already open"), "{log}");
}

#[test]
fn run_raises_its_open_files_limit_to_the_hard_limit() {
    let feeds = FeedServer::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("q-1", QUIET)]));
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .daemon("metrics_listen = \"off\"")
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("r", "Kazakhstan", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let daemon = start_limited(&ws, 200, 1000);
    assert!(
        wait_for(WAIT, || feeds.hits("/wire.xml") >= 1),
        "{}",
        daemon.log()
    );
    let log = daemon.stop();
    assert!(
        log.contains("open files limit raised from 200 to 1000"),
        "{log}"
    );
}

/// Loops 10^10 times: minijinja's range stops at 100,000 elements, so it takes two.
const ENDLESS: &str = "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}\
                       {% endfor %}{% endfor %}";

/// Runs `watchword ARGS` and kills it if it has not finished within `limit`.
fn watchword_within(ws: &Workspace, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = watchword_command(&ws.config_path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watchword");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdout = child.stdout.take().expect("stdout");
    thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().unwrap_or_default();
    let status = status
        .unwrap_or_else(|| panic!("watchword {args:?} still running after {limit:?}:\n{text}"));
    (status.code(), text)
}

#[test]
fn check_refuses_a_template_that_never_ends() {
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .feed("wire", "https://wire.example.org/rss")
        .rule("r", "Kazakhstan", &["endless"])
        .webhook_sink_with(
            "endless",
            "https://hooks.example.org/h",
            &format!(
                "format = \"template\"\ncontent_type = \"text/plain\"\ntemplate = '{ENDLESS}'"
            ),
        )
        .write(&ws);
    let started = Instant::now();
    let (code, err) = watchword_within(&ws, &["check"], Duration::from_secs(30));
    eprintln!(
        "check refused it in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(code, Some(2), "{err}");
    // file:line:col of the template key (line 19, see TomlConfig), the sink, the cause.
    assert!(err.contains("watchword.toml:19:"), "{err}");
    assert!(
        err.contains("sink \"endless\": template: too much work"),
        "{err}"
    );
    assert!(err.contains("fuel"), "{err}");
}

#[test]
fn a_template_that_never_ends_on_a_real_alert_fails_the_attempt_and_normal_ones_render() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("k-1", KAZAKH)]));
    let ws = Workspace::new();
    // Passes `check` (the sample alert is not about Kazakhstan), then loops on the real one.
    let sneaky = format!(
        "{{\"t\": {{{{ title }}}}}}{{% if \"Kazakhstan\" in title %}}{ENDLESS}{{% endif %}}"
    );
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("r", "Kazakhstan", &["sneaky", "plain"])
        .webhook_sink_with(
            "sneaky",
            &receiver.url("/sneaky"),
            &format!("format = \"template\"\ntemplate = '{sneaky}'"),
        )
        .webhook_sink_with(
            "plain",
            &receiver.url("/plain"),
            "format = \"template\"\ntemplate = '{\"headline\": {{ title }}, \"n\": {{ count }}}'",
        )
        .write(&ws);
    let (code, err) = watchword_within(&ws, &["check"], Duration::from_secs(30));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = watchword_within(&ws, &["once"], Duration::from_secs(60));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("delivery to sneaky") && err.contains("too much work"),
        "{err}"
    );
    let hits = receiver.accepted();
    assert_eq!(hits.len(), 1, "only the plain sink's body arrives");
    assert_eq!(
        hits[0].json(),
        serde_json::json!({"headline": KAZAKH, "n": 1})
    );
}

/// The status of a GET, with a short wait: `None` when the listener refuses or stays silent.
fn http_status(port: u16, path: &str) -> Option<u16> {
    http_get(port, path, Duration::from_secs(5)).map(|(status, _)| status)
}
