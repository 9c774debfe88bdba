//! The service catalogue: services with a price per currency.

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{service_prices, services};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::billing::catalogue::{Price, ServiceDraft, ServiceKind, ServicePatch};
use engine::billing::money::Currency;
use serde::Serialize;
use uuid::Uuid;

#[derive(Queryable, Selectable)]
#[diesel(table_name = services)]
struct ServiceRow {
    id: Uuid,
    name: String,
    kind: String,
    unit: String,
    tax_category: Option<String>,
    description: String,
    is_archived: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A service of the catalogue.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Service {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// `fixed`, `hourly`, `usage` or `product`.
    pub kind: ServiceKind,
    /// Unit of measure.
    pub unit: String,
    /// Price in `currency` (the first price), in cents; none when unpriced.
    pub rate_cents: Option<i64>,
    /// Currency of `rate_cents`.
    pub currency: Option<String>,
    /// Every price, one per currency.
    pub prices: Vec<Price>,
    /// Tax category; none = not taxable.
    pub tax_category: Option<String>,
    /// What it is.
    pub description: String,
    /// Archived services are kept for history and not offered.
    pub is_archived: bool,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl Service {
    /// Its price in `currency`, if it has one.
    pub fn price_in(&self, currency: &str) -> Option<i64> {
        self.prices
            .iter()
            .find(|p| p.currency.code() == currency)
            .map(|p| p.rate_cents)
    }
}

async fn prices_of(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<(Uuid, Price)>, DbError> {
    let rows: Vec<(Uuid, String, i64)> = service_prices::table
        .filter(service_prices::service_id.eq_any(ids))
        .order((service_prices::service_id, service_prices::position))
        .select((
            service_prices::service_id,
            service_prices::currency,
            service_prices::rate_cents,
        ))
        .load(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, currency, rate_cents)| {
            Currency::parse(&currency).ok().map(|currency| {
                (
                    id,
                    Price {
                        currency,
                        rate_cents,
                    },
                )
            })
        })
        .collect())
}

async fn with_prices(tx: &mut TenantTx, rows: Vec<ServiceRow>) -> Result<Vec<Service>, DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let prices = prices_of(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine: Vec<Price> = prices
                .iter()
                .filter(|(id, _)| *id == row.id)
                .map(|(_, p)| p.clone())
                .collect();
            Service {
                id: row.id,
                name: row.name,
                kind: ServiceKind::parse(&row.kind).unwrap_or(ServiceKind::Fixed),
                unit: row.unit,
                // The slice method: diesel's `first` is in scope too.
                rate_cents: <[Price]>::first(&mine).map(|p| p.rate_cents),
                currency: <[Price]>::first(&mine).map(|p| p.currency.code().to_owned()),
                prices: mine,
                tax_category: row.tax_category,
                description: row.description,
                is_archived: row.is_archived,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

/// Adds a service to the catalogue.
pub async fn create_service(
    tx: &mut TenantTx,
    draft: &ServiceDraft,
    actor: Option<Uuid>,
) -> Result<Service, RecordError> {
    let id = Uuid::now_v7();
    let tenant = tx.tenant().0;
    diesel::insert_into(services::table)
        .values((
            services::tenant.eq(tenant),
            services::id.eq(id),
            services::name.eq(&draft.name),
            services::kind.eq(draft.kind.as_str()),
            services::unit.eq(&draft.unit),
            services::tax_category.eq(&draft.tax_category),
            services::description.eq(&draft.description),
        ))
        .execute(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            e if e.is_unique_violation() => {
                RecordError::field("name", "another service has this name")
            }
            e => e.into(),
        })?;
    insert_prices(tx, id, &draft.prices).await?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "service.created",
            resource: "service",
            resource_id: Some(id),
            details: serde_json::json!({ "name": draft.name, "kind": draft.kind.as_str() }),
        },
    )
    .await?;
    find_service(tx, id)
        .await?
        .ok_or(RecordError::NotFound("service"))
}

