//! The loopback HTTP listener: `/metrics` (Prometheus text), `/healthz` (the process answers)
//! and `/readyz` (the database takes writes and the scheduler is making progress), and beside
//! them whatever other routes the daemon gives it (the dashboard, `crate::web`).
//!
//! Routes are an axum `Router`, because the dashboard brought them well past three; the accept
//! loop is our own, on hyper, for the limits below that a framework's server does not have.
//!
//! The listener must never take the file descriptors the poller and the deliverers need: a
//! connection that is open is a descriptor, and a client (or a port scanner, or a broken
//! scraper) that opens connections and never speaks would otherwise keep each one for ever,
//! until fetches and webhook requests fail with "Too many open files". So at most
//! [`MAX_CONNECTIONS`] are served at once (more are accepted and closed at once), a client
//! must send its request head within [`HEADER_READ_TIMEOUT`], and no connection lives longer
//! than [`CONNECTION_LIFETIME`].
//!
//! With a credential configured (`listen_token`, `listen_user`/`listen_password`; required off
//! loopback), every request but `/healthz` and `/readyz` must carry it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::StatusCode;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::config::ListenAuth;
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

/// `/metrics`, `/healthz` and `/readyz`, for the daemon to merge with its other routes.
pub fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { text(StatusCode::OK, "ok\n".into()) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

/// Serves `app` until the task is dropped, asking for `auth` (when set) on every path but
/// `/healthz` and `/readyz`.
pub async fn serve(listener: TcpListener, app: Router, auth: ListenAuth) {
    let auth = Arc::new(auth);
    let app = app.layer(axum::middleware::from_fn(move |request, next| {
        let auth = Arc::clone(&auth);
        async move { guard(&auth, request, next).await }
    }));
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
        let app = app.clone();
        tokio::spawn(async move {
            // Held until the connection is closed, whichever way.
            let _slot = slot;
            let service = TowerToHyperService::new(app);
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

/// Asks for the configured credential, except on the health endpoints (a load balancer's
/// or systemd's probe carries none, and they reveal nothing).
async fn guard(auth: &ListenAuth, request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    if !auth.is_set() || path == "/healthz" || path == "/readyz" {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given.is_some_and(|given| authorized(auth, given)) {
        return next.run(request).await;
    }
    let mut response = text(StatusCode::UNAUTHORIZED, "credentials required\n".into());
    // A browser asks for a user and password only when told basic auth will do.
    let challenge = if auth.basic.is_some() {
        "Basic realm=\"watchword\", charset=\"UTF-8\""
    } else {
        "Bearer realm=\"watchword\""
    };
    response.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static(challenge),
    );
    response
}

/// Whether an `Authorization` header value carries the configured token or user and password.
pub fn authorized(auth: &ListenAuth, header: &str) -> bool {
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return auth
            .token
            .as_deref()
            .is_some_and(|token| same_secret(token.as_bytes(), value.as_bytes()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine as _;
        let Some((user, password)) = &auth.basic else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value) else {
            return false;
        };
        let expected = format!("{user}:{password}");
        return same_secret(expected.as_bytes(), &decoded);
    }
    false
}

/// Compares in time independent of where the two differ, so that timing does not reveal how
/// much of a guess was right.
fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    use sha2::Digest as _;
    // Hashing first makes both sides the same length whatever was sent.
    let (a, b) = (sha2::Sha256::digest(expected), sha2::Sha256::digest(given));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    match shared.readiness().await {
        Ok(()) => text(StatusCode::OK, "ready\n".into()),
        Err(reason) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
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
    let body = super::metrics::render(handle, health.as_ref(), chrono::Utc::now().timestamp());
    (
        [(
            hyper::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The answer to a path no route has.
pub async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found; try /metrics, /healthz or /readyz\n".into(),
    )
}

/// A plain-text answer.
pub fn text(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
}
