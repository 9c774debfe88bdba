//! Ticket settings pages: SLA policies and business-hours schedules (listed, with a
//! create form each) on `/settings/sla`, and per-board settings (ITIL mode,
//! defaults, SLA policy, escalation managers) on `/settings/boards`.
//!
//! The policy and schedule forms have one row per priority or weekday, so their
//! inputs are named by row (`target_2_response`, `day3_start`) and read as a map;
//! the domain's issues (`targets[1].response_minutes`, `days[0].end`) are renamed
//! back to the input they came from.

use super::forms::{optional_text, parse_id, ticked, FormErrors, Parse};
use super::lookups::user_options;
use super::pages::{forbidden_page, nav, not_found_page, render, PageResult, Refusal};
use super::session::SignedIn;
use crate::AppState;
use activities::records::RecordError;
use activities::sla::{self, BusinessHours, SlaPolicy};
use activities::tickets::config::{self, Board, BoardPatch, Priority};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::sla::policy::{
    BusinessHoursInput, DayWindow, PolicyInput, Target, DEFAULT_ESCALATION_PERCENTS,
    DEFAULT_NOTIFY_PERCENTS,
};
use engine::validation::FieldIssue;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A form whose inputs are named by row, as submitted: name → text. A ticked
/// checkbox is present, an unticked one absent.
pub type Fields = BTreeMap<String, String>;

/// Weekday numbers (1 = Monday) and names, in form order.
const WEEKDAYS: [(u8, &str); 7] = [
    (1, "Monday"),
    (2, "Tuesday"),
    (3, "Wednesday"),
    (4, "Thursday"),
    (5, "Friday"),
    (6, "Saturday"),
    (7, "Sunday"),
];

fn text<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

fn fields_of(pairs: Vec<(String, String)>) -> Fields {
    pairs.into_iter().collect()
}

/// `issues` with each field renamed by `rename` (kept when it answers `None`).
fn renamed(issues: Vec<FieldIssue>, rename: impl Fn(&str) -> Option<String>) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|issue| FieldIssue {
            field: rename(&issue.field).unwrap_or(issue.field),
            message: issue.message,
        })
        .collect()
}

/// `("targets", 3, "response_minutes")` of `targets[3].response_minutes`.
fn indexed<'a>(field: &'a str, list: &str) -> Option<(usize, &'a str)> {
    let rest = field.strip_prefix(list)?.strip_prefix('[')?;
    let (index, rest) = rest.split_once(']')?;
    Some((index.parse().ok()?, rest.strip_prefix('.').unwrap_or(rest)))
}

/// Whole percents separated by commas ("50, 75, 90"); blank for the defaults.
fn percent_list(parse: &mut Parse, field: &str, text: &str) -> Option<Vec<u32>> {
    parse.optional(field, text, |t| {
        t.split(',')
            .map(|p| p.trim().trim_end_matches('%').trim())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| "must be whole percents separated by commas, e.g. 50, 75, 90")
    })
}

/// The policy form as an input, the form row of each target, and parse problems.
pub fn policy_input(form: &Fields, priorities: usize) -> (PolicyInput, Vec<usize>, Parse) {
    let mut parse = Parse::default();
    let mut targets = Vec::new();
    let mut rows = Vec::new();
    for row in 0..priorities {
        let field = |what: &str| format!("target_{row}_{what}");
        let priority = text(form, &field("priority")).trim();
        let response = text(form, &field("response"));
        let resolution = text(form, &field("resolution"));
        let is_24x7 = form.contains_key(&field("24x7"));
        if priority.is_empty() || (response.trim().is_empty() && resolution.trim().is_empty()) {
            continue;
        }
        targets.push(Target {
            priority: priority.to_owned(),
            response_minutes: parse.number(&field("response"), response),
            resolution_minutes: parse.number(&field("resolution"), resolution),
            is_24x7,
        });
        rows.push(row);
    }
    let input = PolicyInput {
        name: Some(text(form, "name").to_owned()),
        business_hours_id: parse.id("business_hours_id", text(form, "business_hours_id")),
        is_default: Some(form.contains_key("is_default")),
        targets: Some(targets),
        notify_percents: percent_list(&mut parse, "notify_percents", text(form, "notify_percents")),
        escalation_percents: percent_list(
            &mut parse,
            "escalation_percents",
            text(form, "escalation_percents"),
        ),
    };
    (input, rows, parse)
}

