//! The web dashboard, served by the daemon on its listener (`metrics_listen`) beside
//! `/metrics`, `/healthz` and `/readyz`: an overview (`watchword status`), alerts and their
//! stories (`watchword alerts`, with `watchword redeliver` as a button), the feeds' health
//! (`watchword feeds`) and a rule workbench (`watchword test --query` on stored items).
//!
//! Server-rendered HTML (`views`, askama templates) from the same store queries as the
//! commands (`pages`). Feeds are hostile input: every value is escaped by the templates, links
//! are links only when http(s), the Content-Security-Policy allows no inline script or style,
//! and the one POST (re-queue) needs a CSRF token. On a loopback address the `Host` header must
//! name a loopback host, so a web page cannot reach the dashboard through DNS rebinding.
//! Credentials (required off loopback) are checked by the listener (`service::http`).

pub mod pages;
pub mod views;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tokio::sync::watch;

use crate::runtime::Runtime;
use crate::store::Store;

/// Every dashboard answer's policy: only our own stylesheet and script, no inline script or
/// style, no frames, forms only to us. SVG sparklines are inline markup, which `img-src` does
/// not govern.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; img-src 'self'; connect-src 'none'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// What the pages read: the store, the running config (replaced on reload) and the CSRF token.
pub struct Dashboard {
    /// The daemon's own handle, for the one write (re-queue).
    store: Store,
    /// A read-only connection of the dashboard's own (WAL lets it read while the daemon
    /// writes): a page's queries never hold the connection the polls record through.
    reader: Store,
    /// One workbench query at a time: each reads and matches up to 20,000 items, and a few
    /// impatient clicks must not take the blocking pool.
    workbench: tokio::sync::Semaphore,
    config: watch::Receiver<Arc<Runtime>>,
    csrf: String,
    /// The listener is on a loopback address: requests must name a loopback host.
    loopback: bool,
}

impl Dashboard {
    pub fn new(
        store: Store,
        config: watch::Receiver<Arc<Runtime>>,
        loopback: bool,
    ) -> Arc<Dashboard> {
        // On SQLite a second, read-only connection; on PostgreSQL the pool already serves
        // pages and polls side by side.
        let reader = match store.reader() {
            Ok(reader) => reader,
            Err(e) => {
                tracing::warn!(
                    "dashboard: cannot open a read-only connection ({e}); its pages share the \
                     daemon's"
                );
                store.clone()
            }
        };
        Arc::new(Dashboard {
            reader,
            workbench: tokio::sync::Semaphore::new(1),
            store,
            config,
            csrf: new_token(),
            loopback,
        })
    }

    fn runtime(&self) -> Arc<Runtime> {
        Arc::clone(&self.config.borrow())
    }
}

/// A token no other site can guess: 32 random bytes from the kernel, hex. It never leaves the
/// dashboard's own pages (same-origin), which is what makes it a CSRF token.
fn new_token() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 32];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // No kernel randomness (not Linux?): a hash of what differs between processes and
        // instants. Weaker, and still unknown to another site.
        use sha2::Digest as _;
        let seed = format!(
            "{:?}{}{:?}",
            std::time::SystemTime::now(),
            std::process::id(),
            std::thread::current().id()
        );
        bytes.copy_from_slice(&sha2::Sha256::digest(seed.as_bytes()));
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The dashboard's routes, for the daemon to merge with the listener's own.
pub fn routes(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/alerts", get(alerts))
        .route("/alerts/{id}", get(alert))
        .route("/alerts/{id}/requeue", post(requeue))
        .route("/feeds", get(feeds))
        .route("/workbench", get(workbench))
        .route("/static/style.css", get(style))
        .route("/static/app.js", get(script))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&dashboard),
            protect,
        ))
        .with_state(dashboard)
}

/// Refuses a `Host` that is not loopback on a loopback listener (DNS rebinding), and sets the
/// security headers on every answer.
async fn protect(
    State(dashboard): State<Arc<Dashboard>>,
    request: Request,
    next: Next,
) -> Response {
    if dashboard.loopback {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !is_loopback_host(host) {
            return message(
                StatusCode::MISDIRECTED_REQUEST,
                "Wrong host",
                "This dashboard answers only to 127.0.0.1, [::1] or localhost.",
            );
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Links to outlets must not tell them the dashboard's address (they also carry
        // rel=noreferrer). Not `no-referrer`: that makes a browser send `Origin: null` with
        // our own form, which the re-queue's origin check must then refuse.
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// `127.0.0.1:9464`, `localhost`, `[::1]:9464`: a name that only this machine answers to.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Runs `work` on the blocking pool (SQLite, matching), mapping its failure to a 500 page.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            tracing::warn!("dashboard: cannot read the database: {e}");
            Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Database error",
                &format!("The database could not be read: {e}"),
            ))
        }
        Err(e) => Err(message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            &e.to_string(),
        )),
    }
}

