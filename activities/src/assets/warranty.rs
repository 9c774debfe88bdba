//! Warranty notices: one `asset.warranty_expiring` event per asset and expiry date.

use crate::db::{DbError, TenantTx};
use crate::events;
use crate::schema::assets;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::{DomainEvent, RecordRef};
use uuid::Uuid;

/// Emits `asset.warranty_expiring` for every live, in-use asset of the tenant whose
/// warranty ends between `today` and `today + within_days`, once per expiry date (a
/// renewed warranty gets its own notice later). Returns how many were flagged.
pub async fn flag_expiring_warranties(
    tx: &mut TenantTx,
    today: NaiveDate,
    within_days: u32,
) -> Result<usize, DbError> {
    let horizon = today + chrono::Days::new(u64::from(within_days));
    let flagged: Vec<(Uuid, Uuid)> = diesel::update(
        assets::table
            .filter(assets::archived_at.is_null())
            .filter(assets::status.eq_any(["active", "in_stock", "in_repair"]))
            .filter(assets::warranty_expires_on.between(today, horizon))
            .filter(assets::warranty_notice_for.is_distinct_from(assets::warranty_expires_on)),
    )
    .set(assets::warranty_notice_for.eq(assets::warranty_expires_on))
    .returning((assets::id, assets::client_id))
    .get_results(tx.conn())
    .await?;
    for (id, client_id) in &flagged {
        events::emit(
            tx,
            DomainEvent::AssetWarrantyExpiring(RecordRef::new(*id, *client_id)),
        )
        .await?;
    }
    Ok(flagged.len())
}
