//! InvoiceDelivery: e-mails one invoice as a PDF to the client. One activity,
//! retried while the mail server is away, recorded once; the run page shows
//! where it went.

use super::contracts::{SendInvoice, SendInvoiceActivity, SentInvoice};
use super::{run_record, WorkflowKind};
use crate::TenantId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult};

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDeliveryInput {
    /// The tenant.
    pub tenant: TenantId,
    /// The invoice.
    pub invoice_id: uuid::Uuid,
    /// The address; none = the client's billing e-mail.
    pub to: Option<String>,
}

/// Mail servers go away for a while: retry for up to a day, backing off to ten
/// minutes between attempts.
fn send_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(600))
                .maximum_attempts(150)
                .non_retryable_error_types(["InvalidInput"])
                .build(),
        )
        .build()
}

/// The invoice delivery workflow.
#[workflow]
pub struct InvoiceDelivery {
    input: InvoiceDeliveryInput,
}

#[workflow_methods]
impl InvoiceDelivery {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: InvoiceDeliveryInput) -> Self {
        InvoiceDelivery { input }
    }

    /// Sends and records.
    #[run(name = "InvoiceDelivery")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<SentInvoice> {
        let input = ctx.state(|s| s.input.clone());
        run_record::open(ctx, input.tenant, WorkflowKind::InvoiceDelivery, &input).await?;
        let send = SendInvoice {
            step: run_record::step_ref(ctx, input.tenant, "send_invoice"),
            invoice_id: input.invoice_id,
            to: input.to.clone(),
        };
        let outcome = ctx
            .execute_activity(SendInvoiceActivity, send, send_options())
            .await
            .map_err(|e| format!("sending the invoice failed: {e}"));
        run_record::close(ctx, input.tenant, outcome).await
    }
}
