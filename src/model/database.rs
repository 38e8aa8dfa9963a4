//! Where the state lives: a SQLite file (the default, one process) or a PostgreSQL server that
//! several replicas share. Chosen by `[daemon] database`; read by `store` and the CLI.

use std::fmt;
use std::path::{Path, PathBuf};

/// The configured database.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

impl Database {
    /// The SQLite file, if that is the backend.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }

    /// For messages, like `Path::display`: a path, or the URL without its password.
    pub fn display(&self) -> &Database {
        self
    }

    /// Whether there is anything to read yet: a SQLite file may not exist before the first
    /// run; a server is always asked.
    pub fn exists(&self) -> bool {
        match self {
            Database::Sqlite(path) => path.exists(),
            Database::Postgres(_) => true,
        }
    }
}

/// Shown in logs, `check` and errors: a path, or the URL without its password.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl serde::Serialize for Database {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A `postgres://` or `postgresql://` URL. It may hold a password (from `${credential:…}`), so
/// it is only ever displayed with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// `None` unless `url` is a PostgreSQL URL.
    pub fn parse(url: &str) -> Option<PostgresUrl> {
        let lower = url.get(..13).unwrap_or(url).to_ascii_lowercase();
        (lower.starts_with("postgres://") || lower.starts_with("postgresql://"))
            .then(|| PostgresUrl(url.to_string()))
    }

    /// The whole URL, password included: for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return f.write_str("postgres://***");
        };
        let rest = &url[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let user = &authority[..at];
                let user = match user.find(':') {
                    Some(colon) => format!("{}:***", &user[..colon]),
                    None => user.to_string(),
                };
                let host = &authority[at + 1..];
                let tail = &rest[authority_end..];
                // A password may also come as a query parameter.
                let tail = redact_query_password(tail);
                write!(f, "{}{user}@{host}{tail}", &url[..scheme_end])
            }
            None => write!(f, "{}{}", &url[..scheme_end], redact_query_password(rest)),
        }
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let (path, query) = tail.split_at(q + 1);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}{}", pairs.join("&"))
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let shown = |url: &str| PostgresUrl::parse(url).unwrap().to_string();
        assert_eq!(
            shown("postgres://ww:s3cret@db.internal:5432/watchword"),
            "postgres://ww:***@db.internal:5432/watchword"
        );
        assert_eq!(
            shown("postgresql://db/watchword?user=ww&password=s3cret&sslmode=require"),
            "postgresql://db/watchword?user=ww&password=***&sslmode=require"
        );
        assert_eq!(
            shown("postgres://ww@127.0.0.1/test"),
            "postgres://ww@127.0.0.1/test"
        );
        assert!(PostgresUrl::parse("/var/lib/watchword.db").is_none());
        assert!(PostgresUrl::parse("POSTGRES://x/y").is_some());
    }
}
