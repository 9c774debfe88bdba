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

/// `notifications.plan`: who hears of an event, and how.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanNotifications {
    /// The step (its tenant is the event's tenant).
    pub step: StepRef,
    /// The event.
    pub event: crate::EventEnvelope,
    /// The subtype it raises (`Subtype::as_str`).
    pub subtype: String,
}

/// What planning queued.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPlan {
    /// The key of the queued e-mails in `notification_log`, for the send batches.
    pub batch_key: String,
    /// E-mails queued to send now.
    pub emails: u32,
    /// E-mails held for recipients' daily digests.
    pub digest: u32,
    /// In-app notifications created.
    pub in_app: u32,
}

contract! {
    /// `notifications.plan`: resolves recipients, applies the tenant's switches and
    /// users' preferences, renders each e-mail, and writes the queued
    /// `notification_log` rows and in-app notifications (idempotent per event and
    /// recipient).
    PlanNotificationsActivity = "notifications.plan", PlanNotifications => NotificationPlan
}

/// `notifications.send_batch`: up to `max` queued e-mails of one batch key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SendNotificationBatch {
    /// The step.
    pub step: StepRef,
    /// Which queued e-mails.
    pub batch_key: String,
    /// At most this many per call.
    pub max: u32,
    /// Rate-limit slots an earlier call reserved for this one; 0 to reserve anew.
    #[serde(default)]
    pub reserved: u32,
}

/// What one send batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentBatch {
    /// Accepted by the SMTP server.
    pub sent: u32,
    /// Refused for good (5xx), with the answer recorded.
    pub failed: u32,
    /// Still queued after this batch.
    pub remaining: u32,
    /// Slots reserved in the tenant's rate limit for the next call, which may use
    /// them after `wait_ms`.
    #[serde(default)]
    pub reserved: u32,
    /// How long to wait before the reserved slots may be used (0: none reserved).
    pub wait_ms: u64,
}

contract! {
    /// `notifications.send_batch`: takes tokens from the tenant's rate limit, sends
    /// that many queued e-mails, and marks each sent or failed as the server
    /// answers. A transient answer (4xx, connection refused) fails the activity so it
    /// is retried with backoff; an e-mail already marked sent is never sent again.
    SendNotificationBatchActivity = "notifications.send_batch", SendNotificationBatch => SentBatch
}

/// `notifications.abandon`: gives up on a batch's queued e-mails.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AbandonNotifications {
    /// The step.
    pub step: StepRef,
    /// Which queued e-mails.
    pub batch_key: String,
    /// Why, recorded on each row.
    pub reason: String,
}

contract! {
    /// `notifications.abandon`: marks the batch's still-queued e-mails failed.
    AbandonNotificationsActivity = "notifications.abandon", AbandonNotifications => u32
}

/// `notifications.collect_digest`: the digests due up to a moment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CollectDigest {
    /// The step.
    pub step: StepRef,
    /// Collect notifications held for digests up to this moment.
    pub up_to: chrono::DateTime<chrono::Utc>,
}

contract! {
    /// `notifications.collect_digest`: renders one digest e-mail per recipient from
    /// their held notifications, queues it under a new batch key, and marks the held
    /// rows digested (idempotent per step).
    CollectDigestActivity = "notifications.collect_digest", CollectDigest => NotificationPlan
}

/// `time.load_approval`: a submitted timesheet's state and the tenant's rules.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadApproval {
    /// The step.
    pub step: StepRef,
    /// The timesheet.
    pub timesheet_id: uuid::Uuid,
}

/// What the approval workflow needs to know about its timesheet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPlan {
    /// The timesheet exists.
    pub found: bool,
    /// Its status (`SUBMITTED`, …).
    pub status: String,
    /// Its current submission number.
    pub submission: u32,
    /// Whose it is.
    pub owner: uuid::Uuid,
    /// The tenant lets approvers approve their own timesheets.
    pub allow_self_approval: bool,
    /// Seconds after submission before the approvers are reminded (the tenant's
    /// hours, scaled by the worker in tests).
    pub reminder_after_seconds: u64,
}

