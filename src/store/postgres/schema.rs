//! The PostgreSQL schema, as an append-only list of migrations like SQLite's
//! (`store::schema`). Never edit a migration that has shipped: add one. `watchword_schema`
//! records how far a database has come; replicas that start together migrate one at a time.
//!
//! The tables and columns are SQLite's (so `migrate-db` copies them one to one), with
//! PostgreSQL types, and with the columns only replicas need: leases on feeds and deliveries.

use super::{Postgres, Result, locks};

/// Version 1 is SQLite's schema as of its ninth migration.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE feeds (
    name                 TEXT PRIMARY KEY,
    url                  TEXT NOT NULL,
    last_fetch_at        BIGINT,
    last_success_at      BIGINT,
    last_error           TEXT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    items_seen           BIGINT NOT NULL DEFAULT 0,
    etag                 TEXT,
    last_modified        TEXT,
    ttl                  BIGINT,
    last_status          BIGINT,
    next_due_at          BIGINT,
    failing_since        BIGINT,
    last_new_item_at     BIGINT,
    moved_to             TEXT,
    gone_at              BIGINT,
    broken_since         BIGINT,
    stale_since          BIGINT,
    skipped              TEXT,
    -- The replica polling the feed now, and until when its lease holds.
    lease_owner          TEXT,
    lease_until          BIGINT
);

CREATE TABLE items (
    feed           TEXT NOT NULL,
    item_id        TEXT NOT NULL,
    link           TEXT,
    title          TEXT NOT NULL,
    published      BIGINT,
    first_seen_at  BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('new', 'old')),
    story_id       BIGINT,
    signature      BYTEA,
    last_listed_at BIGINT,
    text_hash      BIGINT,
    entities       TEXT,
    joined_by      TEXT,
    lang           TEXT,
    PRIMARY KEY (feed, item_id)
);
CREATE INDEX items_story ON items (story_id) WHERE story_id IS NOT NULL;
CREATE INDEX items_first_seen ON items (first_seen_at);

CREATE TABLE stories (
    id            BIGSERIAL PRIMARY KEY,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    title         TEXT NOT NULL,
    link          TEXT
);
CREATE INDEX stories_last_seen ON stories (last_seen_at);

CREATE TABLE story_keys (
    key      BIGINT NOT NULL,
    story_id BIGINT NOT NULL,
    PRIMARY KEY (key, story_id)
);
CREATE INDEX story_keys_story ON story_keys (story_id);

-- `seq` orders alerts of one second as SQLite's rowid does.
CREATE TABLE alerts (
    seq        BIGSERIAL NOT NULL,
    id         TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    feed       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    link       TEXT,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    story_id   BIGINT,
    kind       TEXT NOT NULL DEFAULT 'first',
    UNIQUE (rule, feed, item_id)
);
-- One alert per rule and story, whichever replica records it.
CREATE UNIQUE INDEX alerts_rule_story ON alerts (rule, story_id, kind)
    WHERE story_id IS NOT NULL AND kind IN ('first', 'update');
CREATE INDEX alerts_story ON alerts (story_id) WHERE story_id IS NOT NULL;
CREATE INDEX alerts_created ON alerts (created_at, seq);

