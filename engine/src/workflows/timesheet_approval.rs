//! TimesheetApproval: one workflow per submission of a timesheet, the human in the
//! loop. It waits for the `decide` signal from an approver, reminds the approvers
//! once by e-mail when the tenant's reminder delay passes without a decision, and
//! applies the first valid decision: approval locks the entries, a request for
//! changes hands the timesheet back to its user. A decision the rules refuse (the
//! submitter approving their own timesheet where the tenant forbids it, an actor
//! without the approve permission) is recorded as refused and the wait goes on.
//!
//! Workflow id `<tenant>:timesheet_approval:<timesheet>-<submission>`; started on
//! submit by the API and, should that start be lost, by the workflow starter from
//! `timesheet.submitted`. Query `state`.

use super::contracts::{
    ApprovalPlan, DecideTimesheet, DecideTimesheetActivity, LoadApproval, LoadApprovalActivity,
    RemindApprovers, RemindApproversActivity,
};
use super::{database_write_options, run_record, WorkflowKind};
use crate::time::timesheets::{
    transition, Actor, ApprovalPolicy, TimesheetAction, TimesheetStatus,
};
use crate::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflows::select;
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};
use uuid::Uuid;

/// The workflow id of a submission's approval.
pub fn workflow_id(tenant: TenantId, timesheet: Uuid, submission: u32) -> String {
    WorkflowKind::TimesheetApproval.workflow_id(tenant, &format!("{timesheet}-{submission}"))
}

/// Which submission to see through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalInput {
    /// The tenant.
    pub tenant: TenantId,
    /// The timesheet.
    pub timesheet_id: Uuid,
    /// Its submission number (1 for the first).
    pub submission: u32,
}

/// An approver's decision, delivered as the `decide` signal by the API, which has
/// authenticated the actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimesheetDecision {
    /// `approve` or `request_changes`.
    pub action: TimesheetAction,
    /// Who decides.
    pub actor: Uuid,
    /// Whether they hold `timesheet:approve`.
    pub can_approve: bool,
    /// Why changes are requested.
    pub reason: Option<String>,
}

/// What the `state` query answers, and the workflow's result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    /// `loading`, `waiting`, `approved`, `changes_requested` or `superseded` (the
    /// timesheet was no longer this submission, waiting for a decision).
    pub state: String,
    /// When the approvers are (or were) reminded.
    pub remind_at: Option<DateTime<Utc>>,
    /// Whether they were reminded.
    pub reminded: bool,
    /// Who decided.
    pub decided_by: Option<Uuid>,
    /// Decisions refused, with the reason.
    pub refused: Vec<String>,
}

/// The approval of one timesheet submission.
#[workflow]
pub struct TimesheetApproval {
    input: ApprovalInput,
    pending: Vec<TimesheetDecision>,
    view: ApprovalView,
}

#[workflow_methods]
impl TimesheetApproval {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: ApprovalInput) -> Self {
        TimesheetApproval {
            input,
            pending: Vec::new(),
            view: ApprovalView {
                state: "loading".into(),
                ..ApprovalView::default()
            },
        }
    }

    /// Waits for a valid decision and applies it.
    #[run(name = "TimesheetApproval")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<ApprovalView> {
        let input = ctx.state(|s| s.input.clone());
        run_record::open(ctx, input.tenant, WorkflowKind::TimesheetApproval, &input).await?;
        let outcome = Self::await_decision(ctx, &input).await;
        run_record::close(ctx, input.tenant, outcome).await
    }

    /// Queues an approver's decision.
    #[signal]
    pub fn decide(&mut self, _ctx: &mut SyncWorkflowContext<Self>, decision: TimesheetDecision) {
        self.pending.push(decision);
    }

    /// Where the approval stands.
    #[query]
    pub fn state(&self, _ctx: &WorkflowContextView) -> ApprovalView {
        self.view.clone()
    }
}

