//! TicketSla: one workflow per ticket keeps its SLA clock. It computes the response
//! and resolution deadlines through an activity, sleeps on durable timers until each
//! notification threshold, escalation level and breach, and fires each exactly once.
//! Signals move the clock: a pausing status pauses it (the pause shifts every open
//! deadline), a priority or policy change recomputes the targets, the first public
//! reply stops the response clock, closing the ticket ends the workflow.
//!
//! Workflow id `sla-<tenant>-<ticket>`; started from `ticket.created` by the workflow
//! starter, which also turns ticket events into the `changed` signal. Query `state`.

use super::contracts::{
    FireMilestone, FireMilestoneActivity, LoadSlaPlan, LoadSlaPlanActivity, RecordSlaState,
    RecordSlaStateActivity, SlaPlan,
};
use super::{database_write_options, run_record, WorkflowKind};
use crate::sla::{Measure, Milestone, Schedule, SlaClock, TargetClock};
use crate::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflows::select;
use temporalio_sdk::{
    ApplicationFailure, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
};
use uuid::Uuid;

/// The workflow id of a ticket's SLA workflow.
pub fn workflow_id(tenant: TenantId, ticket: Uuid) -> String {
    format!("sla-{}-{}", tenant.0, ticket)
}

/// What to watch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSlaInput {
    /// The tenant.
    pub tenant: TenantId,
    /// The ticket.
    pub ticket_id: Uuid,
    /// Real seconds per SLA minute: 60 in production; tests shrink it so a "30-minute"
    /// target passes in 30 seconds.
    pub seconds_per_minute: u32,
}

/// A change to the ticket, delivered as the `changed` signal. `at` is when it
/// happened (the event's time), so a late signal still pauses for the right span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlaSignal {
    /// The status changed.
    StatusChanged {
        /// When.
        at: DateTime<Utc>,
        /// The new status closes the ticket.
        is_closed: bool,
        /// The new status pauses the clock.
        pauses: bool,
    },
    /// The priority changed: targets are recomputed.
    PriorityChanged {
        /// When.
        at: DateTime<Utc>,
    },
    /// The policy may have changed (board or client moved, policy edited).
    PolicyChanged {
        /// When.
        at: DateTime<Utc>,
    },
    /// The first public technician reply.
    FirstResponse {
        /// When.
        at: DateTime<Utc>,
    },
}

/// What the `state` query answers, and the workflow's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaView {
    /// `pending`, `running`, `paused`, `no_target` or `completed`.
    pub state: String,
    /// The next milestone and when it fires.
    pub next: Option<(Milestone, DateTime<Utc>)>,
    /// Response due.
    pub response_due_at: Option<DateTime<Utc>>,
    /// Resolution due.
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// Milestones fired, in order.
    pub fired: Vec<Milestone>,
    /// Highest escalation level reached.
    pub escalation_level: u8,
}

/// The SLA workflow of one ticket.
#[workflow]
pub struct TicketSla {
    input: TicketSlaInput,
    clock: Option<SlaClock>,
    policy_id: Option<Uuid>,
    closed: bool,
    pending: Vec<SlaSignal>,
    writes: u32,
}

#[workflow_methods]
impl TicketSla {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: TicketSlaInput) -> Self {
        TicketSla {
            input,
            clock: None,
            policy_id: None,
            closed: false,
            pending: Vec::new(),
            writes: 0,
        }
    }

    /// Keeps the clock until the ticket closes.
    #[run(name = "TicketSla")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<SlaView> {
        let input = ctx.state(|s| s.input.clone());
        run_record::open(ctx, input.tenant, WorkflowKind::TicketSla, &input).await?;
        let outcome = Self::keep_clock(ctx, &input).await;
        run_record::close(ctx, input.tenant, outcome).await
    }

    /// Queues a change to the ticket.
    #[signal]
    pub fn changed(&mut self, _ctx: &mut SyncWorkflowContext<Self>, signal: SlaSignal) {
        self.pending.push(signal);
    }

    /// The clock's current state.
    #[query]
    pub fn state(&self, _ctx: &WorkflowContextView) -> SlaView {
        self.view()
    }
}

impl TicketSla {
    fn view(&self) -> SlaView {
        let Some(clock) = &self.clock else {
            return SlaView {
                state: "pending".into(),
                ..SlaView::default()
            };
        };
        SlaView {
            state: self.state_name().into(),
            next: clock.next_milestone(),
            response_due_at: clock.due_at(Measure::Response),
            resolution_due_at: clock.due_at(Measure::Resolution),
            fired: clock.fired.clone(),
            escalation_level: clock.escalation_level(),
        }
    }

