//! `watchword migrate-db`: an existing SQLite database copied into an empty PostgreSQL one, so
//! a user moves to replicas without re-alerting. Every table the daemon keeps, row for row:
//! feeds' state (validators, schedule, health), items (signatures, names, text hashes),
//! stories with their ids and look-up keys, alerts in their order, deliveries exactly as they
//! stood (pending, delivered, dead; never leased), and disabled sinks.
//!
//! One PostgreSQL transaction: a failure anywhere leaves the target as it was. The rows go by
//! `COPY … FROM STDIN (FORMAT binary)`, streamed from a SQLite read transaction, so memory does
//! not grow with the database and 100,000 items take seconds, not the minutes of row-by-row
//! INSERTs.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::Postgres;
use crate::store::{Sqlite, StoreError};

/// How a column is read from SQLite and written to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Blob,
}

impl Kind {
    fn pg_type(self) -> Type {
        match self {
            Kind::Int => Type::INT8,
            Kind::Text => Type::TEXT,
            Kind::Blob => Type::BYTEA,
        }
    }
}

/// One table to copy: PostgreSQL's column, the SQLite expression it is read from, its kind.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, &'static str, Kind)],
    /// The order rows are read (and so written) in.
    order: &'static str,
}

use Kind::{Blob, Int, Text};

/// Every table, parents before children (deliveries refer to alerts). The columns are every
/// SQLite column (the test below fails when a migration adds one that is not copied); the
/// PostgreSQL-only ones (leases) stay NULL.
const TABLES: &[Table] = &[
    Table {
        name: "feeds",
        columns: &[
            ("name", "name", Text),
            ("url", "url", Text),
            ("last_fetch_at", "last_fetch_at", Int),
            ("last_success_at", "last_success_at", Int),
            ("last_error", "last_error", Text),
            ("consecutive_failures", "consecutive_failures", Int),
            ("items_seen", "items_seen", Int),
            ("etag", "etag", Text),
            ("last_modified", "last_modified", Text),
            ("ttl", "ttl", Int),
            ("last_status", "last_status", Int),
            ("next_due_at", "next_due_at", Int),
            ("failing_since", "failing_since", Int),
            ("last_new_item_at", "last_new_item_at", Int),
            ("moved_to", "moved_to", Text),
            ("gone_at", "gone_at", Int),
            ("broken_since", "broken_since", Int),
            ("stale_since", "stale_since", Int),
            ("skipped", "skipped", Text),
        ],
        order: "name",
    },
    Table {
        name: "items",
        columns: &[
            ("feed", "feed", Text),
            ("item_id", "item_id", Text),
            ("link", "link", Text),
            ("title", "title", Text),
            ("published", "published", Int),
            ("first_seen_at", "first_seen_at", Int),
            ("status", "status", Text),
            ("story_id", "story_id", Int),
            ("signature", "signature", Blob),
            ("last_listed_at", "last_listed_at", Int),
            ("text_hash", "text_hash", Int),
            ("entities", "entities", Text),
            ("joined_by", "joined_by", Text),
            ("lang", "lang", Text),
        ],
        order: "feed, item_id",
    },
    Table {
        name: "stories",
        columns: &[
            ("id", "id", Int),
            ("first_seen_at", "first_seen_at", Int),
            ("last_seen_at", "last_seen_at", Int),
            ("title", "title", Text),
            ("link", "link", Text),
        ],
        order: "id",
    },
    Table {
        name: "story_keys",
        columns: &[("key", "key", Int), ("story_id", "story_id", Int)],
        order: "key, story_id",
    },
    Table {
        name: "alerts",
        columns: &[
            // SQLite orders alerts of one second by rowid; PostgreSQL by `seq`.
            ("seq", "rowid", Int),
            ("id", "id", Text),
            ("rule", "rule", Text),
            ("feed", "feed", Text),
            ("item_id", "item_id", Text),
            ("title", "title", Text),
            ("link", "link", Text),
            ("payload", "payload", Text),
            ("created_at", "created_at", Int),
            ("story_id", "story_id", Int),
            ("kind", "kind", Text),
        ],
        order: "rowid",
    },
    Table {
        name: "deliveries",
        columns: &[
            ("alert_id", "alert_id", Text),
            ("sink", "sink", Text),
            ("state", "state", Text),
            ("attempts", "attempts", Int),
            ("next_attempt_at", "next_attempt_at", Int),
            ("last_status", "last_status", Int),
            ("last_error", "last_error", Text),
            ("delivered_at", "delivered_at", Int),
            ("last_attempt_at", "last_attempt_at", Int),
            ("queued_at", "queued_at", Int),
        ],
        order: "alert_id, sink",
    },
    Table {
        name: "sink_state",
        columns: &[
            ("sink", "sink", Text),
            ("disabled_at", "disabled_at", Int),
            ("reason", "reason", Text),
            ("url_fingerprint", "url_fingerprint", Text),
        ],
        order: "sink",
    },
    // The dashboard's history of attempts (SQLite's tenth migration), in the order they came.
    Table {
        name: "delivery_attempts",
        columns: &[
            ("seq", "rowid", Int),
            ("alert_id", "alert_id", Text),
            ("sink", "sink", Text),
            ("attempt", "attempt", Int),
            ("at", "at", Int),
            ("status", "status", Int),
            ("error", "error", Text),
            ("outcome", "outcome", Text),
        ],
        order: "rowid",
    },
    // The workbench's recent item text.
    Table {
        name: "item_texts",
        columns: &[
            ("feed", "feed", Text),
            ("item_id", "item_id", Text),
            ("seen_at", "seen_at", Int),
            ("published", "published", Int),
            ("link", "link", Text),
            ("title", "title", Text),
            ("summary", "summary", Text),
            ("content", "content", Text),
            ("authors", "authors", Text),
            ("categories", "categories", Text),
        ],
        order: "feed, item_id",
    },
    // Article pages read (`read_articles`, SQLite's eleventh migration).
    Table {
        name: "articles",
        columns: &[
            ("url", "url", Text),
            ("fetched_at", "fetched_at", Int),
            ("text", "text", Text),
            ("error", "error", Text),
        ],
        order: "url",
    },
];