impl TimesheetApproval {
    async fn await_decision(
        ctx: &WorkflowContext<Self>,
        input: &ApprovalInput,
    ) -> Result<ApprovalView, String> {
        let plan = Self::load(ctx, input).await?;
        if !plan.found || plan.status != "SUBMITTED" || plan.submission != input.submission {
            ctx.state_mut(|s| s.view.state = "superseded".into());
            return Ok(ctx.state(|s| s.view.clone()));
        }
        let remind_at = now(ctx)? + chrono::Duration::seconds(plan.reminder_after_seconds as i64);
        ctx.state_mut(|s| {
            s.view.state = "waiting".into();
            s.view.remind_at = Some(remind_at);
        });
        loop {
            while let Some(decision) =
                ctx.state_mut(|s| (!s.pending.is_empty()).then(|| s.pending.remove(0)))
            {
                if let Some(view) = Self::apply(ctx, input, &plan, decision).await? {
                    return Ok(view);
                }
            }
            if ctx.state(|s| s.view.reminded) {
                ctx.wait_condition(|s: &TimesheetApproval| !s.pending.is_empty())
                    .await
                    .map_err(|e| format!("cancelled while waiting: {e}"))?;
                continue;
            }
            let wait = (remind_at - now(ctx)?)
                .to_std()
                .unwrap_or(Duration::from_millis(1));
            let timer_fired = select! {
                _ = ctx.timer(wait) => true,
                _ = ctx.wait_condition(|s: &TimesheetApproval| !s.pending.is_empty()) => false,
            };
            if timer_fired {
                Self::remind(ctx, input).await?;
            }
        }
    }

    async fn load(
        ctx: &WorkflowContext<Self>,
        input: &ApprovalInput,
    ) -> Result<ApprovalPlan, String> {
        let load = LoadApproval {
            step: run_record::step_ref(ctx, input.tenant, "load"),
            timesheet_id: input.timesheet_id,
        };
        ctx.execute_activity(LoadApprovalActivity, load, database_write_options())
            .await
            .map_err(|e| format!("loading the timesheet failed: {e}"))
    }

    async fn remind(ctx: &WorkflowContext<Self>, input: &ApprovalInput) -> Result<(), String> {
        let remind = RemindApprovers {
            step: run_record::step_ref(ctx, input.tenant, "remind"),
            timesheet_id: input.timesheet_id,
            submission: input.submission,
        };
        ctx.execute_activity(RemindApproversActivity, remind, database_write_options())
            .await
            .map_err(|e| format!("reminding the approvers failed: {e}"))?;
        ctx.state_mut(|s| s.view.reminded = true);
        Ok(())
    }

    /// Applies `decision` if the rules allow it; the final view when it ended the wait.
    async fn apply(
        ctx: &WorkflowContext<Self>,
        input: &ApprovalInput,
        plan: &ApprovalPlan,
        decision: TimesheetDecision,
    ) -> Result<Option<ApprovalView>, String> {
        let actor = Actor {
            user_id: decision.actor,
            can_approve: decision.can_approve,
        };
        let policy = ApprovalPolicy {
            allow_self_approval: plan.allow_self_approval,
        };
        if let Err(refusal) = transition(
            TimesheetStatus::Submitted,
            decision.action,
            plan.owner,
            actor,
            policy,
        ) {
            ctx.state_mut(|s| {
                s.view
                    .refused
                    .push(format!("{}: {refusal}", decision.actor))
            });
            return Ok(None);
        }
        let n = ctx.state(|s| s.view.refused.len());
        let decide = DecideTimesheet {
            step: run_record::step_ref(ctx, input.tenant, &format!("decide_{n}")),
            timesheet_id: input.timesheet_id,
            submission: input.submission,
            action: decision.action,
            actor: decision.actor,
            reason: decision.reason,
        };
        let status = ctx
            .execute_activity(DecideTimesheetActivity, decide, database_write_options())
            .await
            .map_err(|e| format!("recording the decision failed: {e}"))?;
        ctx.state_mut(|s| {
            s.view.state = match status.as_str() {
                "APPROVED" => "approved".into(),
                "CHANGES_REQUESTED" => "changes_requested".into(),
                _ => "superseded".into(),
            };
            s.view.decided_by = Some(decision.actor);
        });
        Ok(Some(ctx.state(|s| s.view.clone())))
    }
}

fn now(ctx: &WorkflowContext<TimesheetApproval>) -> Result<DateTime<Utc>, String> {
    ctx.workflow_time()
        .map(DateTime::<Utc>::from)
        .ok_or_else(|| "no workflow time".to_owned())
}