contract! {
    /// Loads a timesheet for its approval workflow.
    LoadApprovalActivity = "time.load_approval", LoadApproval => ApprovalPlan
}

/// `time.decide_timesheet`: applies an approver's decision to one submission.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DecideTimesheet {
    /// The step.
    pub step: StepRef,
    /// The timesheet.
    pub timesheet_id: uuid::Uuid,
    /// The submission decided on (a newer one is left alone).
    pub submission: u32,
    /// Approve or request changes.
    pub action: crate::time::timesheets::TimesheetAction,
    /// The approver.
    pub actor: uuid::Uuid,
    /// Why changes are requested.
    pub reason: Option<String>,
}

contract! {
    /// Approves a timesheet (locking its entries) or sends it back; returns the
    /// status it ended in.
    DecideTimesheetActivity = "time.decide_timesheet", DecideTimesheet => String
}

/// `time.remind_approvers`: raises the reminder event of one submission, once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemindApprovers {
    /// The step.
    pub step: StepRef,
    /// The timesheet.
    pub timesheet_id: uuid::Uuid,
    /// The submission waiting.
    pub submission: u32,
}

contract! {
    /// Emits `timesheet.approval_reminder` (idempotent per step); false when the
    /// timesheet no longer waits.
    RemindApproversActivity = "time.remind_approvers", RemindApprovers => bool
}

/// `billing.plan_run`: the clients a billing run looks at.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanBillingRun {
    /// The step.
    pub step: StepRef,
    /// Bill windows ending on or before this day; none = today (UTC), for
    /// scheduled runs.
    pub period_end: Option<chrono::NaiveDate>,
    /// Only these clients, when given.
    pub client_ids: Option<Vec<uuid::Uuid>>,
}

/// What a billing run will do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    /// The day billed up to.
    pub period_end: chrono::NaiveDate,
    /// The clients to look at, in id order.
    pub client_ids: Vec<uuid::Uuid>,
}

contract! {
    /// Fixes the run's day and lists the clients with contracts it must look at
    /// (recorded once per run, so a resumed run bills the same list).
    PlanBillingRunActivity = "billing.plan_run", PlanBillingRun => RunPlan
}

/// `billing.bill_clients`: one batch of a billing run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BillClients {
    /// The step (one per batch).
    pub step: StepRef,
    /// Bill windows ending on or before this day.
    pub period_end: chrono::NaiveDate,
    /// The batch's clients.
    pub client_ids: Vec<uuid::Uuid>,
    /// The run's progress after this batch, shown while it runs.
    pub progress: BillingProgress,
}

/// How far a billing run is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingProgress {
    /// The day billed up to.
    pub period_end: Option<chrono::NaiveDate>,
    /// Clients looked at so far.
    pub clients_done: u64,
    /// Clients the run looks at.
    pub clients_total: u64,
    /// Draft invoices written so far.
    pub invoices: u64,
    /// Their lines.
    pub lines: u64,
    /// Clients held for unapproved time.
    pub held: u64,
    /// Clients that could not be billed.
    pub failed: u64,
}

/// A client whose invoice waits for unapproved time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldClient {
    /// The client.
    pub client_id: uuid::Uuid,
    /// The first window held.
    pub period_start: chrono::NaiveDate,
    /// Its exclusive end.
    pub period_end: chrono::NaiveDate,
    /// Billable time entries before the window's end still unapproved.
    pub unapproved_entries: u64,
}

/// A client that could not be billed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedClient {
    /// The client.
    pub client_id: uuid::Uuid,
    /// Why (a missing price or tax rate, too many windows behind).
    pub error: String,
}

/// What one batch (or a whole run) did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// Clients looked at.
    pub clients: u64,
    /// Draft invoices written.
    pub invoices: u64,
    /// Their lines.
    pub lines: u64,
    /// (contract, window) pairs marked billed.
    pub windows: u64,
    /// Clients held for unapproved time.
    pub held_count: u64,
    /// The first of them.
    pub held: Vec<HeldClient>,
    /// Clients that failed.
    pub failed_count: u64,
    /// The first of them.
    pub failed: Vec<FailedClient>,
}

