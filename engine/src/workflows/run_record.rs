//! The bookkeeping every built-in workflow does: open its run record first, close it
//! last with the outcome, so the UI and API show runs without asking Temporal.

use super::contracts::{CloseRun, CloseRunActivity, OpenRun, OpenRunActivity, StepRef};
use super::{bookkeeping_options, RunStatus, WorkflowKind};
use crate::TenantId;
use serde::Serialize;
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowResult};

/// A reference to step `step` of the current run.
pub fn step_ref<W>(ctx: &WorkflowContext<W>, tenant: TenantId, step: &str) -> StepRef {
    step_ref_in(ctx, tenant, ctx.run_id(), step)
}

/// A reference to step `step` of run `run_id` of this workflow: a workflow that
/// continued as new keeps recording under the run id it started with.
pub fn step_ref_in<W>(
    ctx: &WorkflowContext<W>,
    tenant: TenantId,
    run_id: &str,
    step: &str,
) -> StepRef {
    StepRef {
        tenant,
        workflow_id: ctx.workflow_id().to_owned(),
        run_id: run_id.to_owned(),
        step: step.to_owned(),
    }
}

/// Records the run as started.
pub async fn open<W>(
    ctx: &WorkflowContext<W>,
    tenant: TenantId,
    kind: WorkflowKind,
    input: &impl Serialize,
) -> WorkflowResult<()> {
    let open = OpenRun {
        step: step_ref(ctx, tenant, "runs.open"),
        kind: kind.name().to_owned(),
        input: serde_json::to_value(input).map_err(ApplicationFailure::new)?,
    };
    ctx.execute_activity(OpenRunActivity, open, bookkeeping_options())
        .await?;
    Ok(())
}

/// Records the run's outcome and turns it into the workflow's result: a failed
/// outcome is recorded, then fails the workflow with the same message.
pub async fn close<W, T: Serialize>(
    ctx: &WorkflowContext<W>,
    tenant: TenantId,
    outcome: Result<T, String>,
) -> WorkflowResult<T> {
    close_in(ctx, tenant, ctx.run_id(), outcome).await
}

/// [`close`] for the record of run `run_id` (see [`step_ref_in`]).
pub async fn close_in<W, T: Serialize>(
    ctx: &WorkflowContext<W>,
    tenant: TenantId,
    run_id: &str,
    outcome: Result<T, String>,
) -> WorkflowResult<T> {
    let (status, result, error) = match &outcome {
        Ok(value) => (
            RunStatus::Completed,
            Some(serde_json::to_value(value).map_err(ApplicationFailure::new)?),
            None,
        ),
        Err(message) => (RunStatus::Failed, None, Some(message.clone())),
    };
    let close = CloseRun {
        step: step_ref_in(ctx, tenant, run_id, "runs.close"),
        status: status.name().to_owned(),
        result,
        error,
    };
    ctx.execute_activity(CloseRunActivity, close, bookkeeping_options())
        .await?;
    outcome.map_err(|message| ApplicationFailure::non_retryable(message).into())
}
