//! Playbooks (`/playbooks`): the list with a "New playbook" form, and one
//! playbook's page: the editor (a save that changes the source adds a version),
//! the version history, a form that starts a run (real or dry) and the action
//! catalogue to read while writing. Forms are checked by the same
//! `PlaybookInput::validate` as `POST /api/v1/playbooks`, so a source that does not
//! compile comes back (422) with each error's `line:column`, the offending line
//! and everything typed kept.

use super::forms::{link, page_after, parse_id, ticked, FormErrors};
use super::pages::{
    forbidden_page, in_tx, nav, not_found_page, render, writable, PageResult, Refusal,
};
use super::playbook_launch::{start_as, NotStarted};
use super::session::SignedIn;
use crate::api::playbook_start::{StartRefused, StartRequest};
use crate::api::playbooks::{is_scheduled, sync_schedule};
use crate::error::ApiError;
use crate::AppState;
use activities::playbooks::{self, webhooks, PlaybookDetail};
use activities::records::RecordError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use dsl::input_schema::InputSchema;
use dsl::manifest::{PlaybookDraft, PlaybookInput, PlaybookInputError};
use dsl::triggers::Trigger;
use dsl::CompileError;
use engine::validation::FieldIssue;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Largest run input or fixture set, as JSON (what the API accepts).
const MAX_JSON_BYTES: usize = 64 * 1024;

/// The playbook fields the forms show messages next to.
const FIELDS: &[&str] = &[
    "name",
    "description",
    "source",
    "enabled",
    "trigger",
    "input_schema",
    "permissions",
];

/// The types an input schema's field may take, as the editor lists them.
const INPUT_TYPES: &[&str] = &[
    "string", "integer", "boolean", "uuid", "date", "object", "array", "any",
];

/// The run form's fields.
const RUN_FIELDS: &[&str] = &["input", "fixtures", "dry_run"];

/// The textarea is never shorter than this many rows.
const MIN_ROWS: usize = 12;

/// The list's cursor.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    cursor: String,
}

/// `?saved=1` after a save.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditorQuery {
    saved: String,
}

/// The new-playbook form and the editor, as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PlaybookForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    description: String,
    source: String,
    /// Only the editor has the checkbox; a new playbook is enabled.
    enabled: Option<String>,
    /// `manual`, `event` or `schedule` (blank: manual).
    trigger_kind: String,
    trigger_event: String,
    trigger_filter: String,
    trigger_cron: String,
    trigger_timezone: String,
    trigger_hook: String,
    /// The manifest's input schema as a JSON array (blank: none).
    input_schema: String,
    /// Declared permissions, separated by commas or spaces.
    permissions: String,
}

