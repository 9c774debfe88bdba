//! Ticket settings: statuses, priorities, boards, SLA policies and business hours.

use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::AppState;
use activities::sla::{self, BusinessHours, SlaPolicy};
use activities::tickets::config::{self, Board, BoardPatch, Priority, Status};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::sla::policy::{BusinessHoursInput, PolicyInput};
use engine::Permission;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A list without paging (settings are few).
#[derive(Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    /// The items.
    pub data: Vec<T>,
}

/// The tenant's ticket statuses.
#[utoipa::path(get, path = "/ticket-statuses", tag = "ticket-settings", security(("api_key" = [])),
    responses((status = 200, body = Items<Status>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_statuses(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Items<Status>>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = config::list_statuses(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Items { data }))
}

/// The tenant's ticket priorities.
#[utoipa::path(get, path = "/ticket-priorities", tag = "ticket-settings", security(("api_key" = [])),
    responses((status = 200, body = Items<Priority>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_priorities(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Items<Priority>>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = config::list_priorities(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Items { data }))
}

/// The tenant's boards.
#[utoipa::path(get, path = "/boards", tag = "ticket-settings", security(("api_key" = [])),
    responses((status = 200, body = Items<Board>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_boards(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Items<Board>>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = config::list_boards(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Items { data }))
}

/// Changes a board: ITIL mode, defaults, SLA policy, escalation managers.
#[utoipa::path(patch, path = "/boards/{id}", tag = "ticket-settings", request_body = BoardPatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Board id")),
    responses((status = 200, body = Board), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_board(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<BoardPatch>,
) -> Result<Json<Board>, ApiError> {
    require(&caller, Permission::SLA_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let board = config::update_board(&mut tx, id, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(board))
}

/// The tenant's SLA policies.
#[utoipa::path(get, path = "/sla-policies", tag = "ticket-settings", security(("api_key" = [])),
    responses((status = 200, body = Items<SlaPolicy>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_policies(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Items<SlaPolicy>>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = sla::list_policies(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Items { data }))
}

/// Creates an SLA policy: targets per priority (a priority without a target gets no
/// SLA timers), notification thresholds, escalation levels.
#[utoipa::path(post, path = "/sla-policies", tag = "ticket-settings", request_body = PolicyInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = SlaPolicy), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_policy(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<PolicyInput>,
) -> Result<(StatusCode, Json<SlaPolicy>), ApiError> {
    require(&caller, Permission::SLA_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let policy = sla::create_policy(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

/// The tenant's business-hours schedules.
#[utoipa::path(get, path = "/business-hours", tag = "ticket-settings", security(("api_key" = [])),
    responses((status = 200, body = Items<BusinessHours>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_business_hours(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Items<BusinessHours>>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = sla::list_business_hours(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Items { data }))
}

/// Creates a business-hours schedule (IANA timezone, windows per weekday, holidays).
#[utoipa::path(post, path = "/business-hours", tag = "ticket-settings", request_body = BusinessHoursInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = BusinessHours), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_business_hours(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<BusinessHoursInput>,
) -> Result<(StatusCode, Json<BusinessHours>), ApiError> {
    require(&caller, Permission::SLA_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let hours = sla::create_business_hours(&mut tx, &body, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(hours)))
}

/// A status to add.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStatus {
    /// 1–50 characters, unique (case-insensitive).
    #[schema(min_length = 1, max_length = 50)]
    name: String,
    /// Tickets in this status are closed.
    #[serde(default)]
    is_closed: bool,
    /// The SLA clock stops in this status.
    #[serde(default)]
    pauses_sla: bool,
    /// New tickets start here.
    #[serde(default)]
    is_default: bool,
}

/// Adds a ticket status.
#[utoipa::path(post, path = "/ticket-statuses", tag = "ticket-settings", request_body = CreateStatus, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Status), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_status(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateStatus>,
) -> Result<(StatusCode, Json<Status>), ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let name = setting_name(&body.name, 50)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let status = config::create_status(
        &mut tx,
        &name,
        body.is_closed,
        body.pauses_sla,
        body.is_default,
        Some(caller.user_id),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(status)))
}

/// A priority to add.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePriority {
    /// 1–50 characters, unique (case-insensitive).
    #[schema(min_length = 1, max_length = 50)]
    name: String,
    /// The ITIL level it stands for: 1 (Critical) to 5 (Planning).
    #[schema(minimum = 1, maximum = 5)]
    level: i16,
}

/// Adds a ticket priority.
#[utoipa::path(post, path = "/ticket-priorities", tag = "ticket-settings", request_body = CreatePriority, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Priority), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_priority(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreatePriority>,
) -> Result<(StatusCode, Json<Priority>), ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let name = setting_name(&body.name, 50)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let priority =
        config::create_priority(&mut tx, &name, body.level, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(priority)))
}

/// A board to add.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBoard {
    /// 1–100 characters, unique (case-insensitive).
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

/// Adds a board.
#[utoipa::path(post, path = "/boards", tag = "ticket-settings", request_body = CreateBoard, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Board), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_board(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateBoard>,
) -> Result<(StatusCode, Json<Board>), ApiError> {
    require(&caller, Permission::SLA_MANAGE)?;
    let name = setting_name(&body.name, 100)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let board = config::create_board(&mut tx, &name, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(board)))
}

fn setting_name(text: &str, max: usize) -> Result<String, ApiError> {
    engine::validation::required_text(Some(text), max)
        .map_err(|e| ApiError::invalid_field("name", e.to_string()))
}

/// A change to how ticket numbers look.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberingPatch {
    /// 0–10 characters of `A-Z`, `0-9`, `-`, `_`, `/`, e.g. `T-` or `HD-`.
    #[schema(max_length = 10)]
    prefix: Option<String>,
    /// Zero-padded digits, 1–12.
    #[schema(minimum = 1, maximum = 12)]
    padding: Option<i32>,
}

/// Changes the prefix or padding of new ticket numbers (`T-000123`). Issued numbers
/// keep their text and the counter goes on, so numbering stays gap-free.
#[utoipa::path(patch, path = "/ticket-numbering", tag = "ticket-settings", request_body = NumberingPatch, security(("api_key" = [])),
    responses((status = 200, body = activities::numbers::Numbering), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn configure_numbering(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NumberingPatch>,
) -> Result<Json<activities::numbers::Numbering>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    if let Some(prefix) = &body.prefix {
        let ok = prefix.len() <= 10
            && prefix.chars().all(|c| {
                c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '/')
            });
        if !ok {
            return Err(ApiError::invalid_field(
                "prefix",
                "must be at most 10 of A-Z, 0-9, '-', '_', '/'",
            ));
        }
    }
    if body.padding.is_some_and(|p| !(1..=12).contains(&p)) {
        return Err(ApiError::invalid_field(
            "padding",
            "must be between 1 and 12",
        ));
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let numbering =
        activities::numbers::configure(&mut tx, "ticket", body.prefix.as_deref(), body.padding)
            .await
            .map_err(|e| match e {
                activities::numbers::NumberError::Db(db) => ApiError::from(db),
                other => ApiError::conflict(other.to_string()),
            })?;
    activities::audit::record(
        &mut tx,
        activities::audit::AuditEntry {
            actor: Some(caller.user_id),
            action: "ticket_numbering.updated",
            resource: "number_sequence",
            resource_id: None,
            details: serde_json::json!({ "prefix": numbering.prefix, "padding": numbering.padding }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(numbering))
}
