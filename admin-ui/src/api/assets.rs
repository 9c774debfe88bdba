//! `/api/v1/assets`: clients' devices, their relationships and history, and the
//! tenant's asset types.

use super::pagination::{page_of, search_of, ListParams, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::assets::{self, Asset, AssetChange, AssetFilter, AssetType, Relationship};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use engine::assets::{AssetInput, AssetPatch, AssetStatus, RelationshipKind};
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Filters and paging of `GET /assets`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssetListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only this client's assets.
    client_id: Option<Uuid>,
    /// Search tag, name and serial (case- and accent-insensitive).
    #[param(max_length = 100)]
    q: Option<String>,
    /// Only of this type.
    kind: Option<String>,
    /// Only in this status.
    status: Option<AssetStatus>,
    /// Only assets whose warranty ends on or before this date.
    warranty_before: Option<NaiveDate>,
    /// Include archived (deleted) assets.
    include_archived: Option<bool>,
}

/// An asset with its relationships.
#[derive(Serialize, ToSchema)]
pub struct AssetDetail {
    #[serde(flatten)]
    asset: Asset,
    /// Other assets this one relates to, from this asset's point of view.
    relationships: Vec<Relationship>,
}

/// Lists assets, newest first.
#[utoipa::path(get, path = "/assets", tag = "assets", params(AssetListParams), security(("api_key" = [])),
    responses((status = 200, body = Listed<Asset>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_assets(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<AssetListParams>,
) -> Result<Json<Listed<Asset>>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let filter = AssetFilter {
        client_id: params.client_id,
        search: search_of(params.q.as_deref())?,
        kind: params.kind,
        status: params.status,
        warranty_before: params.warranty_before,
        include_archived: params.include_archived.unwrap_or(false),
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let page = assets::list_assets(&mut tx, &filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(page)))
}

/// Creates an asset.
#[utoipa::path(post, path = "/assets", tag = "assets", request_body = AssetInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Asset), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_asset(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<AssetInput>,
) -> Result<(StatusCode, Json<Asset>), ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let asset = assets::create_asset(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(asset)))
}

/// One asset with its relationships.
#[utoipa::path(get, path = "/assets/{id}", tag = "assets", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 200, body = AssetDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_asset(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AssetDetail>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let asset = assets::find_asset(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let relationships = assets::list_relationships(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(AssetDetail {
        asset,
        relationships,
    }))
}

/// Changes an asset; every changed field is recorded in its history.
#[utoipa::path(patch, path = "/assets/{id}", tag = "assets", request_body = AssetPatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 200, body = Asset), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_asset(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<AssetPatch>,
) -> Result<Json<Asset>, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let asset = assets::update_asset(&mut tx, id, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(asset))
}

/// Archives an asset and removes its relationships.
#[utoipa::path(delete, path = "/assets/{id}", tag = "assets", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn delete_asset(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    assets::archive_asset(&mut tx, id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The asset's change history, newest first.
#[utoipa::path(get, path = "/assets/{id}/history", tag = "assets", params(("id" = Uuid, Path, description = "Asset id"), ListParams),
    security(("api_key" = [])),
    responses((status = 200, body = Listed<AssetChange>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn asset_history(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Listed<AssetChange>>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let page = params.page()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if assets::find_asset(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found("asset"));
    }
    let page = assets::asset_history(&mut tx, id, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(page)))
}

/// A relationship to add, from this asset's point of view.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRelationship {
    /// The other asset.
    asset_id: Uuid,
    /// `parent`: the other asset contains this one (at most one parent);
    /// `depends_on`: this asset needs the other.
    kind: RelationshipKind,
}

/// Relates this asset to another; refused (422) when it would create a cycle.
#[utoipa::path(post, path = "/assets/{id}/relationships", tag = "assets", request_body = AddRelationship, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Asset id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = AssetDetail), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn add_relationship(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AddRelationship>,
) -> Result<(StatusCode, Json<AssetDetail>), ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    assets::add_relationship(&mut tx, id, body.asset_id, body.kind, Some(caller.user_id)).await?;
    let asset = assets::find_asset(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let relationships = assets::list_relationships(&mut tx, id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(AssetDetail {
            asset,
            relationships,
        }),
    ))
}

/// Which relationship to remove.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RelationshipKindParam {
    /// `parent` or `depends_on`.
    kind: RelationshipKind,
}

/// Removes a relationship of this asset.
#[utoipa::path(delete, path = "/assets/{id}/relationships/{related_id}", tag = "assets", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Asset id"), ("related_id" = Uuid, Path, description = "The other asset"),
           RelationshipKindParam),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn remove_relationship(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, related_id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(params): ApiQuery<RelationshipKindParam>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    assets::remove_relationship(&mut tx, id, related_id, params.kind, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The asset types.
#[derive(Serialize, ToSchema)]
pub struct AssetTypeList {
    /// Built-ins first, then the tenant's.
    data: Vec<AssetType>,
}

/// Lists asset types.
#[utoipa::path(get, path = "/asset-types", tag = "assets", security(("api_key" = [])),
    responses((status = 200, body = AssetTypeList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_asset_types(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<AssetTypeList>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = assets::list_asset_types(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(AssetTypeList { data }))
}

/// A tenant asset type to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssetType {
    /// 2–40 lowercase letters, digits or `_`, starting with a letter (`ups`).
    #[schema(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    key: String,
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// A JSON Schema for the `properties` of assets of this type (default `{}`).
    #[schema(value_type = Option<Object>)]
    field_schema: Option<serde_json::Value>,
}

/// Adds a tenant asset type (`tenant:manage`).
#[utoipa::path(post, path = "/asset-types", tag = "assets", request_body = CreateAssetType, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = AssetType), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_asset_type(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateAssetType>,
) -> Result<(StatusCode, Json<AssetType>), ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let name = engine::validation::required_text(Some(&body.name), 100)
        .map_err(|e| ApiError::invalid_field("name", e.to_string()))?;
    let schema = body.field_schema.unwrap_or_else(|| serde_json::json!({}));
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let kind =
        assets::create_asset_type(&mut tx, &body.key, &name, &schema, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(kind)))
}

/// A change to a tenant asset type.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAssetType {
    /// New name.
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// New schema; existing assets are checked against it on their next change.
    #[schema(value_type = Option<Object>)]
    field_schema: Option<serde_json::Value>,
}

/// Renames a tenant asset type or replaces its schema (`tenant:manage`).
#[utoipa::path(patch, path = "/asset-types/{key}", tag = "assets", request_body = UpdateAssetType, security(("api_key" = [])),
    params(("key" = String, Path, description = "Type key")),
    responses((status = 200, body = AssetType), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_asset_type(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAssetType>,
) -> Result<Json<AssetType>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let name = match body.name.as_deref() {
        Some(name) => Some(
            engine::validation::required_text(Some(name), 100)
                .map_err(|e| ApiError::invalid_field("name", e.to_string()))?,
        ),
        None => None,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let kind = assets::update_asset_type(
        &mut tx,
        &key,
        name.as_deref(),
        body.field_schema.as_ref(),
        Some(caller.user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(kind))
}