impl PlaybookForm {
    fn stored(detail: &PlaybookDetail) -> PlaybookForm {
        let schema = &detail.manifest.input_schema;
        PlaybookForm {
            name: detail.playbook.name.clone(),
            description: detail.playbook.description.clone(),
            source: detail.source.clone(),
            enabled: super::forms::checkbox(detail.playbook.enabled),
            input_schema: if schema.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(schema).unwrap_or_default()
            },
            permissions: detail.manifest.permissions.join(", "),
            ..PlaybookForm::default()
        }
        .with_trigger(serde_json::from_value(detail.playbook.trigger.clone()).unwrap_or_default())
    }

    fn with_trigger(mut self, trigger: Trigger) -> PlaybookForm {
        match trigger {
            Trigger::Manual => self.trigger_kind = "manual".into(),
            Trigger::Event { event, filter } => {
                self.trigger_kind = "event".into();
                self.trigger_event = event;
                self.trigger_filter = filter.unwrap_or_default();
            }
            Trigger::Schedule { cron, timezone } => {
                self.trigger_kind = "schedule".into();
                self.trigger_cron = cron;
                self.trigger_timezone = timezone;
            }
            Trigger::Webhook { hook } => {
                self.trigger_kind = "webhook".into();
                self.trigger_hook = hook;
            }
        }
        self
    }

    /// The trigger the radio buttons choose; the domain checks its event, filter,
    /// cron and timezone.
    fn trigger(&self) -> Result<Trigger, PlaybookInputError> {
        let text = |t: &str| Some(t.trim()).filter(|t| !t.is_empty()).map(str::to_owned);
        match self.trigger_kind.as_str() {
            "" | "manual" => Ok(Trigger::Manual),
            "event" => Ok(Trigger::Event {
                event: self.trigger_event.trim().to_owned(),
                filter: text(&self.trigger_filter),
            }),
            "schedule" => Ok(Trigger::Schedule {
                cron: self.trigger_cron.trim().to_owned(),
                timezone: text(&self.trigger_timezone).unwrap_or_else(|| "UTC".into()),
            }),
            "webhook" => Ok(Trigger::Webhook {
                hook: self.trigger_hook.trim().to_owned(),
            }),
            other => Err(PlaybookInputError::Fields(vec![issue(
                "trigger",
                format!("{other:?} is not a trigger: choose manual, event, schedule or webhook"),
            )])),
        }
    }

    /// The typed schema; blank declares no fields.
    fn input_schema(&self) -> Result<InputSchema, PlaybookInputError> {
        if self.input_schema.trim().is_empty() {
            return Ok(InputSchema::default());
        }
        serde_json::from_str(&self.input_schema).map_err(|e| {
            PlaybookInputError::Fields(vec![issue(
                "input_schema",
                format!(
                    "must be a JSON array of fields like \
                     [{{\"name\": \"days\", \"type\": \"integer\", \"default\": 7}}]: {e}"
                ),
            )])
        })
    }

    /// The checked draft. Both forms send every field, so name and source are
    /// required on both; a blank description on the editor clears it (the domain
    /// reads a missing one as "unchanged").
    fn draft(&self, creating: bool) -> Result<PlaybookDraft, PlaybookInputError> {
        // Browsers send a textarea's line breaks as CRLF; stored text keeps LF, so
        // saving a source untouched is no new version.
        let input = PlaybookInput {
            name: Some(self.name.clone()),
            description: Some(lf(&self.description)),
            source: Some(lf(&self.source)),
            enabled: (!creating).then(|| ticked(&self.enabled)),
            trigger: Some(self.trigger()?),
            input_schema: Some(self.input_schema()?),
            permissions: Some(
                self.permissions
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        };
        let mut draft = input.validate(true)?;
        if !creating {
            draft.description.get_or_insert_with(String::new);
        }
        Ok(draft)
    }
}

fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// The run form, as typed (an unticked checkbox is not sent, so a missing field
/// is blank, never the first page's default).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RunForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    input: String,
    dry_run: Option<String>,
    fixtures: String,
}

/// What the run form asks for, parsed.
#[derive(Debug, PartialEq)]
struct RunRequest {
    input: Value,
    dry_run: bool,
    fixtures: BTreeMap<String, Value>,
}

impl RunForm {
    /// The form as first shown: an empty input, and a dry run, the safe first try.
    fn initial() -> RunForm {
        RunForm {
            input: "{}".into(),
            dry_run: super::forms::checkbox(true),
            ..RunForm::default()
        }
    }

    /// The input (blank is `{}`) and fixtures (blank is none) as JSON objects; the
    /// fixtures must name catalogue actions and only make sense for a dry run.
    fn request(&self) -> Result<RunRequest, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let mut object = |field: &str, text: &str| match json_object(text) {
            Ok(map) => map,
            Err(message) => {
                issues.push(issue(field, message));
                Map::new()
            }
        };
        let input = object("input", &self.input);
        let fixtures = object("fixtures", &self.fixtures);
        let dry_run = ticked(&self.dry_run);
        let unknown: Vec<&str> = fixtures
            .keys()
            .filter(|name| dsl::catalogue::action(name).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let message = format!("{} is not an action of the catalogue", unknown.join(", "));
            issues.push(issue("fixtures", message));
        } else if !fixtures.is_empty() && !dry_run {
            issues.push(issue(
                "fixtures",
                "only answer actions in a dry run; tick Dry run or clear them",
            ));
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(RunRequest {
            input: Value::Object(input),
            dry_run,
            fixtures: fixtures.into_iter().collect(),
        })
    }
}

fn issue(field: &str, message: impl Into<String>) -> FieldIssue {
    FieldIssue {
        field: field.into(),
        message: message.into(),
    }
}

/// Form text as a JSON object of at most [`MAX_JSON_BYTES`]; blank is `{}`.
fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    if text.len() > MAX_JSON_BYTES {
        return Err("must be at most 64 KiB of JSON".into());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(r#"must be a JSON object, like {"client_id": "…"}"#.into()),
        Err(error) => Err(format!("is not JSON: {error}")),
    }
}

