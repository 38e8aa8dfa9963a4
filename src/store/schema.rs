//! The schema, as an append-only list of migrations. Never edit a migration that has shipped:
//! add a new one. `PRAGMA user_version` records how far a database has come.

use rusqlite_migration::{M, Migrations};

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
-- One row per configured feed that has been fetched at least once: its health.
CREATE TABLE feeds (
    name                 TEXT PRIMARY KEY,
    url                  TEXT NOT NULL,
    last_fetch_at        INTEGER,
    last_success_at      INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    items_seen           INTEGER NOT NULL DEFAULT 0
);

-- Every item ever recorded, keyed by the feed's own identity for it.
CREATE TABLE items (
    feed          TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    link          TEXT,
    title         TEXT NOT NULL,
    published     INTEGER,
    first_seen_at INTEGER NOT NULL,
    -- 'new' (was eligible to alert) or 'old' (older than max_age at first sight).
    status        TEXT NOT NULL CHECK (status IN ('new', 'old')),
    PRIMARY KEY (feed, item_id)
) WITHOUT ROWID;

-- The outbox: one alert per rule and item, its payload rendered once so that every retry
-- sends the same bytes.
CREATE TABLE alerts (
    id         TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    feed       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    link       TEXT,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (rule, feed, item_id)
);

