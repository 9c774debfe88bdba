//! Starting playbook runs from pages: the one call every run form makes (the
//! playbook page's and the "Run playbook" forms below), and those forms on a
//! ticket's and a client's page. They offer the tenant's enabled manual
//! playbooks to users with playbook:run and start the chosen one's current
//! version as the user, with the ticket (and its client) or the client as
//! input, through the same start as `POST /api/v1/playbooks/{id}/runs`. A
//! refusal (a limit reached, the playbook disabled) is said on the page.

use super::forms::{FormErrors, Parse};
use super::pages::{forbidden_page, not_found_page, writable, PageResult};
use super::session::SignedIn;
use super::{client_detail, ticket_detail};
use crate::api::playbook_start::{start_playbook_run, StartRefused, StartRequest};
use crate::error::ApiError;
use crate::AppState;
use activities::{clients, playbooks, tickets, DbError, TenantTx};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

/// Why a run started from a page did not start.
#[derive(Debug)]
pub(super) enum NotStarted {
    /// The start refused it (no such playbook, a limit, disabled).
    Refused(StartRefused),
    /// Temporal is down: the user's to retry, so the page says it in place.
    Unavailable(ApiError),
}

impl NotStarted {
    /// The sentence the form shows, and the page's status.
    pub(super) fn shown(&self) -> (String, StatusCode) {
        match self {
            NotStarted::Refused(refused) => (
                format!("The run could not start: {refused}."),
                refused.status(),
            ),
            NotStarted::Unavailable(error) => (
                format!("The run could not start: {}", error.detail()),
                error.status(),
            ),
        }
    }
}

/// Starts a run as the signed-in user; answers the run's id.
pub(super) async fn start_as(
    app: &AppState,
    user: &SignedIn,
    request: StartRequest,
) -> Result<Result<Uuid, NotStarted>, ApiError> {
    match start_playbook_run(app, user.0.tenant, user.0.user_id, request).await {
        Ok(Ok(started)) => Ok(Ok(started.run_id)),
        Ok(Err(refused)) => Ok(Err(NotStarted::Refused(refused))),
        Err(error) if error.status() == StatusCode::SERVICE_UNAVAILABLE => {
            Ok(Err(NotStarted::Unavailable(error)))
        }
        Err(error) => Err(error),
    }
}

/// The "Run playbook" form as sent.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LaunchForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    playbook_id: String,
}

const LAUNCH_FIELDS: &[&str] = &["playbook_id"];

/// The form's context for the page of record `id` under `/{records}` (it posts
/// to `/{records}/{id}/playbook-runs`), or none for a user without playbook:run;
/// `refused` is a form to show again with its errors.
pub(super) async fn section(
    tx: &mut TenantTx,
    user: &SignedIn,
    records: &'static str,
    id: Uuid,
    refused: Option<(LaunchForm, FormErrors)>,
) -> Result<Option<minijinja::Value>, DbError> {
    if !user.0.can(Permission::PLAYBOOK_RUN) {
        return Ok(None);
    }
    let playbooks = playbooks::manual_playbooks(tx).await?;
    let (form, errors) = refused.unwrap_or_default();
    let open = !errors.fields.is_empty() || !errors.general.is_empty();
    Ok(Some(
        context! { records, id, playbooks, form, errors, open },
    ))
}

/// The chosen playbook, or the form's error.
fn chosen(form: &LaunchForm) -> Result<Uuid, FormErrors> {
    let mut parse = Parse::default();
    match parse.id("playbook_id", &form.playbook_id) {
        Some(id) => Ok(id),
        None => {
            if parse.0.is_empty() {
                parse.add("playbook_id", "choose a playbook to run");
            }
            Err(FormErrors::from_issues(parse.0, LAUNCH_FIELDS))
        }
    }
}

