//! The configs shipped in config/ must stay valid, and the demo must work offline.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn example_config_checks() {
    let out = watchword_command(&repo_file("config/watchword.example.toml"))
        .arg("check")
        .env(
            "WATCHWORD_NEWSROOM_WEBHOOK",
            "https://hooks.example.org/services/T000/B000/XXXXXXXXXXXXXXXX",
        )
        .output()
        .expect("run");
    let summary = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        summary.contains("central-asia-joins-abraham-accords"),
        "{summary}"
    );
    // The webhook URL is a secret: `check` shows where it goes, not the token.
    assert!(summary.contains("hooks.example.org"), "{summary}");
    assert!(!summary.contains("XXXXXXXXXXXXXXXX"), "{summary}");
}

#[test]
fn example_config_without_its_secret_says_which_variable() {
    let out = watchword_command(&repo_file("config/watchword.example.toml"))
        .arg("check")
        .env_remove("WATCHWORD_NEWSROOM_WEBHOOK")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("WATCHWORD_NEWSROOM_WEBHOOK is not set"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn demo_prints_its_alerts_once() {
    // Run a copy, so the test neither needs nor touches target/watchword-demo.db.
    let ws = Workspace::new();
    let demo_dir = ws.dir.path().join("demo");
    std::fs::create_dir_all(&demo_dir).expect("mkdir");
    for entry in std::fs::read_dir(repo_file("config/demo")).expect("config/demo") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), demo_dir.join(entry.file_name())).expect("copy");
    }
    let toml = std::fs::read_to_string(repo_file("config/demo.toml"))
        .expect("demo.toml")
        .replace("../target/watchword-demo.db", "state.db");
    ws.write_config(&toml);

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let alerts: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let mut items: Vec<&str> = alerts
        .iter()
        .map(|a| a["item"]["id"].as_str().unwrap_or_default())
        .collect();
    items.sort_unstable();
    assert_eq!(items, vec!["brief-2026-11-26-02", "demo-wire-0001"]);
    assert!(ws.database().exists());

    let again = ws.watchword(&["once"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), "", "the second run has nothing new");
}
