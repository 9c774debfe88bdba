//! A ticket's page: its fields, the status and triage (priority, assignee, board)
//! forms, the comments with the reply form, and the SLA panel with countdowns and
//! the SLA audit trail, and the "Run playbook" form (`playbook_launch`). A refused
//! form re-renders the page with its message next to it, so a conflict ("already
//! Closed") is read where the user acted.

use super::countdown::{countdown, Target};
use super::forms::{optional_text, parse_id, ticked, FormErrors, Parse};
use super::lookups::{user_names, user_options};
use super::pages::{forbidden_page, nav, not_found_page, render, writable, PageResult};
use super::playbook_launch::{self, LaunchForm};
use super::session::SignedIn;
use super::tickets::people_of;
use crate::AppState;
use activities::records::RecordError;
use activities::tickets::{self, comments, config};
use activities::{clients, contacts, sla};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use chrono::Utc;
use engine::tickets::TicketPatch;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The status form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StatusForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    status: String,
}

/// The triage form: priority, assignee, board.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TriageForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    priority: String,
    assigned_to: String,
    board: String,
}

const TRIAGE_FIELDS: &[&str] = &["priority", "assigned_to", "board"];

/// The reply form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CommentForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    body: String,
    internal: Option<String>,
}

/// What a refused form brings back to the page.
#[derive(Default)]
pub(super) struct Refused {
    pub(super) status: Option<(StatusForm, FormErrors)>,
    pub(super) triage: Option<(TriageForm, FormErrors)>,
    pub(super) comment: Option<(CommentForm, FormErrors)>,
    /// A refused "Run playbook" form (see `playbook_launch`).
    pub(super) playbook_run: Option<(LaunchForm, FormErrors)>,
}

pub async fn detail(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    if !user.0.can(Permission::TICKET_READ) {
        return forbidden_page(&app, &user, Permission::TICKET_READ);
    }
    let Some(id) = parse_id(&id) else {
        return not_found_page(&app, &user, "ticket");
    };
    render_detail(&app, &user, id, Refused::default(), StatusCode::OK).await
}

/// The ticket's page, with the forms a refused post brings back.
pub(super) async fn render_detail(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    refused: Refused,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let Some(ticket) = tickets::find_ticket(&mut tx, id).await? else {
        tx.commit().await?;
        return not_found_page(app, user, "ticket");
    };
    let client = clients::find_client(&mut tx, ticket.client_id).await?;
    let contact = match ticket.contact_id {
        Some(contact) => contacts::find_contact(&mut tx, contact).await?,
        None => None,
    };
    let statuses = config::list_statuses(&mut tx).await?;
    let priorities = config::list_priorities(&mut tx).await?;
    let boards = config::list_boards(&mut tx).await?;
    let users = user_options(&mut tx, ticket.assigned_to).await?;
    let comments = comments::list_comments(&mut tx, id).await?;
    let history = history_rows(sla::sla_history(&mut tx, id).await?);
    let policy = match ticket.sla_policy_id {
        Some(policy) => sla::find_policy(&mut tx, policy).await?,
        None => None,
    };
    let people: Vec<Uuid> = people_of(&ticket)
        .into_iter()
        .chain(comments.iter().filter_map(|c| c.author_id))
        .collect();
    let names = user_names(&mut tx, people).await?;
    let playbook_run =
        playbook_launch::section(&mut tx, user, "tickets", id, refused.playbook_run).await?;
    tx.commit().await?;
    let now = Utc::now();
    let response = countdown(Target::response(&ticket), now);
    let resolution = countdown(Target::resolution(&ticket), now);
    let (status_form, status_errors) = refused.status.unwrap_or_else(|| {
        let form = StatusForm {
            status: ticket.status.clone(),
            ..StatusForm::default()
        };
        (form, FormErrors::default())
    });
    let (triage_form, triage_errors) = refused.triage.unwrap_or_else(|| {
        let form = TriageForm {
            csrf_token: String::new(),
            priority: ticket.priority.clone(),
            assigned_to: ticket
                .assigned_to
                .map(|u| u.to_string())
                .unwrap_or_default(),
            board: ticket.board.clone(),
        };
        (form, FormErrors::default())
    });
    let (comment_form, comment_errors) = refused.comment.unwrap_or_default();
    let ctx = context! {
        nav => nav(user),
        ticket, client, contact, statuses, priorities, boards, users, comments, history,
        policy, names, response, resolution,
        status_form, status_errors, triage_form, triage_errors, comment_form, comment_errors,
        can_update => user.0.can(Permission::TICKET_UPDATE),
        playbook_run,
    };
    Ok((status, render(app, "ticket.html", ctx)?).into_response())
}

