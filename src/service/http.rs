//! The loopback HTTP listener: `/metrics` (Prometheus text), `/healthz` (the process answers)
//! and `/readyz` (the database takes writes and the scheduler is making progress).
//!
//! hyper directly rather than a framework: it is already in the tree through reqwest, and
//! three fixed routes need no router.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
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

/// Serves requests until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                warn!("metrics listener cannot accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(route(request, &shared).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!("metrics connection from {peer} ended: {e}");
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
