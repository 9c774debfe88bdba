//! `/api/v1/clients`: the MSP's customers, their locations, merges and timeline.

use super::pagination::{page_of, search_of, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::clients::{
    self, Client, ClientFilter, Location, MergeSummary, TimelineCursor, TimelineEntry,
};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::clients::{ClientInput, ClientPatch, ClientType, LocationInput, LocationPatch};
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Filters and paging of `GET /clients`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Search name and billing e-mail (case- and accent-insensitive, anywhere in the text).
    #[param(max_length = 100)]
    q: Option<String>,
    /// `true` for inactive clients only, `false` for active only.
    is_inactive: Option<bool>,
    /// `company` or `individual`.
    client_type: Option<ClientType>,
    /// Clients with this tag.
    tag: Option<String>,
    /// Children of this client.
    parent_id: Option<Uuid>,
    /// Clients of this account manager.
    account_manager_id: Option<Uuid>,
    /// Include archived (deleted and merged) clients.
    include_archived: Option<bool>,
}

/// Lists clients, newest first.
#[utoipa::path(get, path = "/clients", tag = "clients", params(ClientListParams), security(("api_key" = [])),
    responses((status = 200, body = Listed<Client>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_clients(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ClientListParams>,
) -> Result<Json<Listed<Client>>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let filter = ClientFilter {
        search: search_of(params.q.as_deref())?,
        is_inactive: params.is_inactive,
        client_type: params.client_type,
        tag: params.tag,
        parent_id: params.parent_id,
        account_manager_id: params.account_manager_id,
        include_archived: params.include_archived.unwrap_or(false),
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let page = clients::list_clients(&mut tx, &filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(page)))
}

/// Creates a client.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = ClientInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Client), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_client(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ClientInput>,
) -> Result<(StatusCode, Json<Client>), ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let client = clients::create_client(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(client)))
}

/// One client (archived ones too, with `archived_at` set).
#[utoipa::path(get, path = "/clients/{id}", tag = "clients", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id")),
    responses((status = 200, body = Client), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_client(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Client>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let client = clients::find_client(&mut tx, id).await?;
    tx.commit().await?;
    client
        .map(Json)
        .ok_or_else(|| ApiError::not_found("client"))
}

/// Changes a client: absent fields stay, `null` clears an optional field.
#[utoipa::path(patch, path = "/clients/{id}", tag = "clients", request_body = ClientPatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id")),
    responses((status = 200, body = Client), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_client(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ClientPatch>,
) -> Result<Json<Client>, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let client = clients::update_client(&mut tx, id, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(client))
}

/// Archives a client (kept for history; hidden from lists unless `include_archived`).
#[utoipa::path(delete, path = "/clients/{id}", tag = "clients", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_client(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    clients::archive_client(&mut tx, id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which client absorbs the merged one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The client that remains; it must bill in the same currency.
    target_id: Uuid,
}

/// Merges this client into `target_id`: contacts, assets, locations, interactions and
/// child clients move; this client is archived with `merged_into` set.
#[utoipa::path(post, path = "/clients/{id}/merge", tag = "clients", request_body = MergeRequest, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The client to merge away"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 200, body = MergeSummary), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn merge_client(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> Result<Json<MergeSummary>, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let summary = clients::merge_clients(&mut tx, id, body.target_id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(summary))
}

/// Paging of a timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One page of a client's timeline.
#[derive(Serialize, ToSchema)]
pub struct Timeline {
    /// Entries, newest first.
    data: Vec<TimelineEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// The client's interactions (and, as those modules arrive, tickets and invoices)
/// merged by time, newest first.
#[utoipa::path(get, path = "/clients/{id}/timeline", tag = "clients", params(("id" = Uuid, Path, description = "Client id"), TimelineParams),
    security(("api_key" = [])),
    responses((status = 200, body = Timeline), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn client_timeline(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<TimelineParams>,
) -> Result<Json<Timeline>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let limit = page_of(params.limit, None)?.limit;
    let after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(TimelineCursor::decode(text).ok_or_else(|| {
            ApiError::invalid_field("cursor", "is not a cursor returned by this endpoint")
        })?),
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if clients::find_client(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found("client"));
    }
    let (data, next) = clients::client_timeline(&mut tx, id, after, limit).await?;
    tx.commit().await?;
    Ok(Json(Timeline {
        data,
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// The client's locations.
#[derive(Serialize, ToSchema)]
pub struct LocationList {
    /// Live locations, the default first.
    data: Vec<Location>,
}

/// Lists a client's locations.
#[utoipa::path(get, path = "/clients/{id}/locations", tag = "clients", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id")),
    responses((status = 200, body = LocationList), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn list_locations(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<LocationList>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if clients::find_client(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found("client"));
    }
    let data = clients::list_locations(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(LocationList { data }))
}

/// Adds a location; the first becomes the default, and a new default or billing
/// location takes the flag from the previous one.
#[utoipa::path(post, path = "/clients/{id}/locations", tag = "clients", request_body = LocationInput, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Location), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_location(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LocationInput>,
) -> Result<(StatusCode, Json<Location>), ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let location = clients::create_location(&mut tx, id, &body, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(location)))
}

/// Changes a location of the client.
#[utoipa::path(patch, path = "/clients/{id}/locations/{location_id}", tag = "clients", request_body = LocationPatch,
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id"), ("location_id" = Uuid, Path, description = "Location id")),
    responses((status = 200, body = Location), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_location(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, location_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(patch): ApiJson<LocationPatch>,
) -> Result<Json<Location>, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let location =
        clients::update_location(&mut tx, id, location_id, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(location))
}

/// Archives a location of the client.
#[utoipa::path(delete, path = "/clients/{id}/locations/{location_id}", tag = "clients", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id"), ("location_id" = Uuid, Path, description = "Location id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn delete_location(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, location_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    clients::archive_location(&mut tx, id, location_id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