    fn state_name(&self) -> &'static str {
        match &self.clock {
            None => "pending",
            Some(_) if self.closed => "completed",
            Some(c) if !c.has_target() => "no_target",
            Some(c) if c.paused_since.is_some() => "paused",
            Some(_) => "running",
        }
    }

    async fn keep_clock(
        ctx: &WorkflowContext<Self>,
        input: &TicketSlaInput,
    ) -> Result<SlaView, String> {
        let plan = Self::load_plan(ctx, input).await?;
        if !plan.found {
            return Ok(SlaView {
                state: "completed".into(),
                ..SlaView::default()
            });
        }
        let clock = build_clock(&plan, input.seconds_per_minute);
        ctx.state_mut(|s| {
            s.closed = plan.is_closed;
            s.policy_id = plan.policy_id;
            s.clock = Some(clock);
        });
        let started = if ctx.state(|s| s.clock.as_ref().is_some_and(SlaClock::has_target)) {
            "sla_started"
        } else {
            "no_target"
        };
        Self::record(
            ctx,
            input,
            Some(started),
            serde_json::json!({ "priority": plan.priority }),
        )
        .await?;
        loop {
            while let Some(signal) =
                ctx.state_mut(|s| (!s.pending.is_empty()).then(|| s.pending.remove(0)))
            {
                Self::apply(ctx, input, signal).await?;
            }
            if ctx.state(|s| s.closed) {
                return Ok(ctx.state(Self::view));
            }
            let now = now(ctx)?;
            match ctx.state(|s| s.clock.as_ref().and_then(SlaClock::next_milestone)) {
                Some((milestone, at)) if at <= now => Self::fire(ctx, input, milestone, at).await?,
                Some((_, at)) => {
                    let wait = (at - now).to_std().unwrap_or(Duration::from_millis(1));
                    select! {
                        _ = ctx.timer(wait) => {}
                        _ = ctx.wait_condition(|s: &TicketSla| !s.pending.is_empty()) => {}
                    };
                }
                None => ctx
                    .wait_condition(|s: &TicketSla| !s.pending.is_empty())
                    .await
                    .map_err(|e| format!("cancelled while waiting: {e}"))?,
            }
        }
    }

    async fn load_plan(
        ctx: &WorkflowContext<Self>,
        input: &TicketSlaInput,
    ) -> Result<SlaPlan, String> {
        let n = ctx.state_mut(|s| {
            s.writes += 1;
            s.writes
        });
        let load = LoadSlaPlan {
            step: run_record::step_ref(ctx, input.tenant, &format!("load_plan_{n}")),
            ticket_id: input.ticket_id,
        };
        ctx.execute_activity(LoadSlaPlanActivity, load, database_write_options())
            .await
            .map_err(|e| format!("loading the SLA plan failed: {e}"))
    }

    async fn apply(
        ctx: &WorkflowContext<Self>,
        input: &TicketSlaInput,
        signal: SlaSignal,
    ) -> Result<(), String> {
        let (event, details) = match signal {
            SlaSignal::StatusChanged {
                at,
                is_closed,
                pauses,
            } => {
                let event = ctx.state_mut(|s| {
                    let clock = s.clock.as_mut()?;
                    if is_closed {
                        s.closed = true;
                        clock.resolve(at);
                        Some("resolution_recorded")
                    } else if pauses && clock.paused_since.is_none() {
                        clock.pause(at);
                        Some("sla_paused")
                    } else if !pauses && clock.paused_since.is_some() {
                        clock.resume(at);
                        Some("sla_resumed")
                    } else {
                        None
                    }
                });
                (event, serde_json::json!({ "at": at }))
            }
            SlaSignal::FirstResponse { at } => {
                let met = ctx.state_mut(|s| s.clock.as_mut().and_then(|c| c.respond(at)));
                (
                    met.map(|_| "response_recorded"),
                    serde_json::json!({ "at": at, "met": met }),
                )
            }
            SlaSignal::PriorityChanged { at } | SlaSignal::PolicyChanged { at } => {
                let plan = Self::load_plan(ctx, input).await?;
                let (response, resolution) = targets(&plan, input.seconds_per_minute);
                let changed_policy = ctx.state_mut(|s| {
                    let changed = s.policy_id != plan.policy_id;
                    s.policy_id = plan.policy_id;
                    if let Some(clock) = s.clock.as_mut() {
                        clock.schedule = plan.schedule.clone();
                        clock.retarget(response, resolution);
                    }
                    changed
                });
                let event = if changed_policy {
                    "policy_changed"
                } else {
                    "priority_changed"
                };
                (
                    Some(event),
                    serde_json::json!({ "at": at, "priority": plan.priority }),
                )
            }
        };
        if let Some(event) = event {
            Self::record(ctx, input, Some(event), details).await?;
        }
        Ok(())
    }

    async fn fire(
        ctx: &WorkflowContext<Self>,
        input: &TicketSlaInput,
        milestone: Milestone,
        due_at: DateTime<Utc>,
    ) -> Result<(), String> {
        let fire = FireMilestone {
            step: run_record::step_ref(ctx, input.tenant, &format!("fire_{}", milestone.key())),
            ticket_id: input.ticket_id,
            milestone,
            due_at,
        };
        ctx.execute_activity(FireMilestoneActivity, fire, database_write_options())
            .await
            .map_err(|e| format!("firing {} failed: {e}", milestone.key()))?;
        ctx.state_mut(|s| {
            if let Some(clock) = s.clock.as_mut() {
                clock.fire(milestone);
            }
        });
        Self::record(ctx, input, None, serde_json::Value::Null).await
    }

    /// Writes the SLA columns (and an audit entry) through an activity.
    async fn record(
        ctx: &WorkflowContext<Self>,
        input: &TicketSlaInput,
        audit_event: Option<&str>,
        audit_details: serde_json::Value,
    ) -> Result<(), String> {
        let n = ctx.state_mut(|s| {
            s.writes += 1;
            s.writes
        });
        let step = run_record::step_ref(ctx, input.tenant, &format!("record_state_{n}"));
        let Some(state) = ctx.state(|s| s.clock.clone().map(|c| (c, s.state_name(), s.policy_id)))
        else {
            return Ok(());
        };
        let (clock, name, policy_id) = state;
        let record = RecordSlaState {
            step,
            ticket_id: input.ticket_id,
            state: name.to_owned(),
            policy_id,
            started_at: clock.started_at,
            response_due_at: clock.due_at(Measure::Response),
            first_response_at: clock.response.as_ref().and_then(|c| c.done_at),
            response_met: clock.met(Measure::Response),
            resolution_due_at: clock.due_at(Measure::Resolution),
            resolved_at: clock.resolution.as_ref().and_then(|c| c.done_at),
            resolution_met: clock.met(Measure::Resolution),
            paused_since: clock.paused_since,
            paused_seconds: clock.paused_seconds,
            audit_event: audit_event.map(str::to_owned),
            audit_details,
        };
        ctx.execute_activity(RecordSlaStateActivity, record, database_write_options())
            .await
            .map_err(|e| format!("recording the SLA state failed: {e}"))
    }
}

