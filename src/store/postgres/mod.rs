//! PostgreSQL: the same state as SQLite in a server that several replicas share.
//!
//! The database is the only coordination between replicas:
//! - a feed is polled by the replica that leased it (`feeds.lease_owner`, `lease_until`,
//!   [`Postgres::claim_poll`]); the lease ends when the poll is recorded, or runs out if the
//!   replica dies, and the feed's stored `next_due_at` tells every replica when it is due;
//! - pending deliveries are leased the same way (`FOR UPDATE SKIP LOCKED`) when a deliverer
//!   takes them, so an alert is sent by one replica at a time, with the same id on every try;
//! - story decisions take transaction-scoped advisory locks on the stories' look-up keys, so
//!   two replicas recording two reports of one story at the same moment decide one after the
//!   other and raise one alert, while unrelated stories are decided in parallel;
//! - retention runs on one replica at a time (a try-lock; the others skip that round).
//!
//! The API is synchronous like SQLite's: each call runs its SQL on a small tokio runtime owned
//! by this handle, so callers on the blocking pool (`spawn_blocking`) or in the CLI need no
//! runtime of their own. It must not be called from async code (it would block a worker).

mod claim;
pub(crate) mod copy;
mod dashboard;
mod lease;
mod notify;
mod poll_queue;
mod queries;
mod record;
mod schema;
mod tls;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{Result, StoreError};
use crate::model::PostgresUrl;
use crate::story::StoryPolicy;

/// `[daemon] replica_lease`'s default, for handles opened without a config (tests, tools).
const DEFAULT_LEASE_SECS: i64 = 120;

/// A handle on the shared database; cheap to clone, safe to share between threads.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    runtime: Arc<IoRuntime>,
    url: PostgresUrl,
    /// Names this process in leases: host, pid and a random part (a restarted replica with a
    /// recycled pid must not inherit its predecessor's leases).
    replica: Arc<str>,
    story_policy: StoryPolicy,
    /// How long deliveries taken by this replica stay its own (`replica_lease`).
    lease_secs: i64,
    /// For the outbox listener's own connection (`notify`), with the pool's TLS.
    config: Arc<tokio_postgres::Config>,
    connector: tls::Connector,
    outbox_signal: Arc<tokio::sync::Notify>,
    listening: Arc<std::sync::Once>,
    /// Hosts (and slot counts) whose `host_slots` rows this process has made.
    hosts_with_slots: Arc<std::sync::Mutex<std::collections::HashSet<(String, i32)>>>,
    /// The host slot each feed this process is polling holds (feed → host, slot): taken with
    /// the feed's claim, given back by the statement that records the poll, so politeness
    /// costs a poll no statements of its own.
    held_slots: Arc<std::sync::Mutex<std::collections::HashMap<String, (String, i32)>>>,
    /// When this process last forgot the workbench texts that left their window (unix
    /// seconds): at most once a minute, not with every poll's texts.
    texts_forgotten_at: Arc<std::sync::atomic::AtomicI64>,
    /// The claims of polls and the states of polls that brought no item (`304`s, failures),
    /// waiting to go to the server together (`poll_queue`): one batch while the one before
    /// is being written.
    poll_writes:
        Arc<super::group_commit::GroupCommit<poll_queue::PollWrite, poll_queue::PollWritten>>,
}

impl Postgres {
    /// Connects, checks the server answers, and migrates the schema to the current version.
    pub fn connect(url: &PostgresUrl) -> Result<Postgres> {
        let db = Postgres::connect_without_migrating(url)?;
        schema::migrate(&db).map_err(|e| StoreError::MigratePostgres {
            url: url.to_string(),
            cause: e.to_string(),
        })?;
        Ok(db)
    }

    /// Connects to a database a daemon has already set up, changing nothing: for readers such
    /// as `check` and `status`, which must not create tables in a database given by mistake.
    /// Fails with [`StoreError::NotSetUp`] when it has no watchword schema.
    pub fn connect_existing(url: &PostgresUrl) -> Result<Postgres> {
        let db = Postgres::connect_without_migrating(url)?;
        let set_up = db.with_tx(|tx| {
            Ok(tx
                .query_one("SELECT to_regclass('watchword_schema') IS NOT NULL", &[])?
                .get::<_, bool>(0))
        })?;
        if !set_up {
            return Err(StoreError::NotSetUp {
                database: url.to_string(),
            });
        }
        Ok(db)
    }

