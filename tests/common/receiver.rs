//! The one webhook receiver of the end-to-end tests: it records every request and answers
//! each with the next scripted [`Reply`] (status, headers, body, or no answer at all), then
//! with a fallback reply (200 unless changed). It listens on 127.0.0.1 only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A reply the [`Receiver`] gives: status, headers and body, or [`HOLD`].
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Never answer: the sender is left waiting until it gives up or dies.
    pub hold: bool,
}

/// A scripted reply that holds the request without ever answering (recorded with status 0,
/// so never counted as accepted).
pub const HOLD: Reply = Reply {
    status: 0,
    headers: Vec::new(),
    body: String::new(),
    hold: true,
};

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            hold: false,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_string();
        self
    }
}

/// A bare status: `receiver.script([500, 200])`.
impl From<u16> for Reply {
    fn from(status: u16) -> Reply {
        Reply::status(status)
    }
}

impl From<&u16> for Reply {
    fn from(status: &u16) -> Reply {
        Reply::status(*status)
    }
}

/// So that `receiver.script([HOLD, HOLD])` works like a list of statuses.
impl From<&Reply> for Reply {
    fn from(reply: &Reply) -> Reply {
        reply.clone()
    }
}

/// A request the [`Receiver`] got.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The status it was answered with (0 for a held request).
    pub status_sent: u16,
    pub at: Instant,
}

impl Hit {
    /// The request's headers as `http` types, for verifying signatures with the
    /// `standardwebhooks` crate; a header `http` refuses is left out.
    pub fn header_map(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                http::header::HeaderName::from_bytes(k.as_bytes()),
                http::header::HeaderValue::from_str(v),
            ) {
                map.insert(name, value);
            }
        }
        map
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }

    /// The `webhook-id` header, or "" without one.
    pub fn id(&self) -> String {
        self.headers.get("webhook-id").cloned().unwrap_or_default()
    }
}

/// What the receiver has seen and will answer. One lock, so that the order of the log is
/// the order in which the script was used.
struct State {
    log: Vec<Hit>,
    script: VecDeque<Reply>,
    fallback: Reply,
}

/// Records every request; answers with the scripted replies in order, then with the
/// fallback (200 unless changed with [`Receiver::always`]). Each request is answered on its
/// own task, so a held one does not block the next. Connections are hyper's (through axum):
/// tiny_http, used before, could leave a connection queued behind idle keep-alive ones when
/// several arrived at once (its task pool's race), which stalled a delivery for no reason.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn receive(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<State>>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    request_headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let headers = request_headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let reply = {
        let mut state = state.lock().expect("receiver state");
        let reply = match state.script.pop_front() {
            Some(reply) => reply,
            None => state.fallback.clone(),
        };
        state.log.push(Hit {
            method: method.as_str().to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string()),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status_sent: reply.status,
            at: Instant::now(),
        });
        reply
    };
    if reply.hold {
        // Never answered: the connection stays open until the sender gives up or the
        // receiver is dropped.
        std::future::pending::<()>().await;
    }
    let mut response = (
        axum::http::StatusCode::from_u16(reply.status).expect("a status the test gave"),
        reply.body,
    )
        .into_response();
    for (name, value) in &reply.headers {
        let name = axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        let value = axum::http::HeaderValue::from_str(value).expect("header value");
        response.headers_mut().append(name, value);
    }
    response
}

impl Receiver {
    /// The path of [`Receiver::hook_url`]: a token that must never show in logs.
    pub const HOOK_PATH: &'static str = "/hook/secret-token";

    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0")
    }

    /// Listens on `addr`, a 127.0.0.1 address (e.g. the port of an [`unused_local_url`] that
    /// was down so far).
    ///
    /// [`unused_local_url`]: super::unused_local_url
    pub fn start_on(addr: &str) -> Receiver {
        assert!(
            addr.starts_with("127.0.0.1:"),
            "the receiver listens on loopback only, not {addr}"
        );
        let listener = std::net::TcpListener::bind(addr).expect("bind receiver");
        let base = format!(
            "http://{}",
            listener.local_addr().expect("receiver address")
        );
        let state = Arc::new(Mutex::new(State {
            log: Vec::new(),
            script: VecDeque::new(),
            fallback: Reply::status(200),
        }));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&state));
        let stop = super::serve_in_background(listener, app);
        Receiver {
            base,
            state,
            stop: Some(stop),
        }
    }

    /// `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The usual webhook URL: [`Receiver::HOOK_PATH`] on this receiver.
    pub fn hook_url(&self) -> String {
        self.url(Receiver::HOOK_PATH)
    }

    /// The next requests get these replies, in order: `script([500, HOLD])` or
    /// `script(vec![Reply::status(429).header("Retry-After", "2")])`.
    pub fn script<R: Into<Reply>>(&self, replies: impl IntoIterator<Item = R>) {
        let mut state = self.state.lock().expect("receiver state");
        state.script.extend(replies.into_iter().map(Into::into));
    }

    /// What every request gets once the script is used up.
    pub fn always(&self, reply: impl Into<Reply>) {
        self.state.lock().expect("receiver state").fallback = reply.into();
    }

    /// Every request so far, in the order they were answered.
    pub fn all(&self) -> Vec<Hit> {
        self.state.lock().expect("receiver state").log.clone()
    }

    /// Requests answered with a 2xx: what the receiver's user actually got.
    pub fn accepted(&self) -> Vec<Hit> {
        self.all()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status_sent))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
