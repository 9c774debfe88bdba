//! Consumer groups on the event streams. A consumer reads new entries with
//! `XREADGROUP`, first reclaims entries another consumer read but never acknowledged
//! (`XAUTOCLAIM`, after `claim_idle`), skips events its group already handled (by
//! `event_id`), acknowledges after the handler succeeds, and moves entries it cannot
//! decode to the dead-letter stream instead of failing.

use super::{dead_letter_stream, stream_name};
use engine::events::EventEnvelope;
use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;
use std::future::Future;
use std::time::Duration;

/// How long a group remembers a handled event id.
const SEEN_TTL_SECONDS: u64 = 7 * 24 * 3600;

/// What a consumer does with each event.
pub trait EventHandler: Send + Sync {
    /// Handles one event; an error leaves it unacknowledged, to be retried.
    fn handle(&self, event: &EventEnvelope) -> impl Future<Output = Result<(), String>> + Send;
}

/// Consumer settings.
#[derive(Clone, Debug)]
pub struct ConsumerSettings {
    /// Redis key prefix.
    pub prefix: String,
    /// The consumer group (one per kind of reaction, e.g. `workflow-starter`).
    pub group: String,
    /// This consumer's unique name within the group.
    pub consumer: String,
    /// Event types to read.
    pub event_types: Vec<String>,
    /// Entries per read.
    pub batch: usize,
    /// How long a read blocks waiting for entries.
    pub block: Duration,
    /// Entries pending longer than this with a dead consumer are reclaimed.
    pub claim_idle: Duration,
    /// An event whose handler has failed this many deliveries is moved to the
    /// dead-letter stream instead of being retried forever.
    pub max_deliveries: usize,
}

