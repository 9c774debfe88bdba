//! CreditExpiry: a tenant's daily expiry of credits, started by the tenant's
//! daily Temporal Schedule. Credits whose expiry day has come are zeroed and the
//! ledger records each, in one step that runs exactly once per run.

use super::contracts::ExpireCreditsActivity;
use super::{database_write_options, run_record, WorkflowKind};
use crate::TenantId;
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};

/// Whose credits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditExpiryInput {
    /// The tenant.
    pub tenant: TenantId,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditExpiryResult {
    /// Credits expired.
    pub expired: u64,
}

/// The credit expiry workflow.
#[workflow]
pub struct CreditExpiry {
    input: CreditExpiryInput,
}

#[workflow_methods]
impl CreditExpiry {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: CreditExpiryInput) -> Self {
        CreditExpiry { input }
    }

    /// Expires what is due and records the count.
    #[run(name = "CreditExpiry")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<CreditExpiryResult> {
        let tenant = ctx.state(|s| s.input.tenant);
        let input = ctx.state(|s| s.input.clone());
        run_record::open(ctx, tenant, WorkflowKind::CreditExpiry, &input).await?;
        let step = run_record::step_ref(ctx, tenant, "expire_credits");
        let outcome = ctx
            .execute_activity(ExpireCreditsActivity, step, database_write_options())
            .await
            .map(|expired| CreditExpiryResult { expired })
            .map_err(|e| format!("expiring credits failed: {e}"));
        run_record::close(ctx, tenant, outcome).await
    }
}