    fn connect_without_migrating(url: &PostgresUrl) -> Result<Postgres> {
        let connect_err = |cause: String| StoreError::Connect {
            url: url.to_string(),
            cause,
        };
        let tls = url.tls().map_err(connect_err)?;
        let mut config: tokio_postgres::Config = url
            .expose_for_driver()
            .parse()
            .map_err(|e: tokio_postgres::Error| connect_err(format!("not a valid URL: {e}")))?;
        config.ssl_mode(tls::driver_mode(tls.mode));
        let connector = tls::Connector::new(&tls).map_err(connect_err)?;
        // Commits do not wait for the WAL flush unless they say so: only the outbox's writes
        // (alerts, deliveries' outcomes) must survive a power cut, and those transactions set
        // `synchronous_commit = on` (`Durability::Durable`). Leases and feed state lost to a
        // crash cost a refetch, as SQLite's unsynced batches do.
        let options = match config.get_options() {
            Some(given) => format!("{given} -c synchronous_commit=off"),
            None => "-c synchronous_commit=off".to_string(),
        };
        config.options(&options);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("watchword-postgres")
            .enable_all()
            .build()
            .map_err(|e| connect_err(format!("cannot start its I/O thread: {e}")))?;
        let manager = Manager::from_connect(
            config.clone(),
            connector.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(url.connections())
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(30)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .build()
            .map_err(|e| connect_err(e.to_string()))?;
        let db = Postgres {
            pool,
            runtime: Arc::new(IoRuntime(Some(runtime))),
            url: url.clone(),
            replica: replica_name().into(),
            story_policy: StoryPolicy::default(),
            lease_secs: DEFAULT_LEASE_SECS,
            config: Arc::new(config),
            connector,
            outbox_signal: Arc::default(),
            listening: Arc::new(std::sync::Once::new()),
            hosts_with_slots: Arc::default(),
            held_slots: Arc::default(),
            texts_forgotten_at: Arc::default(),
            poll_writes: Arc::default(),
        };
        // The first connection tells a wrong host, user, database or certificate at start-up,
        // with the URL and, for TLS, what to change.
        let rt = db.runtime.handle()?;
        match rt.block_on(db.pool.get()) {
            Ok(_) => {}
            Err(deadpool_postgres::PoolError::Backend(e)) => {
                let host = match db.config.get_hosts().first() {
                    Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
                    _ => "localhost".to_string(),
                };
                let cause = tls::explain(&e, &tls, &host)
                    .unwrap_or_else(|| StoreError::from(e).to_string());
                return Err(connect_err(cause));
            }
            Err(other) => return Err(connect_err(StoreError::from(other).to_string())),
        }
        Ok(db)
    }

    /// Sets how long deliveries this replica takes stay its own if it dies (`replica_lease`).
    pub fn with_lease(mut self, lease: std::time::Duration) -> Postgres {
        self.lease_secs = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1);
        self
    }

    pub fn with_story_policy(mut self, policy: StoryPolicy) -> Postgres {
        self.story_policy = policy;
        self
    }

    /// The URL without its password.
    pub fn describe(&self) -> String {
        self.url.to_string()
    }

    /// This process's name in leases.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Runs `work` in one transaction, committed if it returns `Ok`, rolled back otherwise.
    pub(super) fn with_tx<T>(&self, work: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.transaction(Durability::Durable, work)
    }

    /// [`Postgres::with_tx`] for writes a crash may lose at no cost (leases; a poll that adds
    /// nothing to the outbox, whose items the next poll records again): its commit does not
    /// wait for the WAL to reach the disk, as SQLite skips its fsync for such a batch. An
    /// alert or a delivery's outcome is never written this way. (Statements run with
    /// [`Postgres::with_conn`] commit the same way.)
    pub(super) fn with_light_tx<T>(&self, work: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.transaction(Durability::Light, work)
    }

    fn transaction<T>(
        &self,
        durability: Durability,
        work: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let rt = self.runtime.handle()?;
        let mut client = rt.block_on(self.pool.get())?;
        let tx = rt.block_on(client.transaction())?;
        let session = Tx {
            rt,
            on: Session::Transaction(&tx),
        };
        if durability == Durability::Durable {
            // Sessions default to not waiting for the WAL flush (see `connect`).
            session.batch("SET LOCAL synchronous_commit = on")?;
        }
        let out = work(&session)?;
        rt.block_on(tx.commit())?;
        Ok(out)
    }