CREATE TABLE deliveries (
    alert_id        TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    sink            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    last_attempt_at BIGINT,
    queued_at       BIGINT,
    -- The replica sending it now, and until when its lease holds.
    lease_owner     TEXT,
    lease_until     BIGINT,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_sink_due ON deliveries (sink, state, next_attempt_at);

CREATE TABLE sink_state (
    sink            TEXT PRIMARY KEY,
    disabled_at     BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    url_fingerprint TEXT NOT NULL
);

-- Politeness across replicas: `per_host_concurrency` slots per host (host:port), each held by
-- one replica's fetch at a time.
CREATE TABLE host_slots (
    host  TEXT NOT NULL,
    slot  INTEGER NOT NULL,
    owner TEXT,
    until BIGINT,
    PRIMARY KEY (host, slot)
);

-- The replica that delivers to a sink: one at a time, so the sink's rate limit and the order
-- of its alerts hold across replicas. Renewed while it works; taken over when it runs out.
CREATE TABLE sink_leases (
    sink  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);
"#,
    // 2: the dashboard (SQLite's tenth migration).
    r#"
-- The dashboard (SQLite's tenth migration): the workbench's recent item text, items per feed
-- and day for the sparklines (kept by a trigger), and the indexes its pages read through.
CREATE TABLE item_texts (
    feed       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    published  BIGINT,
    link       TEXT,
    title      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    content    TEXT NOT NULL,
    authors    TEXT NOT NULL,
    categories TEXT NOT NULL,
    PRIMARY KEY (feed, item_id),
    FOREIGN KEY (feed, item_id) REFERENCES items (feed, item_id) ON DELETE CASCADE
);
CREATE INDEX item_texts_seen ON item_texts (seen_at);

CREATE TABLE feed_days (
    feed  TEXT NOT NULL,
    day   BIGINT NOT NULL,
    items BIGINT NOT NULL,
    PRIMARY KEY (feed, day)
);
INSERT INTO feed_days (feed, day, items)
    SELECT feed, first_seen_at / 86400, COUNT(*) FROM items
    WHERE first_seen_at >= EXTRACT(EPOCH FROM now())::BIGINT - 40 * 86400
    GROUP BY feed, first_seen_at / 86400;
CREATE FUNCTION watchword_count_item_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed_days (feed, day, items) VALUES (NEW.feed, NEW.first_seen_at / 86400, 1)
        ON CONFLICT (feed, day) DO UPDATE SET items = feed_days.items + 1;
    DELETE FROM feed_days WHERE feed = NEW.feed AND day < NEW.first_seen_at / 86400 - 40;
    RETURN NEW;
END
$$;
CREATE TRIGGER items_per_day AFTER INSERT ON items
    FOR EACH ROW EXECUTE FUNCTION watchword_count_item_day();

CREATE INDEX alerts_rule_created ON alerts (rule, created_at);
CREATE INDEX alerts_feed ON alerts (feed, rule);
CREATE INDEX deliveries_last_attempt ON deliveries (state, last_attempt_at);

-- Every attempt at a delivery (the alert's page), kept by a trigger as on SQLite.
CREATE TABLE delivery_attempts (
    seq      BIGSERIAL PRIMARY KEY,
    alert_id TEXT NOT NULL,
    sink     TEXT NOT NULL,
    attempt  BIGINT NOT NULL,
    at       BIGINT,
    status   BIGINT,
    error    TEXT,
    outcome  TEXT NOT NULL,
    FOREIGN KEY (alert_id, sink) REFERENCES deliveries (alert_id, sink) ON DELETE CASCADE
);
CREATE INDEX delivery_attempts_of ON delivery_attempts (alert_id, sink);
CREATE FUNCTION watchword_record_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_attempts (alert_id, sink, attempt, at, status, error, outcome)
    VALUES (NEW.alert_id, NEW.sink, NEW.attempts, NEW.last_attempt_at, NEW.last_status,
            NEW.last_error, NEW.state);
    RETURN NEW;
END
$$;
CREATE TRIGGER deliveries_attempted AFTER UPDATE OF attempts ON deliveries
    FOR EACH ROW WHEN (NEW.attempts > OLD.attempts) EXECUTE FUNCTION watchword_record_attempt();
"#,
    // Version 3 (SQLite's migration 11, issue 18): article pages read for `read_articles`.
    r#"
CREATE TABLE articles (
    url        TEXT PRIMARY KEY,
    fetched_at BIGINT NOT NULL,
    text       TEXT,
    error      TEXT
);
CREATE INDEX articles_fetched ON articles (fetched_at);
"#,
    // Version 4: items per feed and day counted once per statement (a poll's items are one
    // statement), not once per item: two statements per poll instead of two per item; and
    // a story's reports indexed in the order decisions read them.
    r#"
DROP TRIGGER items_per_day ON items;
DROP FUNCTION watchword_count_item_day();
CREATE FUNCTION watchword_count_item_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f TEXT;
    d BIGINT;
BEGIN
    INSERT INTO feed_days (feed, day, items)
        SELECT feed, first_seen_at / 86400, COUNT(*) FROM new_items GROUP BY 1, 2
        ON CONFLICT (feed, day) DO UPDATE SET items = feed_days.items + EXCLUDED.items;
    -- One feed at a time: a statement with the feed as a value is planned on the primary key,
    -- where a join with the transition table was planned as a scan of every feed's days.
    FOR f, d IN SELECT feed, MAX(first_seen_at) / 86400 FROM new_items GROUP BY feed LOOP
        DELETE FROM feed_days WHERE feed = f AND day < d - 40;
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER items_per_day AFTER INSERT ON items REFERENCING NEW TABLE AS new_items
    FOR EACH STATEMENT EXECUTE FUNCTION watchword_count_item_days();

-- A story's first reports (what a decision compares) without reading all of a big story's.
DROP INDEX items_story;
CREATE INDEX items_story ON items (story_id, first_seen_at) WHERE story_id IS NOT NULL;
"#,
];

/// Brings the database to the newest version, each migration in its own transaction.
pub(super) fn migrate(db: &Postgres) -> Result<()> {
    db.with_tx(|tx| {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::MIGRATE])?;
        // "relation already exists, skipping" on every start is not news.
        tx.batch("SET LOCAL client_min_messages = warning")?;
        tx.batch(
            "CREATE TABLE IF NOT EXISTS watchword_schema (
                 version    BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM watchword_schema",
                &[],
            )?
            .get(0);
        if current > MIGRATIONS.len() as i64 {
            return Err(super::StoreError::Postgres(format!(
                "the database is at schema version {current}, newer than this watchword knows \
                 ({}): upgrade watchword, or point it at another database",
                MIGRATIONS.len()
            )));
        }
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch(sql)?;
            tx.execute(
                "INSERT INTO watchword_schema (version) VALUES ($1)",
                &[&(n as i64 + 1)],
            )?;
        }
        Ok(())
    })
}
