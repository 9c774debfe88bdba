//! `/api/v1/tickets`: tickets, their comments and SLA history.

use super::pagination::{page_of, search_of};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::sla::{self, SlaAuditEntry};
use activities::tickets::comments::{self, Comment};
use activities::tickets::{self, Ticket, TicketFilter};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use engine::tickets::{TicketInput, TicketPatch};
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A ticket's SLA, as kept by its TicketSla workflow.
#[derive(Serialize, ToSchema)]
pub struct SlaBody {
    /// `pending` (workflow not started yet), `running`, `paused`, `no_target`, `completed`.
    state: String,
    /// The policy in force.
    policy_id: Option<Uuid>,
    /// First response due.
    response_due_at: Option<DateTime<Utc>>,
    /// First public reply.
    first_response_at: Option<DateTime<Utc>>,
    /// Whether the response target was met (null while open).
    response_met: Option<bool>,
    /// Resolution due.
    resolution_due_at: Option<DateTime<Utc>>,
    /// Resolved or closed at.
    resolved_at: Option<DateTime<Utc>>,
    /// Whether the resolution target was met (null while open).
    resolution_met: Option<bool>,
    /// Paused since.
    paused_since: Option<DateTime<Utc>>,
    /// Business seconds spent paused.
    paused_seconds: i64,
    /// 0–3.
    escalation_level: i16,
}

/// A ticket.
#[derive(Serialize, ToSchema)]
pub struct TicketBody {
    id: Uuid,
    /// `T-000123`: per tenant, gap-free.
    number: String,
    client_id: Uuid,
    contact_id: Option<Uuid>,
    title: String,
    description: String,
    /// Status name.
    status: String,
    /// Whether the status closes the ticket.
    is_closed: bool,
    /// Priority name.
    priority: String,
    /// Board name.
    board: String,
    category: Option<String>,
    subcategory: Option<String>,
    assigned_to: Option<Uuid>,
    additional_agents: Vec<Uuid>,
    due_at: Option<DateTime<Utc>>,
    tags: Vec<String>,
    /// `ui`, `api`, `email` or `playbook`.
    origin: String,
    /// `awaiting_client` or `awaiting_internal`.
    response_state: Option<String>,
    #[schema(value_type = Object)]
    attributes: serde_json::Value,
    impact: Option<i16>,
    urgency: Option<i16>,
    sla: SlaBody,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl From<Ticket> for TicketBody {
    fn from(t: Ticket) -> Self {
        TicketBody {
            sla: SlaBody {
                state: t.sla_state,
                policy_id: t.sla_policy_id,
                response_due_at: t.response_due_at,
                first_response_at: t.first_response_at,
                response_met: t.response_met,
                resolution_due_at: t.resolution_due_at,
                resolved_at: t.resolved_at,
                resolution_met: t.resolution_met,
                paused_since: t.sla_paused_at,
                paused_seconds: t.sla_paused_seconds,
                escalation_level: t.escalation_level,
            },
            id: t.id,
            number: t.number,
            client_id: t.client_id,
            contact_id: t.contact_id,
            title: t.title,
            description: t.description,
            status: t.status,
            is_closed: t.is_closed,
            priority: t.priority,
            board: t.board,
            category: t.category,
            subcategory: t.subcategory,
            assigned_to: t.assigned_to,
            additional_agents: t.additional_agents,
            due_at: t.due_at,
            tags: t.tags,
            origin: t.origin,
            response_state: t.response_state,
            attributes: t.attributes,
            impact: t.impact,
            urgency: t.urgency,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
            closed_at: t.closed_at,
        }
    }
}

/// One page of tickets.
#[derive(Serialize, ToSchema)]
pub struct TicketList {
    data: Vec<TicketBody>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// Filters, order and paging of `GET /tickets`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only this client's tickets.
    client_id: Option<Uuid>,
    /// Only in this status (name).
    status: Option<String>,
    /// Only of this priority (name).
    priority: Option<String>,
    /// Only on this board (name).
    board: Option<String>,
    /// Only assigned to this user.
    assigned_to: Option<Uuid>,
    /// Only open tickets.
    open: Option<bool>,
    /// Only open tickets past 75 % of their resolution target, or breached.
    sla_at_risk: Option<bool>,
    /// Search number and title.
    #[param(max_length = 100)]
    q: Option<String>,
    /// `newest` (default) or `sla_due` (soonest resolution deadline first).
    sort: Option<String>,
}

/// Lists tickets.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(TicketListParams), security(("api_key" = [])),
    responses((status = 200, body = TicketList), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_tickets(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<TicketListParams>,
) -> Result<Json<TicketList>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let by_sla_due = match params.sort.as_deref() {
        None | Some("newest") => false,
        Some("sla_due") => true,
        Some(_) => return Err(ApiError::invalid_field("sort", "must be newest or sla_due")),
    };
    // Sorted by due time, pages are by offset (the cursor is the offset).
    let (page, offset) = if by_sla_due {
        let offset = match params.cursor.as_deref() {
            None | Some("") => 0,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|o| *o >= 0)
                .ok_or_else(|| {
                    ApiError::invalid_field("cursor", "is not a cursor returned by this endpoint")
                })?,
        };
        (page_of(params.limit, None)?, offset)
    } else {
        (page_of(params.limit, params.cursor)?, 0)
    };
    let filter = TicketFilter {
        client_id: params.client_id,
        status: params.status,
        priority: params.priority,
        board: params.board,
        assigned_to: params.assigned_to,
        open_only: params.open.unwrap_or(false),
        sla_at_risk: params.sla_at_risk.unwrap_or(false),
        search: search_of(params.q.as_deref())?,
        by_sla_due,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let page = tickets::list_tickets(&mut tx, &filter, page, offset).await?;
    tx.commit().await?;
    let next_cursor = match (by_sla_due, page.next_cursor) {
        (true, Some(_)) => Some((offset + page.data.len() as i64).to_string()),
        (false, next) => next.map(|id| id.to_string()),
        (true, None) => None,
    };
    Ok(Json(TicketList {
        data: page.data.into_iter().map(TicketBody::from).collect(),
        next_cursor,
    }))
}

/// Opens a ticket. Its SLA workflow starts from the `ticket.created` event.
#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = TicketInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TicketBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_ticket(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TicketInput>,
) -> Result<(StatusCode, Json<TicketBody>), ApiError> {
    require(&caller, Permission::TICKET_CREATE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let ticket = tickets::create_ticket(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(ticket.into())))
}

