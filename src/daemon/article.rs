//! A second look at the article, between the two halves of a poll (`poll::prepare`, then
//! `poll::finish`): the pages of the items the match stage named are read here, each once
//! ever (the store's `articles`), at most `article_pages` per poll, through the same per-host
//! slots as feeds, with the feed client's settings and the article bounds.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use futures_util::{StreamExt, stream};
use tracing::{debug, warn};

use super::{DaemonError, Pipeline, host_key};
use crate::config::FeedConfig;
use crate::feed::article::{self, PageLimits};
use crate::poll::article::Wanted;
use crate::store::StoredArticle;
use crate::text::redact_url;

impl Pipeline {
    /// The main text of the wanted items' pages, by link: from the store when read before,
    /// else fetched now. A page that fails is recorded with its reason and not tried again;
    /// one whose host stays busy for `article_timeout` is left for another item to ask for.
    pub(super) async fn read_articles(
        &self,
        feed: &FeedConfig,
        wanted: &[Wanted],
    ) -> Result<HashMap<String, String>, DaemonError> {
        let mut unique = std::collections::HashSet::new();
        let links: Vec<String> = wanted
            .iter()
            .filter(|w| unique.insert(w.link.as_str()))
            .map(|w| w.link.clone())
            .collect();
        let store = self.store.clone();
        let lookup = links.clone();
        let known = tokio::task::spawn_blocking(move || store.articles(&lookup)).await??;
        let daemon = &self.config.daemon;
        let limits = PageLimits {
            timeout: daemon.article_timeout,
            max_bytes: daemon.article_max_size,
            allow_private: article::is_local_feed(&feed.url),
        };
        let mut texts = HashMap::new();
        let mut to_read = Vec::new();
        for link in links {
            if let Some(stored) = known.get(&link) {
                debug!(feed = %feed.name, "article read before");
                if let Some(text) = &stored.text {
                    texts.insert(link, text.clone());
                }
                continue;
            }
            if to_read.len() >= daemon.article_pages {
                debug!(feed = %feed.name, limit = daemon.article_pages, "article_pages reached: the item is matched as the feed gave it");
                continue;
            }
            to_read.push(link);
        }
        if to_read.is_empty() {
            return Ok(texts);
        }
        // Pages are read side by side, so a poll waits for its slowest page, not for the sum
        // of them. Those on the feed's own host share the slot this poll holds, plus whatever
        // spare slots of that host are free now (taken without waiting, held until the pages
        // are read), so `per_host_concurrency` still bounds the host.
        let spare = self.host_semaphore(&feed.url).and_then(|host| {
            let spare = u32::try_from(daemon.per_host_concurrency.saturating_sub(1)).ok()?;
            (1..=spare)
                .rev()
                .find_map(|n| Arc::clone(&host).try_acquire_many_owned(n).ok())
        });
        let own_host =
            tokio::sync::Semaphore::new(1 + spare.as_ref().map_or(0, |p| p.num_permits()));
        let reads: Vec<(String, Option<StoredArticle>)> = stream::iter(to_read)
            .map(|link| {
                let own_host = &own_host;
                async move {
                    let read = self.read_one(feed, &link, limits, own_host).await;
                    (link, read)
                }
            })
            .buffer_unordered(daemon.article_pages.max(1))
            .collect()
            .await;
        drop(spare);
        for (link, read) in reads {
            let Some(read) = read else {
                continue;
            };
            let store = self.store.clone();
            let record = read.clone();
            tokio::task::spawn_blocking(move || store.record_article(&record)).await??;
            crate::service::metrics::article_read(read.text.is_some());
            if let Some(text) = read.text {
                texts.insert(link, text);
            }
        }
        Ok(texts)
    }

    /// One page, within the host's slot: `None` when the slot could not be had in time.
    async fn read_one(
        &self,
        feed: &FeedConfig,
        link: &str,
        limits: PageLimits,
        own_host: &tokio::sync::Semaphore,
    ) -> Option<StoredArticle> {
        // The feed's own host's slots are held by this poll (`own_host`); another host's slot
        // is waited for no longer than a page may take, so two polls each holding the host the
        // other wants cannot wait on each other forever.
        let own = if host_key(link) == host_key(&feed.url) {
            Some(own_host.acquire().await.ok()?)
        } else {
            None
        };
        let _permit = if own.is_some() {
            None
        } else {
            let host = self.host_semaphore(link)?;
            match tokio::time::timeout(limits.timeout, host.acquire_owned()).await {
                Ok(permit) => permit.ok(),
                Err(_) => {
                    debug!(feed = %feed.name, link = %redact_url(link), "article host busy: not read this time");
                    return None;
                }
            }
        };
        let fetched = article::fetch_page(&self.fetcher, link, limits).await;
        let text = match fetched {
            Ok((body, content_type)) => {
                let link = link.to_owned();
                tokio::task::spawn_blocking(move || {
                    article::extract(&body, content_type.as_deref(), &link)
                })
                .await
                .unwrap_or_else(|e| Err(article::ArticleError::Extract(e.to_string())))
            }
            Err(e) => Err(e),
        };
        let (text, error) = match text {
            Ok(text) => (Some(text), None),
            Err(e) => {
                warn!(feed = %feed.name, link = %redact_url(link), "article not read: {e}");
                (None, Some(e.to_string()))
            }
        };
        Some(StoredArticle {
            url: link.to_owned(),
            fetched_at: Utc::now().timestamp(),
            text,
            error,
        })
    }

    /// The semaphore of `url`'s host (see [`Pipeline::fetch_slots`]).
    pub(super) fn host_semaphore(&self, url: &str) -> Option<Arc<tokio::sync::Semaphore>> {
        let key = host_key(url)?;
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        Some(Arc::clone(hosts.entry(key).or_insert_with(|| {
            Arc::new(tokio::sync::Semaphore::new(
                self.config.daemon.per_host_concurrency,
            ))
        })))
    }
}
