//! Keel's durable processes: Temporal workflow definitions, the activity contracts
//! they call, and the naming rules every process shares.
//!
//! Workflow ids always start with the tenant (`<tenant uuid>:<kind>:<key>`), so a run
//! can be traced to its tenant from its id alone and one tenant can never address
//! another's run.

pub mod billing_cycle;
pub mod contracts;
pub mod credit_expiry;
pub mod invoice_delivery;
pub mod notification_digest;
pub mod notification_fan_out;
pub mod onboarding;
pub mod outbound_email;
pub mod run_record;
pub mod self_test;
pub mod ticket_sla;
pub mod timesheet_approval;
pub mod warranty_watch;

use crate::TenantId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_sdk::ActivityOptions;

pub use billing_cycle::BillingCycle;
pub use credit_expiry::CreditExpiry;
pub use invoice_delivery::InvoiceDelivery;
pub use notification_digest::NotificationDigest;
pub use notification_fan_out::NotificationFanOut;
pub use onboarding::TenantOnboarding;
pub use outbound_email::OutboundEmail;
pub use self_test::SelfTest;
pub use ticket_sla::TicketSla;
pub use timesheet_approval::TimesheetApproval;
pub use warranty_watch::WarrantyWatch;

/// The base name of the task queue of platform processes (onboarding, self tests).
pub const PLATFORM_QUEUE: &str = "keel-platform";

/// The task queue name for `base` under a deployment's prefix (empty in production;
/// tests use one per test so parallel workers never take each other's tasks).
pub fn task_queue(prefix: &str, base: &str) -> String {
    format!("{prefix}{base}")
}

/// The built-in kinds of workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowKind {
    /// Seeds a new tenant ([`TenantOnboarding`]).
    TenantOnboarding,
    /// The canary of the durable path ([`SelfTest`]).
    SelfTest,
    /// A tenant's daily warranty scan ([`WarrantyWatch`]).
    WarrantyWatch,
    /// A ticket's SLA clock ([`TicketSla`]).
    TicketSla,
    /// One event's notifications ([`NotificationFanOut`]).
    NotificationFanOut,
    /// A tenant's daily notification digest ([`NotificationDigest`]).
    NotificationDigest,
    /// One timesheet submission waiting for its approver ([`TimesheetApproval`]).
    TimesheetApproval,
    /// One billing run of a tenant ([`BillingCycle`]).
    BillingCycle,
    /// A tenant's daily expiry of credits ([`CreditExpiry`]).
    CreditExpiry,
    /// One invoice e-mailed as a PDF ([`InvoiceDelivery`]).
    InvoiceDelivery,
    /// One run of a tenant's Rhai playbook (the workflow lives in the `dsl` crate).
    PlaybookRun,
    /// E-mails a playbook queued, sent in turn ([`OutboundEmail`]).
    OutboundEmail,
}

