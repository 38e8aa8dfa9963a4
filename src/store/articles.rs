//! Article pages read for `read_articles` (`crate::poll::article`), by link: so that no page
//! is fetched twice, whichever feed or item links to it, and whether it yielded text or not.

use std::collections::HashMap;

use rusqlite::params;

use super::{Result, Sqlite};

/// One article page as read: its text, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArticle {
    pub url: String,
    /// Unix seconds.
    pub fetched_at: i64,
    /// The main text; `None` when the fetch or the extraction failed.
    pub text: Option<String>,
    /// One line, without the URL, when there is no text.
    pub error: Option<String>,
}

impl Sqlite {
    /// What is recorded of those of `urls` read before; absent ones were never fetched.
    pub fn articles(&self, urls: &[String]) -> Result<HashMap<String, StoredArticle>> {
        let conn = self.lock()?;
        let mut stmt =
            conn.prepare_cached("SELECT fetched_at, text, error FROM articles WHERE url = ?1")?;
        let mut found = HashMap::new();
        for url in urls {
            let mut rows = stmt.query(params![url])?;
            if let Some(row) = rows.next()? {
                found.insert(
                    url.clone(),
                    StoredArticle {
                        url: url.clone(),
                        fetched_at: row.get(0)?,
                        text: row.get(1)?,
                        error: row.get(2)?,
                    },
                );
            }
        }
        Ok(found)
    }

    /// Records a page read; a page recorded already keeps its first reading.
    pub fn record_article(&self, article: &StoredArticle) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO articles (url, fetched_at, text, error) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (url) DO NOTHING",
            params![article.url, article.fetched_at, article.text, article.error],
        )?;
        Ok(())
    }
}
