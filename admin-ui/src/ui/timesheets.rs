//! A timesheet's page (its entries, comments and the actions its status allows:
//! submit, approve, request changes, reverse an approval) and the team approvals
//! page. Decisions go through the same path as the API: checked here, applied by
//! the timesheet's approval workflow; when no worker applies one within the wait,
//! the page says it is pending rather than pretending it happened.

use super::forms::{link, page_after, parse_id, FormErrors};
use super::lookups::{client_names, user_names};
use super::pages::{csrf_failure, forbidden_page, nav, not_found_page, render, PageResult};
use super::session::SignedIn;
use super::week_grid::hours;
use crate::api::time as time_api;
use crate::error::ApiError;
use crate::AppState;
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::time::approval::{self, SheetFilter};
use activities::time::{self, EntryFilter, TimesheetView};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::time::timesheets::{TimesheetAction, TimesheetStatus};
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `?pending=1` after a decision no worker has applied yet.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SheetQuery {
    pending: String,
}

/// A decision or comment form; `reason` and `body` only where they apply.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SheetForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    reason: String,
    body: String,
    /// `approvals` to go back to the approvals page after deciding.
    back: String,
}

pub async fn sheet(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<SheetQuery>,
) -> PageResult {
    if !may_see_sheets(&user) {
        return forbidden_page(&app, &user, Permission::TIME_ENTRY_WRITE);
    }
    let Some(id) = parse_id(&id) else {
        return not_found_page(&app, &user, "timesheet");
    };
    let notice = (!query.pending.is_empty()).then_some(
        "The decision is with the timesheet's approval workflow; it applies as soon as a worker runs.",
    );
    render_sheet(
        &app,
        &user,
        id,
        SheetForm::default(),
        None,
        notice,
        StatusCode::OK,
    )
    .await
}

async fn render_sheet(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    form: SheetForm,
    refusal: Option<ApiError>,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let sheet = match time_api::sheet_for(&mut tx, &user.0, id).await {
        Ok(sheet) => sheet,
        Err(_) => {
            tx.commit().await?;
            return not_found_page(app, user, "timesheet");
        }
    };
    let view = time::view_of(&mut tx, sheet).await?;
    let filter = EntryFilter {
        timesheet_id: Some(id),
        ..EntryFilter::default()
    };
    let request = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let page = time::list_entries(&mut tx, filter, request).await?;
    let truncated = page.next_cursor.is_some();
    let mut entries = page.data;
    entries.sort_by_key(|e| (e.work_date, e.started_at, e.created_at));
    let comments = approval::comments(&mut tx, id).await?;
    let clients = client_names(&mut tx, entries.iter().map(|e| e.client_id).collect()).await?;
    let people = comments
        .iter()
        .map(|c| c.author_id)
        .chain([view.sheet.user_id])
        .chain(view.sheet.decided_by)
        .collect();
    let names = user_names(&mut tx, people).await?;
    tx.commit().await?;
    let rows: Vec<minijinja::Value> = entries
        .iter()
        .map(|e| context! { entry => e, duration => hours(e.minutes.into()), billable => hours(e.billable_minutes.into()) })
        .collect();
    let mine = view.sheet.user_id == user.0.user_id;
    let state = TimesheetStatus::parse(&view.sheet.status).unwrap_or(TimesheetStatus::Draft);
    let approver = user.0.can(Permission::TIMESHEET_APPROVE);
    let (errors, error_message) = match &refusal {
        Some(error) => (
            FormErrors::from_issues(field_issues(error), &["reason", "body"]),
            Some(error.detail().to_owned()),
        ),
        None => (FormErrors::default(), None),
    };
    let ctx = context! {
        nav => nav(user),
        view, rows, truncated, comments, clients, names, form, errors, error_message, notice,
        total => hours(view.total_minutes), billable => hours(view.billable_minutes),
        can_submit => mine && state.entries_editable(),
        can_decide => approver && state == TimesheetStatus::Submitted,
        can_reverse => approver && state == TimesheetStatus::Approved,
    };
    Ok((status, render(app, "timesheet.html", ctx)?).into_response())
}

fn field_issues(error: &ApiError) -> Vec<engine::validation::FieldIssue> {
    error
        .field_errors()
        .iter()
        .map(|f| engine::validation::FieldIssue {
            field: f.field.clone(),
            message: f.message.clone(),
        })
        .collect()
}

/// Users who log time see their own sheets; approvers (Finance logs none) all.
fn may_see_sheets(user: &SignedIn) -> bool {
    user.0.can(Permission::TIME_ENTRY_WRITE) || user.0.can(Permission::TIMESHEET_APPROVE)
}