/// A compile error as the page shows it: where, what, and the line it points at
/// with a caret under the column (tabs kept, so the caret lines up).
#[derive(Debug, Serialize)]
struct CompileErrorRow {
    /// `line:column`.
    at: String,
    line: usize,
    message: String,
    /// The source line, when the error has one.
    text: Option<String>,
    caret: Option<String>,
}

impl CompileErrorRow {
    fn new(source: &str, error: &CompileError) -> CompileErrorRow {
        let text = (error.line > 0)
            .then(|| source.lines().nth(error.line - 1))
            .flatten();
        let caret = text.map(|text| {
            let pad: String = text
                .chars()
                .take(error.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            format!("{pad}^")
        });
        CompileErrorRow {
            at: format!("{}:{}", error.line, error.column),
            line: error.line,
            message: error.message.clone(),
            text: text.map(str::to_owned),
            caret,
        }
    }
}

/// The line numbers of the source's gutter (at least one), and the textarea's rows.
fn gutter(source: &str) -> (Vec<usize>, usize) {
    let lines = source.lines().count().max(1) + usize::from(source.ends_with('\n'));
    ((1..=lines).collect(), (lines + 2).max(MIN_ROWS))
}

/// A refused playbook form as the page shows it: messages by field, the compile
/// errors with their excerpts (also joined onto `source`, so the field is marked),
/// and the status.
#[derive(Default)]
struct Shown {
    errors: FormErrors,
    compile_errors: Vec<CompileErrorRow>,
    status: StatusCode,
}

/// Why the form was refused, for the page; a database failure is the caller's.
fn show_refusal(
    error: RecordError,
    compile: &[CompileError],
    source: &str,
) -> Result<Shown, ApiError> {
    let compile_errors = compile
        .iter()
        .map(|e| CompileErrorRow::new(source, e))
        .collect();
    let (errors, status) = FormErrors::refusal(error, FIELDS)?;
    Ok(Shown {
        errors,
        compile_errors,
        status,
    })
}

/// A refused input as a record error, with its compile errors.
fn input_refusal(error: PlaybookInputError) -> (RecordError, Vec<CompileError>) {
    match error {
        PlaybookInputError::Fields(issues) => (RecordError::Invalid(issues), Vec::new()),
        PlaybookInputError::Compile(errors) => {
            let issues = errors
                .iter()
                .map(|e| issue("source", e.to_string()))
                .collect();
            (RecordError::Invalid(issues), errors)
        }
    }
}

/// CSRF, then the permission, of a form post.
fn may(user: &SignedIn, csrf: &str, permission: Permission) -> Option<Refusal> {
    if !user.csrf_ok(csrf) {
        return Some(Refusal::Csrf);
    }
    if !user.0.can(permission) {
        return Some(Refusal::Forbidden(permission));
    }
    None
}

// ----- the list and the new-playbook form -----

pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<ListQuery>,
) -> PageResult {
    if !user.0.can(Permission::PLAYBOOK_READ) {
        return forbidden_page(&app, &user, Permission::PLAYBOOK_READ);
    }
    let form = PlaybookForm::default();
    render_list(&app, &user, &query, form, Shown::default()).await
}

async fn render_list(
    app: &AppState,
    user: &SignedIn,
    query: &ListQuery,
    form: PlaybookForm,
    shown: Shown,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let page = playbooks::list_playbooks(&mut tx, page_after(&query.cursor)).await?;
    tx.commit().await?;
    let next_url = page
        .next_cursor
        .map(|c| link("/playbooks", &[("cursor", &c.to_string())]));
    let ctx = context! {
        nav => nav(user),
        playbooks => page.data, next_url, paged => !query.cursor.is_empty(),
        form, errors => shown.errors, compile_errors => shown.compile_errors,
        open_form => shown.status != StatusCode::OK,
        event_types => engine::DomainEvent::TYPE_NAMES,
        can_write => user.0.can(Permission::PLAYBOOK_WRITE),
    };
    Ok((shown.status, render(app, "playbooks.html", ctx)?).into_response())
}

