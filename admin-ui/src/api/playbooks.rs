//! `/api/v1/playbooks`: authoring (every save compiles; a compile error is a 422
//! whose `errors[]` carry `line` and `column`), immutable versions, runs (real or
//! dry), and `/playbook-actions`, the catalogue scripts call.

use super::pagination::{page_of, Listed};
use super::playbook_start::{start_playbook_run, StartRequest};
use crate::auth::{require, Caller};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::playbooks::limits::{self, RunLimits};
use activities::playbooks::{self, Playbook, PlaybookDetail, PlaybookVersion};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dsl::manifest::{PlaybookInput, PlaybookInputError};
use dsl::triggers::Trigger;
use dsl::workflow::PlaybookRunInput;
use dsl::CompileError;
use engine::Permission;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Largest run input, as JSON.
const MAX_INPUT_BYTES: usize = 64 * 1024;

impl From<PlaybookInputError> for ApiError {
    fn from(error: PlaybookInputError) -> Self {
        match error {
            PlaybookInputError::Fields(issues) => issues.into(),
            PlaybookInputError::Compile(errors) => compile_problem(errors),
        }
    }
}

fn compile_problem(errors: Vec<CompileError>) -> ApiError {
    ApiError::validation(
        errors
            .into_iter()
            .map(|e| FieldError {
                field: "source".into(),
                message: e.to_string(),
                line: Some(e.line),
                column: Some(e.column),
            })
            .collect(),
    )
}

/// Page parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaybookParams {
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The tenant's playbooks, newest first.
#[utoipa::path(get, path = "/playbooks", tag = "playbooks", security(("api_key" = [])), params(PlaybookParams),
    responses((status = 200, body = Listed<Playbook>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_playbooks(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PlaybookParams>,
) -> Result<Json<Listed<Playbook>>, ApiError> {
    require(&caller, Permission::PLAYBOOK_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let found = playbooks::list_playbooks(&mut tx, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(found)))
}

/// Creates a playbook (version 1) after compiling its source.
#[utoipa::path(post, path = "/playbooks", tag = "playbooks", request_body = PlaybookInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = PlaybookDetail), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem),
              (status = 422, body = Problem, description = "Invalid fields, or the source does not compile (`errors[].line`, `errors[].column`)")))]