/// A policy issue on the form input it came from.
fn policy_issues(issues: Vec<FieldIssue>, rows: &[usize]) -> Vec<FieldIssue> {
    renamed(issues, |field| {
        let (index, what) = indexed(field, "targets")?;
        let row = rows.get(index)?;
        match what {
            "response_minutes" => Some(format!("target_{row}_response")),
            "resolution_minutes" => Some(format!("target_{row}_resolution")),
            _ => None,
        }
    })
}

/// The schedule form as an input, the weekday of each window, and parse problems.
pub fn hours_input(form: &Fields) -> (BusinessHoursInput, Vec<u8>, Parse) {
    let mut parse = Parse::default();
    let mut days = Vec::new();
    let mut weekdays = Vec::new();
    for (weekday, _) in WEEKDAYS {
        if !form.contains_key(&format!("day{weekday}_open")) {
            continue;
        }
        days.push(DayWindow {
            weekday,
            start: text(form, &format!("day{weekday}_start")).trim().to_owned(),
            end: text(form, &format!("day{weekday}_end")).trim().to_owned(),
        });
        weekdays.push(weekday);
    }
    let holidays = parse.optional("holidays", text(form, "holidays"), |t| {
        t.split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| format!("{d:?} is not a date (YYYY-MM-DD)"))
            })
            .collect::<Result<Vec<_>, _>>()
    });
    let yearly: Vec<String> = text(form, "yearly_holidays")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    let input = BusinessHoursInput {
        name: Some(text(form, "name").to_owned()),
        timezone: Some(text(form, "timezone").to_owned()),
        is_24x7: Some(form.contains_key("is_24x7")),
        days: Some(days),
        holidays: Some(holidays.unwrap_or_default()),
        yearly_holidays: Some(yearly),
    };
    (input, weekdays, parse)
}

/// A schedule issue on the form input it came from.
fn hours_issues(issues: Vec<FieldIssue>, weekdays: &[u8], yearly: &[String]) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|issue| {
            if let Some((index, what)) = indexed(&issue.field, "days") {
                if let (Some(day), "start" | "end") = (weekdays.get(index), what) {
                    return FieldIssue {
                        field: format!("day{day}_{what}"),
                        message: issue.message,
                    };
                }
            }
            if let Some((index, _)) = indexed(&issue.field, "yearly_holidays") {
                let value = yearly.get(index).map(String::as_str).unwrap_or_default();
                return FieldIssue {
                    field: "yearly_holidays".into(),
                    message: format!("{value:?} {}", issue.message),
                };
            }
            issue
        })
        .collect()
}

/// Inputs the policy form shows (rows are added per priority).
fn policy_fields(priorities: usize) -> Vec<String> {
    let mut fields: Vec<String> = [
        "name",
        "business_hours_id",
        "notify_percents",
        "escalation_percents",
    ]
    .map(String::from)
    .to_vec();
    for row in 0..priorities {
        fields.push(format!("target_{row}_response"));
        fields.push(format!("target_{row}_resolution"));
    }
    fields
}

/// Inputs the schedule form shows.
fn hours_fields() -> Vec<String> {
    let mut fields: Vec<String> = ["name", "timezone", "days", "holidays", "yearly_holidays"]
        .map(String::from)
        .to_vec();
    for (day, _) in WEEKDAYS {
        fields.push(format!("day{day}_start"));
        fields.push(format!("day{day}_end"));
    }
    fields
}

