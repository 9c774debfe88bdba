//! Activity contracts: the stable name, input and output of every activity the
//! workflows call. Workflows depend only on these marker types; the implementations
//! live in the `activities` crate (`#[activity(definition = ...)]`) and the worker
//! registers them. Names are versioned by adding a new name, never by changing a
//! meaning.

use crate::TenantId;
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityDefinition;

/// Declares a contract: a marker type naming one activity with its input and output.
macro_rules! contract {
    ($(#[$doc:meta])* $marker:ident = $name:literal, $input:ty => $output:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $marker;

        impl ActivityDefinition for $marker {
            type Input = $input;
            type Output = $output;
            fn name(&self) -> &str {
                $name
            }
        }
    };
}

/// Which step of which run an activity call is, and its idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRef {
    /// The run's tenant.
    pub tenant: TenantId,
    /// Temporal workflow id.
    pub workflow_id: String,
    /// Temporal run id.
    pub run_id: String,
    /// The step's name within the run (unique per run).
    pub step: String,
}

impl StepRef {
    /// The key under which the step's effect is recorded.
    pub fn idempotency_key(&self) -> String {
        super::idempotency_key(&self.workflow_id, &self.run_id, &self.step)
    }
}

/// `runs.open`: records that a run started.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenRun {
    /// The run.
    pub step: StepRef,
    /// `WorkflowKind::name()`.
    pub kind: String,
    /// The run's input, as shown on the run page.
    pub input: serde_json::Value,
}

/// `runs.close`: records how a run ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CloseRun {
    /// The run.
    pub step: StepRef,
    /// `RunStatus::name()`.
    pub status: String,
    /// The result, for completed runs.
    pub result: Option<serde_json::Value>,
    /// The error, for failed runs.
    pub error: Option<String>,
}

contract! {
    /// `tickets.seed_defaults`: the tenant's ticket statuses, priorities and default
    /// board (idempotent).
    SeedTicketDefaultsActivity = "tickets.seed_defaults", StepRef => SeedOutcome
}

contract! {
    /// `runs.open`: inserts the run's row (idempotent).
    OpenRunActivity = "runs.open", OpenRun => ()
}

contract! {
    /// `runs.close`: marks the run closed with its status, result or error (idempotent).
    CloseRunActivity = "runs.close", CloseRun => ()
}

/// What a seeding step did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedOutcome {
    /// Rows inserted (0 when everything already existed).
    pub inserted: u64,
}

contract! {
    /// `tenants.seed_access`: syncs the permission catalogue and creates the shipped
    /// roles with their permissions (existing roles are kept).
    SeedAccessActivity = "tenants.seed_access", StepRef => SeedOutcome
}

contract! {
    /// `tenants.seed_sequences`: creates the default number sequences (tickets,
    /// invoices, credit notes).
    SeedSequencesActivity = "tenants.seed_sequences", StepRef => SeedOutcome
}

/// `selftest.write_mark`: one row per step of a self test.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteMark {
    /// The step.
    pub step: StepRef,
    /// Its number, from 1.
    pub number: u32,
}

contract! {
    /// `selftest.write_mark`: writes one mark row, exactly once per step however
    /// often it is retried.
    WriteMarkActivity = "selftest.write_mark", WriteMark => u32
}

/// `assets.flag_expiring_warranties`: one tenant's warranty scan.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlagWarranties {
    /// The step (its tenant is the tenant scanned).
    pub step: StepRef,
    /// Flag warranties ending within this many days of today (UTC).
    pub notice_days: u32,
}

contract! {
    /// `assets.flag_expiring_warranties`: emits `asset.warranty_expiring` for assets
    /// whose warranty ends soon and were not flagged for that date yet; answers how
    /// many (exactly once per step).
    FlagWarrantiesActivity = "assets.flag_expiring_warranties", FlagWarranties => u64
}

/// `sla.load_plan`: what a ticket's SLA clock needs, read from the database.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadSlaPlan {
    /// The step (its tenant is the ticket's).
    pub step: StepRef,
    /// The ticket.
    pub ticket_id: uuid::Uuid,
}

/// A ticket's SLA facts as stored, with the targets of its current priority under its
/// resolved policy (client → board → tenant default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaPlan {
    /// The ticket exists (a deleted tenant's ticket does not).
    pub found: bool,
    /// When the ticket was opened: the clock's start.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The policy in force, if any.
    pub policy_id: Option<uuid::Uuid>,
    /// The priority's name.
    pub priority: String,
    /// Response target in minutes.
    pub response_minutes: Option<u32>,
    /// Resolution target in minutes.
    pub resolution_minutes: Option<u32>,
    /// Notification thresholds (percent).
    pub notify_percents: Vec<u32>,
    /// Escalation thresholds (percent), levels 1..3.
    pub escalation_percents: Vec<u32>,
    /// The schedule (always open for 24×7 targets or policies without hours).
    pub schedule: crate::sla::Schedule,
    /// The status closes the ticket.
    pub is_closed: bool,
    /// The status pauses the clock.
    pub pauses: bool,
    /// Recorded first response.
    pub first_response_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Recorded resolution.
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Business seconds paused so far.
    pub paused_seconds: i64,
    /// Paused since (a pausing status, or closed), as stored.
    pub paused_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Keys of milestones already recorded (never fired again).
    pub fired: Vec<String>,
}

/// `sla.record_state`: the SLA columns of a ticket and, optionally, an audit entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordSlaState {
    /// The step.
    pub step: StepRef,
    /// The ticket.
    pub ticket_id: uuid::Uuid,
    /// `running`, `paused`, `no_target` or `completed`.
    pub state: String,
    /// The policy in force.
    pub policy_id: Option<uuid::Uuid>,
    /// When the clock started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Response due.
    pub response_due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// First response.
    pub first_response_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Response met.
    pub response_met: Option<bool>,
    /// Resolution due.
    pub resolution_due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Resolved.
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Resolution met.
    pub resolution_met: Option<bool>,
    /// Paused since.
    pub paused_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Business seconds paused.
    pub paused_seconds: i64,
    /// An `sla_audit_log` event to record with this state (`sla_started`, `sla_paused`, …).
    pub audit_event: Option<String>,
    /// Its details.
    pub audit_details: serde_json::Value,
}

/// `sla.fire_milestone`: a threshold, escalation or breach reached.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FireMilestone {
    /// The step.
    pub step: StepRef,
    /// The ticket.
    pub ticket_id: uuid::Uuid,
    /// What fired.
    pub milestone: crate::sla::Milestone,
    /// When it was due.
    pub due_at: chrono::DateTime<chrono::Utc>,
}

contract! {
    /// `sla.load_plan`: reads the ticket's SLA facts and targets.
    LoadSlaPlanActivity = "sla.load_plan", LoadSlaPlan => SlaPlan
}

contract! {
    /// `sla.record_state`: writes the ticket's SLA columns and an audit entry (idempotent).
    RecordSlaStateActivity = "sla.record_state", RecordSlaState => ()
}

contract! {
    /// `sla.fire_milestone`: emits the warning/breach event, marks a breached target,
    /// or escalates (adds the level's manager, raises the level; never to the same
    /// or a lower level), with an `sla_audit_log` entry; exactly once per milestone.
    FireMilestoneActivity = "sla.fire_milestone", FireMilestone => ()
}