/// SQLite tables not copied because PostgreSQL derives them: `feed_days` (items per feed and
/// day) is filled by the trigger on `items` as the items are copied.
#[cfg(test)]
const DERIVED: &[&str] = &["feed_days"];

/// What moved: rows per table in copy order, and the deliveries by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("no SQLite database at {}", path.display())]
    NoSource { path: PathBuf },
    #[error(
        "{target} is not empty: it already holds {tables}. migrate-db copies into an empty \
         database only, so that nothing is merged twice or sent again; give --to a new database \
         (or schema), or drop watchword's tables there first. Nothing was written"
    )]
    NotEmpty { target: String, tables: String },
    #[error("cannot read {table} from {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        table: &'static str,
        cause: rusqlite::Error,
    },
    #[error("cannot copy {table} into {target}: {cause}. Nothing was written")]
    Write {
        target: String,
        table: &'static str,
        cause: Box<StoreError>,
    },
    #[error(transparent)]
    Store(Box<StoreError>),
}

impl From<StoreError> for CopyError {
    fn from(e: StoreError) -> CopyError {
        CopyError::Store(Box::new(e))
    }
}

impl Postgres {
    /// Copies the SQLite database at `source` (migrated to the current schema first) into this
    /// one, which must hold no watchword rows yet; all or nothing.
    pub fn copy_from_sqlite(&self, source: &Path) -> Result<CopyReport, CopyError> {
        if !source.is_file() {
            return Err(CopyError::NoSource {
                path: source.to_path_buf(),
            });
        }
        // Brings an older file to the columns listed above (and checks it is a SQLite file).
        drop(Sqlite::open(source)?);
        let read_err = |table| {
            move |cause| CopyError::Read {
                path: source.to_path_buf(),
                table,
                cause,
            }
        };
        let sqlite =
            Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(read_err("the database"))?;
        // One snapshot of every table.
        sqlite
            .execute_batch("BEGIN")
            .map_err(read_err("the database"))?;

        let target = self.describe();
        let rt = self.runtime.handle()?;
        let mut client = rt.block_on(self.pool.get()).map_err(StoreError::from)?;
        let tx = rt
            .block_on(client.transaction())
            .map_err(StoreError::from)?;
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        // Replicas already running on the target wait until the copy is committed, and the
        // emptiness checked here stays true until then.
        rt.block_on(tx.batch_execute(&format!(
            "LOCK TABLE {} IN EXCLUSIVE MODE",
            names.join(", ")
        )))
        .map_err(StoreError::from)?;
        let mut occupied = Vec::new();
        for name in &names {
            let row = rt
                .block_on(tx.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {name})"), &[]))
                .map_err(StoreError::from)?;
            if row.get::<_, bool>(0) {
                occupied.push(*name);
            }
        }
        if !occupied.is_empty() {
            return Err(CopyError::NotEmpty {
                target,
                tables: format!("rows in {}", occupied.join(", ")),
            });
        }

        let mut report = CopyReport::default();
        for table in TABLES {
            let rows = copy_table(rt, &tx, &sqlite, table, source).map_err(|e| match e {
                CopyError::Store(cause) => CopyError::Write {
                    target: target.clone(),
                    table: table.name,
                    cause,
                },
                other => other,
            })?;
            report.tables.push((table.name, rows));
        }
        // New stories and alerts number on from the copied ones.
        for (table, column) in [
            ("stories", "id"),
            ("alerts", "seq"),
            ("delivery_attempts", "seq"),
        ] {
            rt.block_on(tx.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                               GREATEST(COALESCE(MAX({column}), 0), 1), MAX({column}) IS NOT NULL)
                 FROM {table}"
            )))
            .map_err(StoreError::from)?;
        }
        for row in rt
            .block_on(tx.query("SELECT state, COUNT(*) FROM deliveries GROUP BY state", &[]))
            .map_err(StoreError::from)?
        {
            let count = row.get::<_, i64>(1).max(0) as u64;
            match row.get::<_, &str>(0) {
                "pending" => report.pending = count,
                "delivered" => report.delivered = count,
                _ => report.dead += count,
            }
        }
        rt.block_on(tx.commit()).map_err(StoreError::from)?;
        Ok(report)
    }
}

