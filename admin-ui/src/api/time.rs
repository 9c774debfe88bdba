//! Time entries and timesheets. Users log and change their own time
//! (`time_entry:write`); approvers (`timesheet:approve`) see and change anyone's.

use crate::api::pagination::{page_of, Listed};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::access::Principal;
use activities::time::{self, EntryFilter, TimeEntry, TimesheetView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use engine::time::entries::TimeEntryInput;
use engine::Permission;
use serde::Deserialize;
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
