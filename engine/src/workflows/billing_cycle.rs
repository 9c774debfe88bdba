//! BillingCycle: one billing run of a tenant. It fixes the day billed up to and
//! the clients to look at (one recorded step), then bills them in batches, each
//! batch one activity and one transaction, exactly once per step. A worker killed
//! mid-run resumes at the first batch not recorded; a second run finds every
//! billed (contract, window) marked and writes nothing for it.
//!
//! Started by `POST /billing-runs`, `keel billing run`, and the tenant's daily
//! Temporal Schedule (with no day: the run bills up to its own today).

use super::contracts::{
    BatchOutcome, BillClients, BillClientsActivity, BillingProgress, FailedClient, HeldClient,
    PlanBillingRun, PlanBillingRunActivity,
};
use super::{database_write_options, run_record, WorkflowKind};
use crate::TenantId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult};

/// Clients per batch by default: a few hundred per transaction keeps each
/// activity to seconds while the statements stay set-based.
pub const DEFAULT_BATCH_SIZE: u32 = 250;

/// The most held or failed clients a run's result lists (all are counted).
const MAX_LISTED: usize = 100;

/// What to bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingCycleInput {
    /// The tenant.
    pub tenant: TenantId,
    /// Bill windows ending on or before this day; none = the run's today (UTC).
    pub period_end: Option<chrono::NaiveDate>,
    /// Only these clients, when given.
    pub client_ids: Option<Vec<uuid::Uuid>>,
    /// Clients per batch (default [`DEFAULT_BATCH_SIZE`]).
    pub batch_size: Option<u32>,
}

/// What a run did: its progress at the end, and who was held or failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRunSummary {
    /// Totals.
    #[serde(flatten)]
    pub progress: BillingProgress,
    /// Clients whose invoice waits for unapproved time (the first of them).
    pub held_clients: Vec<HeldClient>,
    /// Clients that could not be billed (the first of them).
    pub failed_clients: Vec<FailedClient>,
}

impl BillingRunSummary {
    /// Adds one batch's outcome.
    pub fn add(&mut self, batch: BatchOutcome) {
        let p = &mut self.progress;
        p.clients_done += batch.clients;
        p.invoices += batch.invoices;
        p.lines += batch.lines;
        p.held += batch.held_count;
        p.failed += batch.failed_count;
        let room = MAX_LISTED.saturating_sub(self.held_clients.len());
        self.held_clients.extend(batch.held.into_iter().take(room));
        let room = MAX_LISTED.saturating_sub(self.failed_clients.len());
        self.failed_clients
            .extend(batch.failed.into_iter().take(room));
    }
}

/// A batch may take a while on a large tenant; it is one transaction, retried
/// whole. It heartbeats, so a batch whose worker died is retried within seconds.
fn batch_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(300))
        .heartbeat_timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(500))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(30))
                .maximum_attempts(30)
                .non_retryable_error_types(["InvalidInput"])
                .build(),
        )
        .build()
}

/// The billing cycle workflow.
#[workflow]
pub struct BillingCycle {
    input: BillingCycleInput,
}

#[workflow_methods]
impl BillingCycle {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: BillingCycleInput) -> Self {
        BillingCycle { input }
    }

    /// Plans, bills batch after batch, and records the summary.
    #[run(name = "BillingCycle")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<BillingRunSummary> {
        let input = ctx.state(|s| s.input.clone());
        let tenant = input.tenant;
        run_record::open(ctx, tenant, WorkflowKind::BillingCycle, &input).await?;
        let outcome = Self::bill(ctx, &input).await;
        run_record::close(ctx, tenant, outcome).await
    }
}

impl BillingCycle {
    async fn bill(
        ctx: &mut WorkflowContext<Self>,
        input: &BillingCycleInput,
    ) -> Result<BillingRunSummary, String> {
        let plan = PlanBillingRun {
            step: run_record::step_ref(ctx, input.tenant, "plan"),
            period_end: input.period_end,
            client_ids: input.client_ids.clone(),
        };
        let plan = ctx
            .execute_activity(PlanBillingRunActivity, plan, database_write_options())
            .await
            .map_err(|e| format!("planning the run failed: {e}"))?;
        let size = input
            .batch_size
            .unwrap_or(DEFAULT_BATCH_SIZE)
            .clamp(1, 5_000) as usize;
        let mut summary = BillingRunSummary {
            progress: BillingProgress {
                period_end: Some(plan.period_end),
                clients_total: plan.client_ids.len() as u64,
                ..BillingProgress::default()
            },
            ..BillingRunSummary::default()
        };
        for (index, batch) in plan.client_ids.chunks(size).enumerate() {
            let mut after = summary.progress.clone();
            after.clients_done += batch.len() as u64;
            let bill = BillClients {
                step: run_record::step_ref(ctx, input.tenant, &format!("bill_clients.{index}")),
                period_end: plan.period_end,
                client_ids: batch.to_vec(),
                progress: after,
            };
            let outcome = ctx
                .execute_activity(BillClientsActivity, bill, batch_options())
                .await
                .map_err(|e| format!("billing batch {index} failed: {e}"))?;
            summary.add(outcome);
        }
        Ok(summary)
    }
}
