//! Starting a playbook run by hand: one path for `POST /api/v1/playbooks/{id}/runs`,
//! the playbook page's run form and the "Run playbook" forms of ticket and client
//! pages. The playbook and version are looked up, the version's manifest admits
//! the user and the input (defaults filled in), the tenant's limits are checked,
//! a disabled playbook takes only dry runs; then the `PlaybookRun` workflow starts
//! as the user and its run is recorded, so the runs pages show it at once.

use crate::error::ApiError;
use crate::AppState;
use activities::playbooks::manifest::{self, AdmissionRefused};
use activities::playbooks::{self, limits, limits::LimitReached};
use axum::http::StatusCode;
use dsl::workflow::PlaybookRunInput;
use engine::workflows::WorkflowKind;
use engine::TenantId;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A run to start.
#[derive(Debug)]
pub(crate) struct StartRequest {
    /// The playbook.
    pub playbook_id: Uuid,
    /// The version to run (`None`: the current one).
    pub version: Option<i32>,
    /// The script's `input`, already checked to be a small JSON object.
    pub input: Value,
    /// Record the actions instead of executing them.
    pub dry_run: bool,
    /// Dry-run answers by action name.
    pub fixtures: BTreeMap<String, Value>,
    /// How it was started, as the run's input records it (`api`, `manual`).
    pub trigger: &'static str,
}

/// Why a run did not start; the caller says it in its own terms.
#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum StartRefused {
    /// No such playbook in the tenant.
    #[error("no such playbook")]
    NotFound,
    /// The playbook has no such version.
    #[error("the playbook has no version {0}")]
    NoSuchVersion(i32),
    /// A tenant limit is reached.
    #[error("{0}")]
    LimitReached(LimitReached),
    /// A real run of a disabled playbook.
    #[error("the playbook is disabled; enable it or start a dry run")]
    Disabled,
    /// The manifest refuses the user or the input.
    #[error("{0}")]
    Manifest(AdmissionRefused),
}

impl StartRefused {
    /// The HTTP status the refusal is answered with (pages use it too).
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            StartRefused::NotFound => StatusCode::NOT_FOUND,
            StartRefused::NoSuchVersion(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StartRefused::LimitReached(_) => StatusCode::TOO_MANY_REQUESTS,
            StartRefused::Disabled => StatusCode::CONFLICT,
            StartRefused::Manifest(
                AdmissionRefused::MissingPermissions(_) | AdmissionRefused::InactiveUser,
            ) => StatusCode::FORBIDDEN,
            StartRefused::Manifest(AdmissionRefused::Input(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl From<StartRefused> for ApiError {
    fn from(refused: StartRefused) -> Self {
        let detail = refused.to_string();
        match refused {
            StartRefused::NotFound => ApiError::not_found("playbook"),
            StartRefused::NoSuchVersion(_) => ApiError::invalid_field("version", "no such version"),
            StartRefused::LimitReached(_) => ApiError::limit_reached(detail),
            StartRefused::Disabled => ApiError::conflict(detail),
            StartRefused::Manifest(
                AdmissionRefused::MissingPermissions(_) | AdmissionRefused::InactiveUser,
            ) => ApiError::refused(detail),
            StartRefused::Manifest(AdmissionRefused::Input(issues)) => issues.into(),
        }
    }
}

/// A run started.
#[derive(Debug)]
pub(crate) struct StartedRun {
    /// The run's id (its page: `/runs/{run_id}`).
    pub run_id: Uuid,
    /// The Temporal workflow id.
    pub workflow_id: String,
    /// The version it runs.
    pub version: i32,
}

/// Starts a run of `request.playbook_id` in `tenant` as `run_as`. A refusal is
/// the inner error; a database failure or Temporal being down (503) the outer one.
pub(crate) async fn start_playbook_run(
    app: &AppState,
    tenant: TenantId,
    run_as: Uuid,
    request: StartRequest,
) -> Result<Result<StartedRun, StartRefused>, ApiError> {
    let mut tx = app.db.tenant_tx(tenant).await?;
    let Some(detail) = playbooks::find_playbook(&mut tx, request.playbook_id).await? else {
        return Ok(Err(StartRefused::NotFound));
    };
    let version = request.version.unwrap_or(detail.playbook.current_version);
    let source = if version == detail.playbook.current_version {
        Some(detail.source)
    } else {
        playbooks::version_source(&mut tx, request.playbook_id, version).await?
    };
    let Some(source) = source else {
        return Ok(Err(StartRefused::NoSuchVersion(version)));
    };
    let admitted = manifest::admit(
        &mut tx,
        request.playbook_id,
        version,
        run_as,
        &request.input,
    )
    .await?;
    let input = match admitted {
        Ok(input) => input,
        Err(refused) => return Ok(Err(StartRefused::Manifest(refused))),
    };
    let allowed = limits::check_can_start(&mut tx).await?;
    tx.commit().await?;
    if let Err(reached) = allowed {
        return Ok(Err(StartRefused::LimitReached(reached)));
    }
    if !detail.playbook.enabled && !request.dry_run {
        return Ok(Err(StartRefused::Disabled));
    }
    let run = PlaybookRunInput {
        tenant,
        playbook_id: request.playbook_id,
        version,
        source,
        input,
        dry_run: request.dry_run,
        fixtures: request.fixtures,
        run_as,
        trigger: request.trigger.into(),
        depth: 0,
        continuation: None,
    };
    let started = app
        .temporal()
        .await?
        .start_playbook_run(run.clone())
        .await
        .map_err(ApiError::unavailable)?;
    let kind = WorkflowKind::PlaybookRun;
    let run_id = super::workflow_runs::record_started(app, tenant, &started, kind, &run).await?;
    Ok(Ok(StartedRun {
        run_id,
        workflow_id: started.workflow_id,
        version,
    }))
}
