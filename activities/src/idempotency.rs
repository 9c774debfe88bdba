//! `Idempotency-Key` on POST: the first request with a key does the work and its
//! response is remembered for 24 hours; a repeat with the same body gets the same
//! response without doing the work again; a repeat with another body is a conflict.

use crate::db::{DbError, TenantTx};
use crate::schema::idempotency_keys as keys;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// How long a remembered response is replayed.
pub const RETENTION_HOURS: i64 = 24;
/// A claim whose request never finished (process crash) may be retaken after this.
const ABANDONED_AFTER_SECONDS: i64 = 60;

/// The outcome of claiming a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use: do the work, then [`remember_response`].
    Fresh,
    /// Seen before with the same body: answer this again.
    Replay {
        /// The first response's status.
        status: u16,
        /// The first response's body.
        body: String,
    },
    /// Seen before with a different body.
    BodyMismatch,
    /// A request with this key is still being processed.
    InProgress,
}

/// Claims `key` for `user_id`'s request whose body hashes to `request_hash`.
pub async fn claim(
    tx: &mut TenantTx,
    user_id: Uuid,
    key: &str,
    request_hash: &str,
) -> Result<Claim, DbError> {
    let inserted = insert_claim(tx, user_id, key, request_hash).await?;
    if inserted {
        return Ok(Claim::Fresh);
    }
    let (stored_hash, status, body, created_at): (
        String,
        Option<i32>,
        Option<String>,
        chrono::DateTime<Utc>,
    ) = keys::table
        .find((tx.tenant().0, user_id, key))
        .select((
            keys::request_hash,
            keys::status_code,
            keys::response_body,
            keys::created_at,
        ))
        .for_update()
        .first(tx.conn())
        .await?;
    let age = Utc::now() - created_at;
    let expired = age > Duration::hours(RETENTION_HOURS);
    let abandoned = status.is_none() && age > Duration::seconds(ABANDONED_AFTER_SECONDS);
    if expired || abandoned {
        release(tx, user_id, key).await?;
        insert_claim(tx, user_id, key, request_hash).await?;
        return Ok(Claim::Fresh);
    }
    if stored_hash != request_hash {
        return Ok(Claim::BodyMismatch);
    }
    match (status, body) {
        (Some(status), Some(body)) => Ok(Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
        }),
        _ => Ok(Claim::InProgress),
    }
}

async fn insert_claim(
    tx: &mut TenantTx,
    user_id: Uuid,
    key: &str,
    request_hash: &str,
) -> Result<bool, DbError> {
    let inserted = diesel::insert_into(keys::table)
        .values((
            keys::tenant.eq(tx.tenant().0),
            keys::user_id.eq(user_id),
            keys::key.eq(key),
            keys::request_hash.eq(request_hash),
        ))
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    Ok(inserted == 1)
}

/// Stores the response of a fresh claim so repeats replay it.
pub async fn remember_response(
    tx: &mut TenantTx,
    user_id: Uuid,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbError> {
    diesel::update(keys::table.find((tx.tenant().0, user_id, key)))
        .set((
            keys::status_code.eq(i32::from(status)),
            keys::response_body.eq(body),
        ))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Forgets a claim, e.g. after a server error, so the client may retry the work.
pub async fn release(tx: &mut TenantTx, user_id: Uuid, key: &str) -> Result<(), DbError> {
    diesel::delete(keys::table.find((tx.tenant().0, user_id, key)))
        .execute(tx.conn())
        .await?;
    Ok(())
}
