//! `/api/v1/api-keys`: the caller's own API keys.

use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::AppState;
use activities::audit::{self, AuditEntry};
use activities::credentials::{self, ApiKeyInfo};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An API key, without its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyBody {
    id: Uuid,
    name: String,
    /// The key's first characters, to recognise it.
    secret_prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyInfo> for ApiKeyBody {
    fn from(key: ApiKeyInfo) -> Self {
        ApiKeyBody {
            id: key.id,
            name: key.name,
            secret_prefix: key.secret_prefix,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// The caller's keys.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    data: Vec<ApiKeyBody>,
    next_cursor: Option<String>,
}

/// A key to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// A label, 1 to 100 characters, e.g. "RMM integration".
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"\S",
        example = "RMM integration"
    )]
    name: String,
}

/// A newly issued key: `key` is shown this once and never again.
#[derive(Serialize, ToSchema)]
pub struct IssuedApiKey {
    #[serde(flatten)]
    info: ApiKeyBody,
    key: String,
}

/// Lists the caller's API keys, newest first.
#[utoipa::path(get, path = "/api-keys", tag = "api-keys", security(("api_key" = [])),
    responses((status = 200, body = ApiKeyList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ApiKeyList>, ApiError> {
    require(&caller, Permission::API_KEY_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let keys = credentials::api_keys_of(&mut tx, caller.user_id).await?;
    tx.commit().await?;
    Ok(Json(ApiKeyList {
        data: keys.into_iter().map(ApiKeyBody::from).collect(),
        next_cursor: None,
    }))
}

/// Issues an API key for the caller.
#[utoipa::path(post, path = "/api-keys", tag = "api-keys", request_body = CreateApiKey, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = IssuedApiKey), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<IssuedApiKey>), ApiError> {
    require(&caller, Permission::API_KEY_MANAGE)?;
    let name = body.name.trim();
    if !(1..=100).contains(&name.chars().count()) {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let (info, key) = credentials::issue_api_key(&mut tx, caller.user_id, name).await?;
    let details = serde_json::json!({ "name": info.name });
    audit::record(
        &mut tx,
        AuditEntry {
            actor: Some(caller.user_id),
            action: "api_key.created",
            resource: "api_key",
            resource_id: Some(info.id),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiKey {
            info: info.into(),
            key,
        }),
    ))
}

/// Revokes one of the caller's keys; it stops working at once.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "api-keys", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::API_KEY_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if !credentials::revoke_api_key(&mut tx, caller.user_id, id).await? {
        return Err(ApiError::not_found("API key"));
    }
    audit::record(
        &mut tx,
        AuditEntry {
            actor: Some(caller.user_id),
            action: "api_key.revoked",
            resource: "api_key",
            resource_id: Some(id),
            details: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    app.credentials_changed().await;
    Ok(StatusCode::NO_CONTENT)
}