-- One delivery per alert and sink; its retry schedule lives here so it survives restarts.
CREATE TABLE deliveries (
    alert_id        TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    sink            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
"#,
    ),
    // Issue 6 (delivery you can trust).
    M::up(
        r#"
-- Sinks whose receiver said 410 Gone: not sent to until their URL changes or `redeliver`.
CREATE TABLE sink_state (
    sink            TEXT PRIMARY KEY,
    disabled_at     INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    -- A hash of the URL that answered 410, so a corrected URL re-enables the sink.
    url_fingerprint TEXT NOT NULL
);
-- When a delivery was last tried, and when its retry window restarted (`redeliver`).
ALTER TABLE deliveries ADD COLUMN last_attempt_at INTEGER;
ALTER TABLE deliveries ADD COLUMN queued_at INTEGER;
-- One deliverer per sink asks for its own due rows.
CREATE INDEX deliveries_sink_due ON deliveries (sink, state, next_attempt_at);
"#,
    ),
    // Issue 5: stories. An item belongs to a story; a rule alerts once per story.
    M::up(
        r#"
CREATE TABLE stories (
    id            INTEGER PRIMARY KEY,
    first_seen_at INTEGER NOT NULL,
    -- When the story last gained an item: it can be joined until last_seen_at + window.
    last_seen_at  INTEGER NOT NULL,
    title         TEXT NOT NULL,
    link          TEXT
);
CREATE INDEX stories_last_seen ON stories (last_seen_at);

-- Look-up keys of recent stories: LSH band keys of their items' signatures (32-bit values)
-- and hashes of their canonical links (values beyond 32 bits, so the two never meet).
CREATE TABLE story_keys (
    key      INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    PRIMARY KEY (key, story_id)
) WITHOUT ROWID;

ALTER TABLE items ADD COLUMN story_id INTEGER;
-- MinHash signature (little-endian u32s); cleared once the story leaves the window.
ALTER TABLE items ADD COLUMN signature BLOB;
-- Last time the feed still listed the item (refreshed at most daily): retention prunes only
-- items the feed has dropped, so a long-lived item never comes back as new.
ALTER TABLE items ADD COLUMN last_listed_at INTEGER;
CREATE INDEX items_story ON items (story_id) WHERE story_id IS NOT NULL;

ALTER TABLE alerts ADD COLUMN story_id INTEGER;
-- 'first' for the story's alert, 'update' for the optional follow-up (story_updates),
-- 'edit' (since the fifth migration) for an alert on an edited item (realert_on_update).
ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'first';
CREATE UNIQUE INDEX alerts_rule_story ON alerts (rule, story_id, kind) WHERE story_id IS NOT NULL;
"#,
    ),
    // Issue 3: the poller's per-feed state, so conditional GET, the schedule, backoff and
    // health incidents survive a restart or a reload.
    M::up(
        r#"
-- Validators from the last 200, sent back as If-None-Match / If-Modified-Since.
ALTER TABLE feeds ADD COLUMN etag TEXT;
ALTER TABLE feeds ADD COLUMN last_modified TEXT;
-- The feed's RSS <ttl> in seconds, from the last body: still the publisher's wish after a 304.
ALTER TABLE feeds ADD COLUMN ttl INTEGER;
-- The final HTTP status of the last fetch (NULL for file:// and transport failures).
ALTER TABLE feeds ADD COLUMN last_status INTEGER;
-- When the feed is next due (unix seconds): interval with jitter, or the backoff.
ALTER TABLE feeds ADD COLUMN next_due_at INTEGER;
-- Start of the current run of failures; NULL while the feed is healthy.
ALTER TABLE feeds ADD COLUMN failing_since INTEGER;
-- When a fetch last brought an item never seen before.
ALTER TABLE feeds ADD COLUMN last_new_item_at INTEGER;
-- Where a permanent redirect (301/308) led, for the user to update the config.
ALTER TABLE feeds ADD COLUMN moved_to TEXT;
-- Set when the server answered 410 Gone: the feed is not polled again at this URL.
ALTER TABLE feeds ADD COLUMN gone_at INTEGER;
-- Open health incidents (when raised), so each raises one event and one recovery.
ALTER TABLE feeds ADD COLUMN broken_since INTEGER;
ALTER TABLE feeds ADD COLUMN stale_since INTEGER;
"#,
    ),
    // Issue 5: `realert_on_update`. An item's text fingerprint tells an edit from a re-listing;
    // a rule may alert once per edit, so edit alerts are not bound by one-per-story.
    M::up(
        r#"
-- Stable hash of the item's folded title, summary and content as last seen (NULL: recorded
-- before this column existed; the next listing sets it without alerting).
ALTER TABLE items ADD COLUMN text_hash INTEGER;
DROP INDEX alerts_rule_story;
CREATE UNIQUE INDEX alerts_rule_story ON alerts (rule, story_id, kind)
    WHERE story_id IS NOT NULL AND kind IN ('first', 'update');
"#,
    ),
    // Alerts by story alone: the daily prune asks, for each old story, whether an alert still
    // refers to it; without this index each question scanned the alerts table.
    M::up(
        r#"
CREATE INDEX alerts_story ON alerts (story_id) WHERE story_id IS NOT NULL;
"#,
    ),
    // Items of the last read that could not be read (the rest of the feed was): shown by
    // `watchword feeds` so a partly broken feed is visible without reading the log.
    M::up(
        r#"
ALTER TABLE feeds ADD COLUMN skipped TEXT;
"#,
    ),
    // Issue 14: stories across outlets and languages. A report is compared by the names it
    // mentions as well as its words, and keeps why it joined its story.
    M::up(
        r#"
-- Ids of the names the headline and lead mention (`country:KZ person:tokayev event:join`),
-- one space apart; cleared with the signature once the story leaves the window.
ALTER TABLE items ADD COLUMN entities TEXT;
-- Why the item joined its story (JSON: {"by":"link"|"text"|"entities", …}); NULL for the
-- report that opened it.
ALTER TABLE items ADD COLUMN joined_by TEXT;
-- The language of the headline and lead (ISO 639-1), when it could be told.
ALTER TABLE items ADD COLUMN lang TEXT;
"#,
    ),
    // Migration 10 (issue 15; 9 is the lead's): the dashboard (src/store/dashboard.rs). Its pages are read through indexes, and
    // its rule workbench needs recent items' text, which `items` does not keep.
    M::up(
        r#"
-- The fields the matcher reads, as plain text, of the items first seen in the last
-- `[daemon] workbench_window` (7 days by default), each field cut to `dashboard::MAX_FIELD_CHARS`: what the
-- rule workbench runs a query on. Deleted with their item (retention) and once older than the
-- workbench's window.
CREATE TABLE item_texts (
    feed       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    seen_at    INTEGER NOT NULL,
    published  INTEGER,
    link       TEXT,
    title      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    content    TEXT NOT NULL,
    -- JSON arrays of strings.
    authors    TEXT NOT NULL,
    categories TEXT NOT NULL,
    PRIMARY KEY (feed, item_id),
    FOREIGN KEY (feed, item_id) REFERENCES items (feed, item_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX item_texts_seen ON item_texts (seen_at);

-- Items first seen per feed and UTC day, for the feeds page's sparklines: kept by a trigger,
-- so no writer has to know, and read by primary key instead of counting a year of items.
-- A feed's days older than 40 go when it records its next item.
CREATE TABLE feed_days (
    feed  TEXT NOT NULL,
    day   INTEGER NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (feed, day)
) WITHOUT ROWID;
INSERT INTO feed_days (feed, day, items)
    SELECT feed, first_seen_at / 86400, COUNT(*) FROM items
    WHERE first_seen_at >= CAST(strftime('%s', 'now') AS INTEGER) - 40 * 86400
    GROUP BY feed, first_seen_at / 86400;
CREATE TRIGGER items_per_day AFTER INSERT ON items BEGIN
    INSERT INTO feed_days (feed, day, items) VALUES (NEW.feed, NEW.first_seen_at / 86400, 1)
        ON CONFLICT (feed, day) DO UPDATE SET items = items + 1;
    DELETE FROM feed_days WHERE feed = NEW.feed AND day < NEW.first_seen_at / 86400 - 40;
END;

-- The alerts page: newest first, optionally by rule; alerts per feed (feeds page, covering).
CREATE INDEX alerts_created ON alerts (created_at);
CREATE INDEX alerts_rule_created ON alerts (rule, created_at);
CREATE INDEX alerts_feed ON alerts (feed, rule);
-- The overview: deliveries delivered or dead since midnight.
CREATE INDEX deliveries_last_attempt ON deliveries (state, last_attempt_at);

-- Every attempt at a delivery, for the alert's page (`deliveries` keeps only the last): written
-- by a trigger whenever an attempt is recorded (the attempt count goes up), so the outbox's
-- writers need not know; removed with its delivery, so with its alert by retention. `outcome`
-- is the delivery's state after the attempt: delivered, pending (a retry follows) or dead.
CREATE TABLE delivery_attempts (
    alert_id TEXT NOT NULL,
    sink     TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    at       INTEGER,
    status   INTEGER,
    error    TEXT,
    outcome  TEXT NOT NULL,
    FOREIGN KEY (alert_id, sink) REFERENCES deliveries (alert_id, sink) ON DELETE CASCADE
);
CREATE INDEX delivery_attempts_of ON delivery_attempts (alert_id, sink);
CREATE TRIGGER deliveries_attempted AFTER UPDATE OF attempts ON deliveries
WHEN NEW.attempts > OLD.attempts BEGIN
    INSERT INTO delivery_attempts (alert_id, sink, attempt, at, status, error, outcome)
    VALUES (NEW.alert_id, NEW.sink, NEW.attempts, NEW.last_attempt_at, NEW.last_status,
            NEW.last_error, NEW.state);
END;
"#,
    ),
    // Migration 11 (issue 18): a second look at the article.
    M::up(
        r#"
-- Article pages read for `read_articles`, by link, so that none is fetched twice: the main
-- text extracted (cut to feed::article::MAX_ARTICLE_CHARS), or why there is none. Pruned with
-- items (`retention`).
CREATE TABLE articles (
    url        TEXT PRIMARY KEY,
    fetched_at INTEGER NOT NULL,
    text       TEXT,
    error      TEXT
) WITHOUT ROWID;
CREATE INDEX articles_fetched ON articles (fetched_at);
"#,
    ),
];

pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }

    /// The queries run for every recorded item that raises an alert, and by the daily prune,
    /// must search an index, not scan a table that grows for a year.
    #[test]
    fn hot_queries_use_their_indexes() {
        let mut conn = rusqlite::Connection::open_in_memory().expect("open");
        super::migrations().to_latest(&mut conn).expect("migrate");
        let plan = |sql: &str| -> String {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("prepare");
            let count = stmt.parameter_count();
            let params: Vec<i64> = vec![1; count];
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), |row| {
                    row.get::<_, String>(3)
                })
                .expect("plan");
            rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("; ")
        };
        let rule_alerted = plan(crate::store::stories::RULE_ALERTED);
        assert!(rule_alerted.contains("alerts_rule_story"), "{rule_alerted}");
        let prune = plan(
            "SELECT 1 FROM stories WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.story_id = stories.id)",
        );
        assert!(prune.contains("alerts_story"), "{prune}");
    }
}
