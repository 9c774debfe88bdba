//! Ticket pages: the queue (filters, SLA countdowns, soonest deadline first or
//! newest first) and the new-ticket form. The ticket's own page is in
//! `ticket_detail`.

use super::countdown::{countdown, Target};
use super::forms::{link, optional_text, parse_id, FormErrors, Parse, PAGE_SIZE};
use super::lookups::{client_names, client_options, user_names, user_options};
use super::pages::{csrf_failure, forbidden_page, nav, not_found_page, render, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::clients;
use activities::contacts::{self, ContactFilter};
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::records::RecordError;
use activities::tickets::{self, config, Ticket, TicketFilter};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use chrono::{DateTime, Utc};
use engine::tickets::{Origin, TicketDraft, TicketInput};
use engine::validation::{contains_pattern, FieldIssue};
use engine::Permission;
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Tickets as list rows: each with its resolution countdown.
pub(super) fn ticket_rows(tickets: Vec<Ticket>, now: DateTime<Utc>) -> Vec<Value> {
    tickets
        .into_iter()
        .map(|ticket| {
            let sla = countdown(Target::resolution(&ticket), now);
            context! { ticket, sla }
        })
        .collect()
}

/// The queue's filters, order and cursor; all text, so a hand-edited URL still
/// gives a page.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TicketListQuery {
    q: String,
    status: String,
    priority: String,
    board: String,
    assigned_to: String,
    client_id: String,
    /// Any text (a ticked checkbox sends `on`): only tickets at risk of a breach.
    sla_at_risk: String,
    /// Blank: open tickets only; `all`: closed ones too.
    state: String,
    /// Blank: soonest resolution deadline first (cursor = offset); `newest`: newest
    /// first (cursor = the last ticket's id).
    sort: String,
    #[serde(skip_serializing)]
    cursor: String,
}

impl TicketListQuery {
    fn newest(&self) -> bool {
        self.sort == "newest"
    }

    /// The offset of a page sorted by SLA due; anything else starts at the top.
    fn offset(&self) -> i64 {
        self.cursor
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .unwrap_or(0)
    }

    /// This list again with another order (and from its first page).
    fn sorted(&self, sort: &str) -> String {
        link("/tickets", &self.pairs(sort, ""))
    }

    fn pairs<'a>(&'a self, sort: &'a str, cursor: &'a str) -> [(&'a str, &'a str); 10] {
        [
            ("q", &self.q),
            ("status", &self.status),
            ("priority", &self.priority),
            ("board", &self.board),
            ("assigned_to", &self.assigned_to),
            ("client_id", &self.client_id),
            ("sla_at_risk", &self.sla_at_risk),
            ("state", &self.state),
            ("sort", sort),
            ("cursor", cursor),
        ]
    }
}

pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<TicketListQuery>,
) -> PageResult {
    if !user.0.can(Permission::TICKET_READ) {
        return forbidden_page(&app, &user, Permission::TICKET_READ);
    }
    let client_id = parse_id(&query.client_id);
    let assigned_to = parse_id(&query.assigned_to);
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let statuses = config::list_statuses(&mut tx).await?;
    let priorities = config::list_priorities(&mut tx).await?;
    let boards = config::list_boards(&mut tx).await?;
    let users = user_options(&mut tx, assigned_to).await?;
    let client_choices = client_options(&mut tx, client_id).await?;
    let (rows, next_url, search_error) = match contains_pattern(Some(&query.q)) {
        Err(error) => (Vec::new(), None, Some(format!("Search {error}."))),
        Ok(search) => {
            let filter = TicketFilter {
                client_id,
                status: optional_text(&query.status),
                priority: optional_text(&query.priority),
                board: optional_text(&query.board),
                assigned_to,
                open_only: query.state != "all",
                sla_at_risk: !query.sla_at_risk.is_empty(),
                search,
                by_sla_due: !query.newest(),
            };
            let (page, offset) = if query.newest() {
                (super::forms::page_after(&query.cursor), 0)
            } else {
                let first = PageRequest {
                    limit: PAGE_SIZE,
                    after: None,
                };
                (first, query.offset())
            };
            let page = tickets::list_tickets(&mut tx, &filter, page, offset).await?;
            let next_cursor = match (query.newest(), page.next_cursor) {
                (_, None) => None,
                (true, Some(id)) => Some(id.to_string()),
                (false, Some(_)) => Some((offset + page.data.len() as i64).to_string()),
            };
            let next =
                next_cursor.map(|cursor| link("/tickets", &query.pairs(&query.sort, &cursor)));
            (page.data, next, None)
        }
    };
    let names = client_names(&mut tx, rows.iter().map(|t| t.client_id).collect()).await?;
    let assignees =
        user_names(&mut tx, rows.iter().filter_map(|t| t.assigned_to).collect()).await?;
    tx.commit().await?;
    let filtered = [
        &query.q,
        &query.status,
        &query.priority,
        &query.board,
        &query.assigned_to,
        &query.client_id,
        &query.sla_at_risk,
    ]
    .iter()
    .any(|v| !v.is_empty());
    let ctx = context! {
        nav => nav(&user),
        tickets => ticket_rows(rows, Utc::now()),
        client_names => names,
        assignees,
        statuses, priorities, boards, users,
        clients => client_choices,
        query,
        newest => query.newest(),
        by_due_url => query.sorted(""),
        newest_url => query.sorted("newest"),
        next_url,
        search_error,
        filtered,
        paged => !query.cursor.is_empty(),
        can_create => user.0.can(Permission::TICKET_CREATE),
    };
    Ok(render(&app, "tickets.html", ctx)?.into_response())
}