pub async fn create(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<PlaybookForm>,
) -> PageResult {
    if let Some(refusal) = may(&user, &form.csrf_token, Permission::PLAYBOOK_WRITE) {
        return refusal.answer(&app, &user);
    }
    let (error, compile) = match form.draft(true) {
        Err(error) => input_refusal(error),
        Ok(draft) => {
            let actor = Some(user.0.user_id);
            let created = in_tx(&app, &user, async |tx| {
                playbooks::create_playbook(tx, &draft, actor).await
            })
            .await?;
            match created {
                Ok(detail) => {
                    sync_schedule(&app, user.0.tenant, false, &detail).await?;
                    return Ok(saved_redirect(detail.playbook.id));
                }
                Err(error) => (error, Vec::new()),
            }
        }
    };
    let shown = show_refusal(error, &compile, &form.source)?;
    render_list(&app, &user, &ListQuery::default(), form, shown).await
}

fn saved_redirect(id: Uuid) -> Response {
    Redirect::to(&format!("/playbooks/{id}?saved=1")).into_response()
}

// ----- one playbook: the editor, its versions, the run form, the catalogue -----

/// What the playbook's page shows besides the playbook.
#[derive(Default)]
struct EditorState {
    /// The editor as typed (`None`: as stored).
    form: Option<PlaybookForm>,
    shown: Shown,
    /// The run form as typed (`None`: as first shown).
    run: Option<RunForm>,
    run_errors: FormErrors,
    notice: Option<&'static str>,
}

pub async fn editor(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    query: Result<Query<EditorQuery>, QueryRejection>,
) -> PageResult {
    if !user.0.can(Permission::PLAYBOOK_READ) {
        return forbidden_page(&app, &user, Permission::PLAYBOOK_READ);
    }
    let Some(id) = parse_id(&id) else {
        return not_found_page(&app, &user, "playbook");
    };
    let saved = query.is_ok_and(|Query(q)| !q.saved.is_empty());
    let state = EditorState {
        notice: saved.then_some("Saved."),
        ..EditorState::default()
    };
    render_editor(&app, &user, id, state).await
}

async fn render_editor(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    state: EditorState,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let found = playbooks::find_playbook(&mut tx, id).await?;
    let versions = playbooks::list_versions(&mut tx, id).await?;
    tx.commit().await?;
    let Some(detail) = found else {
        return not_found_page(app, user, "playbook");
    };
    let webhook = shown_webhook(app, user, &detail).await?;
    let form = state.form.unwrap_or_else(|| PlaybookForm::stored(&detail));
    let (gutter, rows) = gutter(&form.source);
    let Shown {
        errors,
        compile_errors,
        status,
    } = state.shown;
    let error_lines: Vec<usize> = compile_errors.iter().map(|e| e.line).collect();
    let run_errors = state.run_errors;
    let ctx = context! {
        nav => nav(user),
        required_permissions => detail.required_permissions,
        input_types => INPUT_TYPES,
        playbook => detail.playbook, versions, form, gutter, rows, error_lines,
        errors, compile_errors, run => state.run.unwrap_or_else(RunForm::initial),
        min_rows => MIN_ROWS, event_types => engine::DomainEvent::TYPE_NAMES,
        open_run => !run_errors.fields.is_empty() || !run_errors.general.is_empty(),
        run_errors, notice => state.notice,
        actions => minijinja::Value::from_serialize(dsl::catalogue::ACTIONS),
        durable_builtins => dsl::catalogue::DURABLE_BUILTINS,
        pure_builtins => dsl::catalogue::PURE_BUILTINS,
        can_write => user.0.can(Permission::PLAYBOOK_WRITE),
        can_run => user.0.can(Permission::PLAYBOOK_RUN),
        webhook, public_url => app.settings.mail.public_url.trim_end_matches('/'),
    };
    Ok((status, render(app, "playbook.html", ctx)?).into_response())
}

/// The webhook's path and secret, for authors of a playbook with a webhook trigger.
async fn shown_webhook(
    app: &AppState,
    user: &SignedIn,
    detail: &PlaybookDetail,
) -> Result<Option<webhooks::Webhook>, ApiError> {
    let is_webhook = detail.playbook.trigger["kind"] == "webhook";
    if !is_webhook || !user.0.can(Permission::PLAYBOOK_WRITE) {
        return Ok(None);
    }
    crate::api::webhooks::webhook(app, user.0.tenant, detail.playbook.id, None)
        .await
        .map(Some)
}

