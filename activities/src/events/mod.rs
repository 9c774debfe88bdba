//! The event bus: a transactional outbox in Postgres, a relay to Redis Streams, and
//! consumer groups that survive crashes of Redis, relays and consumers.
//!
//! Delivery is at least once end to end and exactly once per consumer group for
//! handlers that succeed: consumers remember handled `event_id`s.

pub mod consumer;
pub mod relay;

use crate::db::{DbError, TenantTx};
use crate::schema::outbox;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::events::{DomainEvent, EventEnvelope, ENVELOPE_VERSION};
use uuid::Uuid;

/// The stream an event type is published on: `<prefix>events:<type>`.
pub fn stream_name(prefix: &str, event_type: &str) -> String {
    format!("{prefix}events:{event_type}")
}

/// The stream malformed entries are moved to.
pub fn dead_letter_stream(prefix: &str) -> String {
    format!("{prefix}events:dead-letter")
}

/// Records `event` in the current tenant's outbox, in the caller's transaction: the
/// event exists exactly when the change it describes is committed.
pub async fn emit(tx: &mut TenantTx, event: DomainEvent) -> Result<EventEnvelope, DbError> {
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        tenant: tx.tenant(),
        occurred_at: chrono::Utc::now(),
        version: ENVELOPE_VERSION,
        event,
    };
    let json = serde_json::to_value(&envelope)
        .map_err(|e| DbError::Unavailable(format!("event encoding: {e}")))?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::tenant.eq(envelope.tenant.0),
            outbox::id.eq(envelope.event_id),
            outbox::event_type.eq(envelope.event.type_name()),
            outbox::envelope.eq(json),
        ))
        .execute(tx.conn())
        .await?;
    Ok(envelope)
}

/// Records many events in one INSERT (imports): same guarantees as [`emit`].
pub async fn emit_many(tx: &mut TenantTx, events: Vec<DomainEvent>) -> Result<(), DbError> {
    let tenant = tx.tenant();
    let now = chrono::Utc::now();
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            tenant,
            occurred_at: now,
            version: ENVELOPE_VERSION,
            event,
        };
        let json = serde_json::to_value(&envelope)
            .map_err(|e| DbError::Unavailable(format!("event encoding: {e}")))?;
        rows.push((
            outbox::tenant.eq(tenant.0),
            outbox::id.eq(envelope.event_id),
            outbox::event_type.eq(envelope.event.type_name()),
            outbox::envelope.eq(json),
        ));
    }
    for chunk in rows.chunks(1000) {
        diesel::insert_into(outbox::table)
            .values(chunk)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}
