//! `/api/v1/playbook-http-hosts`: the tenant's HTTP allow-list, the hosts its
//! playbooks may call with `http_request` (see
//! [`activities::playbooks::http_hosts`]). Anyone who reads playbooks sees it;
//! tenant managers change it, audited.

use super::pagination::{ListParams, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::playbooks::http_hosts::{self, HttpHost};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::Permission;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A pattern to allow.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHttpHost {
    /// An exact host (`api.example.com`), a wildcard over its subdomains
    /// (`*.example.com`, not the apex) or an IP address (`127.0.0.1`, `[::1]`),
    /// optionally with a port (`127.0.0.1:8099`); without one, only the scheme's
    /// default port (80 or 443) is allowed. No scheme, no path.
    #[schema(min_length = 1, max_length = 253, example = "api.example.com")]
    pattern: String,
}

/// The hosts the tenant's playbooks may call, newest first.
#[utoipa::path(get, path = "/playbook-http-hosts", tag = "playbooks", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = Listed<HttpHost>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_http_hosts(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Listed<HttpHost>>, ApiError> {
    require(&caller, Permission::PLAYBOOK_READ)?;
    let page = params.page()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let hosts = http_hosts::list_hosts(&mut tx, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(hosts)))
}

/// Allows a host pattern (stored in lower case); 409 when it is already allowed.
#[utoipa::path(post, path = "/playbook-http-hosts", tag = "playbooks", request_body = NewHttpHost, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = HttpHost), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_http_host(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewHttpHost>,
) -> Result<(StatusCode, Json<HttpHost>), ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let added = http_hosts::add_host(&mut tx, &body.pattern, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Removes a pattern; calls it allowed are refused from the next call on.
#[utoipa::path(delete, path = "/playbook-http-hosts/{id}", tag = "playbooks", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The pattern's id")),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn remove_http_host(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    http_hosts::remove_host(&mut tx, id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
