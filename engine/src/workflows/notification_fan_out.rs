//! NotificationFanOut: one run per event that raises a notification. It plans the
//! deliveries (recipients, switches, preferences, rendering; one activity), then
//! sends the queued e-mails in batches. Each batch takes slots from the tenant's rate
//! limit; when none is free now it reserves the next one and sleeps on a durable
//! timer until its turn, so mail over the limit is delayed, never dropped, and
//! concurrent fan-outs of one tenant take turns instead of polling.
//!
//! Workflow id `<tenant>:notification_fan_out:<event id>`: a redelivered event finds
//! its run and starts nothing twice.

use super::contracts::{
    AbandonNotifications, AbandonNotificationsActivity, NotificationPlan, PlanNotifications,
    PlanNotificationsActivity, SendNotificationBatch, SendNotificationBatchActivity,
};
use super::{database_write_options, run_record, WorkflowKind};
use crate::{EventEnvelope, TenantId};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult};

/// E-mails per send activity.
pub const SEND_BATCH: u32 = 100;
/// How long a batch keeps retrying a failing SMTP server before its e-mails are
/// given up as failed.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What to fan out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FanOutInput {
    /// The event.
    pub event: EventEnvelope,
    /// The subtype it raises (`Subtype::as_str`).
    pub subtype: String,
}

/// What the run delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// E-mails queued to send now.
    pub emails: u32,
    /// E-mails accepted by the SMTP server.
    pub sent: u32,
    /// E-mails refused for good.
    pub failed: u32,
    /// E-mails held for daily digests.
    pub digest: u32,
    /// In-app notifications created.
    pub in_app: u32,
}

/// The fan-out workflow.
#[workflow]
pub struct NotificationFanOut {
    input: FanOutInput,
}

#[workflow_methods]
impl NotificationFanOut {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: FanOutInput) -> Self {
        NotificationFanOut { input }
    }

    /// Plans, then sends in rate-limited batches.
    #[run(name = "NotificationFanOut")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Delivered> {
        let input = ctx.state(|s| s.input.clone());
        let tenant = input.event.tenant;
        let summary = serde_json::json!({
            "event_id": input.event.event_id,
            "event_type": input.event.event.type_name(),
            "subtype": input.subtype,
        });
        run_record::open(ctx, tenant, WorkflowKind::NotificationFanOut, &summary).await?;
        let plan = PlanNotifications {
            step: run_record::step_ref(ctx, tenant, "plan"),
            event: input.event.clone(),
            subtype: input.subtype.clone(),
        };
        let outcome = match ctx
            .execute_activity(PlanNotificationsActivity, plan, planning_options())
            .await
        {
            Ok(plan) => deliver(ctx, tenant, plan).await,
            Err(e) => Err(format!("planning the notifications failed: {e}")),
        };
        run_record::close(ctx, tenant, outcome).await
    }
}

/// Options of planning: rendering for thousands of recipients takes a while, so one
/// attempt may take minutes; the activity heartbeats, so a dead worker's attempt is
/// retried elsewhere within seconds. Otherwise like every database write.
pub fn planning_options() -> ActivityOptions {
    let mut options = database_write_options();
    options.close_timeouts =
        temporalio_common::ActivityCloseTimeouts::StartToClose(Duration::from_secs(600));
    options.heartbeat_timeout = Some(Duration::from_secs(10));
    options
}

/// Options of a send batch: each attempt is short, retries back off to a minute and
/// go on for [`GIVE_UP_AFTER`], so an SMTP outage delays mail instead of losing it.
pub fn send_options() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(
        temporalio_common::ActivityCloseTimeouts::ScheduleAndStartToClose {
            schedule_to_close: GIVE_UP_AFTER,
            start_to_close: Duration::from_secs(300),
        },
    )
    .heartbeat_timeout(Duration::from_secs(10))
    .retry_policy(
        RetryPolicy::builder()
            .initial_interval(Duration::from_secs(1))
            .backoff_coefficient(2.0)
            .maximum_interval(Duration::from_secs(60))
            .maximum_attempts(0)
            .non_retryable_error_types(["InvalidInput"])
            .build(),
    )
    .build()
}

/// Sends the e-mails queued under `plan.batch_key` in batches, waiting on durable
/// timers whenever the tenant's rate limit is spent. Shared with the digest.
pub async fn deliver<W>(
    ctx: &WorkflowContext<W>,
    tenant: TenantId,
    plan: NotificationPlan,
) -> Result<Delivered, String> {
    let mut delivered = Delivered {
        emails: plan.emails,
        digest: plan.digest,
        in_app: plan.in_app,
        ..Delivered::default()
    };
    let mut remaining = plan.emails;
    let mut reserved = 0u32;
    let mut batch = 0u32;
    while remaining > 0 {
        batch += 1;
        let send = SendNotificationBatch {
            step: run_record::step_ref(ctx, tenant, &format!("send_{batch}")),
            batch_key: plan.batch_key.clone(),
            max: SEND_BATCH,
            reserved,
        };
        match ctx
            .execute_activity(SendNotificationBatchActivity, send, send_options())
            .await
        {
            Ok(sent) => {
                delivered.sent += sent.sent;
                delivered.failed += sent.failed;
                remaining = sent.remaining;
                reserved = sent.reserved;
                if sent.wait_ms > 0 && remaining > 0 {
                    ctx.timer(Duration::from_millis(sent.wait_ms)).await;
                }
            }
            Err(e) => {
                let abandon = AbandonNotifications {
                    step: run_record::step_ref(ctx, tenant, "abandon"),
                    batch_key: plan.batch_key.clone(),
                    reason: format!("gave up: {e}"),
                };
                let given_up = ctx
                    .execute_activity(
                        AbandonNotificationsActivity,
                        abandon,
                        database_write_options(),
                    )
                    .await
                    .unwrap_or(remaining);
                return Err(format!(
                    "sending e-mails failed for {}, {given_up} given up: {e}",
                    humanize(GIVE_UP_AFTER)
                ));
            }
        }
    }
    Ok(delivered)
}

fn humanize(d: Duration) -> String {
    format!("{} h", d.as_secs() / 3600)
}