fn now(ctx: &WorkflowContext<TicketSla>) -> Result<DateTime<Utc>, String> {
    ctx.workflow_time()
        .map(DateTime::<Utc>::from)
        .ok_or_else(|| ApplicationFailure::new("no workflow time").to_string())
}

/// Target seconds of the plan's priority, scaled by `seconds_per_minute`.
fn targets(plan: &SlaPlan, seconds_per_minute: u32) -> (Option<i64>, Option<i64>) {
    let scale =
        |minutes: Option<u32>| minutes.map(|m| i64::from(m) * i64::from(seconds_per_minute.max(1)));
    (scale(plan.response_minutes), scale(plan.resolution_minutes))
}

/// The clock for a plan, with the facts already recorded (a reply, a resolution, a
/// pause, milestones fired by an earlier run) applied.
pub fn build_clock(plan: &SlaPlan, seconds_per_minute: u32) -> SlaClock {
    let (response, resolution) = targets(plan, seconds_per_minute);
    let schedule = if seconds_per_minute == 60 {
        plan.schedule.clone()
    } else {
        // A scaled test clock runs around the clock: scaled business hours mean nothing.
        Schedule::always_open()
    };
    let mut clock = SlaClock {
        schedule,
        started_at: plan.created_at,
        response: response.map(|target_seconds| TargetClock {
            target_seconds,
            done_at: None,
        }),
        resolution: resolution.map(|target_seconds| TargetClock {
            target_seconds,
            done_at: None,
        }),
        paused_seconds: plan.paused_seconds,
        paused_since: None,
        notify_percents: plan.notify_percents.clone(),
        escalation_percents: plan.escalation_percents.clone(),
        fired: Vec::new(),
    };
    let all_fired: Vec<Milestone> = [Measure::Response, Measure::Resolution]
        .into_iter()
        .flat_map(|measure| {
            plan.notify_percents
                .iter()
                .map(move |&percent| Milestone::Threshold { measure, percent })
        })
        .chain(
            plan.escalation_percents
                .iter()
                .enumerate()
                .map(|(i, &percent)| Milestone::Escalation {
                    level: u8::try_from(i + 1).unwrap_or(3),
                    percent,
                }),
        )
        .filter(|m| plan.fired.contains(&m.key()))
        .collect();
    clock.fired = all_fired;
    if let Some(at) = plan.first_response_at {
        clock.respond(at);
    }
    if plan.is_closed {
        clock.resolve(plan.resolved_at.unwrap_or(plan.created_at));
    } else if let Some(since) = plan.paused_since {
        // Still paused, or closed by an earlier run and reopened since: the reopening
        // status signal resumes the clock at the moment it happened.
        clock.paused_since = Some(since);
    } else if plan.pauses {
        clock.pause(plan.created_at);
    }
    clock
}