/// Streams one table from SQLite into `COPY … FROM STDIN (FORMAT binary)`; returns its rows.
fn copy_table(
    rt: &tokio::runtime::Handle,
    tx: &deadpool_postgres::Transaction<'_>,
    sqlite: &Connection,
    table: &Table,
    source: &Path,
) -> Result<u64, CopyError> {
    let read_err = |cause| CopyError::Read {
        path: source.to_path_buf(),
        table: table.name,
        cause,
    };
    let pg_columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
    let sqlite_columns: Vec<&str> = table.columns.iter().map(|c| c.1).collect();
    let types: Vec<Type> = table.columns.iter().map(|c| c.2.pg_type()).collect();
    let sink = rt
        .block_on(tx.copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            table.name,
            pg_columns.join(", ")
        )))
        .map_err(StoreError::from)?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    let mut stmt = sqlite
        .prepare(&format!(
            "SELECT {} FROM {} ORDER BY {}",
            sqlite_columns.join(", "),
            table.name,
            table.order
        ))
        .map_err(read_err)?;
    let mut rows = stmt.query([]).map_err(read_err)?;
    while let Some(row) = rows.next().map_err(read_err)? {
        let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(types.len());
        for (i, (_, _, kind)) in table.columns.iter().enumerate() {
            values.push(match kind {
                Int => Box::new(row.get::<_, Option<i64>>(i).map_err(read_err)?),
                Text => Box::new(row.get::<_, Option<String>>(i).map_err(read_err)?),
                Blob => Box::new(row.get::<_, Option<Vec<u8>>>(i).map_err(read_err)?),
            });
        }
        let refs: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
        rt.block_on(writer.as_mut().write(&refs))
            .map_err(StoreError::from)?;
    }
    Ok(rt
        .block_on(writer.as_mut().finish())
        .map_err(StoreError::from)?)
}

#[cfg(test)]
mod tests {
    use super::TABLES;

    /// A migration that adds a SQLite column must add it here too, or `migrate-db` would
    /// silently leave it behind.
    #[test]
    fn every_sqlite_column_is_copied() {
        let mut conn = rusqlite::Connection::open_in_memory().expect("open");
        crate::store::schema::migrations()
            .to_latest(&mut conn)
            .expect("migrate");
        let mut tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .expect("prepare")
            .query_map([], |row| row.get(0))
            .expect("tables")
            .map(|t| t.expect("table"))
            .collect();
        tables.sort();
        let mut copied: Vec<String> = TABLES
            .iter()
            .map(|t| t.name.to_string())
            .chain(super::DERIVED.iter().map(|t| t.to_string()))
            .collect();
        copied.sort();
        assert_eq!(tables, copied);
        for table in TABLES {
            let mut columns: Vec<String> = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{}')",
                    table.name
                ))
                .expect("prepare")
                .query_map([], |row| row.get(0))
                .expect("columns")
                .map(|c| c.expect("column"))
                .collect();
            columns.sort();
            let mut listed: Vec<String> = table
                .columns
                .iter()
                .map(|c| c.1)
                .filter(|c| *c != "rowid")
                .map(String::from)
                .collect();
            listed.sort();
            assert_eq!(columns, listed, "table {}", table.name);
            for (pg, sqlite, kind) in table.columns {
                assert!(pg == sqlite || *sqlite == "rowid", "{pg} <- {sqlite}");
                let declared: String = conn
                    .query_row(
                        &format!(
                            "SELECT COALESCE((SELECT type FROM pragma_table_info('{}') WHERE name = ?1), 'INTEGER')",
                            table.name
                        ),
                        [sqlite],
                        |row| row.get(0),
                    )
                    .expect("type");
                let expected = match kind {
                    super::Kind::Int => "INTEGER",
                    super::Kind::Text => "TEXT",
                    super::Kind::Blob => "BLOB",
                };
                assert_eq!(declared, expected, "{}.{sqlite}", table.name);
            }
        }
    }
}