/// SLA audit entries as rows: the event in words and its facts as text.
fn history_rows(entries: Vec<sla::SlaAuditEntry>) -> Vec<minijinja::Value> {
    entries
        .into_iter()
        .map(|entry| {
            context! {
                event => entry.event.replace('_', " "),
                occurred_at => entry.occurred_at,
                facts => facts_of(&entry.details),
            }
        })
        .collect()
}

/// An entry's details as `key: value, …` rather than JSON; timestamps to the second.
fn facts_of(details: &serde_json::Value) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => match chrono::DateTime::parse_from_rfc3339(text) {
                Ok(t) => format!("{key}: {}", t.format("%Y-%m-%d %H:%M:%S")),
                Err(_) => format!("{key}: {text}"),
            },
            other => format!("{key}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The page again after a refused form: field problems are 422, a conflict with
/// the ticket's state (closing a closed ticket) 409.
async fn refuse(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    error: RecordError,
    fields: &[&str],
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
    render_detail(app, user, id, into_page(errors), status).await
}

/// Applies `patch`; answers the ticket's page (redirect) or the refusal.
async fn change(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    patch: TicketPatch,
) -> Result<Result<(), RecordError>, crate::error::ApiError> {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match tickets::update_ticket(&mut tx, id, patch, Some(user.0.user_id)).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Ok(()))
        }
        Err(error) => {
            tx.rollback().await?;
            Ok(Err(error))
        }
    }
}

pub async fn change_status(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::TICKET_UPDATE,
        &id,
        "ticket",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let patch = TicketPatch {
        status: Some(optional_text(&form.status)),
        ..TicketPatch::default()
    };
    match change(&app, &user, id, patch).await? {
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(error) => {
            refuse(&app, &user, id, error, &["status"], |errors| Refused {
                status: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn triage(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<TriageForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::TICKET_UPDATE,
        &id,
        "ticket",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let mut parse = Parse::default();
    let assigned_to = parse.id("assigned_to", &form.assigned_to);
    let patch = TicketPatch {
        priority: Some(optional_text(&form.priority)),
        assigned_to: Some(assigned_to),
        board: Some(optional_text(&form.board)),
        ..TicketPatch::default()
    };
    let outcome = match parse.merge(Ok(())) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(()) => change(&app, &user, id, patch).await?,
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(error) => {
            refuse(&app, &user, id, error, TRIAGE_FIELDS, |errors| Refused {
                triage: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn add_comment(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::TICKET_UPDATE,
        &id,
        "ticket",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let outcome = match engine::validation::required_text(Some(&form.body), 50_000) {
        Err(error) => Err(RecordError::field("body", error.to_string())),
        Ok(body) => {
            let mut tx = app.db.tenant_tx(user.0.tenant).await?;
            let internal = ticked(&form.internal);
            match comments::add_comment(&mut tx, id, &body, internal, user.0.user_id).await {
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
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{id}#comments")).into_response()),
        Err(error) => {
            refuse(&app, &user, id, error, &["body"], |errors| Refused {
                comment: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sla_facts_read_as_text() {
        let details = serde_json::json!({
            "due_at": "2026-11-29T10:13:48.768853352Z", "measure": "response", "percent": 50,
        });
        assert_eq!(
            super::facts_of(&details),
            "due_at: 2026-11-29 10:13:48, measure: response, percent: 50"
        );
        assert_eq!(super::facts_of(&serde_json::json!(null)), "");
    }
}
