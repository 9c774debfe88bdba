//! Merging a duplicate client into the one that stays. Every module with
//! client-owned rows moves them here, so a merged-away client owns nothing.

use super::{is_descendant, lock_client, RecordError};
use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::schema::{assets, client_locations, clients, contacts, interactions, tickets};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::{DomainEvent, RecordRef};
use serde::Serialize;
use uuid::Uuid;

/// How many records a merge moved.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct MergeSummary {
    /// The client that remains.
    pub target_id: Uuid,
    /// The client that was merged away (now archived, `merged_into` the target).
    pub source_id: Uuid,
    /// Contacts moved.
    pub contacts: usize,
    /// Assets moved.
    pub assets: usize,
    /// Interactions moved.
    pub interactions: usize,
    /// Locations moved.
    pub locations: usize,
    /// Child clients re-parented.
    pub children: usize,
    /// Tickets moved (their SLA workflows re-resolve the policy).
    pub tickets: usize,
}

/// Moves everything of `source_id` to `target_id` and archives the source. Both must
/// be live, distinct, in the same currency, and the target must not sit below the
/// source in the hierarchy.
pub async fn merge_clients(
    tx: &mut TenantTx,
    source_id: Uuid,
    target_id: Uuid,
    actor: Option<Uuid>,
) -> Result<MergeSummary, RecordError> {
    if source_id == target_id {
        return Err(RecordError::field(
            "target_id",
            "must differ from the client being merged",
        ));
    }
    // Lock in id order so two opposite merges cannot deadlock.
    let (first, second) = if source_id < target_id {
        (source_id, target_id)
    } else {
        (target_id, source_id)
    };
    let a = lock_client(tx, first).await?;
    let b = lock_client(tx, second).await.map_err(|e| match e {
        RecordError::NotFound(_) if second == target_id => {
            RecordError::field("target_id", "no such client")
        }
        other => other,
    })?;
    let (source, target) = if a.id == source_id { (a, b) } else { (b, a) };
    if source.archived_at.is_some() {
        return Err(RecordError::Conflict("the client is archived".into()));
    }
    if target.archived_at.is_some() {
        return Err(RecordError::field(
            "target_id",
            "refers to an archived client",
        ));
    }
    if source.currency != target.currency {
        return Err(RecordError::field(
            "target_id",
            format!(
                "bills in {} but the merged client bills in {}",
                target.currency, source.currency
            ),
        ));
    }
    if is_descendant(tx, target_id, source_id).await? {
        return Err(RecordError::field(
            "target_id",
            "is below the merged client in the hierarchy",
        ));
    }
    let summary = move_records(tx, source_id, target_id).await?;
    diesel::update(clients::table.find((tx.tenant().0, source_id)))
        .set((
            clients::archived_at.eq(Utc::now()),
            clients::merged_into.eq(target_id),
            clients::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "client.merged",
            resource: "client",
            resource_id: Some(source_id),
            details: serde_json::to_value(&summary).unwrap_or_default(),
        },
        DomainEvent::ClientMerged(RecordRef::new(source_id, target_id)),
    )
    .await?;
    Ok(summary)
}

async fn move_records(
    tx: &mut TenantTx,
    source: Uuid,
    target: Uuid,
) -> Result<MergeSummary, DbError> {
    let target_has_locations: bool = diesel::select(diesel::dsl::exists(
        client_locations::table
            .filter(client_locations::client_id.eq(target))
            .filter(client_locations::archived_at.is_null()),
    ))
    .get_result(tx.conn())
    .await?;
    // The target keeps its own default and billing locations.
    if target_has_locations {
        diesel::update(client_locations::table.filter(client_locations::client_id.eq(source)))
            .set((
                client_locations::is_default.eq(false),
                client_locations::is_billing.eq(false),
            ))
            .execute(tx.conn())
            .await?;
    }
    // Moving a location cascades to the assets placed there (ON UPDATE CASCADE), so
    // count those first.
    let placed: i64 = assets::table
        .filter(assets::client_id.eq(source))
        .filter(assets::location_id.is_not_null())
        .count()
        .get_result(tx.conn())
        .await?;
    let locations =
        diesel::update(client_locations::table.filter(client_locations::client_id.eq(source)))
            .set(client_locations::client_id.eq(target))
            .execute(tx.conn())
            .await?;
    let unplaced = diesel::update(assets::table.filter(assets::client_id.eq(source)))
        .set(assets::client_id.eq(target))
        .execute(tx.conn())
        .await?;
    let moved_assets = unplaced + usize::try_from(placed).unwrap_or(0);
    let contacts = diesel::update(contacts::table.filter(contacts::client_id.eq(source)))
        .set(contacts::client_id.eq(target))
        .execute(tx.conn())
        .await?;
    let interactions =
        diesel::update(interactions::table.filter(interactions::client_id.eq(source)))
            .set(interactions::client_id.eq(target))
            .execute(tx.conn())
            .await?;
    let moved_tickets: Vec<(Uuid, String)> =
        diesel::update(tickets::table.filter(tickets::client_id.eq(source)))
            .set(tickets::client_id.eq(target))
            .returning((tickets::id, tickets::number))
            .get_results(tx.conn())
            .await?;
    // The client's SLA policy may differ: each moved ticket's workflow reloads it.
    for (id, number) in &moved_tickets {
        crate::events::emit(
            tx,
            DomainEvent::TicketUpdated(engine::TicketEvent {
                id: *id,
                client_id: target,
                number: number.clone(),
                changed: vec!["client_id".into()],
                ..Default::default()
            }),
        )
        .await?;
    }
    let children = diesel::update(clients::table.filter(clients::parent_id.eq(source)))
        .set(clients::parent_id.eq(target))
        .execute(tx.conn())
        .await?;
    Ok(MergeSummary {
        target_id: target,
        source_id: source,
        contacts,
        assets: moved_assets,
        interactions,
        locations,
        children,
        tickets: moved_tickets.len(),
    })
}
