//! TenantOnboarding: seeds a new tenant's roles, permissions and number sequences.
//!
//! Started by `keel tenant create` and `POST /api/v1/tenants` right after the tenant
//! row is committed; workflow id `<tenant>:tenant_onboarding:<tenant>`, so a tenant
//! is onboarded by at most one run at a time. No signals or queries. Guarantees:
//! every step is idempotent (retries and replays insert nothing twice), and the run
//! record shows each step.

use super::contracts::{
    SeedAccessActivity, SeedOutcome, SeedSequencesActivity, SeedTicketDefaultsActivity,
};
use super::{database_write_options, run_record, WorkflowKind};
use crate::TenantId;
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};

/// What to onboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingInput {
    /// The tenant, already inserted.
    pub tenant: TenantId,
    /// Its slug (for the run page).
    pub slug: String,
}

/// What onboarding did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingResult {
    /// Rows inserted by the access step (roles and grants).
    pub access_rows: u64,
    /// Rows inserted by the sequences step.
    pub sequence_rows: u64,
    /// Ticket statuses, priorities and boards inserted.
    #[serde(default)]
    pub ticket_rows: u64,
}

/// The onboarding workflow.
#[workflow]
pub struct TenantOnboarding {
    input: OnboardingInput,
}

#[workflow_methods]
impl TenantOnboarding {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: OnboardingInput) -> Self {
        TenantOnboarding { input }
    }

    /// Runs the onboarding steps in order.
    #[run(name = "TenantOnboarding")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OnboardingResult> {
        let input = ctx.state(|s| s.input.clone());
        let tenant = input.tenant;
        run_record::open(ctx, tenant, WorkflowKind::TenantOnboarding, &input).await?;
        let outcome = Self::seed(ctx, tenant).await;
        run_record::close(ctx, tenant, outcome).await
    }
}

impl TenantOnboarding {
    async fn seed(
        ctx: &WorkflowContext<Self>,
        tenant: TenantId,
    ) -> Result<OnboardingResult, String> {
        let access: SeedOutcome = ctx
            .execute_activity(
                SeedAccessActivity,
                run_record::step_ref(ctx, tenant, "seed_access"),
                database_write_options(),
            )
            .await
            .map_err(|e| format!("seeding roles and permissions failed: {e}"))?;
        let sequences: SeedOutcome = ctx
            .execute_activity(
                SeedSequencesActivity,
                run_record::step_ref(ctx, tenant, "seed_sequences"),
                database_write_options(),
            )
            .await
            .map_err(|e| format!("seeding number sequences failed: {e}"))?;
        // Added after the first release: runs recorded before it replay without it.
        let ticket_rows = if ctx.patched("seed-ticket-defaults") {
            let seeded: SeedOutcome = ctx
                .execute_activity(
                    SeedTicketDefaultsActivity,
                    run_record::step_ref(ctx, tenant, "seed_ticket_defaults"),
                    database_write_options(),
                )
                .await
                .map_err(|e| format!("seeding ticket defaults failed: {e}"))?;
            seeded.inserted
        } else {
            0
        };
        Ok(OnboardingResult {
            access_rows: access.inserted,
            sequence_rows: sequences.inserted,
            ticket_rows,
        })
    }
}