/// A blank schedule form: UTC, open Monday to Friday 09:00–17:00.
fn blank_hours() -> Fields {
    let mut form = Fields::new();
    form.insert("timezone".into(), "UTC".into());
    for (day, _) in WEEKDAYS {
        form.insert(format!("day{day}_start"), "09:00".into());
        form.insert(format!("day{day}_end"), "17:00".into());
        if day <= 5 {
            form.insert(format!("day{day}_open"), "on".into());
        }
    }
    form
}

/// A blank policy form, with the priority of each row.
fn blank_policy(priorities: &[Priority]) -> Fields {
    priorities
        .iter()
        .enumerate()
        .map(|(row, p)| (format!("target_{row}_priority"), p.name.clone()))
        .collect()
}

/// `Mon 09:00–17:00, Tue …` of a stored schedule's windows.
fn days_summary(hours: &BusinessHours) -> String {
    if hours.is_24x7 {
        return "around the clock".into();
    }
    let windows: Vec<DayWindow> = serde_json::from_value(hours.days.clone()).unwrap_or_default();
    if windows.is_empty() {
        return "never open".into();
    }
    windows
        .iter()
        .map(|w| {
            let day = WEEKDAYS
                .iter()
                .find(|(n, _)| *n == w.weekday)
                .map(|(_, name)| &name[..3])
                .unwrap_or("?");
            format!("{day} {}–{}", w.start, w.end)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a refused form brings back to the SLA page.
#[derive(Default)]
struct SlaRefused {
    policy: Option<(Fields, FormErrors)>,
    hours: Option<(Fields, FormErrors)>,
}

pub async fn sla_page(State(app): State<AppState>, user: SignedIn) -> PageResult {
    if !user.0.can(Permission::TICKET_READ) {
        return forbidden_page(&app, &user, Permission::TICKET_READ);
    }
    render_sla(&app, &user, SlaRefused::default(), StatusCode::OK).await
}

async fn render_sla(
    app: &AppState,
    user: &SignedIn,
    refused: SlaRefused,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let policies = sla::list_policies(&mut tx).await?;
    let hours = sla::list_business_hours(&mut tx).await?;
    let priorities = config::list_priorities(&mut tx).await?;
    tx.commit().await?;
    let hour_names: HashMap<String, String> = hours
        .iter()
        .map(|h| (h.id.to_string(), h.name.clone()))
        .collect();
    let hours_rows: Vec<_> = hours
        .iter()
        .map(|h| {
            let holidays: Vec<String> = h
                .holidays
                .iter()
                .map(|d| d.to_string())
                .chain(h.yearly_holidays.iter().map(|d| format!("every {d}")))
                .collect();
            context! { hours => h, summary => days_summary(h), holidays => holidays.join(", ") }
        })
        .collect();
    let (policy_form, policy_errors) = refused
        .policy
        .unwrap_or_else(|| (blank_policy(&priorities), FormErrors::default()));
    let (hours_form, hours_errors) = refused
        .hours
        .unwrap_or_else(|| (blank_hours(), FormErrors::default()));
    let weekdays: Vec<_> = WEEKDAYS
        .iter()
        .map(|(n, name)| context! { n, name })
        .collect();
    let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let ctx = context! {
        nav => nav(user),
        policies, hour_names, hours => hours_rows, priorities, weekdays,
        policy_form, policy_errors, hours_form, hours_errors,
        hour_choices => hours,
        default_notify => join(&DEFAULT_NOTIFY_PERCENTS),
        default_escalation => join(&DEFAULT_ESCALATION_PERCENTS),
        can_manage => user.0.can(Permission::SLA_MANAGE),
    };
    Ok((status, render(app, "sla_settings.html", ctx)?).into_response())
}

/// Checks the CSRF token (from a row-named form) and SLA_MANAGE.
fn manageable(user: &SignedIn, csrf_token: &str) -> Result<(), Refusal> {
    if !user.csrf_ok(csrf_token) {
        return Err(Refusal::Csrf);
    }
    if !user.0.can(Permission::SLA_MANAGE) {
        return Err(Refusal::Forbidden(Permission::SLA_MANAGE));
    }
    Ok(())
}

/// The errors and status of a refused settings form: field problems (renamed to
/// their inputs by `rename`) are 422, a conflict 409; anything else is no form
/// problem and comes back as `Err`.
fn refusal(
    error: RecordError,
    rename: impl FnOnce(Vec<FieldIssue>) -> Vec<FieldIssue>,
    shown: &[&str],
) -> Result<(FormErrors, StatusCode), RecordError> {
    match error {
        RecordError::Invalid(issues) => Ok((
            FormErrors::from_issues(rename(issues), shown),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        RecordError::Conflict(message) => Ok((FormErrors::general(message), StatusCode::CONFLICT)),
        other => Err(other),
    }
}

pub async fn create_policy(
    State(app): State<AppState>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let form = fields_of(pairs);
    if let Err(refusal) = manageable(&user, text(&form, "csrf_token")) {
        return refusal.answer(&app, &user);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let priorities = config::list_priorities(&mut tx).await?;
    let rows = priorities.len();
    let (input, target_rows, parse) = policy_input(&form, rows);
    let outcome = match parse.merge(input.validate()) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(draft) => sla::create_policy(&mut tx, &draft, Some(user.0.user_id))
            .await
            .map(|_| ()),
    };
    match outcome {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to("/settings/sla#policies").into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            let shown = policy_fields(rows);
            let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
            let rename = |issues| policy_issues(issues, &target_rows);
            let (errors, status) = match refusal(error, rename, &shown) {
                Ok(refused) => refused,
                Err(RecordError::NotFound(what)) => return not_found_page(&app, &user, what),
                Err(error) => return Err(error.into()),
            };
            let mut form = form;
            form.remove("csrf_token");
            let refused = SlaRefused {
                policy: Some((form, errors)),
                ..SlaRefused::default()
            };
            render_sla(&app, &user, refused, status).await
        }
    }
}

pub async fn create_hours(
    State(app): State<AppState>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let form = fields_of(pairs);
    if let Err(refusal) = manageable(&user, text(&form, "csrf_token")) {
        return refusal.answer(&app, &user);
    }
    let (input, weekdays, parse) = hours_input(&form);
    let yearly = input.yearly_holidays.clone().unwrap_or_default();
    let outcome = match parse.merge(Ok(())) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(()) => {
            let mut tx = app.db.tenant_tx(user.0.tenant).await?;
            match sla::create_business_hours(&mut tx, &input, Some(user.0.user_id)).await {
                Ok(_) => {
                    tx.commit().await?;
                    Ok(())
                }
                Err(error) => {
                    tx.rollback().await?;
                    Err(error)
                }
            }
        }
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/settings/sla#business-hours").into_response()),
        Err(error) => {
            let shown = hours_fields();
            let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
            let rename = |issues| hours_issues(issues, &weekdays, &yearly);
            let (errors, status) = match refusal(error, rename, &shown) {
                Ok(refused) => refused,
                Err(RecordError::NotFound(what)) => return not_found_page(&app, &user, what),
                Err(error) => return Err(error.into()),
            };
            let mut form = form;
            form.remove("csrf_token");
            let refused = SlaRefused {
                hours: Some((form, errors)),
                ..SlaRefused::default()
            };
            render_sla(&app, &user, refused, status).await
        }
    }
}

/// A board's settings form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BoardForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    itil_mode: Option<String>,
    default_priority: String,
    default_assignee_id: String,
    sla_policy_id: String,
    escalation_1: String,
    escalation_2: String,
    escalation_3: String,
}

const BOARD_FIELDS: &[&str] = &[
    "default_priority",
    "default_assignee_id",
    "sla_policy_id",
    "escalation_1",
    "escalation_2",
    "escalation_3",
];

impl BoardForm {
    fn of(board: &Board, priorities: &[Priority]) -> BoardForm {
        let id = |v: Option<Uuid>| v.map(|u| u.to_string()).unwrap_or_default();
        let manager = |level: &str| {
            board
                .escalation_managers
                .get(level)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        BoardForm {
            csrf_token: String::new(),
            itil_mode: board.itil_mode.then(|| "on".to_owned()),
            default_priority: board
                .default_priority_id
                .and_then(|p| priorities.iter().find(|x| x.id == p))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            default_assignee_id: id(board.default_assignee_id),
            sla_policy_id: id(board.sla_policy_id),
            escalation_1: manager("1"),
            escalation_2: manager("2"),
            escalation_3: manager("3"),
        }
    }

    /// The form as a whole-board patch, or parse problems.
    fn patch(&self) -> Result<BoardPatch, Vec<FieldIssue>> {
        let mut parse = Parse::default();
        let mut managers = BTreeMap::new();
        for (level, text) in [
            ("1", &self.escalation_1),
            ("2", &self.escalation_2),
            ("3", &self.escalation_3),
        ] {
            if let Some(user) = parse.id(&format!("escalation_{level}"), text) {
                managers.insert(level.to_owned(), user);
            }
        }
        let patch = BoardPatch {
            itil_mode: Some(ticked(&self.itil_mode)),
            default_priority: Some(optional_text(&self.default_priority)),
            default_assignee_id: Some(parse.id("default_assignee_id", &self.default_assignee_id)),
            sla_policy_id: Some(parse.id("sla_policy_id", &self.sla_policy_id)),
            escalation_managers: Some(managers),
            manager_id: None,
        };
        parse.merge(Ok(patch))
    }
}

/// A board issue on the form input it came from (`escalation_managers.2` is the
/// level-2 select).
fn board_issues(issues: Vec<FieldIssue>) -> Vec<FieldIssue> {
    renamed(issues, |field| {
        field
            .strip_prefix("escalation_managers.")
            .map(|level| format!("escalation_{level}"))
    })
}

pub async fn boards_page(State(app): State<AppState>, user: SignedIn) -> PageResult {
    if !user.0.can(Permission::TICKET_READ) {
        return forbidden_page(&app, &user, Permission::TICKET_READ);
    }
    render_boards(&app, &user, None, StatusCode::OK).await
}

async fn render_boards(
    app: &AppState,
    user: &SignedIn,
    refused: Option<(Uuid, BoardForm, FormErrors)>,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let boards = config::list_boards(&mut tx).await?;
    let priorities = config::list_priorities(&mut tx).await?;
    let policies: Vec<SlaPolicy> = sla::list_policies(&mut tx).await?;
    let current: Vec<Uuid> = boards
        .iter()
        .flat_map(|b| {
            let managers = b
                .escalation_managers
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
                .filter_map(|v| v.as_str().and_then(parse_id));
            b.default_assignee_id.into_iter().chain(managers)
        })
        .collect();
    let users = user_options(&mut tx, current).await?;
    tx.commit().await?;
    let mut refused = refused;
    let rows: Vec<_> = boards
        .iter()
        .map(|board| {
            let (form, errors) = match refused.take() {
                Some((id, form, errors)) if id == board.id => (form, errors),
                other => {
                    refused = other;
                    (BoardForm::of(board, &priorities), FormErrors::default())
                }
            };
            context! { board, form, errors }
        })
        .collect();
    let ctx = context! {
        nav => nav(user),
        boards => rows, priorities, policies, users,
        levels => ["1", "2", "3"],
        can_manage => user.0.can(Permission::SLA_MANAGE),
    };
    Ok((status, render(app, "boards.html", ctx)?).into_response())
}

pub async fn update_board(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<BoardForm>,
) -> PageResult {
    if let Err(refusal) = manageable(&user, &form.csrf_token) {
        return refusal.answer(&app, &user);
    }
    let Some(id) = parse_id(&id) else {
        return not_found_page(&app, &user, "board");
    };
    let outcome = match form.patch() {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(patch) => {
            let mut tx = app.db.tenant_tx(user.0.tenant).await?;
            match config::update_board(&mut tx, id, patch, Some(user.0.user_id)).await {
                Ok(_) => {
                    tx.commit().await?;
                    Ok(())
                }
                Err(error) => {
                    tx.rollback().await?;
                    Err(error)
                }
            }
        }
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/settings/boards#board-{id}")).into_response()),
        Err(error) => {
            let (errors, status) = match refusal(error, board_issues, BOARD_FIELDS) {
                Ok(refused) => refused,
                Err(RecordError::NotFound(what)) => return not_found_page(&app, &user, what),
                Err(error) => return Err(error.into()),
            };
            render_boards(&app, &user, Some((id, form, errors)), status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_of(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn policy_rows_become_targets_and_issues_find_their_row() {
        let form = form_of(&[
            ("name", "Gold"),
            ("target_0_priority", "Critical"),
            ("target_0_response", "15"),
            ("target_0_resolution", "240"),
            ("target_0_24x7", "on"),
            ("target_1_priority", "High"),
            ("target_2_priority", "Medium"),
            ("target_2_response", "0"),
            ("notify_percents", "50, 75%"),
            ("escalation_percents", ""),
        ]);
        let (input, rows, parse) = policy_input(&form, 3);
        assert!(parse.0.is_empty());
        assert_eq!(rows, vec![0, 2]);
        let targets = input.targets.clone().unwrap();
        assert_eq!(targets[0].priority, "Critical");
        assert!(targets[0].is_24x7);
        assert_eq!(targets[0].resolution_minutes, Some(240));
        assert_eq!(input.notify_percents, Some(vec![50, 75]));
        assert_eq!(input.escalation_percents, None);
        let issues = policy_issues(input.validate().unwrap_err(), &rows);
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["target_2_response"]);

        let (_, _, parse) = policy_input(&form_of(&[("notify_percents", "fifty")]), 0);
        assert_eq!(parse.0[0].field, "notify_percents");
    }

    #[test]
    fn schedule_rows_become_windows_and_issues_find_their_day() {
        let form = form_of(&[
            ("name", "Office"),
            ("timezone", "Europe/Zurich"),
            ("day1_open", "on"),
            ("day1_start", "08:00"),
            ("day1_end", "17:00"),
            ("day3_open", "on"),
            ("day3_start", "8am"),
            ("day3_end", "17:00"),
            ("day4_start", "x"),
            ("holidays", "2026-12-25, 2026-12-26"),
            ("yearly_holidays", "01-01, 13-01"),
        ]);
        let (input, weekdays, parse) = hours_input(&form);
        assert!(parse.0.is_empty());
        assert_eq!(weekdays, vec![1, 3]);
        assert_eq!(input.holidays.as_ref().map(Vec::len), Some(2));
        let yearly = input.yearly_holidays.clone().unwrap();
        let issues = hours_issues(input.validate().unwrap_err(), &weekdays, &yearly);
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["day3_start", "yearly_holidays"]);
        assert!(issues[1].message.starts_with("\"13-01\""), "{issues:?}");

        let (_, _, parse) = hours_input(&form_of(&[("holidays", "2026-02-30")]));
        assert_eq!(parse.0[0].field, "holidays");
    }

    #[test]
    fn escalation_issues_land_on_their_level() {
        let issues = board_issues(vec![FieldIssue {
            field: "escalation_managers.2".into(),
            message: "is a deactivated user".into(),
        }]);
        assert_eq!(issues[0].field, "escalation_2");
    }
}
