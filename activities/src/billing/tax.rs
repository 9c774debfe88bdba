//! Tax regions and their effective-dated rates; at most one rate per region is in
//! force on any day (checked here, and by an exclusion constraint).

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::{tax_rates, tax_regions};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::billing::catalogue::TaxRateDraft;
use engine::billing::contracts::spans_overlap;
use engine::billing::tax::TaxComponent;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

/// A tax region.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = tax_regions)]
pub struct TaxRegion {
    /// Id.
    pub id: Uuid,
    /// The code clients refer to.
    pub code: String,
    /// Name.
    pub name: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// A rate of a region.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TaxRateView {
    /// Id.
    pub id: Uuid,
    /// The region's code.
    pub region_code: String,
    /// The components' sum, e.g. "8.875".
    #[schema(value_type = String)]
    pub percent: Decimal,
    /// First day in force.
    pub starts_on: NaiveDate,
    /// The day it stops (exclusive); none = open.
    pub ends_on: Option<NaiveDate>,
    /// Components in order.
    pub components: Vec<TaxComponent>,
}

impl TaxRateView {
    /// The rate as the billing engine applies it.
    pub fn into_rate(self) -> engine::billing::tax::TaxRate {
        engine::billing::tax::TaxRate {
            id: self.id,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            components: self.components,
        }
    }
}

/// Adds a region.
pub async fn create_region(
    tx: &mut TenantTx,
    code: &str,
    name: &str,
    actor: Option<Uuid>,
) -> Result<TaxRegion, RecordError> {
    let region: TaxRegion = diesel::insert_into(tax_regions::table)
        .values((
            tax_regions::tenant.eq(tx.tenant().0),
            tax_regions::id.eq(Uuid::now_v7()),
            tax_regions::code.eq(code),
            tax_regions::name.eq(name),
        ))
        .returning(TaxRegion::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            e if e.is_unique_violation() => {
                RecordError::field("code", "another region has this code")
            }
            e => e.into(),
        })?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "tax_region.created",
            resource: "tax_region",
            resource_id: Some(region.id),
            details: serde_json::json!({ "code": code }),
        },
    )
    .await?;
    Ok(region)
}

/// Every region, by code.
pub async fn list_regions(tx: &mut TenantTx) -> Result<Vec<TaxRegion>, DbError> {
    Ok(tax_regions::table
        .select(TaxRegion::as_select())
        .order(tax_regions::code)
        .limit(1000)
        .load(tx.conn())
        .await?)
}

/// The region with `code`.
pub async fn region_by_code(tx: &mut TenantTx, code: &str) -> Result<Option<TaxRegion>, DbError> {
    Ok(tax_regions::table
        .filter(tax_regions::code.eq(code))
        .select(TaxRegion::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

type RateRow = (
    Uuid,
    String,
    NaiveDate,
    Option<NaiveDate>,
    serde_json::Value,
);

/// A stored rate; components that no longer read are an error, never a 0 % rate.
fn view(row: RateRow) -> Result<TaxRateView, DbError> {
    let (id, region_code, starts_on, ends_on, components) = row;
    let components: Vec<TaxComponent> = super::stored(components)?;
    Ok(TaxRateView {
        id,
        region_code,
        percent: components.iter().map(|c| c.percent).sum(),
        starts_on,
        ends_on,
        components,
    })
}

/// Adds a rate to its region; a rate overlapping another of the region is refused
/// (end the old one first).
pub async fn create_rate(
    tx: &mut TenantTx,
    draft: &TaxRateDraft,
    actor: Option<Uuid>,
) -> Result<TaxRateView, RecordError> {
    let region = region_by_code(tx, &draft.region_code)
        .await?
        .ok_or_else(|| RecordError::field("region_code", "no such tax region"))?;
    // Serialises rate changes of one region, so the overlap check holds.
    diesel::sql_query("SELECT 1 FROM tax_regions WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Uuid, _>(region.id)
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let existing = list_rates(tx, Some(&region.code)).await?;
    if let Some(other) = existing
        .iter()
        .find(|r| spans_overlap((r.starts_on, r.ends_on), (draft.starts_on, draft.ends_on)))
    {
        let until = other
            .ends_on
            .map_or("open-ended".to_owned(), |d| format!("until {d}"));
        return Err(RecordError::Conflict(format!(
            "overlaps the rate from {} ({until}); end that rate first",
            other.starts_on
        )));
    }
    let id = Uuid::now_v7();
    diesel::insert_into(tax_rates::table)
        .values((
            tax_rates::tenant.eq(tx.tenant().0),
            tax_rates::id.eq(id),
            tax_rates::region_id.eq(region.id),
            tax_rates::starts_on.eq(draft.starts_on),
            tax_rates::ends_on.eq(draft.ends_on),
            tax_rates::components.eq(serde_json::to_value(&draft.components).unwrap_or_default()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "tax_rate.created",
            resource: "tax_rate",
            resource_id: Some(id),
            details: serde_json::json!({ "region": region.code, "starts_on": draft.starts_on }),
        },
    )
    .await?;
    Ok(view((
        id,
        region.code,
        draft.starts_on,
        draft.ends_on,
        serde_json::to_value(&draft.components).unwrap_or_default(),
    ))?)
}

/// Rates, of one region or all, oldest first.
pub async fn list_rates(
    tx: &mut TenantTx,
    region_code: Option<&str>,
) -> Result<Vec<TaxRateView>, DbError> {
    let mut query = tax_rates::table
        .inner_join(tax_regions::table.on(tax_regions::id.eq(tax_rates::region_id)))
        .select((
            tax_rates::id,
            tax_regions::code,
            tax_rates::starts_on,
            tax_rates::ends_on,
            tax_rates::components,
        ))
        .order((tax_regions::code, tax_rates::starts_on))
        .limit(1000)
        .into_boxed();
    if let Some(code) = region_code {
        query = query.filter(tax_regions::code.eq(code.to_owned()));
    }
    let rows: Vec<RateRow> = query.load(tx.conn()).await?;
    rows.into_iter().map(view).collect()
}
