//! A short-lived, per-process cache of authenticated principals, keyed by the
//! credential's hash. It spares the database one transaction per API request. It
//! never outlives `ttl` (a few seconds), and any change to credentials or roles clears
//! it at once in this process and, through a Redis channel, in every other `keel
//! serve`; if Redis is down, the TTL alone bounds staleness.

use activities::access::Principal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries beyond this are not added (the cache is cleared when it fills).
const MAX_ENTRIES: usize = 50_000;

/// The cache.
pub struct PrincipalCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
    ttl: Duration,
}

impl PrincipalCache {
    /// A cache whose entries live `ttl`; a zero TTL disables it.
    pub fn new(ttl: Duration) -> Arc<PrincipalCache> {
        Arc::new(PrincipalCache {
            entries: Mutex::new(HashMap::new()),
            ttl,
        })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Principal, Instant)>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached principal for `hash`, if fresh.
    pub fn get(&self, hash: &str) -> Option<Principal> {
        let mut entries = self.entries();
        match entries.get(hash) {
            Some((principal, at)) if at.elapsed() < self.ttl => Some(principal.clone()),
            Some(_) => {
                entries.remove(hash);
                None
            }
            None => None,
        }
    }

    /// Remembers `principal` for `hash`.
    pub fn insert(&self, hash: &str, principal: &Principal) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash.to_owned(), (principal.clone(), Instant::now()));
    }

    /// Forgets everything (credentials or roles changed).
    pub fn clear(&self) {
        self.entries().clear();
    }
}

/// Clears `cache` whenever another process announces a change; reconnects after
/// Redis outages (clearing the cache then too, since announcements may have been
/// missed). Runs until the task is dropped.
pub async fn follow_invalidations(redis_url: String, channel: String, cache: Arc<PrincipalCache>) {
    use futures_util::StreamExt;
    loop {
        let subscribed = async {
            let client = redis::Client::open(redis_url.as_str())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        }
        .await;
        match subscribed {
            Ok(mut pubsub) => {
                cache.clear();
                let mut messages = pubsub.on_message();
                while messages.next().await.is_some() {
                    cache.clear();
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot follow credential invalidations; relying on the cache TTL")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
