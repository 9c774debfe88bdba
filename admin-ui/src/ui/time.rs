//! "My week": the signed-in user's time of one week as a grid (work item × day),
//! the timesheets the week falls in with their status and submit button, the
//! week's entries, the form to log time and the server-side timer (it survives a
//! browser restart: the page reads it from the database).

use super::forms::{optional_text, ticked, FormErrors, Parse};
use super::lookups::client_options;
use super::pages::{csrf_failure, forbidden_page, in_tx, nav, not_found_page, render, PageResult};
use super::session::SignedIn;
use super::week_grid::{hours, parse_duration, week_grid, week_start, WorkItem};
use crate::AppState;
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::records::RecordError;
use activities::tickets::{self, Ticket, TicketFilter};
use activities::time::timer::{self, StartTimer, StopTimer};
use activities::time::{self, EntryFilter, TimeEntry, TimesheetView};
use activities::{clients, TenantTx};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use chrono::{Duration, NaiveDate, Utc};
use engine::time::entries::TimeEntryInput;
use engine::time::timesheets::TimesheetStatus;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// `?date=` picks the week (any day of it); today by default.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WeekQuery {
    date: String,
}

/// The log-time form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LogForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    work_date: String,
    ticket_id: String,
    client_id: String,
    duration: String,
    billable: Option<String>,
    notes: String,
}

const LOG_FIELDS: &[&str] = &["work_date", "ticket_id", "client_id", "duration", "notes"];

/// The start-timer form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TimerForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    ticket_id: String,
    client_id: String,
    notes: String,
    billable: Option<String>,
    /// The week page to return to.
    date: String,
}

const TIMER_FIELDS: &[&str] = &["ticket_id", "client_id", "notes"];

/// A form that only carries its token (delete, discard).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    csrf_token: String,
    date: String,
}

/// What a refused form brings back to the page.
#[derive(Default)]
struct Refused {
    log: Option<(LogForm, FormErrors)>,
    timer: Option<(TimerForm, FormErrors)>,
    general: Option<String>,
}

/// The day asked for, or today for anything else (including dates outside the
/// years billing and the database handle).
fn day_or_today(text: &str) -> NaiveDate {
    text.trim()
        .parse()
        .ok()
        .filter(|d| engine::billing::date_in_range(*d))
        .unwrap_or_else(|| Utc::now().date_naive())
}

fn week_link(date: NaiveDate) -> String {
    format!("/time?date={date}")
}

pub async fn week(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<WeekQuery>,
) -> PageResult {
    if !user.0.can(Permission::TIME_ENTRY_WRITE) {
        return forbidden_page(&app, &user, Permission::TIME_ENTRY_WRITE);
    }
    let date = day_or_today(&query.date);
    render_week(&app, &user, date, Refused::default(), StatusCode::OK).await
}

/// Open tickets assigned to the user (what they usually log against), plus any
/// ticket already on the page.
async fn ticket_options(
    tx: &mut TenantTx,
    user: Uuid,
    also: Option<Uuid>,
) -> Result<Vec<Ticket>, activities::DbError> {
    let filter = TicketFilter {
        assigned_to: Some(user),
        open_only: true,
        ..TicketFilter::default()
    };
    let request = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let mut options = tickets::list_tickets(tx, &filter, request, 0).await?.data;
    if let Some(id) = also.filter(|id| !options.iter().any(|t| t.id == *id)) {
        if let Some(ticket) = tickets::find_ticket(tx, id).await? {
            options.push(ticket);
        }
    }
    options.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(options)
}

/// Labels and links of the week's work items.
async fn describe_items(
    tx: &mut TenantTx,
    entries: &[TimeEntry],
) -> Result<HashMap<WorkItem, (String, String)>, activities::DbError> {
    let mut labels = HashMap::new();
    for entry in entries {
        let item = WorkItem::of(entry);
        if labels.contains_key(&item) {
            continue;
        }
        let label = match item {
            WorkItem::Ticket(id) => match tickets::find_ticket(tx, id).await? {
                Some(t) => (
                    format!("{} · {}", t.number, t.title),
                    format!("/tickets/{id}"),
                ),
                None => ("(ticket)".to_owned(), format!("/tickets/{id}")),
            },
            WorkItem::Client(id) => {
                let name = clients::find_client(tx, id)
                    .await?
                    .map_or_else(|| "(client)".to_owned(), |c| c.name);
                (format!("{name} (no ticket)"), format!("/clients/{id}"))
            }
        };
        labels.insert(item, label);
    }
    Ok(labels)
}