/// The service with `id`.
pub async fn find_service(tx: &mut TenantTx, id: Uuid) -> Result<Option<Service>, DbError> {
    let row: Option<ServiceRow> = services::table
        .filter(services::id.eq(id))
        .select(ServiceRow::as_select())
        .first(tx.conn())
        .await
        .optional()?;
    match row {
        Some(row) => Ok(with_prices(tx, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// The services `ids` that exist, in any order.
pub async fn find_services(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<Service>, DbError> {
    let rows: Vec<ServiceRow> = services::table
        .filter(services::id.eq_any(ids))
        .select(ServiceRow::as_select())
        .load(tx.conn())
        .await?;
    with_prices(tx, rows).await
}

/// Checks that `id` names a live service (`field` is the input's name for it).
pub async fn require_live_service(
    tx: &mut TenantTx,
    id: Uuid,
    field: &str,
) -> Result<Service, RecordError> {
    match find_service(tx, id).await? {
        Some(s) if !s.is_archived => Ok(s),
        Some(_) => Err(RecordError::field(field, "refers to an archived service")),
        None => Err(RecordError::field(field, "no such service")),
    }
}

/// Filters of the catalogue list.
#[derive(Clone, Debug, Default)]
pub struct ServiceFilter {
    /// Only this kind.
    pub kind: Option<ServiceKind>,
    /// Archived ones too.
    pub include_archived: bool,
}

/// Services, newest first.
pub async fn list_services(
    tx: &mut TenantTx,
    filter: &ServiceFilter,
    page: PageRequest,
) -> Result<Page<Service>, DbError> {
    let mut query = services::table
        .select(ServiceRow::as_select())
        .order(services::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(services::kind.eq(kind.as_str()));
    }
    if !filter.include_archived {
        query = query.filter(services::is_archived.eq(false));
    }
    if let Some(after) = page.after {
        query = query.filter(services::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    let page = Page::from_overfetch(rows, page.limit, |r| r.id);
    Ok(Page {
        data: with_prices(tx, page.data).await?,
        next_cursor: page.next_cursor,
    })
}

/// The stored service as a draft, so a patch can be checked like a new service.
fn draft_of(service: &Service) -> ServiceDraft {
    ServiceDraft {
        name: service.name.clone(),
        kind: service.kind,
        unit: service.unit.clone(),
        prices: service.prices.clone(),
        tax_category: service.tax_category.clone(),
        description: service.description.clone(),
    }
}

/// Currencies of running contract lines that bill `service` at its catalogue price.
async fn relied_on_currencies(
    tx: &mut TenantTx,
    service: Uuid,
    today: chrono::NaiveDate,
) -> Result<Vec<String>, DbError> {
    use crate::schema::{contract_lines, contracts};
    Ok(contract_lines::table
        .inner_join(contracts::table.on(contracts::id.eq(contract_lines::contract_id)))
        .filter(contract_lines::service_id.eq(service))
        .filter(contract_lines::rate_cents.is_null())
        .filter(
            contracts::ends_on
                .is_null()
                .or(contracts::ends_on.gt(today)),
        )
        .select(contracts::currency)
        .distinct()
        .load(tx.conn())
        .await?)
}

/// Changes a service. A price that a running contract line bills at cannot be
/// removed (that line would bill nothing), and the name stays unique.
pub async fn update_service(
    tx: &mut TenantTx,
    id: Uuid,
    patch: &ServicePatch,
    actor: Option<Uuid>,
) -> Result<Service, RecordError> {
    diesel::sql_query("SELECT 1 FROM services WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let current = find_service(tx, id)
        .await?
        .ok_or(RecordError::NotFound("service"))?;
    let draft = patch
        .apply(&draft_of(&current))
        .map_err(RecordError::Invalid)?;
    let today = Utc::now().date_naive();
    let relied = relied_on_currencies(tx, id, today).await?;
    let removed: Vec<&String> = relied
        .iter()
        .filter(|c| !draft.prices.iter().any(|p| p.currency.code() == c.as_str()))
        .collect();
    if let Some(currency) = <[&String]>::first(&removed) {
        return Err(RecordError::field(
            "prices",
            format!(
                "running contracts bill {} at its {currency} price; keep a {currency} price",
                current.name
            ),
        ));
    }
    let archive = patch.is_archived.unwrap_or(current.is_archived);
    diesel::update(services::table.filter(services::id.eq(id)))
        .set((
            services::name.eq(&draft.name),
            services::unit.eq(&draft.unit),
            services::tax_category.eq(&draft.tax_category),
            services::description.eq(&draft.description),
            services::is_archived.eq(archive),
            services::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            e if e.is_unique_violation() => {
                RecordError::field("name", "another service has this name")
            }
            e => e.into(),
        })?;
    if patch.prices.is_some() {
        diesel::delete(service_prices::table.filter(service_prices::service_id.eq(id)))
            .execute(tx.conn())
            .await
            .map_err(DbError::from)?;
        insert_prices(tx, id, &draft.prices).await?;
    }
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "service.updated",
            resource: "service",
            resource_id: Some(id),
            details: serde_json::json!({
                "name": draft.name, "is_archived": archive,
                "prices": draft.prices.iter().map(|p| format!("{} {}", p.currency, p.rate_cents)).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    find_service(tx, id)
        .await?
        .ok_or(RecordError::NotFound("service"))
}

async fn insert_prices(tx: &mut TenantTx, id: Uuid, prices: &[Price]) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let rows: Vec<_> = prices
        .iter()
        .enumerate()
        .map(|(position, price)| {
            (
                service_prices::tenant.eq(tenant),
                service_prices::service_id.eq(id),
                service_prices::currency.eq(price.currency.code()),
                service_prices::rate_cents.eq(price.rate_cents),
                service_prices::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
            )
        })
        .collect();
    diesel::insert_into(service_prices::table)
        .values(rows)
        .execute(tx.conn())
        .await?;
    Ok(())
}
