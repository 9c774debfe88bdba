//! `/api/v1/interactions`: calls, e-mails, meetings and notes with clients, and the
//! tenant's interaction kinds.

use super::pagination::{page_of, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::interactions::{self, Interaction, InteractionFilter, InteractionKind};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::interactions::{InteractionInput, InteractionPatch};
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Filters and paging of `GET /interactions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only this client's.
    client_id: Option<Uuid>,
    /// Only with this contact.
    contact_id: Option<Uuid>,
    /// Only of this kind.
    kind: Option<String>,
}

/// Lists interactions, newest logged first.
#[utoipa::path(get, path = "/interactions", tag = "interactions", params(InteractionListParams), security(("api_key" = [])),
    responses((status = 200, body = Listed<Interaction>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_interactions(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<InteractionListParams>,
) -> Result<Json<Listed<Interaction>>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let filter = InteractionFilter {
        client_id: params.client_id,
        contact_id: params.contact_id,
        kind: params.kind,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let page = interactions::list_interactions(&mut tx, &filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(page)))
}

/// Logs an interaction; `user_id` defaults to the caller, `occurred_at` to now.
#[utoipa::path(post, path = "/interactions", tag = "interactions", request_body = InteractionInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Interaction), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_interaction(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(mut body): ApiJson<InteractionInput>,
) -> Result<(StatusCode, Json<Interaction>), ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    body.user_id = body.user_id.or(Some(caller.user_id));
    let draft = body.validate(chrono::Utc::now())?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let interaction =
        interactions::create_interaction(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(interaction)))
}

/// One interaction.
#[utoipa::path(get, path = "/interactions/{id}", tag = "interactions", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Interaction id")),
    responses((status = 200, body = Interaction), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_interaction(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Interaction>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let interaction = interactions::find_interaction(&mut tx, id).await?;
    tx.commit().await?;
    interaction
        .map(Json)
        .ok_or_else(|| ApiError::not_found("interaction"))
}

/// Changes an interaction.
#[utoipa::path(patch, path = "/interactions/{id}", tag = "interactions", request_body = InteractionPatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Interaction id")),
    responses((status = 200, body = Interaction), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_interaction(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<InteractionPatch>,
) -> Result<Json<Interaction>, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let interaction = interactions::update_interaction(
        &mut tx,
        id,
        patch,
        chrono::Utc::now(),
        Some(caller.user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(interaction))
}

/// Deletes an interaction (kept in the audit trail).
#[utoipa::path(delete, path = "/interactions/{id}", tag = "interactions", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Interaction id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn delete_interaction(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    interactions::archive_interaction(&mut tx, id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The interaction kinds.
#[derive(Serialize, ToSchema)]
pub struct KindList {
    /// Built-ins first, then the tenant's.
    data: Vec<InteractionKind>,
}

/// Lists interaction kinds.
#[utoipa::path(get, path = "/interaction-kinds", tag = "interactions", security(("api_key" = [])),
    responses((status = 200, body = KindList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_kinds(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<KindList>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = interactions::list_kinds(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(KindList { data }))
}

/// A tenant interaction kind to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKind {
    /// 2–40 lowercase letters, digits or `_`, starting with a letter (`site_visit`).
    #[schema(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    key: String,
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    label: String,
}

/// Adds a tenant interaction kind (Admin: `tenant:manage`).
#[utoipa::path(post, path = "/interaction-kinds", tag = "interactions", request_body = CreateKind, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = InteractionKind), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_kind(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateKind>,
) -> Result<(StatusCode, Json<InteractionKind>), ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut issues = engine::validation::Issues::default();
    let key = issues.check("key", engine::interactions::kind_key(&body.key));
    let label = issues.check(
        "label",
        engine::validation::required_text(Some(&body.label), 100),
    );
    let (key, label) = issues.finish(|| (key.unwrap_or_default(), label.unwrap_or_default()))?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let kind = interactions::create_kind(&mut tx, &key, &label, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(kind)))
}