/// The timesheets the week falls in (one, or two when a period ends mid-week).
async fn week_sheets(
    tx: &mut TenantTx,
    user: Uuid,
    monday: NaiveDate,
) -> Result<Vec<TimesheetView>, activities::DbError> {
    let first = time::timesheet_view(tx, user, monday).await?;
    let last_day = monday + Duration::days(6);
    let mut sheets = vec![first];
    while sheets
        .last()
        .is_some_and(|s| s.sheet.period_end <= last_day)
    {
        let next = sheets.last().map_or(last_day, |s| s.sheet.period_end);
        sheets.push(time::timesheet_view(tx, user, next).await?);
    }
    Ok(sheets)
}

async fn render_week(
    app: &AppState,
    user: &SignedIn,
    date: NaiveDate,
    refused: Refused,
    status: StatusCode,
) -> PageResult {
    let me = user.0.user_id;
    let monday = week_start(date);
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let filter = EntryFilter {
        user_id: Some(me),
        from: Some(monday),
        to: Some(monday + Duration::days(7)),
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
    let sheets = week_sheets(&mut tx, me, monday).await?;
    let running = timer::current(&mut tx, me).await?;
    let labels = describe_items(&mut tx, &entries).await?;
    let timer_ticket = running.as_ref().and_then(|t| t.ticket_id);
    let timer_client = running.as_ref().and_then(|t| t.client_id);
    let ticket_choices = ticket_options(&mut tx, me, timer_ticket).await?;
    let client_choices = client_options(&mut tx, timer_client).await?;
    tx.commit().await?;

    let grid = week_grid(monday, &entries, |item| {
        labels
            .get(&item)
            .cloned()
            .unwrap_or_else(|| ("(item)".into(), "#".into()))
    });
    let rows: Vec<minijinja::Value> = entries
        .iter()
        .map(|e| {
            let (label, href) = labels.get(&WorkItem::of(e)).cloned().unwrap_or_default();
            let locked = sheets
                .iter()
                .find(|s| s.sheet.id == e.timesheet_id)
                .and_then(|s| TimesheetStatus::parse(&s.sheet.status))
                .is_some_and(|status| !status.entries_editable());
            context! { entry => e, label, href, duration => hours(e.minutes.into()),
            billable => hours(e.billable_minutes.into()), locked }
        })
        .collect();
    let (log_form, log_errors) = refused.log.unwrap_or_else(|| {
        let form = LogForm {
            work_date: date.to_string(),
            billable: Some("on".into()),
            ..LogForm::default()
        };
        (form, FormErrors::default())
    });
    let (timer_form, timer_errors) = refused.timer.unwrap_or_else(|| {
        let form = TimerForm {
            billable: Some("on".into()),
            ..TimerForm::default()
        };
        (form, FormErrors::default())
    });
    let elapsed = running
        .as_ref()
        .map(|t| hours((Utc::now() - t.started_at).num_minutes().max(1)));
    let sheets: Vec<minijinja::Value> = sheets
        .iter()
        .map(|s| context! { view => s, total => hours(s.total_minutes), billable => hours(s.billable_minutes) })
        .collect();
    let ctx = context! {
        nav => nav(user),
        date, monday, grid,
        grid_hours => grid_text(&grid),
        sheets, rows, truncated,
        timer => running, elapsed,
        tickets => ticket_choices, clients => client_choices,
        log_form, log_errors, timer_form, timer_errors,
        general => refused.general,
        previous => week_link(monday - Duration::days(7)),
        next => week_link(monday + Duration::days(7)),
        this_week => week_link(Utc::now().date_naive()),
    };
    Ok((status, render(app, "time_week.html", ctx)?).into_response())
}

/// The grid's numbers as `h:mm` text, shaped like the grid.
fn grid_text(grid: &super::week_grid::WeekGrid) -> minijinja::Value {
    let rows: Vec<Vec<String>> = grid
        .rows
        .iter()
        .map(|r| r.minutes.iter().map(|m| hours(*m)).collect())
        .collect();
    let totals: Vec<String> = grid.rows.iter().map(|r| hours(r.total)).collect();
    let days: Vec<String> = grid.day_totals.iter().map(|m| hours(*m)).collect();
    let labels: Vec<String> = grid
        .days
        .iter()
        .map(|d| d.format("%a %-d %b").to_string())
        .collect();
    context! { rows, totals, days, labels, total => hours(grid.total), billable => hours(grid.billable) }
}

/// The page again with a refused form: field problems are 422, a locked
/// timesheet 409, a missing record 404.
async fn refuse(
    app: &AppState,
    user: &SignedIn,
    date: NaiveDate,
    error: RecordError,
    fields: &'static [&'static str],
    into_page: impl FnOnce(FormErrors) -> Refused,
) -> PageResult {
    let (errors, status) = match error {
        RecordError::Invalid(issues) => (
            FormErrors::from_issues(issues, fields),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RecordError::Conflict(message) => (FormErrors::general(message), StatusCode::CONFLICT),
        RecordError::NotFound(what) => return not_found_page(app, user, what),
        RecordError::Db(error) => return Err(error.into()),
    };
    render_week(app, user, date, into_page(errors), status).await
}

/// The answer when the form's token is wrong or the user may not log time.
fn refusal(app: &AppState, user: &SignedIn, csrf_token: &str) -> Option<PageResult> {
    if !user.csrf_ok(csrf_token) {
        return Some(Ok(csrf_failure()));
    }
    if !user.0.can(Permission::TIME_ENTRY_WRITE) {
        return Some(forbidden_page(app, user, Permission::TIME_ENTRY_WRITE));
    }
    None
}

pub async fn log_time(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<LogForm>,
) -> PageResult {
    if let Some(refused) = refusal(&app, &user, &form.csrf_token) {
        return refused;
    }
    let mut parse = Parse::default();
    let work_date = parse.date("work_date", &form.work_date);
    let ticket_id = parse.id("ticket_id", &form.ticket_id);
    let client_id = parse.id("client_id", &form.client_id);
    let minutes = parse.optional("duration", &form.duration, |t| {
        parse_duration(t).ok_or("must be minutes (90) or hours and minutes (1:30)")
    });
    if minutes.is_none() && form.duration.trim().is_empty() {
        parse.add("duration", "is required");
    }
    let input = TimeEntryInput {
        client_id: client_id.filter(|_| ticket_id.is_none()),
        ticket_id,
        work_date,
        minutes,
        billable: Some(ticked(&form.billable)),
        notes: optional_text(&form.notes),
        ..TimeEntryInput::default()
    };
    let date = work_date.unwrap_or_else(|| day_or_today(""));
    let checked = parse.merge(input.validate().map(|_| ()));
    let me = user.0.user_id;
    let outcome = match checked {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(()) => {
            in_tx(&app, &user, async |tx| {
                time::create_entry(tx, me, input, Some(me)).await
            })
            .await?
        }
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&week_link(date)).into_response()),
        Err(error) => {
            refuse(&app, &user, date, error, LOG_FIELDS, |errors| Refused {
                log: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn delete_entry(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<TokenForm>,
) -> PageResult {
    if let Some(refused) = refusal(&app, &user, &form.csrf_token) {
        return refused;
    }
    let date = day_or_today(&form.date);
    let Some(id) = super::forms::parse_id(&id) else {
        return not_found_page(&app, &user, "time entry");
    };
    let me = user.0.user_id;
    let outcome = in_tx(&app, &user, async |tx| {
        // Only one's own entries from this page; another's reads as missing.
        match time::find_entry(tx, id).await? {
            Some(entry) if entry.user_id == me => time::delete_entry(tx, id, Some(me)).await,
            _ => Err(RecordError::NotFound("time entry")),
        }
    })
    .await?;
    match outcome {
        Ok(()) => Ok(Redirect::to(&week_link(date)).into_response()),
        Err(error) => {
            refuse(&app, &user, date, error, &[], |errors| Refused {
                general: errors.general.into_iter().next(),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn start_timer(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<TimerForm>,
) -> PageResult {
    if let Some(refused) = refusal(&app, &user, &form.csrf_token) {
        return refused;
    }
    let date = day_or_today(&form.date);
    let mut parse = Parse::default();
    let ticket_id = parse.id("ticket_id", &form.ticket_id);
    let client_id = parse.id("client_id", &form.client_id);
    let input = StartTimer {
        client_id: client_id.filter(|_| ticket_id.is_none()),
        ticket_id,
        service_id: None,
        notes: optional_text(&form.notes),
    };
    let me = user.0.user_id;
    let outcome = match parse.merge(Ok(())) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(()) => in_tx(&app, &user, async |tx| timer::start(tx, me, input).await).await?,
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&week_link(date)).into_response()),
        Err(error) => {
            refuse(&app, &user, date, error, TIMER_FIELDS, |errors| Refused {
                timer: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn stop_timer(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<TimerForm>,
) -> PageResult {
    if let Some(refused) = refusal(&app, &user, &form.csrf_token) {
        return refused;
    }
    let input = StopTimer {
        notes: optional_text(&form.notes),
        billable: Some(ticked(&form.billable)),
    };
    let me = user.0.user_id;
    let outcome = in_tx(&app, &user, async |tx| {
        timer::stop(tx, me, input, Some(me)).await
    })
    .await?;
    match outcome {
        Ok(entry) => Ok(Redirect::to(&week_link(entry.work_date)).into_response()),
        Err(error) => {
            let date = day_or_today(&form.date);
            refuse(&app, &user, date, error, TIMER_FIELDS, |errors| Refused {
                timer: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn discard_timer(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<TokenForm>,
) -> PageResult {
    if let Some(refused) = refusal(&app, &user, &form.csrf_token) {
        return refused;
    }
    let me = user.0.user_id;
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    timer::discard(&mut tx, me).await?;
    tx.commit().await?;
    Ok(Redirect::to(&week_link(day_or_today(&form.date))).into_response())
}
