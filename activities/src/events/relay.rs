//! The outbox relay: publishes unpublished outbox rows to Redis Streams and marks
//! them published. Several relays may run at once (rows are claimed with SKIP
//! LOCKED). When Redis is down the rows stay unpublished and the relay retries with
//! backoff, so no event is lost; an event published twice (crash between XADD and
//! commit) is deduplicated by consumers.

use super::stream_name;
use crate::db::{Db, DbError};
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use redis::aio::ConnectionManager;
use std::time::Duration;
use uuid::Uuid;

/// Why one relay pass failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Postgres failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Redis refused or is unreachable.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl From<diesel::result::Error> for RelayError {
    fn from(e: diesel::result::Error) -> Self {
        RelayError::Db(DbError::Query(e))
    }
}

/// Relay settings.
#[derive(Clone, Debug)]
pub struct RelaySettings {
    /// Redis URL.
    pub redis_url: String,
    /// Redis key prefix.
    pub prefix: String,
    /// Rows per pass.
    pub batch: i32,
    /// Approximate length each stream is trimmed to (`MAXLEN ~`).
    pub max_stream_len: usize,
    /// Pause between passes when the outbox is empty.
    pub idle_poll: Duration,
}

impl RelaySettings {
    /// Defaults for `redis_url` and `prefix`.
    pub fn new(redis_url: &str, prefix: &str) -> Self {
        RelaySettings {
            redis_url: redis_url.to_owned(),
            prefix: prefix.to_owned(),
            batch: 500,
            max_stream_len: 100_000,
            idle_poll: Duration::from_millis(100),
        }
    }
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Jsonb)]
    envelope: serde_json::Value,
}

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    backlog: i64,
}

/// Publishes the outbox.
pub struct Relay {
    db: Db,
    settings: RelaySettings,
    redis: Option<ConnectionManager>,
}

impl Relay {
    /// A relay; Redis is connected lazily so a relay can start while Redis is down.
    pub fn new(db: Db, settings: RelaySettings) -> Relay {
        Relay {
            db,
            settings,
            redis: None,
        }
    }

    async fn redis(&mut self) -> Result<ConnectionManager, RelayError> {
        if let Some(redis) = &self.redis {
            return Ok(redis.clone());
        }
        let client = redis::Client::open(self.settings.redis_url.as_str())?;
        let manager = ConnectionManager::new(client).await?;
        self.redis = Some(manager.clone());
        Ok(manager)
    }

    /// One pass: claims a batch, publishes it, marks it published. Answers how many
    /// events were published; on error nothing is marked and the rows stay queued.
    pub async fn publish_once(&mut self) -> Result<usize, RelayError> {
        let mut redis = self.redis().await?;
        let mut tx = self.db.platform_tx().await?;
        let claimed: Vec<Claimed> =
            diesel::sql_query("SELECT id, event_type, envelope FROM keel_outbox_claim($1)")
                .bind::<Integer, _>(self.settings.batch)
                .load(tx.conn())
                .await?;
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for row in &claimed {
            let stream = stream_name(&self.settings.prefix, &row.event_type);
            let fields = [
                ("event_id", row.id.to_string()),
                ("envelope", row.envelope.to_string()),
            ];
            pipe.xadd_maxlen(
                &stream,
                redis::streams::StreamMaxlen::Approx(self.settings.max_stream_len),
                "*",
                &fields,
            )
            .ignore();
        }
        if let Err(error) = pipe.query_async::<()>(&mut redis).await {
            tx.rollback().await?;
            return Err(error.into());
        }
        let ids: Vec<Uuid> = claimed.iter().map(|row| row.id).collect();
        diesel::sql_query("SELECT keel_outbox_mark_published($1)")
            .bind::<Array<SqlUuid>, _>(&ids)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        metrics::counter!("keel_events_published_total").increment(ids.len() as u64);
        Ok(ids.len())
    }

    /// Events not yet published, across tenants.
    pub async fn backlog(&self) -> Result<i64, RelayError> {
        let mut tx = self.db.platform_tx().await?;
        let backlog: Backlog = diesel::sql_query("SELECT keel_outbox_backlog() AS backlog")
            .get_result(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(backlog.backlog)
    }

    /// Relays until `shutdown` resolves, backing off (up to 5 s) while Postgres or
    /// Redis fail.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(100);
        loop {
            let pause = match self.publish_once().await {
                Ok(published) => {
                    backoff = Duration::from_millis(100);
                    if published == 0 {
                        self.settings.idle_poll
                    } else {
                        Duration::ZERO
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed; events stay queued");
                    if matches!(error, RelayError::Redis(_)) {
                        // A fresh manager after an outage reconnects immediately.
                        self.redis = None;
                    }
                    let pause = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    pause
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