/// Where a decision leaves the user: the approvals page or the timesheet, with a
/// note when the workflow has not applied it yet.
fn after_decision(id: Uuid, status: StatusCode, back: &str) -> PageResult {
    let to = if status == StatusCode::ACCEPTED {
        format!("/time/sheets/{id}?pending=1")
    } else if back == "approvals" {
        "/time/approvals".to_owned()
    } else {
        format!("/time/sheets/{id}")
    };
    Ok(Redirect::to(&to).into_response())
}

/// Runs a timesheet action; a refusal the user can act on (4xx, or Temporal
/// unavailable) comes back on the timesheet's page with its status.
async fn act(
    app: &AppState,
    user: &SignedIn,
    id: &str,
    form: SheetForm,
    action: impl AsyncFnOnce(Uuid) -> Result<StatusCode, ApiError>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !may_see_sheets(user) {
        return forbidden_page(app, user, Permission::TIME_ENTRY_WRITE);
    }
    let Some(id) = parse_id(id) else {
        return not_found_page(app, user, "timesheet");
    };
    match action(id).await {
        Ok(status) => after_decision(id, status, &form.back),
        Err(error) if error.status() == StatusCode::NOT_FOUND => {
            not_found_page(app, user, "timesheet")
        }
        Err(error)
            if error.status().is_client_error()
                || error.status() == StatusCode::SERVICE_UNAVAILABLE =>
        {
            let status = error.status();
            render_sheet(app, user, id, form, Some(error), None, status).await
        }
        Err(error) => Err(error),
    }
}

pub async fn submit(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SheetForm>,
) -> PageResult {
    let caller = user.0.clone();
    act(&app, &user, &id, form, async |id| {
        time_api::submit(&app, &caller, id)
            .await
            .map(|_| StatusCode::OK)
    })
    .await
}

pub async fn approve(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SheetForm>,
) -> PageResult {
    let caller = user.0.clone();
    act(&app, &user, &id, form, async |id| {
        time_api::decide(&app, &caller, id, TimesheetAction::Approve, None)
            .await
            .map(|(status, _)| status)
    })
    .await
}

pub async fn reject(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SheetForm>,
) -> PageResult {
    let caller = user.0.clone();
    let reason = form.reason.clone();
    act(&app, &user, &id, form, async |id| {
        time_api::send_back(&app, &caller, id, &reason)
            .await
            .map(|(status, _)| status)
    })
    .await
}

pub async fn comment(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SheetForm>,
) -> PageResult {
    let caller = user.0.clone();
    let body = form.body.clone();
    act(&app, &user, &id, form, async |id| {
        let mut tx = app.db.tenant_tx(caller.tenant).await?;
        time_api::sheet_for(&mut tx, &caller, id).await?;
        approval::add_comment(&mut tx, id, caller.user_id, &body).await?;
        tx.commit().await?;
        Ok(StatusCode::OK)
    })
    .await
}

/// `?status=` filters the approvals page (`SUBMITTED` by default, `all` for any).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApprovalsQuery {
    status: String,
    cursor: String,
}

pub async fn approvals(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<ApprovalsQuery>,
) -> PageResult {
    if !user.0.can(Permission::TIMESHEET_APPROVE) {
        return forbidden_page(&app, &user, Permission::TIMESHEET_APPROVE);
    }
    let chosen = match query.status.as_str() {
        "" => Some(TimesheetStatus::Submitted),
        "all" => None,
        other => TimesheetStatus::parse(other).or(Some(TimesheetStatus::Submitted)),
    };
    let filter = SheetFilter {
        status: chosen,
        user_id: None,
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let page = approval::list_sheets(&mut tx, filter, page_after(&query.cursor)).await?;
    let mut views: Vec<TimesheetView> = Vec::with_capacity(page.data.len());
    for sheet in page.data {
        views.push(time::view_of(&mut tx, sheet).await?);
    }
    let names = user_names(&mut tx, views.iter().map(|v| v.sheet.user_id).collect()).await?;
    tx.commit().await?;
    let status_value = chosen.map_or("all", TimesheetStatus::as_str);
    let next = page.next_cursor.map(|cursor| {
        link(
            "/time/approvals",
            &[("status", status_value), ("cursor", &cursor.to_string())],
        )
    });
    let rows: Vec<minijinja::Value> = views
        .iter()
        .map(|v| {
            context! {
                view => v,
                total => hours(v.total_minutes),
                billable => hours(v.billable_minutes),
                own => v.sheet.user_id == user.0.user_id,
            }
        })
        .collect();
    let ctx = context! {
        nav => nav(&user), rows, names, next, status => status_value,
        statuses => ["SUBMITTED", "CHANGES_REQUESTED", "APPROVED", "DRAFT", "all"],
    };
    Ok(render(&app, "time_approvals.html", ctx)?.into_response())
}
