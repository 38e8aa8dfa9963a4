//! Who may use the HTTP listener (`metrics_listen`): `/metrics` and the dashboard.
//!
//! On a loopback address only local users reach it, as before. Anywhere else the dashboard
//! would show every feed, rule and alert (and let anyone re-queue dead letters), so a
//! credential is required: a bearer token (`listen_token`, for Prometheus and scripts) or a
//! user and password for HTTP basic auth (`listen_user`, `listen_password`, which a browser
//! asks for), each usually from `${credential:NAME}`.

use std::fmt;
use std::net::SocketAddr;

use super::Diagnostic;
use super::raw::RawDaemon;
use super::source::Locator;

/// The listener's credentials. `Debug` never prints them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ListenAuth {
    /// `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// `Authorization: Basic` with this user and password.
    pub basic: Option<(String, String)>,
}

impl ListenAuth {
    /// Whether any credential is configured: then every request but `/healthz` and `/readyz`
    /// must carry one.
    pub fn is_set(&self) -> bool {
        self.token.is_some() || self.basic.is_some()
    }
}

impl fmt::Debug for ListenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenAuth")
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("user", &self.basic.as_ref().map(|(user, _)| user))
            .finish()
    }
}

/// Reads `listen_token`, `listen_user` and `listen_password`, and refuses a non-loopback
/// `metrics_listen` without one of them, pointing at `metrics_listen`.
pub(super) fn validate(
    raw: &RawDaemon,
    listen: Option<SocketAddr>,
    at: &Locator<'_>,
    problems: &mut Vec<Diagnostic>,
) -> ListenAuth {
    let dir = at.directory();
    let secret = |field: &Option<toml::Spanned<String>>,
                  key: &str,
                  problems: &mut Vec<Diagnostic>|
     -> Option<String> {
        let field = field.as_ref()?;
        match super::secret::expand(field.get_ref(), &dir) {
            Ok(expanded) if expanded.value.trim().is_empty() => {
                problems.push(at.span(field.span(), format!("{key} is empty")));
                None
            }
            Ok(expanded) => Some(expanded.value),
            Err(message) => {
                problems.push(at.span(field.span(), format!("{key}: {message}")));
                None
            }
        }
    };
    let token = secret(&raw.listen_token, "listen_token", problems);
    let user = secret(&raw.listen_user, "listen_user", problems);
    let password = secret(&raw.listen_password, "listen_password", problems);
    if let Some(token) = &token
        && let Some(field) = &raw.listen_token
        && !token.chars().all(|c| c.is_ascii_graphic())
    {
        problems.push(at.span(
            field.span(),
            "listen_token must be printable ASCII without spaces (it is sent in a header)".into(),
        ));
    }
    if let (Some(user), Some(field)) = (&user, &raw.listen_user)
        && user.contains(':')
    {
        problems.push(at.span(
            field.span(),
            "listen_user cannot contain ':' (HTTP basic auth separates user and password with it)"
                .into(),
        ));
    }
    let basic = match (user, password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        (Some(_), None) => {
            if let Some(field) = &raw.listen_user {
                problems.push(at.span(
                    field.span(),
                    "listen_user needs listen_password (HTTP basic auth)".into(),
                ));
            }
            None
        }
        (None, Some(_)) => {
            if let Some(field) = &raw.listen_password {
                problems.push(at.span(
                    field.span(),
                    "listen_password needs listen_user (HTTP basic auth)".into(),
                ));
            }
            None
        }
    };
    let auth = ListenAuth { token, basic };
    let credential_given =
        raw.listen_token.is_some() || raw.listen_user.is_some() || raw.listen_password.is_some();
    if let Some(addr) = listen
        && !addr.ip().is_loopback()
        && !credential_given
    {
        let span = raw
            .metrics_listen
            .as_ref()
            .map(|s| s.span())
            .unwrap_or(0..0);
        problems.push(at.span(
            span,
            format!(
                "metrics_listen {addr} is not a loopback address: the dashboard and /metrics \
                 would be open to anyone who can reach it; set listen_token (a bearer token) or \
                 listen_user and listen_password (basic auth), e.g. \
                 listen_password = \"${{credential:watchword-listen}}\", or listen on 127.0.0.1"
            ),
        ));
    }
    auth
}
