//! The tenant's audit trail: who did what to which record, written in the same
//! transaction as the change it describes.

use crate::db::{DbError, TenantTx};
use crate::schema::audit_log;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// One audit entry to record.
pub struct AuditEntry<'a> {
    /// The acting user; `None` for the system (CLI, workflows).
    pub actor: Option<Uuid>,
    /// What happened, e.g. `user.created`, `api_key.revoked`, `session.login`.
    pub action: &'a str,
    /// The kind of record touched, e.g. `user`.
    pub resource: &'a str,
    /// The record's id, if there is one.
    pub resource_id: Option<Uuid>,
    /// Extra facts (never secrets).
    pub details: serde_json::Value,
}

/// Records `entry` in the current tenant's audit log.
pub async fn record(tx: &mut TenantTx, entry: AuditEntry<'_>) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant.eq(tenant),
            audit_log::id.eq(Uuid::now_v7()),
            audit_log::actor_user_id.eq(entry.actor),
            audit_log::action.eq(entry.action),
            audit_log::resource.eq(entry.resource),
            audit_log::resource_id.eq(entry.resource_id),
            audit_log::details.eq(entry.details),
        ))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records many entries in few INSERTs (imports).
pub async fn record_many(tx: &mut TenantTx, entries: Vec<AuditEntry<'_>>) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let rows: Vec<_> = entries
        .into_iter()
        .map(|entry| {
            (
                audit_log::tenant.eq(tenant),
                audit_log::id.eq(Uuid::now_v7()),
                audit_log::actor_user_id.eq(entry.actor),
                audit_log::action.eq(entry.action),
                audit_log::resource.eq(entry.resource),
                audit_log::resource_id.eq(entry.resource_id),
                audit_log::details.eq(entry.details),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        diesel::insert_into(audit_log::table)
            .values(chunk)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Records `entry` and emits `event`: what every create, update and delete of a
/// business record does, in the transaction of the change.
pub async fn record_with_event(
    tx: &mut TenantTx,
    entry: AuditEntry<'_>,
    event: engine::DomainEvent,
) -> Result<(), DbError> {
    record(tx, entry).await?;
    crate::events::emit(tx, event).await?;
    Ok(())
}

/// An entry as read back.
#[derive(Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditRecord {
    /// Entry id.
    pub id: Uuid,
    /// Acting user.
    pub actor_user_id: Option<Uuid>,
    /// What happened.
    pub action: String,
    /// Kind of record.
    pub resource: String,
    /// Record id.
    pub resource_id: Option<Uuid>,
    /// Extra facts.
    pub details: serde_json::Value,
    /// When.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The newest `limit` entries of the tenant's audit log.
pub async fn recent_entries(tx: &mut TenantTx, limit: i64) -> Result<Vec<AuditRecord>, DbError> {
    Ok(audit_log::table
        .select(AuditRecord::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .load(tx.conn())
        .await?)
}
