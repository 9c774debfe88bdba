//! `/api/v1/users`: the tenant's people.

use super::pagination::ListParams;
use crate::auth::{require, Caller};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::credentials::hash_password;
use activities::users::{self, NewUser, User, UserError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use engine::{Email, Permission};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A user of the tenant.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    id: Uuid,
    email: String,
    full_name: String,
    /// Role names, e.g. `["Technician"]`.
    roles: Vec<String>,
    is_active: bool,
    created_at: DateTime<Utc>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        UserBody {
            id: user.id,
            email: user.email,
            full_name: user.full_name,
            roles: user.roles,
            is_active: user.is_active,
            created_at: user.created_at,
        }
    }
}

/// One page of users.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    data: Vec<UserBody>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// A user to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Unique in the tenant.
    #[schema(example = "ann@example.com", format = "email", max_length = 254)]
    email: String,
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    full_name: String,
    /// Shipped roles: Admin, Dispatcher, Technician, Finance, Read-only.
    #[schema(example = json!(["Technician"]), min_items = 1)]
    roles: Vec<String>,
    /// At least 12 characters; omit for a user who signs in only with API keys for now.
    #[schema(min_length = 12)]
    password: Option<String>,
}

const MIN_PASSWORD_CHARS: usize = 12;

impl CreateUser {
    fn validate(&self) -> Result<Email, ApiError> {
        let mut errors = Vec::new();
        let mut field = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
                ..Default::default()
            })
        };
        let email = Email::parse(&self.email);
        if let Err(e) = &email {
            field("email", &e.to_string());
        }
        let name_chars = self.full_name.trim().chars().count();
        if !(1..=200).contains(&name_chars) {
            field("full_name", "must be 1 to 200 characters");
        }
        if self.roles.is_empty() {
            field("roles", "must name at least one role");
        }
        if self
            .password
            .as_ref()
            .is_some_and(|p| p.chars().count() < MIN_PASSWORD_CHARS)
        {
            field("password", "must be at least 12 characters");
        }
        match email {
            Ok(email) if errors.is_empty() => Ok(email),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// Lists the tenant's users, newest first.
#[utoipa::path(get, path = "/users", tag = "users", params(ListParams), security(("api_key" = [])),
    responses((status = 200, body = UserList), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_users(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<UserList>, ApiError> {
    require(&caller, Permission::USER_READ)?;
    let page = params.page()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let page = users::list_users(&mut tx, page).await?;
    tx.commit().await?;
    Ok(Json(UserList {
        data: page.data.into_iter().map(UserBody::from).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    }))
}

/// Creates a user with roles (Admin only).
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = UserBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_user(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<UserBody>), ApiError> {
    require(&caller, Permission::USER_CREATE)?;
    let email = body.validate()?;
    let password_hash = match body.password {
        Some(password) => Some(
            tokio::task::spawn_blocking(move || hash_password(&password))
                .await
                .map_err(ApiError::internal)?,
        ),
        None => None,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let new = NewUser {
        email: &email,
        full_name: body.full_name.trim(),
        password_hash,
        roles: &body.roles,
    };
    let user = users::create_user(&mut tx, new, Some(caller.user_id))
        .await
        .map_err(|e| match e {
            UserError::EmailTaken(_) => ApiError::conflict(e.to_string()),
            UserError::UnknownRole(_) => ApiError::invalid_field("roles", e.to_string()),
            UserError::Db(db) => db.into(),
        })?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// One user of the tenant.
#[utoipa::path(get, path = "/users/{id}", tag = "users", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = UserBody), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_user(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<UserBody>, ApiError> {
    require(&caller, Permission::USER_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let user = users::find_user(&mut tx, id).await?;
    tx.commit().await?;
    user.map(|u| Json(u.into()))
        .ok_or_else(|| ApiError::not_found("user"))
}

/// What `PATCH /users/{id}` changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// False deactivates the user: no login, no API keys, sessions ended.
    pub is_active: bool,
}

/// Deactivates or reactivates a user. Nobody deactivates themselves (someone
/// must be left to undo it).
#[utoipa::path(patch, path = "/users/{id}", tag = "users", request_body = UpdateUser, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = UserBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_user(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Json<UserBody>, ApiError> {
    require(&caller, Permission::USER_UPDATE)?;
    if id == caller.user_id && !body.is_active {
        return Err(ApiError::conflict("you cannot deactivate yourself"));
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let user = users::set_active(&mut tx, id, body.is_active, Some(caller.user_id)).await?;
    tx.commit().await?;
    app.principals.clear();
    user.map(|u| Json(u.into()))
        .ok_or_else(|| ApiError::not_found("user"))
}