    /// Runs reads, or one write a crash may lose at no cost, on a pooled connection without a
    /// transaction around them: one round trip per statement instead of three.
    pub(super) fn with_conn<T>(&self, work: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let rt = self.runtime.handle()?;
        let client = rt.block_on(self.pool.get())?;
        work(&Tx {
            rt,
            on: Session::Client(&client),
        })
    }
}

/// The store's own runtime. The last handle may be dropped anywhere, async code included,
/// where dropping a runtime the ordinary way would block (and tokio forbids it): so it is shut
/// down in the background, which abandons only idle pooled connections.
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl IoRuntime {
    fn handle(&self) -> Result<&tokio::runtime::Handle> {
        self.0
            .as_ref()
            .map(tokio::runtime::Runtime::handle)
            .ok_or_else(|| StoreError::Postgres("the connection runtime has stopped".into()))
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    Durable,
    Light,
}

/// One transaction (or one pooled connection, [`Postgres::with_conn`]), with blocking calls:
/// the shape the SQLite code has, so both backends read alike. Statements are prepared once
/// per connection (deadpool's statement cache).
pub(super) struct Tx<'a> {
    rt: &'a tokio::runtime::Handle,
    on: Session<'a>,
}

enum Session<'a> {
    Transaction(&'a deadpool_postgres::Transaction<'a>),
    Client(&'a deadpool_postgres::ClientWrapper),
}

/// The same call on either kind of session (their methods are inherent, not one trait's).
macro_rules! on_session {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx.on {
            Session::Transaction($c) => $body,
            Session::Client($c) => $body,
        }
    };
}

pub(super) type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl Tx<'_> {
    pub fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        on_session!(self, |c| self.rt.block_on(async {
            let statement = c.prepare_cached(sql).await?;
            Ok(c.execute(&statement, params).await?)
        }))
    }

    pub fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        on_session!(self, |c| self.rt.block_on(async {
            let statement = c.prepare_cached(sql).await?;
            Ok(c.query(&statement, params).await?)
        }))
    }

    pub fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        on_session!(self, |c| self.rt.block_on(async {
            let statement = c.prepare_cached(sql).await?;
            Ok(c.query_opt(&statement, params).await?)
        }))
    }

    pub fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row> {
        on_session!(self, |c| self.rt.block_on(async {
            let statement = c.prepare_cached(sql).await?;
            Ok(c.query_one(&statement, params).await?)
        }))
    }

    /// Two statements sent together (pipelined): one round trip for both. Each runs as its
    /// own statement, in order; on a pooled connection without a transaction each commits by
    /// itself.
    pub fn execute_both(
        &self,
        first: (&str, Params<'_>),
        second: (&str, Params<'_>),
    ) -> Result<(u64, u64)> {
        on_session!(self, |c| self.rt.block_on(async {
            let one = c.prepare_cached(first.0).await?;
            let two = c.prepare_cached(second.0).await?;
            Ok(tokio::try_join!(
                c.execute(&one, first.1),
                c.execute(&two, second.1)
            )?)
        }))
    }

    /// Several statements without parameters (the schema).
    pub fn batch(&self, sql: &str) -> Result<()> {
        on_session!(self, |c| self
            .rt
            .block_on(async { Ok(c.batch_execute(sql).await?) }))
    }
}

fn replica_name() -> String {
    let host = lease::host_name();
    // std's per-process random hash keys: random enough to tell two lives of one pid apart.
    let nonce =
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
    format!("{host}:{}:{:08x}", std::process::id(), nonce as u32)
}

/// Transaction-scoped advisory locks (`pg_advisory_xact_lock`): one number per purpose.
pub(super) mod locks {
    /// Schema migrations: replicas starting together migrate one after the other.
    pub const MIGRATE: i64 = 0x7777_0001;
    /// Story decisions: held shared by every recording that decides stories, alone by one
    /// with too many look-up keys to lock each (`record::lock_story_keys`).
    pub const STORIES: i64 = 0x7777_0002;
    /// A story look-up key (link, band, name), in the two-number form (a space of its own):
    /// reports that may belong to one story are decided one at a time, unrelated stories in
    /// parallel.
    pub const STORY_KEY: i32 = 0x7777_0002;
    /// Retention: one replica prunes at a time.
    pub const PRUNE: i64 = 0x7777_0003;
}