/// `POST /playbooks/{id}/webhook/rotate`: a new signing secret, shown on the editor.
pub async fn rotate_webhook_secret(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<super::pages::CsrfForm>,
) -> PageResult {
    let permission = Permission::PLAYBOOK_WRITE;
    let id = match writable(&user, &form.csrf_token, permission, &id, "playbook") {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    crate::api::webhooks::webhook(&app, user.0.tenant, id, Some(user.0.user_id)).await?;
    let state = EditorState {
        notice: Some("A new signing secret is in place; the old one no longer works."),
        ..EditorState::default()
    };
    render_editor(&app, &user, id, state).await
}
pub async fn save(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PlaybookForm>,
) -> PageResult {
    let permission = Permission::PLAYBOOK_WRITE;
    let id = match writable(&user, &form.csrf_token, permission, &id, "playbook") {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let (error, compile) = match form.draft(false) {
        Err(error) => input_refusal(error),
        Ok(draft) => {
            let actor = Some(user.0.user_id);
            let updated = in_tx(&app, &user, async |tx| {
                let before = playbooks::find_playbook(tx, id).await?;
                let saved = playbooks::update_playbook(tx, id, &draft, actor).await?;
                Ok((before.is_some_and(|b| is_scheduled(&b)), saved))
            })
            .await?;
            match updated {
                Ok((was_scheduled, saved)) => {
                    sync_schedule(&app, user.0.tenant, was_scheduled, &saved).await?;
                    return Ok(saved_redirect(id));
                }
                Err(RecordError::NotFound(_)) => return not_found_page(&app, &user, "playbook"),
                Err(error) => (error, Vec::new()),
            }
        }
    };
    let state = EditorState {
        shown: show_refusal(error, &compile, &form.source)?,
        form: Some(form),
        ..EditorState::default()
    };
    render_editor(&app, &user, id, state).await
}

/// `POST /playbooks/{id}/runs`: starts a run of the current version as the user
/// and shows it. A disabled playbook only takes dry runs.
pub async fn start_run(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RunForm>,
) -> PageResult {
    let permission = Permission::PLAYBOOK_RUN;
    let id = match writable(&user, &form.csrf_token, permission, &id, "playbook") {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let request = match form.request() {
        Ok(request) => request,
        Err(issues) => {
            let errors = FormErrors::from_issues(issues, RUN_FIELDS);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return refuse_run(&app, &user, id, form, errors, status).await;
        }
    };
    let request = StartRequest {
        playbook_id: id,
        version: None,
        input: request.input,
        dry_run: request.dry_run,
        fixtures: request.fixtures,
        trigger: "manual",
    };
    let (errors, status) = match start_as(&app, &user, request).await? {
        Ok(run_id) => return Ok(Redirect::to(&format!("/runs/{run_id}")).into_response()),
        Err(NotStarted::Refused(StartRefused::NotFound)) => {
            return not_found_page(&app, &user, "playbook")
        }
        Err(NotStarted::Refused(StartRefused::Disabled)) => (
            FormErrors::general(
                "This playbook is disabled: enable it and save, or tick Dry run to try it.",
            ),
            StatusCode::CONFLICT,
        ),
        Err(not_started) => {
            let (message, status) = not_started.shown();
            (FormErrors::general(message), status)
        }
    };
    refuse_run(&app, &user, id, form, errors, status).await
}

/// The page again with the run form as typed and why it was refused.
async fn refuse_run(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    run: RunForm,
    run_errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    let state = EditorState {
        run: Some(run),
        run_errors,
        shown: Shown {
            status,
            ..Shown::default()
        },
        ..EditorState::default()
    };
    render_editor(app, user, id, state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_form(input: &str, dry_run: bool, fixtures: &str) -> RunForm {
        RunForm {
            input: input.into(),
            dry_run: dry_run.then(|| "on".into()),
            fixtures: fixtures.into(),
            ..RunForm::default()
        }
    }

    fn messages(result: Result<RunRequest, Vec<FieldIssue>>) -> Vec<String> {
        result
            .expect_err("refused")
            .into_iter()
            .map(|i| format!("{}: {}", i.field, i.message))
            .collect()
    }

    #[test]
    fn run_input_is_a_json_object_and_blank_means_empty() {
        let cases = [
            ("blank", "  ", serde_json::json!({})),
            ("default", "{}", serde_json::json!({})),
            (
                "object",
                r#"{"client_id": "c1", "n": 2}"#,
                serde_json::json!({"client_id": "c1", "n": 2}),
            ),
        ];
        for (name, text, expected) in cases {
            let request = run_form(text, false, "").request().expect(name);
            assert_eq!(request.input, expected, "{name}");
            assert!(!request.dry_run, "{name}");
        }
    }

    #[test]
    fn bad_run_input_is_refused_with_a_message_for_its_field() {
        let cases = [
            (
                "not json",
                "{client",
                "input: is not JSON: key must be a string",
            ),
            ("array", "[1, 2]", "input: must be a JSON object"),
            ("number", "7", "input: must be a JSON object"),
        ];
        for (name, text, expected) in cases {
            let got = messages(run_form(text, true, "").request());
            assert_eq!(got.len(), 1, "{name}: {got:?}");
            assert!(got[0].starts_with(expected), "{name}: {got:?}");
        }
        let huge = format!(r#"{{"x": "{}"}}"#, "a".repeat(MAX_JSON_BYTES));
        assert_eq!(
            messages(run_form(&huge, true, "").request()),
            vec!["input: must be at most 64 KiB of JSON"]
        );
    }

    #[test]
    fn fixtures_name_actions_and_only_answer_dry_runs() {
        let fixtures = r#"{"create_ticket": {"id": "t1"}}"#;
        let request = run_form("{}", true, fixtures).request().expect("dry run");
        assert!(request.dry_run);
        assert_eq!(
            request.fixtures["create_ticket"],
            serde_json::json!({"id": "t1"})
        );
        assert_eq!(
            messages(run_form("{}", false, fixtures).request()),
            vec!["fixtures: only answer actions in a dry run; tick Dry run or clear them"]
        );
        assert_eq!(
            messages(run_form("[]", true, r#"{"launch_rockets": 1}"#).request()),
            vec![
                r#"input: must be a JSON object, like {"client_id": "…"}"#,
                "fixtures: launch_rockets is not an action of the catalogue",
            ]
        );
    }

    #[test]
    fn a_compile_error_points_at_its_line_and_column() {
        let source = "let a = 1;\n\tlet x = ;\n";
        let error = CompileError {
            line: 2,
            column: 10,
            message: "Expecting an expression".into(),
        };
        let row = CompileErrorRow::new(source, &error);
        assert_eq!(row.at, "2:10");
        assert_eq!(row.text.as_deref(), Some("\tlet x = ;"));
        assert_eq!(row.caret.as_deref(), Some("\t        ^"));
        let nowhere = CompileError {
            line: 0,
            column: 0,
            message: "too big".into(),
        };
        let row = CompileErrorRow::new(source, &nowhere);
        assert_eq!((row.text, row.caret), (None, None));
    }

    #[test]
    fn the_gutter_numbers_every_line_and_the_editor_grows_with_the_source() {
        assert_eq!(gutter(""), (vec![1], MIN_ROWS));
        assert_eq!(gutter("a\nb"), (vec![1, 2], MIN_ROWS));
        assert_eq!(gutter("a\nb\n").0, vec![1, 2, 3]);
        let long = "x;\n".repeat(30);
        assert_eq!(gutter(&long), ((1..=31).collect(), 33));
    }

    #[test]
    fn the_forms_compile_the_source_and_keep_the_compile_errors() {
        let form = PlaybookForm {
            name: "Nudge".into(),
            source: "let x = ;".into(),
            ..PlaybookForm::default()
        };
        let (error, compile) = input_refusal(form.draft(true).expect_err("does not compile"));
        assert_eq!((compile[0].line, compile[0].column), (1, 9));
        let shown = show_refusal(error, &compile, &form.source).expect("not a database error");
        assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = &shown.errors.fields["source"];
        assert!(message.starts_with("1:9: "), "{message}");
        assert_eq!(shown.compile_errors[0].text.as_deref(), Some("let x = ;"));

        let (error, _) = input_refusal(PlaybookForm::default().draft(true).expect_err("blank"));
        let shown = show_refusal(error, &[], "").expect("not a database error");
        let fields: Vec<&String> = shown.errors.fields.keys().collect();
        assert_eq!(fields, vec!["name", "source"]);
        assert!(shown.compile_errors.is_empty());
    }

    #[test]
    fn the_editor_sends_its_checkbox_and_may_clear_the_description() {
        let form = PlaybookForm {
            name: "Nudge".into(),
            source: "1".into(),
            ..PlaybookForm::default()
        };
        let draft = form.draft(false).expect("valid");
        assert_eq!(draft.enabled, Some(false));
        assert_eq!(draft.description.as_deref(), Some(""));
        let created = form.draft(true).expect("valid");
        assert_eq!(created.enabled, None, "a new playbook takes the default");
    }

    fn render(name: &str, ctx: minijinja::Value) -> String {
        super::super::templates()
            .get_template(name)
            .expect("registered")
            .render(ctx)
            .unwrap_or_else(|e| panic!("{name} renders: {e:#}"))
    }

    fn nav() -> minijinja::Value {
        context! { csrf_token => "tok", can_read_playbooks => true }
    }

    fn playbook() -> serde_json::Value {
        serde_json::json!({
            "id": "0190d1c2-0000-7000-8000-000000000001", "name": "Nudge <b>", "description": "",
            "trigger": {"kind": "manual"}, "enabled": false, "version": 2,
            "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-02T10:15:00Z",
        })
    }

    #[test]
    fn the_list_shows_a_refused_source_with_its_line_and_column() {
        let form = PlaybookForm {
            name: "Nudge".into(),
            source: "let a = 1;\nlet x = ;".into(),
            ..PlaybookForm::default()
        };
        let (error, compile) = input_refusal(form.draft(true).expect_err("does not compile"));
        let shown = show_refusal(error, &compile, &form.source).expect("shown");
        let html = render(
            "playbooks.html",
            context! {
                nav => nav(), event_types => engine::DomainEvent::TYPE_NAMES, playbooks => vec![playbook()], next_url => "/playbooks?cursor=x",
                form, errors => shown.errors, compile_errors => shown.compile_errors,
                open_form => true, can_write => true,
            },
        );
        assert!(html.contains("<strong>2:9</strong>"), "{html}");
        assert!(html.contains("<pre>let x = ;\n        ^</pre>"), "{html}");
        assert!(
            html.contains(">\nlet a = 1;\nlet x = ;</textarea>"),
            "{html}"
        );
        assert!(
            html.contains(r#"<details class="card" id="new-playbook" open>"#),
            "{html}"
        );
        assert!(html.contains("Nudge &lt;b&gt;</a>"), "{html}");
        assert!(html.contains(r#"name="csrf_token" value="tok""#), "{html}");
        assert!(
            html.contains(r#"<a href="/playbooks">Playbooks</a>"#),
            "{html}"
        );
    }

    #[test]
    fn the_editor_numbers_lines_marks_errors_and_lists_the_catalogue() {
        let form = PlaybookForm {
            name: "Nudge".into(),
            source: "let a = 1;\nlet x = ;".into(),
            enabled: Some("on".into()),
            ..PlaybookForm::default()
        };
        let (error, compile) = input_refusal(form.draft(false).expect_err("does not compile"));
        let shown = show_refusal(error, &compile, &form.source).expect("shown");
        let (gutter, rows) = gutter(&form.source);
        let run_errors =
            FormErrors::from_issues(vec![issue("input", "must be a JSON object")], RUN_FIELDS);
        let version = serde_json::json!({
            "version": 2, "source": "1", "created_by": null, "created_at": "2026-03-02T10:15:00Z",
        });
        let html = render(
            "playbook.html",
            context! {
                nav => nav(), event_types => engine::DomainEvent::TYPE_NAMES, playbook => playbook(), versions => vec![version], form,
                gutter, rows, error_lines => vec![2], errors => shown.errors,
                compile_errors => shown.compile_errors,
                run => RunForm { input: "[1]".into(), ..RunForm::default() },
                min_rows => MIN_ROWS, run_errors, open_run => true, notice => (),
                actions => minijinja::Value::from_serialize(dsl::catalogue::ACTIONS),
                durable_builtins => dsl::catalogue::DURABLE_BUILTINS,
                pure_builtins => dsl::catalogue::PURE_BUILTINS,
                can_write => true, can_run => true,
            },
        );
        assert!(
            html.contains(r#"<span>1</span><span class="bad">2</span></pre>"#),
            "{html}"
        );
        assert!(html.contains(&format!(r#"rows="{MIN_ROWS}""#)), "{html}");
        assert!(html.contains("<strong>2:9</strong>"), "{html}");
        assert!(
            html.contains(r#"<input type="checkbox" name="enabled" checked>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"data-field="input">must be a JSON object</p>"#),
            "{html}"
        );
        assert!(html.contains(">\n[1]</textarea>"), "{html}");
        assert!(
            html.contains(r#"<input type="checkbox" name="dry_run">"#),
            "an unticked dry run stays unticked: {html}"
        );
        assert!(html.contains("only dry runs start"), "{html}");
        assert!(html.contains(r#"id="action-create_ticket""#), "{html}");
        assert!(html.contains("<strong>required</strong>"), "{html}");
        assert!(
            html.contains(r#"action="/playbooks/0190d1c2-0000-7000-8000-000000000001/runs""#),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="tag">current</span>"#),
            "{html}"
        );
        assert!(html.contains(r#"href="/runs""#), "{html}");
        assert!(
            html.contains(r#"<input type="radio" name="trigger_kind" value="manual" checked>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<option value="ticket.created">"#),
            "{html}"
        );
    }

    #[test]
    fn a_reader_sees_the_source_but_no_save_and_no_run() {
        let html = render(
            "playbook.html",
            context! {
                nav => nav(), event_types => engine::DomainEvent::TYPE_NAMES, playbook => playbook(), versions => Vec::<()>::new(),
                form => PlaybookForm { source: "1".into(), ..PlaybookForm::default() },
                gutter => vec![1], rows => MIN_ROWS, error_lines => Vec::<usize>::new(),
                errors => FormErrors::default(), compile_errors => Vec::<()>::new(),
                run => RunForm::initial(), min_rows => MIN_ROWS, run_errors => FormErrors::default(),
                notice => "Saved.", actions => Vec::<()>::new(),
                durable_builtins => dsl::catalogue::DURABLE_BUILTINS,
                pure_builtins => dsl::catalogue::PURE_BUILTINS,
                can_write => false, can_run => false,
            },
        );
        assert!(html.contains("<fieldset disabled>"), "{html}");
        assert!(!html.contains(">Save</button>"), "{html}");
        assert!(!html.contains(r#"id="run""#), "{html}");
        assert!(html.contains("Saved. Version 2 is current."), "{html}");
    }

    #[test]
    fn the_trigger_fields_become_the_trigger_and_are_checked() {
        let form = |kind: &str| PlaybookForm {
            name: "Nudge".into(),
            source: "1".into(),
            trigger_kind: kind.into(),
            trigger_event: "ticket.created".into(),
            trigger_filter: "  ".into(),
            trigger_cron: " 0 8 * * MON-FRI ".into(),
            ..PlaybookForm::default()
        };
        let trigger = |kind: &str| form(kind).draft(true).expect(kind).trigger;
        assert_eq!(trigger(""), Some(Trigger::Manual));
        assert_eq!(
            trigger("event"),
            Some(Trigger::Event {
                event: "ticket.created".into(),
                filter: None
            })
        );
        assert_eq!(
            trigger("schedule"),
            Some(Trigger::Schedule {
                cron: "0 8 * * MON-FRI".into(),
                timezone: "UTC".into()
            })
        );
        let refused = |form: PlaybookForm| {
            let (error, _) = input_refusal(form.draft(true).expect_err("refused"));
            show_refusal(error, &[], "").expect("shown").errors.fields["trigger"].clone()
        };
        assert!(refused(form("sometimes")).contains("not a trigger"));
        let bad_cron = PlaybookForm {
            trigger_cron: "0 25 * * *".into(),
            ..form("schedule")
        };
        assert_eq!(refused(bad_cron), "cron hour: 25 is outside 0-23");
        // What was stored comes back into the same fields.
        let stored = PlaybookForm::default().with_trigger(Trigger::Schedule {
            cron: "@daily".into(),
            timezone: "Europe/Paris".into(),
        });
        assert_eq!(
            (stored.trigger_kind.as_str(), stored.trigger_cron.as_str()),
            ("schedule", "@daily")
        );
        assert_eq!(stored.trigger_timezone, "Europe/Paris");
    }

    #[test]
    fn a_source_saved_untouched_from_the_browser_is_the_same_text() {
        let form = PlaybookForm {
            name: "Nudge".into(),
            description: "line one\r\nline two".into(),
            source: "let a = 1;\r\na\r\n".into(),
            ..PlaybookForm::default()
        };
        let draft = form.draft(false).expect("compiles");
        assert_eq!(draft.source.as_deref(), Some("let a = 1;\na\n"));
        assert_eq!(draft.description.as_deref(), Some("line one\nline two"));
    }
}
