//! `/api/v1/contacts`: the people at clients.

use super::pagination::{page_of, search_of, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::contacts::{self, Contact, ContactFilter};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::contacts::{ContactInput, ContactPatch};
use engine::Permission;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// Filters and paging of `GET /contacts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only this client's contacts.
    client_id: Option<Uuid>,
    /// Search name, primary e-mail and role (case- and accent-insensitive).
    #[param(max_length = 100)]
    q: Option<String>,
    /// `true` for inactive contacts only, `false` for active only.
    is_inactive: Option<bool>,
    /// Include archived (deleted) contacts.
    include_archived: Option<bool>,
}

/// Lists contacts, newest first.
#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ContactListParams), security(("api_key" = [])),
    responses((status = 200, body = Listed<Contact>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_contacts(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ContactListParams>,
) -> Result<Json<Listed<Contact>>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let filter = ContactFilter {
        client_id: params.client_id,
        search: search_of(params.q.as_deref())?,
        is_inactive: params.is_inactive,
        include_archived: params.include_archived.unwrap_or(false),
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let page = contacts::list_contacts(&mut tx, &filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(page)))
}

/// Creates a contact of a client.
#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = ContactInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Contact), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_contact(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ContactInput>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let contact = contacts::create_contact(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

/// One contact (archived ones too).
#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Contact id")),
    responses((status = 200, body = Contact), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_contact(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Contact>, ApiError> {
    require(&caller, Permission::CLIENT_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let contact = contacts::find_contact(&mut tx, id).await?;
    tx.commit().await?;
    contact
        .map(Json)
        .ok_or_else(|| ApiError::not_found("contact"))
}

/// Changes a contact; a new `client_id` moves it to that client, `email`/`phone` set
/// the primary address and number.
#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", request_body = ContactPatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Contact id")),
    responses((status = 200, body = Contact), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_contact(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ContactPatch>,
) -> Result<Json<Contact>, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let contact = contacts::update_contact(&mut tx, id, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(contact))
}

/// Archives a contact; its primary e-mail becomes free.
#[utoipa::path(delete, path = "/contacts/{id}", tag = "contacts", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Contact id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn delete_contact(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::CLIENT_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    contacts::archive_contact(&mut tx, id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
