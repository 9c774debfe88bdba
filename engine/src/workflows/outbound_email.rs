//! OutboundEmail: sends e-mails that were queued in `notification_log` outside the
//! notification fan-out — today, a playbook's `send_email`. The action writes the
//! rows and an `email.queued` event in its own transaction; the workflow starter
//! starts this run from the event. Sending reuses the fan-out's rate-limited
//! batches ([`deliver`]): retried for a day while the SMTP server is away, each
//! row marked sent or failed once, the rest given up as failed.
//!
//! Workflow id `<tenant>:outbound_email:<event id>`: a redelivered event finds its
//! run and sends nothing twice.

use super::contracts::NotificationPlan;
use super::notification_fan_out::{deliver, Delivered};
use super::{run_record, WorkflowKind};
use crate::TenantId;
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};
use uuid::Uuid;

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundEmailInput {
    /// The tenant.
    pub tenant: TenantId,
    /// The `email.queued` event that started it.
    pub event_id: Uuid,
    /// The batch key of the queued rows.
    pub batch_key: String,
    /// How many rows were queued.
    pub emails: u32,
}

/// The outbound e-mail workflow.
#[workflow]
pub struct OutboundEmail {
    input: OutboundEmailInput,
}

#[workflow_methods]
impl OutboundEmail {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: OutboundEmailInput) -> Self {
        OutboundEmail { input }
    }

    /// Sends the batch in rate-limited turns.
    #[run(name = "OutboundEmail")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Delivered> {
        let input = ctx.state(|s| s.input.clone());
        run_record::open(ctx, input.tenant, WorkflowKind::OutboundEmail, &input).await?;
        let plan = NotificationPlan {
            batch_key: input.batch_key.clone(),
            emails: input.emails,
            digest: 0,
            in_app: 0,
        };
        let outcome = deliver(ctx, input.tenant, plan).await;
        run_record::close(ctx, input.tenant, outcome).await
    }
}
