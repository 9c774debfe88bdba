//! `/api/v1/workflow-runs`: every durable process of the tenant as a product object,
//! and signals to running ones. `/api/v1/self-tests` starts the canary workflow.

use super::pagination::ListParams;
use crate::auth::{require, Caller};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::runs::{self, Run, Step};
use activities::temporal::TemporalError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use engine::workflows::self_test::{Note, SelfTestInput};
use engine::workflows::WorkflowKind;
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One activity call of a run.
#[derive(Serialize, ToSchema)]
pub struct StepBody {
    name: String,
    /// `completed` or `failed`.
    status: String,
    attempt: i32,
    #[schema(value_type = Object)]
    input: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    output: Option<serde_json::Value>,
    error: Option<String>,
    started_at: DateTime<Utc>,
    closed_at: DateTime<Utc>,
}

/// A workflow run.
#[derive(Serialize, ToSchema)]
pub struct RunBody {
    run_id: Uuid,
    workflow_id: String,
    /// e.g. `tenant_onboarding`, `self_test`.
    kind: String,
    /// `running`, `completed`, `failed`, `cancelled` or `timed_out`.
    status: String,
    started_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    input: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    result: Option<serde_json::Value>,
    error: Option<String>,
    /// Steps in order (only on `GET /workflow-runs/{run_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<StepBody>>,
    /// The run in the Temporal web UI (only on `GET /workflow-runs/{run_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    temporal_url: Option<String>,
}

impl RunBody {
    fn from_run(run: Run) -> Self {
        RunBody {
            run_id: run.run_id,
            workflow_id: run.workflow_id,
            kind: run.kind,
            status: run.status,
            started_at: run.started_at,
            closed_at: run.closed_at,
            input: run.input,
            result: run.result,
            error: run.error,
            steps: None,
            temporal_url: None,
        }
    }
}

impl From<Step> for StepBody {
    fn from(step: Step) -> Self {
        StepBody {
            name: step.name,
            status: step.status,
            attempt: step.attempt,
            input: step.input,
            output: step.output,
            error: step.error,
            started_at: step.started_at,
            closed_at: step.closed_at,
        }
    }
}

/// One page of runs.
#[derive(Serialize, ToSchema)]
pub struct RunList {
    data: Vec<RunBody>,
    next_cursor: Option<String>,
}

/// Filters of the run list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilter {
    /// Only runs of this kind (`tenant_onboarding`, `self_test`).
    kind: Option<String>,
}

/// The tenant's workflow runs, newest first.
#[utoipa::path(get, path = "/workflow-runs", tag = "workflow-runs", params(ListParams, RunFilter), security(("api_key" = [])),
    responses((status = 200, body = RunList), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_runs(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
    ApiQuery(filter): ApiQuery<RunFilter>,
) -> Result<Json<RunList>, ApiError> {
    require(&caller, Permission::WORKFLOW_READ)?;
    let page = params.page()?;
    if let Some(kind) = filter.kind.as_deref() {
        WorkflowKind::parse(kind)
            .ok_or_else(|| ApiError::invalid_field("kind", "is not a workflow kind"))?;
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let page = runs::list_runs(&mut tx, page, filter.kind.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(RunList {
        data: page.data.into_iter().map(RunBody::from_run).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    }))
}

/// The Temporal web UI's page of a run.
pub fn temporal_url(app: &AppState, workflow_id: &str, run_id: Uuid) -> String {
    let encoded: String = workflow_id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!(
        "{}/namespaces/{}/workflows/{encoded}/{run_id}/history",
        app.settings.temporal_ui_url, app.settings.temporal_namespace
    )
}

/// One run with its steps.
#[utoipa::path(get, path = "/workflow-runs/{run_id}", tag = "workflow-runs", security(("api_key" = [])),
    params(("run_id" = Uuid, Path, description = "Temporal run id")),
    responses((status = 200, body = RunBody), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_run(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(run_id): ApiPath<Uuid>,
) -> Result<Json<RunBody>, ApiError> {
    require(&caller, Permission::WORKFLOW_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let found = runs::find_run(&mut tx, run_id).await?;
    tx.commit().await?;
    let (run, steps) = found.ok_or_else(|| ApiError::not_found("workflow run"))?;
    let url = temporal_url(&app, &run.workflow_id, run.run_id);
    let mut body = RunBody::from_run(run);
    body.steps = Some(steps.into_iter().map(StepBody::from).collect());
    body.temporal_url = Some(url);
    Ok(Json(body))
}

/// Signal accepted.
#[derive(Serialize, ToSchema)]
pub struct SignalAccepted {
    run_id: Uuid,
    signal: String,
}

/// Sends a signal to a running run. The payload is validated against the signal's
/// schema first: a malformed payload is a 422 and never reaches the run.
#[utoipa::path(post, path = "/workflow-runs/{run_id}/signals/{name}", tag = "workflow-runs", security(("api_key" = [])),
    params(("run_id" = Uuid, Path, description = "Temporal run id"), ("name" = String, Path, description = "Signal name, e.g. `note`"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    request_body(content = Object, description = "The signal's payload, e.g. `{\"text\": \"...\"}` for `note`"),
    responses((status = 202, body = SignalAccepted), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn signal_run(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath((run_id, name)): ApiPath<(Uuid, String)>,
    ApiJson(payload): ApiJson<serde_json::Value>,
) -> Result<(StatusCode, Json<SignalAccepted>), ApiError> {
    require(&caller, Permission::WORKFLOW_SIGNAL)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let found = runs::find_run(&mut tx, run_id).await?;
    tx.commit().await?;
    let (run, _) = found.ok_or_else(|| ApiError::not_found("workflow run"))?;
    let signal = match (WorkflowKind::parse(&run.kind), name.as_str()) {
        (Some(WorkflowKind::SelfTest), "note") => RunSignal::Note(parse_note(payload)?),
        (Some(WorkflowKind::PlaybookRun), _) => {
            RunSignal::Playbook(playbook_signal(&name, payload)?)
        }
        _ => return Err(ApiError::not_found("signal for this workflow")),
    };
    if run.status != "running" {
        return Err(ApiError::conflict(format!(
            "the run is {}; only running runs take signals",
            run.status
        )));
    }
    let temporal = app.temporal().await?;
    let (workflow_id, temporal_run) = (&run.workflow_id, run.run_id.to_string());
    let sent = match signal {
        RunSignal::Note(note) => {
            temporal
                .signal_self_test_note(workflow_id, &temporal_run, note)
                .await
        }
        RunSignal::Playbook(signal) => temporal.signal_playbook_run(workflow_id, signal).await,
    };
    sent.map_err(|e| match e {
        TemporalError::NotFound => ApiError::conflict("the run has already finished"),
        other => ApiError::unavailable(other),
    })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignalAccepted {
            run_id,
            signal: name,
        }),
    ))
}

/// A signal checked for its run's kind.
enum RunSignal {
    Note(Note),
    Playbook(dsl::workflow::PlaybookSignal),
}

/// A playbook waits for signals by name (`wait_for_signal("approval")`); the
/// payload is any JSON value up to 64 KiB and is what the wait answers.
fn playbook_signal(
    name: &str,
    payload: serde_json::Value,
) -> Result<dsl::workflow::PlaybookSignal, ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 64 letters, digits, '_' or '-'",
        ));
    }
    if payload.to_string().contains("\\u0000") {
        return Err(ApiError::invalid_field(
            "payload",
            "must not contain the NUL character (U+0000)",
        ));
    }
    if payload.to_string().len() > 64 * 1024 {
        return Err(ApiError::invalid_field(
            "payload",
            "must be at most 64 KiB as JSON",
        ));
    }
    Ok(dsl::workflow::PlaybookSignal {
        name: name.to_owned(),
        payload,
    })
}

