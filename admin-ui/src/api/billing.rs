//! Billing's reference data: the service catalogue, tax regions and rates,
//! contracts, and usage records. Reading needs `billing:read`, changing `billing:manage`.

use crate::api::pagination::{page_of, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::billing::catalogue::{self, Service, ServiceFilter};
use activities::billing::contracts::{self, Contract};
use activities::billing::tax::{self, TaxRateView, TaxRegion};
use activities::billing::usage::{self, UsageFilter, UsageRecord};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use engine::billing::catalogue::{
    ServiceInput, ServiceKind, ServicePatch, TaxRateInput, TaxRegionInput,
};
use engine::billing::terms::ContractInput;
use engine::billing::usage::UsageInput;
use engine::Permission;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// Filters of the catalogue.
#[derive(Deserialize, IntoParams)]
pub struct ServiceParams {
    /// Only this kind.
    #[param(inline)]
    kind: Option<ServiceKind>,
    /// Archived services too (default false).
    include_archived: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The service catalogue, newest first.
#[utoipa::path(get, path = "/services", tag = "billing", security(("api_key" = [])), params(ServiceParams),
    responses((status = 200, body = Listed<Service>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_services(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ServiceParams>,
) -> Result<Json<Listed<Service>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let filter = ServiceFilter {
        kind: params.kind,
        include_archived: params.include_archived.unwrap_or(false),
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let services = catalogue::list_services(&mut tx, &filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(services)))
}

/// Adds a service: its kind, unit, a price per currency and its tax category
/// (none = not taxable).
#[utoipa::path(post, path = "/services", tag = "billing", request_body = ServiceInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Service), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_service(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ServiceInput>,
) -> Result<(StatusCode, Json<Service>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let service = catalogue::create_service(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(service)))
}

/// One service.
#[utoipa::path(get, path = "/services/{id}", tag = "billing", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 200, body = Service), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_service(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Service>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let service = catalogue::find_service(&mut tx, id).await?;
    tx.commit().await?;
    service
        .map(Json)
        .ok_or_else(|| ApiError::not_found("service"))
}

/// Changes a service: name, unit, tax category, description, prices (replaced
/// whole), archived. Its kind never changes. A price that running contract lines
/// bill at cannot be removed (422).
#[utoipa::path(patch, path = "/services/{id}", tag = "billing", request_body = ServicePatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 200, body = Service), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_service(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ServicePatch>,
) -> Result<Json<Service>, ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let service = catalogue::update_service(&mut tx, id, &body, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(service))
}

/// Tax regions, by code.
#[utoipa::path(get, path = "/tax-regions", tag = "billing", security(("api_key" = [])),
    responses((status = 200, body = Vec<TaxRegion>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_regions(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<TaxRegion>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let regions = tax::list_regions(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(regions))
}

/// Adds a tax region; clients name it by `code` in their `tax_region`.
#[utoipa::path(post, path = "/tax-regions", tag = "billing", request_body = TaxRegionInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TaxRegion), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_region(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TaxRegionInput>,
) -> Result<(StatusCode, Json<TaxRegion>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let (code, name) = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let region = tax::create_region(&mut tx, &code, &name, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(region)))
}

/// Filter of the rate list.
#[derive(Deserialize, IntoParams)]
pub struct RateParams {
    /// Only this region's rates.
    region_code: Option<String>,
}

/// Tax rates, by region then start.
#[utoipa::path(get, path = "/tax-rates", tag = "billing", security(("api_key" = [])), params(RateParams),
    responses((status = 200, body = Vec<TaxRateView>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
pub async fn list_rates(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<RateParams>,
) -> Result<Json<Vec<TaxRateView>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let rates = tax::list_rates(&mut tx, params.region_code.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(rates))
}

/// Adds a rate to a region from `starts_on` (to `ends_on`, exclusive). A rate that
/// overlaps another of the region is a 409: end the old one first.
#[utoipa::path(post, path = "/tax-rates", tag = "billing", request_body = TaxRateInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TaxRateView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_rate(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TaxRateInput>,
) -> Result<(StatusCode, Json<TaxRateView>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let rate = tax::create_rate(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(rate)))
}

/// Filters of the contract list.
#[derive(Deserialize, IntoParams)]
pub struct ContractParams {
    /// Only this client's contracts.
    client_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Contracts, newest first.
#[utoipa::path(get, path = "/contracts", tag = "billing", security(("api_key" = [])), params(ContractParams),
    responses((status = 200, body = Listed<Contract>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_contracts(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ContractParams>,
) -> Result<Json<Listed<Contract>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let list = contracts::list_contracts(&mut tx, params.client_id, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(list)))
}

/// Creates a client's contract. Refused (422, naming the field): another currency
/// than the client's other active contracts, a line without a price in the
/// contract currency, two lines billing one service over overlapping dates, a
/// service that does not fit the line's kind.
#[utoipa::path(post, path = "/contracts", tag = "billing", request_body = ContractInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Contract), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_contract(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ContractInput>,
) -> Result<(StatusCode, Json<Contract>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let contract = contracts::create_contract(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    // A tenant with contracts gets its daily billing schedules; creating them
    // again is harmless, and a Temporal hiccup only delays them to the next contract.
    match app.temporal().await {
        Ok(temporal) => {
            if let Err(error) = temporal.ensure_billing_schedules(caller.tenant).await {
                tracing::warn!(%error, "billing schedules not created yet");
            }
        }
        Err(_) => tracing::warn!("Temporal down: billing schedules not created yet"),
    }
    Ok((StatusCode::CREATED, Json(contract)))
}

/// One contract with its lines.
#[utoipa::path(get, path = "/contracts/{id}", tag = "billing", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Contract id")),
    responses((status = 200, body = Contract), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_contract(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Contract>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let contract = contracts::find_contract(&mut tx, id).await?;
    tx.commit().await?;
    contract
        .map(Json)
        .ok_or_else(|| ApiError::not_found("contract"))
}

/// Records usage of a usage (or product) service by a client.
#[utoipa::path(post, path = "/usage-records", tag = "billing", request_body = UsageInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h: send one per meter reading")),
    responses((status = 201, body = UsageRecord), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn record_usage(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<UsageInput>,
) -> Result<(StatusCode, Json<UsageRecord>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let record = usage::record_usage(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Filters of the usage list.
#[derive(Deserialize, IntoParams)]
pub struct UsageParams {
    /// Only this client's.
    client_id: Option<Uuid>,
    /// Only this service's.
    service_id: Option<Uuid>,
    /// From this day on (`YYYY-MM-DD`).
    from: Option<NaiveDate>,
    /// Before this day.
    to: Option<NaiveDate>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Usage records, newest first.
#[utoipa::path(get, path = "/usage-records", tag = "billing", security(("api_key" = [])), params(UsageParams),
    responses((status = 200, body = Listed<UsageRecord>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_usage(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> Result<Json<Listed<UsageRecord>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    for (field, date) in [("from", params.from), ("to", params.to)] {
        if date.is_some_and(|d| !engine::billing::date_in_range(d)) {
            return Err(ApiError::invalid_field(field, engine::billing::DATE_RANGE));
        }
    }
    let filter = UsageFilter {
        client_id: params.client_id,
        service_id: params.service_id,
        from: params.from,
        to: params.to,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let records = usage::list_usage(&mut tx, &filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(records)))
}