/// One ticket.
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, body = TicketBody), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_ticket(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TicketBody>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let ticket = tickets::find_ticket(&mut tx, id).await?;
    tx.commit().await?;
    ticket
        .map(|t| Json(t.into()))
        .ok_or_else(|| ApiError::not_found("ticket"))
}

/// Changes a ticket; `{status}` moves it (the SLA workflow follows), closing a
/// closed ticket is a conflict.
#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", request_body = TicketPatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, body = TicketBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_ticket(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<TicketPatch>,
) -> Result<Json<TicketBody>, ApiError> {
    require(&caller, Permission::TICKET_UPDATE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let ticket = tickets::update_ticket(&mut tx, id, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(ticket.into()))
}

/// A ticket's comments.
#[derive(Serialize, ToSchema)]
pub struct CommentList {
    /// Oldest first.
    data: Vec<Comment>,
}

/// Lists a ticket's comments.
#[utoipa::path(get, path = "/tickets/{id}/comments", tag = "tickets", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, body = CommentList), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn list_comments(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CommentList>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if tickets::find_ticket(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found("ticket"));
    }
    let data = comments::list_comments(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(CommentList { data }))
}

/// A comment to add or a new body for one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// 1–50,000 characters.
    #[schema(min_length = 1, max_length = 50000)]
    body: String,
    /// Visible to the MSP only (default false).
    #[serde(default)]
    internal: bool,
}

fn comment_body(text: &str) -> Result<String, ApiError> {
    engine::validation::required_text(Some(text), 50_000)
        .map_err(|e| ApiError::invalid_field("body", e.to_string()))
}