fn html(rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::warn!("dashboard: cannot render a page: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot render the page\n",
            )
                .into_response()
        }
    }
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let mut response = html(
        views::MessageView {
            title,
            message: text,
        }
        .render(),
    );
    *response.status_mut() = status;
    response
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn overview(State(dashboard): State<Arc<Dashboard>>) -> Response {
    let (store, runtime) = (dashboard.reader.clone(), dashboard.runtime());
    match blocking(move || pages::overview(&store, &runtime, now())).await {
        Ok(page) => html(views::OverviewView { page: &page }.render()),
        Err(response) => response,
    }
}

async fn alerts(
    State(dashboard): State<Arc<Dashboard>>,
    Query(filters): Query<pages::AlertFilters>,
) -> Response {
    let (store, runtime) = (dashboard.reader.clone(), dashboard.runtime());
    match blocking(move || pages::alerts(&store, &runtime, filters, now())).await {
        Ok(page) => html(views::AlertsView { page: &page }.render()),
        Err(response) => response,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct AlertParams {
    requeued: Option<usize>,
}

async fn alert(
    State(dashboard): State<Arc<Dashboard>>,
    Path(id): Path<String>,
    Query(params): Query<AlertParams>,
) -> Response {
    let (store, runtime) = (dashboard.reader.clone(), dashboard.runtime());
    let wanted = id.clone();
    match blocking(move || pages::alert(&store, &runtime, &wanted, now())).await {
        Ok(Some(page)) => html(
            views::AlertView {
                page: &page,
                csrf: &dashboard.csrf,
                requeued: params.requeued,
            }
            .render(),
        ),
        Ok(None) => message(
            StatusCode::NOT_FOUND,
            "No such alert",
            &format!("There is no alert {id} (it may have been pruned)."),
        ),
        Err(response) => response,
    }
}

#[derive(Debug, serde::Deserialize)]
struct RequeueForm {
    csrf: String,
}

/// `watchword redeliver ID` from the alert's page: the same `Store::requeue`, then back to the
/// page (POST/redirect/GET, so a reload does not re-queue again).
async fn requeue(
    State(dashboard): State<Arc<Dashboard>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    if !same_origin(&request) {
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "The request came from another site.",
        );
    }
    let form =
        <Form<RequeueForm> as axum::extract::FromRequest<()>>::from_request(request, &()).await;
    let token_ok = form.as_ref().is_ok_and(|Form(f)| {
        use sha2::Digest as _;
        // Compared by hash: the time taken does not depend on how much of a guess was right.
        sha2::Sha256::digest(f.csrf.as_bytes()) == sha2::Sha256::digest(dashboard.csrf.as_bytes())
    });
    if !token_ok {
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "The form's token is missing or stale: reload the alert's page and try again.",
        );
    }
    let store = dashboard.store.clone();
    let ids = vec![id.clone()];
    match blocking(move || store.requeue(&ids, true, now())).await {
        Ok((count, _unknown)) => {
            tracing::info!(alert_id = %id, requeued = count, "re-queued from the dashboard");
            crate::service::requeued().notify_one();
            let path = format!(
                "/alerts/{}?requeued={count}",
                url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
            );
            Redirect::to(&path).into_response()
        }
        Err(response) => response,
    }
}

/// A browser's POST says where it comes from (`Origin`, else `Sec-Fetch-Site`); another site's
/// is refused even before its token is checked. Clients that send neither (curl) rely on the
/// token alone.
fn same_origin(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

async fn feeds(
    State(dashboard): State<Arc<Dashboard>>,
    Query(params): Query<pages::FeedParams>,
) -> Response {
    let (store, runtime) = (dashboard.reader.clone(), dashboard.runtime());
    match blocking(move || pages::feeds(&store, &runtime, &params, now())).await {
        Ok(page) => html(views::FeedsView { page: &page }.render()),
        Err(response) => response,
    }
}

async fn workbench(
    State(dashboard): State<Arc<Dashboard>>,
    Query(params): Query<pages::WorkbenchParams>,
) -> Response {
    let (store, runtime) = (dashboard.reader.clone(), dashboard.runtime());
    let Ok(_turn) = dashboard.workbench.acquire().await else {
        return message(StatusCode::SERVICE_UNAVAILABLE, "Busy", "Try again.");
    };
    match blocking(move || pages::workbench(&store, &runtime, &params, now())).await {
        Ok(page) => html(views::WorkbenchView { page: &page }.render()),
        Err(response) => response,
    }
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Built into the binary: the same bytes until the next upgrade restarts the daemon.
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