/// The new-ticket form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TicketForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    client_id: String,
    contact_id: String,
    title: String,
    description: String,
    priority: String,
    board: String,
    assigned_to: String,
    impact: String,
    urgency: String,
}

/// The inputs the form shows; issues on other fields are listed above it.
const FIELDS: &[&str] = &[
    "client_id",
    "contact_id",
    "title",
    "description",
    "priority",
    "board",
    "assigned_to",
    "impact",
    "urgency",
];

impl TicketForm {
    /// The form as a validated draft (opened in the UI), or every problem at once.
    fn checked(&self) -> Result<TicketDraft, Vec<FieldIssue>> {
        let mut parse = Parse::default();
        let input = TicketInput {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            client_id: parse.id("client_id", &self.client_id),
            contact_id: parse.id("contact_id", &self.contact_id),
            board: optional_text(&self.board),
            priority: optional_text(&self.priority),
            assigned_to: parse.id("assigned_to", &self.assigned_to),
            impact: parse.number("impact", &self.impact),
            urgency: parse.number("urgency", &self.urgency),
            origin: Some(Origin::Ui),
            ..TicketInput::default()
        };
        parse.merge(input.validate())
    }
}

/// Where the client picker starts: `?client_id=` from a client's page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewTicketQuery {
    client_id: String,
}

async fn render_form(
    app: &AppState,
    user: &SignedIn,
    form: &TicketForm,
    errors: &FormErrors,
    status: StatusCode,
) -> PageResult {
    let client_id = parse_id(&form.client_id);
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let client = match client_id {
        Some(id) => clients::find_client(&mut tx, id)
            .await?
            .filter(|c| c.archived_at.is_none()),
        None => None,
    };
    let contacts = match &client {
        Some(client) => {
            let filter = ContactFilter {
                client_id: Some(client.id),
                ..ContactFilter::default()
            };
            let first = PageRequest {
                limit: MAX_LIMIT,
                after: None,
            };
            contacts::list_contacts(&mut tx, &filter, first).await?.data
        }
        None => Vec::new(),
    };
    let clients = client_options(&mut tx, client.as_ref().map(|c| c.id)).await?;
    let priorities = config::list_priorities(&mut tx).await?;
    let boards = config::list_boards(&mut tx).await?;
    let users = user_options(&mut tx, parse_id(&form.assigned_to)).await?;
    tx.commit().await?;
    let ctx = context! {
        nav => nav(user),
        form, errors, client, contacts, clients, priorities, boards, users,
        levels => [1, 2, 3, 4, 5],
    };
    Ok((status, render(app, "ticket_form.html", ctx)?).into_response())
}

pub async fn new_form(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<NewTicketQuery>,
) -> PageResult {
    if !user.0.can(Permission::TICKET_CREATE) {
        return forbidden_page(&app, &user, Permission::TICKET_CREATE);
    }
    let form = TicketForm {
        client_id: parse_id(&query.client_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        ..TicketForm::default()
    };
    render_form(&app, &user, &form, &FormErrors::default(), StatusCode::OK).await
}

/// Re-shows a refused form: field problems are 422, a state conflict 409.
async fn refused(
    app: &AppState,
    user: &SignedIn,
    form: &TicketForm,
    error: RecordError,
) -> PageResult {
    let (errors, status) = match error {
        RecordError::Invalid(issues) => (
            FormErrors::from_issues(issues, FIELDS),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RecordError::Conflict(message) => (FormErrors::general(message), StatusCode::CONFLICT),
        RecordError::NotFound(what) => return not_found_page(app, user, what),
        RecordError::Db(error) => return Err(error.into()),
    };
    render_form(app, user, form, &errors, status).await
}

pub async fn create(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<TicketForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::TICKET_CREATE) {
        return forbidden_page(&app, &user, Permission::TICKET_CREATE);
    }
    let draft = match form.checked() {
        Ok(draft) => draft,
        Err(issues) => return refused(&app, &user, &form, RecordError::Invalid(issues)).await,
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match tickets::create_ticket(&mut tx, &draft, Some(user.0.user_id)).await {
        Ok(ticket) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/tickets/{}", ticket.id)).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refused(&app, &user, &form, error).await
        }
    }
}

/// The ids of a ticket's people, for name lookups.
pub(super) fn people_of(ticket: &Ticket) -> Vec<Uuid> {
    ticket
        .assigned_to
        .into_iter()
        .chain(ticket.created_by)
        .chain(ticket.additional_agents.iter().copied())
        .collect()
}
