//! Usage records: what a client consumed of a usage service, billed by usage and
//! bucket lines.

use super::catalogue::require_live_service;
use crate::audit::{self, AuditEntry};
use crate::clients::require_live_client;
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::usage_records;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::billing::catalogue::ServiceKind;
use engine::billing::usage::UsageDraft;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

/// A usage record.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = usage_records)]
pub struct UsageRecord {
    /// Id.
    pub id: Uuid,
    /// The client.
    pub client_id: Uuid,
    /// The service.
    pub service_id: Uuid,
    /// How much (a decimal string).
    #[schema(value_type = String)]
    pub quantity: Decimal,
    /// The day it was used.
    pub recorded_on: NaiveDate,
    /// A note.
    pub note: String,
    /// The invoice that billed it, once billed.
    pub invoice_id: Option<Uuid>,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
}

/// Records usage after checking the client and the service.
pub async fn record_usage(
    tx: &mut TenantTx,
    draft: &UsageDraft,
    actor: Option<Uuid>,
) -> Result<UsageRecord, RecordError> {
    require_live_client(tx, draft.client_id, "client_id").await?;
    let service = require_live_service(tx, draft.service_id, "service_id").await?;
    if let Some(problem) = wrong_kind(&service.name, service.kind) {
        return Err(RecordError::field("service_id", problem));
    }
    let record: UsageRecord = diesel::insert_into(usage_records::table)
        .values((
            usage_records::tenant.eq(tx.tenant().0),
            usage_records::id.eq(Uuid::now_v7()),
            usage_records::client_id.eq(draft.client_id),
            usage_records::service_id.eq(draft.service_id),
            usage_records::quantity.eq(draft.quantity),
            usage_records::recorded_on.eq(draft.recorded_on),
            usage_records::note.eq(&draft.note),
            usage_records::created_by.eq(actor),
        ))
        .returning(UsageRecord::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "usage.recorded",
            resource: "usage_record",
            resource_id: Some(record.id),
            details: audit_details(draft),
        },
    )
    .await?;
    Ok(record)
}

/// Why usage cannot be recorded for a service of this kind, if it cannot.
pub(crate) fn wrong_kind(name: &str, kind: ServiceKind) -> Option<String> {
    (!matches!(kind, ServiceKind::Usage | ServiceKind::Product)).then(|| {
        format!(
            "{name} is a {} service; usage is recorded for usage or product services",
            kind.as_str()
        )
    })
}

/// What the `usage.recorded` audit entry says about a record.
pub(crate) fn audit_details(draft: &UsageDraft) -> serde_json::Value {
    serde_json::json!({
        "client_id": draft.client_id, "service_id": draft.service_id,
        "quantity": draft.quantity.to_string(), "recorded_on": draft.recorded_on,
    })
}

/// Filters of the usage list.
#[derive(Clone, Debug, Default)]
pub struct UsageFilter {
    /// Only this client's.
    pub client_id: Option<Uuid>,
    /// Only this service's.
    pub service_id: Option<Uuid>,
    /// From this day on.
    pub from: Option<NaiveDate>,
    /// Before this day.
    pub to: Option<NaiveDate>,
}

/// Usage records, newest first.
pub async fn list_usage(
    tx: &mut TenantTx,
    filter: &UsageFilter,
    page: PageRequest,
) -> Result<Page<UsageRecord>, DbError> {
    let mut query = usage_records::table
        .select(UsageRecord::as_select())
        .order(usage_records::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(client) = filter.client_id {
        query = query.filter(usage_records::client_id.eq(client));
    }
    if let Some(service) = filter.service_id {
        query = query.filter(usage_records::service_id.eq(service));
    }
    if let Some(from) = filter.from {
        query = query.filter(usage_records::recorded_on.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(usage_records::recorded_on.lt(to));
    }
    if let Some(after) = page.after {
        query = query.filter(usage_records::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id))
}