impl ConsumerSettings {
    /// Settings reading every event type.
    pub fn new(prefix: &str, group: &str, consumer: &str) -> Self {
        ConsumerSettings {
            prefix: prefix.to_owned(),
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            event_types: engine::DomainEvent::TYPE_NAMES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            batch: 100,
            block: Duration::from_millis(500),
            claim_idle: Duration::from_secs(30),
            max_deliveries: 10,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PassOutcome {
    /// Events handled successfully.
    pub handled: usize,
    /// Events skipped as already handled by the group.
    pub duplicates: usize,
    /// Entries moved to the dead-letter stream.
    pub dead_lettered: usize,
    /// Events whose handler failed (left pending).
    pub failed: usize,
}

/// A member of a consumer group.
pub struct Consumer<H> {
    redis: ConnectionManager,
    settings: ConsumerSettings,
    streams: Vec<String>,
    handler: H,
}

impl<H: EventHandler> Consumer<H> {
    /// Joins the group (creating streams and group as needed; a new group starts at
    /// the beginning of each stream so nothing published earlier is missed).
    pub async fn join(
        redis: ConnectionManager,
        settings: ConsumerSettings,
        handler: H,
    ) -> redis::RedisResult<Self> {
        let streams: Vec<String> = settings
            .event_types
            .iter()
            .map(|t| stream_name(&settings.prefix, t))
            .collect();
        let mut conn = redis.clone();
        for stream in &streams {
            let created: redis::RedisResult<()> = conn
                .xgroup_create_mkstream(stream, &settings.group, "0")
                .await;
            if let Err(error) = created {
                if error.code() != Some("BUSYGROUP") {
                    return Err(error);
                }
            }
        }
        Ok(Consumer {
            redis,
            settings,
            streams,
            handler,
        })
    }

    /// Reclaims stale entries, then reads new ones, and processes both.
    pub async fn poll_once(&self) -> redis::RedisResult<PassOutcome> {
        let mut outcome = PassOutcome::default();
        for stream in &self.streams {
            for entry in self.reclaim(stream).await? {
                self.process(stream, &entry, &mut outcome).await?;
            }
        }
        let mut conn = self.redis.clone();
        let options = StreamReadOptions::default()
            .group(&self.settings.group, &self.settings.consumer)
            .count(self.settings.batch)
            .block(self.settings.block.as_millis() as usize);
        let ids: Vec<&str> = self.streams.iter().map(|_| ">").collect();
        let reply: Option<StreamReadReply> =
            conn.xread_options(&self.streams, &ids, &options).await?;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in &key.ids {
                self.process(&key.key, entry, &mut outcome).await?;
            }
        }
        Ok(outcome)
    }

    async fn reclaim(&self, stream: &str) -> redis::RedisResult<Vec<StreamId>> {
        let mut conn = self.redis.clone();
        let idle = self.settings.claim_idle.as_millis() as usize;
        let options = StreamAutoClaimOptions::default().count(self.settings.batch);
        let reply: StreamAutoClaimReply = conn
            .xautoclaim_options(
                stream,
                &self.settings.group,
                &self.settings.consumer,
                idle,
                "0-0",
                options,
            )
            .await?;
        Ok(reply.claimed)
    }

    async fn process(
        &self,
        stream: &str,
        entry: &StreamId,
        outcome: &mut PassOutcome,
    ) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        let raw: Option<String> = entry.get("envelope");
        let envelope = match raw.as_deref().map(EventEnvelope::decode) {
            Some(Ok(envelope)) => envelope,
            Some(Err(error)) => {
                return self
                    .dead_letter(stream, entry, &error.to_string(), outcome)
                    .await
            }
            None => {
                return self
                    .dead_letter(stream, entry, "no envelope field", outcome)
                    .await
            }
        };
        let seen_key = format!(
            "{}seen:{}:{}",
            self.settings.prefix, self.settings.group, envelope.event_id
        );
        let seen: bool = conn.exists(&seen_key).await?;
        if seen {
            outcome.duplicates += 1;
            return conn.xack(stream, &self.settings.group, &[&entry.id]).await;
        }
        match self.handler.handle(&envelope).await {
            Ok(()) => {
                // Remember, then acknowledge: one round trip, in that order.
                redis::pipe()
                    .set_ex(&seen_key, 1, SEEN_TTL_SECONDS)
                    .ignore()
                    .xack(stream, &self.settings.group, &[&entry.id])
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await?;
                outcome.handled += 1;
            }
            Err(error) => {
                let deliveries = self.deliveries(stream, &entry.id).await?;
                if deliveries >= self.settings.max_deliveries {
                    let reason = format!("handler failed {deliveries} times: {error}");
                    return self.dead_letter(stream, entry, &reason, outcome).await;
                }
                tracing::warn!(%error, event_id = %envelope.event_id, group = %self.settings.group, deliveries, "event handler failed; will retry");
                outcome.failed += 1;
            }
        }
        Ok(())
    }

    /// How many times entry `id` has been delivered to this group.
    async fn deliveries(&self, stream: &str, id: &str) -> redis::RedisResult<usize> {
        let mut conn = self.redis.clone();
        let pending: redis::streams::StreamPendingCountReply = conn
            .xpending_count(stream, &self.settings.group, id, id, 1)
            .await?;
        Ok(pending.ids.first().map_or(1, |p| p.times_delivered))
    }

    async fn dead_letter(
        &self,
        stream: &str,
        entry: &StreamId,
        reason: &str,
        outcome: &mut PassOutcome,
    ) -> redis::RedisResult<()> {
        tracing::error!(%stream, id = %entry.id, %reason, "malformed stream entry moved to the dead-letter stream");
        let mut conn = self.redis.clone();
        let raw: String = entry.get("envelope").unwrap_or_default();
        let fields = [
            ("stream", stream),
            ("entry_id", entry.id.as_str()),
            ("reason", reason),
            ("envelope", raw.as_str()),
            ("group", self.settings.group.as_str()),
        ];
        let _: String = conn
            .xadd(dead_letter_stream(&self.settings.prefix), "*", &fields)
            .await?;
        let _: () = conn
            .xack(stream, &self.settings.group, &[&entry.id])
            .await?;
        outcome.dead_lettered += 1;
        Ok(())
    }

    /// Consumes until `shutdown` resolves; Redis errors are logged and retried.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                result = self.poll_once() => {
                    if let Err(error) = result {
                        tracing::warn!(%error, group = %self.settings.group, "event consumer failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }
}