pub async fn create_playbook(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<PlaybookInput>,
) -> Result<(StatusCode, Json<PlaybookDetail>), ApiError> {
    require(&caller, Permission::PLAYBOOK_WRITE)?;
    let draft = body.validate(true)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let created = playbooks::create_playbook(&mut tx, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    sync_schedule(&app, caller.tenant, false, &created).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A playbook with its current source.
#[utoipa::path(get, path = "/playbooks/{id}", tag = "playbooks", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Playbook id")),
    responses((status = 200, body = PlaybookDetail), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_playbook(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<PlaybookDetail>, ApiError> {
    require(&caller, Permission::PLAYBOOK_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let found = playbooks::find_playbook(&mut tx, id).await?;
    tx.commit().await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("playbook"))
}

/// Changes a playbook; changed source is compiled and saved as the next version
/// (runs already started keep theirs).
#[utoipa::path(patch, path = "/playbooks/{id}", tag = "playbooks", request_body = PlaybookInput, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Playbook id")),
    responses((status = 200, body = PlaybookDetail), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_playbook(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PlaybookInput>,
) -> Result<Json<PlaybookDetail>, ApiError> {
    require(&caller, Permission::PLAYBOOK_WRITE)?;
    let draft = body.validate(false)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let was_scheduled = playbooks::find_playbook(&mut tx, id)
        .await?
        .is_some_and(|before| is_scheduled(&before));
    let updated = playbooks::update_playbook(&mut tx, id, &draft, Some(caller.user_id)).await?;
    tx.commit().await?;
    sync_schedule(&app, caller.tenant, was_scheduled, &updated).await?;
    Ok(Json(updated))
}

/// Whether the playbook, as stored, wants a Temporal Schedule.
pub(crate) fn is_scheduled(detail: &PlaybookDetail) -> bool {
    detail.playbook.enabled
        && matches!(
            serde_json::from_value(detail.playbook.trigger.clone()),
            Ok(Trigger::Schedule { .. })
        )
}

/// Brings the playbook's Temporal Schedule in line with what was just saved: an
/// enabled schedule trigger has one (running the current version as the author),
/// anything else none. Only a playbook scheduled before or after the save calls
/// Temporal. The save is committed either way; a 503 asks for it to be repeated.
pub(crate) async fn sync_schedule(
    app: &AppState,
    tenant: engine::TenantId,
    was_scheduled: bool,
    saved: &PlaybookDetail,
) -> Result<(), ApiError> {
    let playbook = &saved.playbook;
    let wanted = match serde_json::from_value(playbook.trigger.clone()) {
        Ok(Trigger::Schedule { cron, timezone }) if playbook.enabled => {
            let run_as = playbook.created_by.ok_or_else(|| {
                ApiError::conflict("a scheduled playbook needs an author to run as")
            })?;
            let input = PlaybookRunInput {
                tenant,
                playbook_id: playbook.id,
                version: playbook.current_version,
                source: saved.source.clone(),
                // The save checked that the schema admits an empty input.
                input: (saved.manifest.input_schema)
                    .apply(&serde_json::json!({}))
                    .unwrap_or_else(|_| serde_json::json!({})),
                dry_run: false,
                fixtures: BTreeMap::new(),
                run_as,
                trigger: "schedule".into(),
                depth: 0,
                continuation: None,
            };
            Some((cron, timezone, input))
        }
        _ => None,
    };
    if wanted.is_none() && !was_scheduled {
        return Ok(());
    }
    app.temporal()
        .await?
        .sync_playbook_schedule(tenant, playbook.id, wanted)
        .await
        .map_err(ApiError::unavailable)
}

/// Every version of a playbook, newest first.
#[utoipa::path(get, path = "/playbooks/{id}/versions", tag = "playbooks", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Playbook id")),
    responses((status = 200, body = Vec<PlaybookVersion>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_versions(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<PlaybookVersion>>, ApiError> {
    require(&caller, Permission::PLAYBOOK_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let versions = playbooks::list_versions(&mut tx, id).await?;
    tx.commit().await?;
    if versions.is_empty() {
        return Err(ApiError::not_found("playbook"));
    }
    Ok(Json(versions))
}

/// A run to start.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPlaybookRun {
    /// The script's `input` (an object, at most 64 KiB).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub input: Option<serde_json::Value>,
    /// Record the actions and answer fixtures instead of executing them.
    #[serde(default)]
    pub dry_run: bool,
    /// Dry-run answers by action name (default: each action's catalogue fixture).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fixtures: BTreeMap<String, serde_json::Value>,
    /// Run this version instead of the current one.
    #[serde(default)]
    pub version: Option<i32>,
}

/// A run started.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaybookRunStarted {
    /// The Temporal run id (the run's page: `/runs/{run_id}`).
    pub run_id: Option<String>,
    /// The Temporal workflow id.
    pub workflow_id: String,
    /// The version it runs.
    pub version: i32,
}

/// Starts a run of a playbook as the caller: a durable `PlaybookRun` workflow.
/// Signals reach it through `POST /workflow-runs/{run_id}/signals/{name}`.
#[utoipa::path(post, path = "/playbooks/{id}/runs", tag = "playbooks", request_body = StartPlaybookRun, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Playbook id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h: one run per key")),
    responses((status = 202, body = PlaybookRunStarted), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "The playbook is disabled (dry runs are still allowed)"),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn start_run(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<StartPlaybookRun>,
) -> Result<(StatusCode, Json<PlaybookRunStarted>), ApiError> {
    require(&caller, Permission::PLAYBOOK_RUN)?;
    let input = body.input.unwrap_or_else(|| serde_json::json!({}));
    if !input.is_object() {
        return Err(ApiError::invalid_field("input", "must be an object"));
    }
    if input.to_string().contains("\\u0000") {
        return Err(ApiError::invalid_field(
            "input",
            "must not contain the NUL character (U+0000)",
        ));
    }
    if input.to_string().len() > MAX_INPUT_BYTES {
        return Err(ApiError::invalid_field(
            "input",
            "must be at most 64 KiB as JSON",
        ));
    }
    let fixtures_json = serde_json::to_string(&body.fixtures).unwrap_or_default();
    if fixtures_json.contains("\\u0000") || fixtures_json.len() > MAX_INPUT_BYTES {
        return Err(ApiError::invalid_field(
            "fixtures",
            "must be at most 64 KiB as JSON, without the NUL character",
        ));
    }
    if let Some(name) = body
        .fixtures
        .keys()
        .find(|n| dsl::catalogue::action(n).is_none())
    {
        return Err(ApiError::invalid_field(
            "fixtures",
            format!("{name} is not an action"),
        ));
    }
    let request = StartRequest {
        playbook_id: id,
        version: body.version,
        input,
        dry_run: body.dry_run,
        fixtures: body.fixtures,
        trigger: "api",
    };
    let started = start_playbook_run(&app, caller.tenant, caller.user_id, request).await??;
    Ok((
        StatusCode::ACCEPTED,
        Json(PlaybookRunStarted {
            run_id: Some(started.run_id.to_string()),
            workflow_id: started.workflow_id,
            version: started.version,
        }),
    ))
}

/// The tenant's playbook limits: runs at once and runs per 24 hours.
#[utoipa::path(get, path = "/playbook-limits", tag = "playbooks", security(("api_key" = [])),
    responses((status = 200, body = RunLimits), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_limits(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<RunLimits>, ApiError> {
    require(&caller, Permission::PLAYBOOK_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let found = limits::limits(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(found))
}

/// Sets the tenant's playbook limits; a start over one is refused (429) with the
/// reason, and an event start over one is skipped and audited on the playbook.
#[utoipa::path(put, path = "/playbook-limits", tag = "playbooks", request_body = RunLimits, security(("api_key" = [])),
    responses((status = 200, body = RunLimits), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_limits(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<RunLimits>,
) -> Result<Json<RunLimits>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let saved = limits::set_limits(&mut tx, body, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(saved))
}

/// The actions scripts may call, with their fields, permission and an example;
/// the same table the runtime checks calls against.
#[utoipa::path(get, path = "/playbook-actions", tag = "playbooks", security(("api_key" = [])),
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_actions(Caller(caller): Caller) -> Result<Json<serde_json::Value>, ApiError> {
    require(&caller, Permission::PLAYBOOK_READ)?;
    let actions: Vec<serde_json::Value> = dsl::catalogue::ACTIONS
        .iter()
        .map(|a| {
            let mut value = serde_json::to_value(a).unwrap_or_default();
            value["fixture"] = serde_json::from_str(a.fixture).unwrap_or_default();
            value
        })
        .collect();
    Ok(Json(serde_json::json!({
        "data": actions,
        "builtins": {
            "durable": dsl::catalogue::DURABLE_BUILTINS,
            "pure": dsl::catalogue::PURE_BUILTINS,
        },
    })))
}
