//! The PostgreSQL server going away under a running daemon (`WATCHWORD_TEST_POSTGRES`; skipped
//! by name without it, refused by `.ci/run`): the daemon says so, keeps running, and once the
//! server is back records and delivers what it missed, each alert once.
//!
//! The daemon reaches the server through a TCP relay on 127.0.0.1 that the test can cut
//! (every open connection dropped, new ones refused) and restore: what a restart of the
//! server or a network partition looks like from the client.

mod common;

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::external::PgSchema;
use common::*;

/// Relays 127.0.0.1:<port> to the server while up; cut, it drops every relayed connection and
/// closes new ones at once.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(server: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (flag, streams) = (Arc::clone(&up), Arc::clone(&open));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !flag.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(&server) else {
                    continue;
                };
                let mut kept = streams.lock().expect("streams");
                for stream in [&client, &upstream] {
                    if let Ok(clone) = stream.try_clone() {
                        kept.push(clone);
                    }
                }
                pump(&client, &upstream);
                pump(&upstream, &client);
            }
        });
        Relay { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for stream in self.open.lock().expect("streams").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pump(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// The first `n` of the stories `tests/postgres.rs` uses, as one feed.
fn stories(n: usize) -> String {
    let stories: Vec<_> = (1..=n).map(accords_story).collect();
    rss_of_stories(&stories)
}

#[test]
fn the_daemon_outlives_a_database_outage_and_sends_what_it_missed_once() {
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let mut url = url::Url::parse(&schema.url).expect("the test server's URL");
    let server = format!(
        "{}:{}",
        url.host_str().expect("a host"),
        url.port().unwrap_or(5432)
    );
    let relay = Relay::start(server);
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(relay.port)).expect("port");

    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &stories(1));
    let ws = Workspace::new();
    TomlConfig::new()
        .database(url.as_str())
        .daemon("poll_interval = \"10s\"\nmetrics_listen = \"off\"")
        .shared_groups()
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    assert!(
        wait_for(Duration::from_secs(60), || receiver.accepted().len() == 1),
        "the first alert before the outage:\n{}",
        daemon.log()
    );

    relay.cut();
    feeds.put_rss("/wire.xml", &stories(2));
    // The next poll fetches the feed but cannot record it, and says so, by feed and with
    // what becomes of its items.
    assert!(
        wait_for(Duration::from_secs(60), || daemon
            .log()
            .contains("cannot record feed \"wire\": database error")),
        "no error while the database was away:\n{}",
        daemon.log()
    );
    assert!(
        daemon.log().contains("will be seen again on the next poll"),
        "{}",
        daemon.log()
    );
    assert_eq!(
        receiver.accepted().len(),
        1,
        "nothing recorded, nothing sent"
    );

    relay.restore();
    assert!(
        wait_for(Duration::from_secs(120), || receiver.accepted().len() >= 2),
        "the missed alert after the outage:\n{}",
        daemon.log()
    );
    let log = daemon.stop();
    let ids: std::collections::BTreeSet<String> = receiver.accepted().iter().map(Hit::id).collect();
    assert_eq!(ids.len(), 2, "each alert once: {ids:?}\n{log}");
    assert_eq!(receiver.accepted().len(), 2, "{log}");
    assert_eq!(
        schema.query("SELECT COUNT(*)::text FROM alerts"),
        ["2".to_string()]
    );
}
