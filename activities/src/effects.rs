//! Exactly-once side effects for activities: an effect is recorded under its
//! idempotency key in the same transaction as the writes it made, so a retried or
//! replayed activity finds it and answers the recorded result instead of writing again.

use crate::db::{DbError, TenantTx};
use crate::schema::activity_effects as effects;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// The recorded result of the effect with `key`, if it already happened.
pub async fn recorded(tx: &mut TenantTx, key: &str) -> Result<Option<serde_json::Value>, DbError> {
    Ok(effects::table
        .find((tx.tenant().0, key))
        .select(effects::result)
        .for_update()
        .first(tx.conn())
        .await
        .optional()?)
}

/// Records that the effect with `key` happened, with its result. Call it in the
/// transaction that made the effect's writes.
pub async fn record(
    tx: &mut TenantTx,
    key: &str,
    activity: &str,
    result: &serde_json::Value,
) -> Result<(), DbError> {
    diesel::insert_into(effects::table)
        .values((
            effects::tenant.eq(tx.tenant().0),
            effects::idempotency_key.eq(key),
            effects::activity.eq(activity),
            effects::result.eq(result),
        ))
        .execute(tx.conn())
        .await?;
    Ok(())
}