impl WorkflowKind {
    /// The stable name stored on runs (`tenant_onboarding`).
    pub fn name(self) -> &'static str {
        match self {
            WorkflowKind::TenantOnboarding => "tenant_onboarding",
            WorkflowKind::SelfTest => "self_test",
            WorkflowKind::WarrantyWatch => "warranty_watch",
            WorkflowKind::TicketSla => "ticket_sla",
            WorkflowKind::NotificationFanOut => "notification_fan_out",
            WorkflowKind::NotificationDigest => "notification_digest",
            WorkflowKind::TimesheetApproval => "timesheet_approval",
            WorkflowKind::BillingCycle => "billing_cycle",
            WorkflowKind::CreditExpiry => "credit_expiry",
            WorkflowKind::InvoiceDelivery => "invoice_delivery",
            WorkflowKind::PlaybookRun => "playbook_run",
            WorkflowKind::OutboundEmail => "outbound_email",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<WorkflowKind> {
        [
            WorkflowKind::TenantOnboarding,
            WorkflowKind::SelfTest,
            WorkflowKind::WarrantyWatch,
            WorkflowKind::TicketSla,
            WorkflowKind::NotificationFanOut,
            WorkflowKind::NotificationDigest,
            WorkflowKind::TimesheetApproval,
            WorkflowKind::BillingCycle,
            WorkflowKind::CreditExpiry,
            WorkflowKind::InvoiceDelivery,
            WorkflowKind::PlaybookRun,
            WorkflowKind::OutboundEmail,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The Temporal workflow type, as shown by `temporal workflow list`.
    pub fn workflow_type(self) -> &'static str {
        match self {
            WorkflowKind::TenantOnboarding => "TenantOnboarding",
            WorkflowKind::SelfTest => "SelfTest",
            WorkflowKind::WarrantyWatch => "WarrantyWatch",
            WorkflowKind::TicketSla => "TicketSla",
            WorkflowKind::NotificationFanOut => "NotificationFanOut",
            WorkflowKind::NotificationDigest => "NotificationDigest",
            WorkflowKind::TimesheetApproval => "TimesheetApproval",
            WorkflowKind::BillingCycle => "BillingCycle",
            WorkflowKind::CreditExpiry => "CreditExpiry",
            WorkflowKind::InvoiceDelivery => "InvoiceDelivery",
            WorkflowKind::PlaybookRun => "PlaybookRun",
            WorkflowKind::OutboundEmail => "OutboundEmail",
        }
    }

    /// The workflow id of this kind of run for `tenant`, unique by `key`.
    pub fn workflow_id(self, tenant: TenantId, key: &str) -> String {
        format!("{}:{}:{key}", tenant.0, self.name())
    }
}

/// The tenant a workflow id belongs to, if it is a Keel workflow id: either
/// `<tenant>:<kind>:<key>` or a ticket's `sla-<tenant>-<ticket>`.
pub fn tenant_of_workflow_id(workflow_id: &str) -> Option<TenantId> {
    if let Some(rest) = workflow_id.strip_prefix("sla-") {
        return rest
            .get(..36)
            .and_then(|t| uuid::Uuid::try_parse(t).ok())
            .map(TenantId);
    }
    let (tenant, _) = workflow_id.split_once(':')?;
    uuid::Uuid::try_parse(tenant).ok().map(TenantId)
}

/// The lifecycle of a run, as stored and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still going.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Hit its execution timeout.
    TimedOut,
}

impl RunStatus {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::TimedOut => "timed_out",
        }
    }
}

/// The idempotency key of step `step` of a run: the same on every retry and replay
/// of that step, different for every other step and run.
pub fn idempotency_key(workflow_id: &str, run_id: &str, step: &str) -> String {
    format!("{workflow_id}/{run_id}/{step}")
}

/// Options for activities that write to Postgres: short attempts, retried with
/// backoff for up to ten minutes (a database failover fits in that window).
pub fn database_write_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(200))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(10))
                .maximum_attempts(60)
                .non_retryable_error_types(["InvalidInput"])
                .build(),
        )
        .build()
}

/// Options for a playbook's `http_request`: an attempt may wait out the call's
/// 30-second timeout at most, plus its two short transactions; a call that got no
/// connection or no answer is tried 3 times in all, a second and then two apart.
/// A refusal (`InvalidInput`) is final.
pub fn http_request_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(45))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(10))
                .maximum_attempts(3)
                .non_retryable_error_types(["InvalidInput"])
                .build(),
        )
        .build()
}

/// Options for the run-bookkeeping activities: cheap, retried for as long as the
/// workflow lives, since a run's record must eventually be written.
pub fn bookkeeping_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(200))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(30))
                .maximum_attempts(0)
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_ids_name_their_tenant_and_kind() {
        let tenant = TenantId(uuid::Uuid::now_v7());
        let id = WorkflowKind::SelfTest.workflow_id(tenant, "abc");
        assert_eq!(id, format!("{}:self_test:abc", tenant.0));
        assert_eq!(tenant_of_workflow_id(&id), Some(tenant));
        assert_eq!(tenant_of_workflow_id("no-tenant-here"), None);
        for kind in [WorkflowKind::TenantOnboarding, WorkflowKind::SelfTest] {
            assert_eq!(WorkflowKind::parse(kind.name()), Some(kind));
        }
    }

    #[test]
    fn idempotency_keys_differ_by_step_and_run() {
        let a = idempotency_key("w", "r1", "seed");
        assert_eq!(a, idempotency_key("w", "r1", "seed"));
        assert_ne!(a, idempotency_key("w", "r2", "seed"));
        assert_ne!(a, idempotency_key("w", "r1", "other"));
    }
}