fn parse_note(payload: serde_json::Value) -> Result<Note, ApiError> {
    let note: Note = serde_path_to_error::deserialize(payload).map_err(|e| {
        let field = match e.path().to_string() {
            path if path == "." => "text".to_owned(),
            path => path,
        };
        ApiError::validation(vec![FieldError {
            field,
            message: e.inner().to_string(),
            ..Default::default()
        }])
    })?;
    note.validate()
        .map_err(|message| ApiError::invalid_field("text", message))?;
    Ok(note)
}

/// A self test to start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSelfTest {
    /// Marks to write, 1 to 1000 (default 3).
    #[schema(minimum = 1, maximum = 1000)]
    steps: Option<u32>,
    /// Durable pause after each step in ms, 0 to 60000 (default 0).
    #[schema(minimum = 0, maximum = 60000)]
    pause_ms: Option<u64>,
    /// Seconds to wait for a `note` signal before finishing, 0 to 86400 (default 0).
    #[schema(minimum = 0, maximum = 86400)]
    wait_for_note_seconds: Option<u64>,
}

/// A started run.
#[derive(Serialize, ToSchema)]
pub struct StartedRunBody {
    run_id: Uuid,
    workflow_id: String,
}

impl StartedRunBody {
    /// The body for a started run.
    pub fn new(run_id: Uuid, workflow_id: String) -> Self {
        StartedRunBody {
            run_id,
            workflow_id,
        }
    }
}

/// Starts the SelfTest workflow: a canary that writes a row per step through the
/// whole durable path (API → Temporal → worker → Postgres).
#[utoipa::path(post, path = "/self-tests", tag = "workflow-runs", request_body = StartSelfTest, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = StartedRunBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn start_self_test(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<StartSelfTest>,
) -> Result<(StatusCode, Json<StartedRunBody>), ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let input = SelfTestInput {
        tenant: caller.tenant,
        steps: body.steps.unwrap_or(3),
        pause_ms: body.pause_ms.unwrap_or(0),
        wait_for_note_seconds: body.wait_for_note_seconds.unwrap_or(0),
    };
    input
        .validate()
        .map_err(|(field, message)| ApiError::invalid_field(field, message))?;
    let (run_id, workflow_id) = launch_self_test(&app, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(StartedRunBody {
            run_id,
            workflow_id,
        }),
    ))
}

/// Starts a self test and records its run; answers (run id, workflow id).
pub async fn launch_self_test(
    app: &AppState,
    input: SelfTestInput,
) -> Result<(Uuid, String), ApiError> {
    let temporal = app.temporal().await?;
    let started = temporal
        .start_self_test(input.clone())
        .await
        .map_err(ApiError::unavailable)?;
    let run_id =
        record_started(app, input.tenant, &started, WorkflowKind::SelfTest, &input).await?;
    Ok((run_id, started.workflow_id))
}

/// Inserts the run's row right away, so the run is visible before its worker picks
/// it up (the workflow's own `runs.open` then finds it and changes nothing).
pub async fn record_started(
    app: &AppState,
    tenant: engine::TenantId,
    started: &activities::temporal::StartedRun,
    kind: WorkflowKind,
    input: &impl Serialize,
) -> Result<Uuid, ApiError> {
    let run_id = started
        .run_id
        .as_deref()
        .and_then(|id| Uuid::try_parse(id).ok())
        .ok_or_else(|| ApiError::internal("Temporal did not report a run id"))?;
    let input = serde_json::to_value(input).map_err(ApiError::internal)?;
    let mut tx = app.db.tenant_tx(tenant).await?;
    runs::open_run(&mut tx, run_id, &started.workflow_id, kind.name(), &input).await?;
    tx.commit().await?;
    Ok(run_id)
}