/// Adds a comment by the caller; the first public one is the ticket's first response.
#[utoipa::path(post, path = "/tickets/{id}/comments", tag = "tickets", request_body = CommentInput, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Ticket id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Comment), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_comment(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentInput>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    require(&caller, Permission::TICKET_UPDATE)?;
    let text = comment_body(&body.body)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let (comment, _) =
        comments::add_comment(&mut tx, id, &text, body.internal, caller.user_id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// Edits the caller's comment; the previous text is kept in its history.
#[utoipa::path(patch, path = "/tickets/{id}/comments/{comment_id}", tag = "tickets", request_body = CommentInput,
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Ticket id"), ("comment_id" = Uuid, Path, description = "Comment id")),
    responses((status = 200, body = Comment), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn edit_comment(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, comment_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<CommentInput>,
) -> Result<Json<Comment>, ApiError> {
    require(&caller, Permission::TICKET_UPDATE)?;
    let text = comment_body(&body.body)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let comment = comments::edit_comment(&mut tx, id, comment_id, &text, caller.user_id).await?;
    tx.commit().await?;
    Ok(Json(comment))
}

/// A ticket's SLA history.
#[derive(Serialize, ToSchema)]
pub struct SlaHistory {
    /// Transitions, oldest first.
    data: Vec<SlaAuditEntry>,
}

/// The SLA transitions of a ticket (started, paused, warnings, escalations, breaches).
#[utoipa::path(get, path = "/tickets/{id}/sla-audit", tag = "tickets", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, body = SlaHistory), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn sla_audit(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<SlaHistory>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if tickets::find_ticket(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found("ticket"));
    }
    let data = sla::sla_history(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(SlaHistory { data }))
}

/// The ticket's SLA clock as its running workflow sees it (the `state` query).
#[derive(Serialize, ToSchema)]
pub struct LiveSla {
    /// `pending`, `running`, `paused`, `no_target` or `completed`.
    state: String,
    /// The next milestone (`{kind, measure|level, percent}`) and when it fires.
    #[schema(value_type = Option<Object>)]
    next: Option<serde_json::Value>,
    /// Response due.
    response_due_at: Option<DateTime<Utc>>,
    /// Resolution due.
    resolution_due_at: Option<DateTime<Utc>>,
    /// Highest escalation level reached.
    escalation_level: u8,
    /// Milestones fired, in order.
    #[schema(value_type = Vec<Object>)]
    fired: Vec<serde_json::Value>,
}

/// Asks the ticket's SLA workflow for its state. 404 when the ticket is unknown or
/// its workflow has ended (closed tickets: see the ticket's `sla` and `/sla-audit`).
#[utoipa::path(get, path = "/tickets/{id}/sla", tag = "tickets", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, body = LiveSla), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn live_sla(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<LiveSla>, ApiError> {
    require(&caller, Permission::TICKET_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let ticket = tickets::find_ticket(&mut tx, id).await?;
    tx.commit().await?;
    if ticket.is_none() {
        return Err(ApiError::not_found("ticket"));
    }
    let temporal = app.temporal().await?;
    let view = temporal
        .ticket_sla_state(caller.tenant, id)
        .await
        .map_err(|e| match e {
            activities::temporal::TemporalError::NotFound => {
                ApiError::not_found("running SLA workflow")
            }
            activities::temporal::TemporalError::Unreachable { .. } => ApiError::unavailable(e),
            other => ApiError::not_found(&format!("running SLA workflow ({other})")),
        })?;
    Ok(Json(LiveSla {
        state: view.state,
        next: view
            .next
            .map(|(m, at)| serde_json::json!({ "milestone": m, "at": at })),
        response_due_at: view.response_due_at,
        resolution_due_at: view.resolution_due_at,
        escalation_level: view.escalation_level,
        fired: view
            .fired
            .iter()
            .map(|m| serde_json::to_value(m).unwrap_or_default())
            .collect(),
    }))
}