/// Starts the chosen playbook with `input`; the run's page, or why not.
async fn launch(
    app: &AppState,
    user: &SignedIn,
    form: &LaunchForm,
    input: Value,
) -> Result<Result<Uuid, (FormErrors, StatusCode)>, ApiError> {
    let playbook_id = match chosen(form) {
        Ok(id) => id,
        Err(errors) => return Ok(Err((errors, StatusCode::UNPROCESSABLE_ENTITY))),
    };
    let request = StartRequest {
        playbook_id,
        version: None,
        input,
        dry_run: false,
        fixtures: Default::default(),
        trigger: "manual",
    };
    Ok(match start_as(app, user, request).await? {
        Ok(run_id) => Ok(run_id),
        Err(NotStarted::Refused(StartRefused::NotFound)) => {
            let issue = engine::validation::FieldIssue {
                field: "playbook_id".into(),
                message: "is not a playbook of this tenant".into(),
            };
            let errors = FormErrors::from_issues(vec![issue], LAUNCH_FIELDS);
            Err((errors, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(not_started) => {
            let (message, status) = not_started.shown();
            Err((FormErrors::general(message), status))
        }
    })
}

fn run_page(run_id: Uuid) -> PageResult {
    Ok(Redirect::to(&format!("/runs/{run_id}")).into_response())
}

/// `POST /tickets/{id}/playbook-runs`: runs the chosen playbook with
/// `{"ticket_id", "client_id"}` of the ticket.
pub async fn from_ticket(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<LaunchForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::PLAYBOOK_RUN,
        &id,
        "ticket",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    if !user.0.can(Permission::TICKET_READ) {
        return forbidden_page(&app, &user, Permission::TICKET_READ);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let ticket = tickets::find_ticket(&mut tx, id).await?;
    tx.commit().await?;
    let Some(ticket) = ticket else {
        return not_found_page(&app, &user, "ticket");
    };
    let input = json!({"ticket_id": ticket.id, "client_id": ticket.client_id});
    match launch(&app, &user, &form, input).await? {
        Ok(run_id) => run_page(run_id),
        Err((errors, status)) => {
            let refused = ticket_detail::Refused {
                playbook_run: Some((form, errors)),
                ..ticket_detail::Refused::default()
            };
            ticket_detail::render_detail(&app, &user, id, refused, status).await
        }
    }
}

/// `POST /clients/{id}/playbook-runs`: runs the chosen playbook with
/// `{"client_id"}` of the client.
pub async fn from_client(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<LaunchForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::PLAYBOOK_RUN,
        &id,
        "client",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    if !user.0.can(Permission::CLIENT_READ) {
        return forbidden_page(&app, &user, Permission::CLIENT_READ);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let client = clients::find_client(&mut tx, id).await?;
    tx.commit().await?;
    let Some(client) = client else {
        return not_found_page(&app, &user, "client");
    };
    let input = json!({"client_id": client.id});
    match launch(&app, &user, &form, input).await? {
        Ok(run_id) => run_page(run_id),
        Err((errors, status)) => {
            let refused = client_detail::Refused {
                playbook_run: Some((form, errors)),
                ..client_detail::Refused::default()
            };
            client_detail::render_detail(&app, &user, id, refused, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use activities::playbooks::limits::LimitReached;

    fn form(playbook_id: &str) -> LaunchForm {
        LaunchForm {
            playbook_id: playbook_id.into(),
            ..LaunchForm::default()
        }
    }

    #[test]
    fn the_form_must_name_a_playbook() {
        let id = "0190d1c2-0000-7000-8000-000000000001";
        assert_eq!(chosen(&form(id)).ok(), Uuid::try_parse(id).ok());
        let cases = [
            ("blank", "  ", "choose a playbook to run"),
            ("not an id", "nudge", "is not a valid choice"),
        ];
        for (name, text, expected) in cases {
            let errors = chosen(&form(text)).expect_err(name);
            assert_eq!(errors.fields["playbook_id"], expected, "{name}");
        }
    }

    #[test]
    fn a_refused_start_says_why_with_its_status() {
        let reached = LimitReached::Daily {
            started: 3,
            limit: 3,
        };
        let (message, status) = NotStarted::Refused(StartRefused::LimitReached(reached)).shown();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            message.starts_with("The run could not start: 3 playbook runs started")
                && message.contains("max_runs_per_day"),
            "{message}"
        );
        let (message, status) = NotStarted::Refused(StartRefused::Disabled).shown();
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(message.contains("disabled"), "{message}");
        let down = ApiError::unavailable("temporal: connection refused");
        let (message, status) = NotStarted::Unavailable(down).shown();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(message.contains("retry later"), "{message}");
    }
}
