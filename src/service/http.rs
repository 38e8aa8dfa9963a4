//! The loopback HTTP listener: `/metrics` (Prometheus text), `/healthz` (the process answers)
//! and `/readyz` (the database takes writes and the scheduler is making progress).
//!
//! hyper directly rather than a framework: it is already in the tree through reqwest, and
//! three fixed routes need no router.
//!
//! The listener must never take the file descriptors the poller and the deliverers need: a
//! connection that is open is a descriptor, and a client (or a port scanner, or a broken
//! scraper) that opens connections and never speaks would otherwise keep each one for ever,
//! until fetches and webhook requests fail with "Too many open files". So at most
//! [`MAX_CONNECTIONS`] are served at once (more are accepted and closed at once), a client
//! must send its request head within [`HEADER_READ_TIMEOUT`], and no connection lives longer
//! than [`CONNECTION_LIFETIME`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::store::{Health, Store};

/// What the endpoints read: the shared store and the names of the configured feeds.
pub struct Shared {
    store: Store,
    feeds: RwLock<Vec<String>>,
    /// True between READY=1 and the next reload or stop.
    ready: AtomicBool,
}

impl Shared {
    pub fn new(store: Store) -> Arc<Shared> {
        Arc::new(Shared {
            store,
            feeds: RwLock::new(Vec::new()),
            ready: AtomicBool::new(false),
        })
    }

    pub fn set_feeds(&self, feeds: Vec<String>) {
        if let Ok(mut current) = self.feeds.write() {
            *current = feeds;
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// The database's view of the service, off the runtime.
    pub async fn health(&self) -> Result<Health, String> {
        let store = self.store.clone();
        let feeds = self.feeds.read().map(|f| f.clone()).unwrap_or_default();
        match tokio::task::spawn_blocking(move || store.health(&feeds)).await {
            Ok(Ok(health)) => Ok(health),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn readiness(&self) -> Result<(), String> {
        if !self.ready.load(Ordering::Relaxed) {
            return Err("starting, reloading or stopping".into());
        }
        if !super::scheduler_alive() {
            let since = super::since_last_tick()
                .map(|d| format!("{}s ago", d.as_secs()))
                .unwrap_or_else(|| "never".into());
            return Err(format!(
                "the scheduler has not made progress (last tick {since})"
            ));
        }
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.check_writable()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("the database cannot be written: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Binds the listener; a separate step so that a taken port is reported at start-up.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Connections served at once. A Prometheus server, a health checker and a person with curl
/// need a handful; the cap only has to be far below the descriptor limit (1,024 by default,
/// raised at start-up) so that the rest stay for feeds, webhooks and SQLite.
pub const MAX_CONNECTIONS: usize = 64;

/// Time a client has to send a request's head, on a new connection or between requests on a
/// kept-alive one: a scraper sends it at once; a silent connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a connection is kept, however busy: a backstop for a client that trickles or
/// never reads. Each answer takes milliseconds (a `/metrics` with its database counts a few
/// hundred), and a scraper that keeps connections alive simply opens a new one.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);

/// Serves requests until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                warn!("metrics listener cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Accepted only to be closed: left in the kernel's queue it would be answered
            // later, long after its client gave up, and closing it frees its descriptor now.
            drop(stream);
            refused += 1;
            // One line per burst (the 1st, 2nd, 4th, 8th… refusal), not one per connection.
            if refused.is_power_of_two() {
                warn!(
                    "metrics listener: {MAX_CONNECTIONS} connections already open, closing the \
                     one from {peer} ({refused} refused so far)"
                );
            }
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // Held until the connection is closed, whichever way.
            let _slot = slot;
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(route(request, &shared).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!("metrics connection from {peer} ended: {e}"),
                Err(_) => debug!(
                    "metrics connection from {peer} closed after {}s",
                    CONNECTION_LIFETIME.as_secs()
                ),
            }
        });
    }
}

async fn route(request: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n".into());
    }
    match request.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => match shared.readiness().await {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(reason) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}\n"),
            ),
        },
        "/metrics" => {
            let Some(handle) = super::metrics::install() else {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "metrics unavailable\n".into(),
                );
            };
            let health = match shared.health().await {
                Ok(health) => Some(health),
                Err(e) => {
                    warn!("metrics: cannot read the database: {e}");
                    None
                }
            };
            let body =
                super::metrics::render(handle, health.as_ref(), chrono::Utc::now().timestamp());
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found; try /metrics, /healthz or /readyz\n".into(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
