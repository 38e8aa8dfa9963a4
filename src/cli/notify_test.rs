//! `watchword notify-test SINK`: a sample alert sent through the sink's real delivery path
//! (its rate limit, format, signature, headers and timeout: `alert::Deliverer`, as the daemon
//! uses it), and what the receiver answered. Nothing is read from or written to the database.

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;

use crate::alert::{Deliverer, Outgoing};
use crate::config::SinkKind;
use crate::model::{AlertId, Item, MatchedTerm, payload};
use crate::runtime::Runtime;
use crate::text::{for_terminal, truncate_chars};

#[derive(Debug, clap::Args)]
pub struct NotifyTestArgs {
    /// The sink to test, by its name in the config.
    #[arg(value_name = "SINK")]
    sink: String,
}

/// The most of the receiver's body shown, in characters.
const BODY_SHOWN: usize = 500;

pub(super) async fn run(config: Arc<Runtime>, args: NotifyTestArgs) -> anyhow::Result<()> {
    let Some(sink) = config.sinks.iter().find(|s| s.name == args.sink) else {
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name.as_str()).collect();
        bail!(
            "no sink named {:?} in the config (sinks: {})",
            args.sink,
            names.join(", ")
        );
    };
    let now = Utc::now();
    let nonce = now
        .timestamp_nanos_opt()
        .unwrap_or_else(|| now.timestamp())
        .to_string();
    let id = AlertId::notify_test(&sink.name, &nonce);
    // As the first rule that notifies this sink would send it, so that a receiver routing on
    // the rule or the priority routes the test the same way.
    let rule = config.rules.iter().find(|r| r.notify.contains(&sink.name));
    let item = Item {
        feed: "watchword-notify-test".into(),
        id: format!("notify-test-{nonce}"),
        link: Some("https://example.org/watchword/notify-test".into()),
        title: format!("watchword test alert for sink {}", sink.name),
        summary: "A test sent by `watchword notify-test`: alerts reach this sink.".into(),
        content: String::new(),
        published: Some(now),
        authors: Vec::new(),
        categories: Vec::new(),
    };
    let matched = [MatchedTerm {
        term: "test".into(),
        found: vec!["test".into()],
    }];
    let body = payload::render(
        &id,
        rule.map_or("notify-test", |r| r.name.as_str()),
        &matched,
        &item,
        now,
        rule.map_or("normal", |r| r.priority.as_str()),
    );
    let deliverer = Deliverer::new(
        &config.sinks,
        &config.daemon.user_agent,
        config.daemon.delivery_timeout,
    )
    .context("cannot set up the delivery")?;
    let out = Outgoing {
        sink: &sink.name,
        id: id.as_str(),
        payloads: vec![body.as_str()],
        attempts: 0,
        queued_at: now.timestamp(),
    };
    let target = deliverer.describe(&sink.name);
    let answer = deliverer
        .probe(&out)
        .await
        .ok_or_else(|| anyhow!("sink {:?} is not configured", sink.name))?
        .map_err(|cause| anyhow!("the test alert did not reach {target}: {cause}"))?;
    if sink.kind == SinkKind::Stdout {
        // The stdout sink's message is on standard output already; say so where it is read.
        eprintln!(
            "printed a test alert ({}) as sink {target} prints alerts",
            id.as_str()
        );
        return Ok(());
    }
    if sink.kind == SinkKind::Email {
        super::print_out(&format!(
            "sink:    {target}\nalert:   {} (Message-ID)\nanswer:  {}\n",
            id.as_str(),
            for_terminal(&answer.body),
        ));
        return Ok(());
    }
    let mut details = vec![format!("format {}", sink.format)];
    if sink.signing_key.is_some() {
        details.push("signed".into());
    }
    if let Some(limit) = sink.rate_limit {
        details.push(format!("at most {limit}"));
    }
    let status = answer.status.unwrap_or_default();
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let shown = truncate_chars(&for_terminal(answer.body.trim()), BODY_SHOWN);
    super::print_out(&format!(
        "sink:    {target}, {}\n\
         alert:   {} (webhook-id)\n\
         answer:  HTTP {status} {reason}\n\
         body:    {}\n",
        details.join(", "),
        id.as_str(),
        if shown.is_empty() { "(empty)" } else { &shown },
    ));
    if !(200..300).contains(&status) {
        bail!(
            "{target} answered HTTP {status} {reason}: the test alert was not accepted \
             (the body above says why, if the receiver said)"
        );
    }
    Ok(())
}