contract! {
    /// Bills one batch of clients in one transaction, exactly once per step.
    BillClientsActivity = "billing.bill_clients", BillClients => BatchOutcome
}

contract! {
    /// Expires the tenant's credits whose expiry day has come (UTC today),
    /// recording each on the ledger; answers how many.
    ExpireCreditsActivity = "billing.expire_credits", StepRef => u64
}

/// `billing.send_invoice`: e-mails one invoice with its PDF.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SendInvoice {
    /// The step.
    pub step: StepRef,
    /// The invoice.
    pub invoice_id: uuid::Uuid,
    /// The address; none = the client's billing e-mail.
    pub to: Option<String>,
}

/// A sent invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentInvoice {
    /// The delivery's id.
    pub delivery_id: uuid::Uuid,
    /// Where it went.
    pub to_email: String,
    /// The e-mail's Message-ID.
    pub message_id: String,
}

contract! {
    /// Renders the invoice through the tenant's template into a PDF, e-mails it
    /// and records the delivery (once per step); a draft, a void invoice or a
    /// missing address fails without retries.
    SendInvoiceActivity = "billing.send_invoice", SendInvoice => SentInvoice
}

/// `playbooks.action`: one action call of a playbook run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookAction {
    /// The step (`<n>-<action>`, unique per run).
    pub step: StepRef,
    /// The action's name in the catalogue.
    pub action: String,
    /// Its argument map.
    pub args: serde_json::Value,
    /// The user the run acts as: their permissions bound what it may do.
    pub run_as: uuid::Uuid,
    /// A dry run records the call and answers `fixture` without executing it.
    pub dry_run: bool,
    /// The dry-run answer.
    pub fixture: Option<serde_json::Value>,
}

/// `playbooks.event_wait`: opens or closes a playbook run's wait for a domain
/// event. While open, the workflow starter signals each matching event to the run
/// (`event` signal with this `wait`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookEventWait {
    /// The step (`<n>-wait_for_event` or `<n>-wait_closed`, unique per run); its
    /// `workflow_id` is the run's.
    pub step: StepRef,
    /// The wait's number in the run (its journal position).
    pub wait: u32,
    /// The event type waited for.
    pub event_type: String,
    /// The filter an event must pass, if any.
    pub filter: Option<String>,
    /// Open (true) or close (false) the wait.
    pub open: bool,
}

contract! {
    /// Records or removes a run's wait for an event (idempotent).
    PlaybookEventWaitActivity = "playbooks.event_wait", PlaybookEventWait => ()
}

/// `playbooks.admit`: whether a run that Temporal started by itself (a
/// playbook's schedule) may go on under the tenant's limits and its version's
/// manifest. The other triggers are admitted before they start anything.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookAdmission {
    /// The run's tenant.
    pub tenant: TenantId,
    /// The playbook.
    pub playbook_id: uuid::Uuid,
    /// What started the run (`schedule`).
    pub trigger: String,
    /// The version it runs, whose manifest is checked (absent in runs started
    /// before manifests existed: only the limits are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Whoever it acts as, who must hold the manifest's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<uuid::Uuid>,
    /// Its input, which must fit the manifest's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
}

contract! {
    /// Checks the version's manifest and the tenant's playbook limits for one more
    /// run; a refusal is audited as `playbook.run_refused` on the playbook and
    /// answered as its reason.
    PlaybookAdmitActivity = "playbooks.admit", PlaybookAdmission => Option<String>
}

contract! {
    /// Runs one playbook action once per step; a refused call (bad arguments, a
    /// missing permission, a missing record) fails without retries and the script
    /// sees it as a catchable error.
    PlaybookActionActivity = "playbooks.action", PlaybookAction => serde_json::Value
}
