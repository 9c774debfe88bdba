//! Time entries and timesheets. Users log and change their own time
//! (`time_entry:write`); approvers (`timesheet:approve`) see and change anyone's.

use crate::api::pagination::{page_of, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::access::Principal;
use activities::temporal::TemporalError;
use activities::time::approval::{self, SheetFilter, TimesheetComment};
use activities::time::periods::{self, TimeSettings};
use activities::time::timer::{self, StartTimer, StopTimer, Timer};
use activities::time::{self, EntryFilter, TimeEntry, Timesheet, TimesheetView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use engine::time::entries::TimeEntryInput;
use engine::time::timesheets::{Actor, TimesheetAction, TimesheetStatus};
use engine::workflows::timesheet_approval::{ApprovalInput, TimesheetDecision};
use engine::Permission;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::IntoParams;
use uuid::Uuid;

/// Whose time the caller may touch: their own, or anyone's with the approve permission.
fn require_for(caller: &Principal, user: Uuid) -> Result<(), ApiError> {
    require(caller, Permission::TIME_ENTRY_WRITE)?;
    if user != caller.user_id {
        require(caller, Permission::TIMESHEET_APPROVE)?;
    }
    Ok(())
}

/// Logs time. Overlapping entries of the same user are accepted and flagged
/// (`overlaps: true`); entries of a submitted or approved timesheet are locked (409).
#[utoipa::path(post, path = "/time-entries", tag = "time", request_body = TimeEntryInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TimeEntry), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_entry(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TimeEntryInput>,
) -> Result<(StatusCode, Json<TimeEntry>), ApiError> {
    let user = body.user_id.unwrap_or(caller.user_id);
    require_for(&caller, user)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if user != caller.user_id && activities::users::find_user(&mut tx, user).await?.is_none() {
        return Err(ApiError::invalid_field("user_id", "no such user"));
    }
    let entry = time::create_entry(&mut tx, user, body, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Filters of the entry list.
#[derive(Deserialize, IntoParams)]
pub struct EntryParams {
    /// Whose entries (default: the caller's; others need `timesheet:approve`).
    user_id: Option<Uuid>,
    /// Only this timesheet's entries.
    timesheet_id: Option<Uuid>,
    /// From this day on (`YYYY-MM-DD`).
    from: Option<NaiveDate>,
    /// Before this day.
    to: Option<NaiveDate>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Time entries, newest first.
#[utoipa::path(get, path = "/time-entries", tag = "time", security(("api_key" = [])), params(EntryParams),
    responses((status = 200, body = Listed<TimeEntry>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_entries(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<EntryParams>,
) -> Result<Json<Listed<TimeEntry>>, ApiError> {
    let user = params.user_id.unwrap_or(caller.user_id);
    require_for(&caller, user)?;
    let page = page_of(params.limit, params.cursor)?;
    let filter = EntryFilter {
        user_id: Some(user),
        timesheet_id: params.timesheet_id,
        from: params.from,
        to: params.to,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let entries = time::list_entries(&mut tx, filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(entries)))
}

/// An entry the caller may touch (someone else's is a 404 without `timesheet:approve`).
async fn entry_for(
    tx: &mut activities::db::TenantTx,
    caller: &Principal,
    id: Uuid,
) -> Result<TimeEntry, ApiError> {
    require(caller, Permission::TIME_ENTRY_WRITE)?;
    let entry = time::find_entry(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("time entry"))?;
    if entry.user_id != caller.user_id && !caller.can(Permission::TIMESHEET_APPROVE) {
        return Err(ApiError::not_found("time entry"));
    }
    Ok(entry)
}

/// One time entry.
#[utoipa::path(get, path = "/time-entries/{id}", tag = "time", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Time entry id")),
    responses((status = 200, body = TimeEntry), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_entry(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TimeEntry>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let entry = entry_for(&mut tx, &caller, id).await?;
    tx.commit().await?;
    Ok(Json(entry))
}

/// Changes an entry; the whole entry is validated again. A locked entry is a 409.
#[utoipa::path(patch, path = "/time-entries/{id}", tag = "time", request_body = TimeEntryInput, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Time entry id")),
    responses((status = 200, body = TimeEntry), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_entry(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<TimeEntryInput>,
) -> Result<Json<TimeEntry>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let before = entry_for(&mut tx, &caller, id).await?;
    if patch.user_id.is_some_and(|u| u != before.user_id) {
        return Err(ApiError::invalid_field(
            "user_id",
            "cannot be changed: delete the entry and log it for the other user",
        ));
    }
    let entry = time::update_entry(&mut tx, id, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(entry))
}

/// Deletes an entry (kept for the audit trail). A locked entry is a 409.
#[utoipa::path(delete, path = "/time-entries/{id}", tag = "time", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Time entry id")),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_entry(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    entry_for(&mut tx, &caller, id).await?;
    time::delete_entry(&mut tx, id, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which timesheet.
#[derive(Deserialize, IntoParams)]
pub struct TimesheetParams {
    /// Whose (default: the caller; others need `timesheet:approve`).
    user_id: Option<Uuid>,
    /// A day in the period (`YYYY-MM-DD`).
    date: NaiveDate,
}

/// The timesheet whose period contains `date`, created as a draft if none exists,
/// with its totals.
#[utoipa::path(get, path = "/timesheets", tag = "time", security(("api_key" = [])), params(TimesheetParams),
    responses((status = 200, body = TimesheetView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn get_timesheet(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<TimesheetParams>,
) -> Result<Json<TimesheetView>, ApiError> {
    let user = params.user_id.unwrap_or(caller.user_id);
    require_for(&caller, user)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if activities::users::find_user(&mut tx, user).await?.is_none() {
        return Err(ApiError::invalid_field("user_id", "no such user"));
    }
    let view = time::timesheet_view(&mut tx, user, params.date).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// A timesheet the caller may see: their own, or anyone's with `timesheet:approve`
/// (someone else's is a 404 without it).
pub(crate) async fn sheet_for(
    tx: &mut activities::db::TenantTx,
    caller: &Principal,
    id: Uuid,
) -> Result<Timesheet, ApiError> {
    // Approvers (Finance has no time of its own) see every sheet; others their own.
    if !caller.can(Permission::TIMESHEET_APPROVE) {
        require(caller, Permission::TIME_ENTRY_WRITE)?;
    }
    let sheet = time::find_sheet(tx, id, false)
        .await?
        .filter(|s| s.user_id == caller.user_id || caller.can(Permission::TIMESHEET_APPROVE))
        .ok_or_else(|| ApiError::not_found("timesheet"))?;
    Ok(sheet)
}

fn actor(caller: &Principal) -> Actor {
    Actor {
        user_id: caller.user_id,
        can_approve: caller.can(Permission::TIMESHEET_APPROVE),
    }
}

/// One timesheet with its totals.
#[utoipa::path(get, path = "/timesheets/{id}", tag = "time", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Timesheet id")),
    responses((status = 200, body = TimesheetView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_timesheet_by_id(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TimesheetView>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let sheet = sheet_for(&mut tx, &caller, id).await?;
    let view = time::view_of(&mut tx, sheet).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Filters of the timesheet list.
#[derive(Deserialize, IntoParams)]
pub struct SheetParams {
    /// Only this status (`SUBMITTED` for the approval queue).
    #[param(inline)]
    status: Option<TimesheetStatus>,
    /// Only this user's.
    user_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Timesheets of the team, newest first: the approvals queue
/// (`?status=SUBMITTED`). Needs `timesheet:approve`.
#[utoipa::path(get, path = "/timesheets/approvals", tag = "time", security(("api_key" = [])), params(SheetParams),
    responses((status = 200, body = Listed<Timesheet>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_timesheets(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<SheetParams>,
) -> Result<Json<Listed<Timesheet>>, ApiError> {
    require(&caller, Permission::TIMESHEET_APPROVE)?;
    let page = page_of(params.limit, params.cursor)?;
    let filter = SheetFilter {
        status: params.status,
        user_id: params.user_id,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let sheets = approval::list_sheets(&mut tx, filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(sheets)))
}

/// Hands the timesheet in: its entries lock and its approval workflow starts
/// (`approval_workflow_id`). Only its user submits it; a submitted or approved
/// timesheet is a 409.
#[utoipa::path(post, path = "/timesheets/{id}/submit", tag = "time", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Timesheet id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 200, body = TimesheetView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn submit_timesheet(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TimesheetView>, ApiError> {
    submit(&app, &caller, id).await.map(Json)
}

/// Submits the caller's timesheet and starts its approval workflow.
pub(crate) async fn submit(
    app: &AppState,
    caller: &Principal,
    id: Uuid,
) -> Result<TimesheetView, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    sheet_for(&mut tx, caller, id).await?;
    let sheet = approval::submit(&mut tx, id, actor(caller)).await?;
    let view = time::view_of(&mut tx, sheet).await?;
    tx.commit().await?;
    // Committed: the starter starts the approval from `timesheet.submitted` should
    // this start fail, so a Temporal hiccup is logged, not answered.
    let input = approval_input(caller, &view.sheet);
    match app.temporal().await {
        Ok(temporal) => {
            if let Err(error) = temporal.start_timesheet_approval(input).await {
                tracing::warn!(%error, timesheet = %id, "approval start deferred to the starter");
            }
        }
        Err(_) => tracing::warn!(timesheet = %id, "Temporal down: approval start deferred"),
    }
    Ok(view)
}

fn approval_input(caller: &Principal, sheet: &Timesheet) -> ApprovalInput {
    ApprovalInput {
        tenant: caller.tenant,
        timesheet_id: sheet.id,
        submission: u32::try_from(sheet.submission).unwrap_or(0),
    }
}

/// How long a decision request waits for the approval workflow to apply it
/// before answering 202.
const DECISION_WAIT: Duration = Duration::from_secs(10);

/// Sends a checked decision to the submission's approval workflow (starting it if
/// the starter has not yet), then waits for the workflow to apply it: 200 with the
/// decided timesheet, or 202 with the still-submitted one when no worker applied it
/// in time (it will when one runs).
pub(crate) async fn decide(
    app: &AppState,
    caller: &Principal,
    id: Uuid,
    action: TimesheetAction,
    reason: Option<String>,
) -> Result<(StatusCode, TimesheetView), ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    sheet_for(&mut tx, caller, id).await?;
    let sheet = approval::check(&mut tx, id, action, actor(caller)).await?;
    tx.commit().await?;
    let input = approval_input(caller, &sheet);
    let decision = TimesheetDecision {
        action,
        actor: caller.user_id,
        can_approve: caller.can(Permission::TIMESHEET_APPROVE),
        reason,
    };
    let temporal = app.temporal().await?;
    let signalled = match temporal
        .signal_timesheet_approval(&input, decision.clone())
        .await
    {
        Err(TemporalError::NotFound) => {
            temporal
                .start_timesheet_approval(input.clone())
                .await
                .map_err(ApiError::unavailable)?;
            temporal.signal_timesheet_approval(&input, decision).await
        }
        other => other,
    };
    signalled.map_err(|e| match e {
        TemporalError::NotFound => ApiError::conflict("the timesheet's approval has already ended"),
        other => ApiError::unavailable(other),
    })?;
    let deadline = tokio::time::Instant::now() + DECISION_WAIT;
    loop {
        let mut tx = app.db.tenant_tx(caller.tenant).await?;
        let now = time::sheet_of(&mut tx, id).await?;
        let decided = now.status != sheet.status || now.submission != sheet.submission;
        let view = time::view_of(&mut tx, now).await?;
        tx.commit().await?;
        if decided {
            return Ok((StatusCode::OK, view));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok((StatusCode::ACCEPTED, view));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Approves a submitted timesheet through its approval workflow; its entries stay
/// locked and its billable time becomes billable. Needs `timesheet:approve`; one's
/// own timesheet only where the tenant allows self-approval (else 403).
#[utoipa::path(post, path = "/timesheets/{id}/approve", tag = "time", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Timesheet id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 200, body = TimesheetView, description = "Approved"),
              (status = 202, body = TimesheetView, description = "Handed to the approval workflow, which applies it when a worker runs"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn approve_timesheet(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<TimesheetView>), ApiError> {
    let (status, view) = decide(&app, &caller, id, TimesheetAction::Approve, None).await?;
    Ok((status, Json(view)))
}

/// Why a timesheet goes back.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// What to change (1 to 2000 characters); the user sees it.
    reason: String,
}

/// Sends a submitted timesheet back to its user for changes (through its approval
/// workflow), or takes an approval back (a manager's reversal): either way the
/// entries unlock and the reason becomes a comment.
#[utoipa::path(post, path = "/timesheets/{id}/reject", tag = "time", request_body = RejectBody, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Timesheet id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 200, body = TimesheetView, description = "Sent back"),
              (status = 202, body = TimesheetView, description = "Handed to the approval workflow, which applies it when a worker runs"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem)))]
pub async fn reject_timesheet(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<(StatusCode, Json<TimesheetView>), ApiError> {
    let (status, view) = send_back(&app, &caller, id, &body.reason).await?;
    Ok((status, Json(view)))
}

/// Sends a submitted timesheet back for changes, or reverses an approval.
pub(crate) async fn send_back(
    app: &AppState,
    caller: &Principal,
    id: Uuid,
    reason: &str,
) -> Result<(StatusCode, TimesheetView), ApiError> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::invalid_field(
            "reason",
            "must be 1 to 2000 characters",
        ));
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let sheet = sheet_for(&mut tx, caller, id).await?;
    if sheet.status == TimesheetStatus::Approved.as_str() {
        // The approval workflow has ended: the reversal is one transaction.
        let sheet = approval::reverse(&mut tx, id, actor(caller), &reason).await?;
        let view = time::view_of(&mut tx, sheet).await?;
        tx.commit().await?;
        return Ok((StatusCode::OK, view));
    }
    tx.commit().await?;
    decide(
        app,
        caller,
        id,
        TimesheetAction::RequestChanges,
        Some(reason),
    )
    .await
}

/// A timesheet's comments, oldest first.
#[utoipa::path(get, path = "/timesheets/{id}/comments", tag = "time", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Timesheet id")),
    responses((status = 200, body = Vec<TimesheetComment>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_comments(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<TimesheetComment>>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    sheet_for(&mut tx, &caller, id).await?;
    let comments = approval::comments(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(comments))
}

/// A comment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// The text, 1 to 10000 characters.
    body: String,
}

/// Comments on a timesheet (its user or an approver).
#[utoipa::path(post, path = "/timesheets/{id}/comments", tag = "time", request_body = CommentBody, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Timesheet id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TimesheetComment), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_comment(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<(StatusCode, Json<TimesheetComment>), ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    sheet_for(&mut tx, &caller, id).await?;
    let comment = approval::add_comment(&mut tx, id, caller.user_id, &body.body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// The window of the period list.
#[derive(Deserialize, IntoParams)]
pub struct PeriodParams {
    /// From this day (`YYYY-MM-DD`).
    from: NaiveDate,
    /// Before this day (at most 3 years after `from`).
    to: NaiveDate,
}

/// The tenant's time periods made so far that overlap `[from, to)`, in order.
#[utoipa::path(get, path = "/time-periods", tag = "time", security(("api_key" = [])), params(PeriodParams),
    responses((status = 200, body = Vec<PeriodView>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_periods(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PeriodParams>,
) -> Result<Json<Vec<PeriodView>>, ApiError> {
    require(&caller, Permission::TIME_ENTRY_WRITE)?;
    if params.to <= params.from || (params.to - params.from).num_days() > 3 * 366 {
        return Err(ApiError::invalid_field(
            "to",
            "must be after from, at most 3 years later",
        ));
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let periods = periods::list_periods(&mut tx, params.from, params.to).await?;
    tx.commit().await?;
    Ok(Json(periods.into_iter().map(PeriodView::from).collect()))
}

/// A time period: `start` inclusive, `end` exclusive.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PeriodView {
    /// First day.
    start: NaiveDate,
    /// The day after the last day.
    end: NaiveDate,
}

impl From<engine::time::periods::Period> for PeriodView {
    fn from(p: engine::time::periods::Period) -> Self {
        PeriodView {
            start: p.start,
            end: p.end,
        }
    }
}

/// The tenant's time settings.
#[utoipa::path(get, path = "/time-settings", tag = "time", security(("api_key" = [])),
    responses((status = 200, body = TimeSettings), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_settings(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<TimeSettings>, ApiError> {
    require(&caller, Permission::TIME_ENTRY_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let settings = periods::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(settings))
}

/// Replaces the tenant's time settings (`tenant:manage`). A new cadence applies to
/// periods not made yet.
#[utoipa::path(put, path = "/time-settings", tag = "time", request_body = TimeSettings, security(("api_key" = [])),
    responses((status = 200, body = TimeSettings), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_settings(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TimeSettings>,
) -> Result<Json<TimeSettings>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let settings = periods::save_settings(&mut tx, &body, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(settings))
}

/// The caller's timer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TimerView {
    /// Whether a timer runs.
    running: bool,
    /// The running timer.
    timer: Option<Timer>,
    /// Seconds since it started.
    elapsed_seconds: Option<i64>,
}

fn timer_view(timer: Option<Timer>) -> TimerView {
    TimerView {
        running: timer.is_some(),
        elapsed_seconds: timer
            .as_ref()
            .map(|t| (chrono::Utc::now() - t.started_at).num_seconds()),
        timer,
    }
}

/// The caller's running timer, if any (kept on the server: it survives a browser
/// restart).
#[utoipa::path(get, path = "/timer", tag = "time", security(("api_key" = [])),
    responses((status = 200, body = TimerView), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_timer(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<TimerView>, ApiError> {
    require(&caller, Permission::TIME_ENTRY_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let timer = timer::current(&mut tx, caller.user_id).await?;
    tx.commit().await?;
    Ok(Json(timer_view(timer)))
}

/// Starts the caller's timer on a ticket or client (one at a time: 409 if one runs).
#[utoipa::path(post, path = "/timer/start", tag = "time", request_body = StartTimer, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TimerView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn start_timer(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<StartTimer>,
) -> Result<(StatusCode, Json<TimerView>), ApiError> {
    require(&caller, Permission::TIME_ENTRY_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let timer = timer::start(&mut tx, caller.user_id, body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(timer_view(Some(timer)))))
}

/// Stops the caller's timer and logs its time as an entry (whole minutes, rounded up).
#[utoipa::path(post, path = "/timer/stop", tag = "time", request_body = StopTimer, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TimeEntry), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn stop_timer(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<StopTimer>,
) -> Result<(StatusCode, Json<TimeEntry>), ApiError> {
    require(&caller, Permission::TIME_ENTRY_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let entry = timer::stop(&mut tx, caller.user_id, body, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Throws the caller's running timer away without logging time.
#[utoipa::path(delete, path = "/timer", tag = "time", security(("api_key" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn discard_timer(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::TIME_ENTRY_WRITE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let discarded = timer::discard(&mut tx, caller.user_id).await?;
    tx.commit().await?;
    if discarded {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("running timer"))
    }
}
