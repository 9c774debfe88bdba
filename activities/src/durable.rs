//! The implementations of the activity contracts declared in `engine::workflows::
//! contracts`. Each writing activity runs in one tenant transaction that also records
//! its effect under the step's idempotency key and its step row for the run page, so
//! a retry or replay never writes twice.

use crate::db::{Db, DbError, TenantTx};
use crate::{effects, numbers, runs, self_test, tenants};
use chrono::Utc;
use engine::workflows::contracts::{
    AbandonNotifications, AbandonNotificationsActivity, CollectDigest, CollectDigestActivity,
    NotificationPlan, PlanNotifications, PlanNotificationsActivity, SendNotificationBatch,
    SendNotificationBatchActivity, SentBatch,
};
use engine::workflows::contracts::{
    ApprovalPlan, DecideTimesheet, DecideTimesheetActivity, LoadApproval, LoadApprovalActivity,
    RemindApprovers, RemindApproversActivity,
};
use engine::workflows::contracts::{
    BatchOutcome, BillClients, BillClientsActivity, ExpireCreditsActivity, PlanBillingRun,
    PlanBillingRunActivity, RunPlan, SendInvoice, SendInvoiceActivity, SentInvoice,
};
use engine::workflows::contracts::{
    CloseRun, CloseRunActivity, FireMilestone, FireMilestoneActivity, FlagWarranties,
    FlagWarrantiesActivity, LoadSlaPlan, LoadSlaPlanActivity, OpenRun, OpenRunActivity,
    RecordSlaState, RecordSlaStateActivity, SeedAccessActivity, SeedOutcome, SeedSequencesActivity,
    SeedTicketDefaultsActivity, SlaPlan, StepRef, WriteMark, WriteMarkActivity,
};
use engine::workflows::contracts::{
    PlaybookAction, PlaybookActionActivity, PlaybookAdmission, PlaybookAdmitActivity,
    PlaybookEventWait, PlaybookEventWaitActivity,
};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::ApplicationFailure;
use uuid::Uuid;

/// An input that can never succeed: fails the activity without retries.
fn invalid_input(message: String) -> ActivityError {
    ActivityError::application(
        ApplicationFailure::builder(message)
            .type_name("InvalidInput".to_owned())
            .non_retryable(true)
            .build(),
    )
}

fn run_uuid(step: &StepRef) -> Result<Uuid, ActivityError> {
    Uuid::try_parse(&step.run_id)
        .map_err(|_| invalid_input(format!("run id {:?} is not a UUID", step.run_id)))
}

type Work<T> =
    Box<dyn for<'t> FnOnce(&'t mut TenantTx) -> BoxFuture<'t, Result<T, DbError>> + Send>;

/// Runs `work` once per idempotency key, recording its effect and its step.
async fn exactly_once<T>(
    db: &Db,
    ctx: &ActivityContext,
    step: &StepRef,
    activity: &str,
    input: serde_json::Value,
    work: Work<T>,
) -> Result<T, ActivityError>
where
    T: Serialize + DeserializeOwned + Send,
{
    let run_id = run_uuid(step)?;
    let started_at = Utc::now();
    let attempt = i32::try_from(ctx.info().attempt).unwrap_or(i32::MAX);
    let key = step.idempotency_key();
    let attempted = async {
        let mut tx = db.tenant_tx(step.tenant).await?;
        if let Some(recorded) = effects::recorded(&mut tx, &key).await? {
            tx.commit().await?;
            return Ok::<_, DbError>(Err(recorded));
        }
        let output = work(&mut tx).await?;
        let json =
            serde_json::to_value(&output).map_err(|e| DbError::Unavailable(e.to_string()))?;
        effects::record(&mut tx, &key, activity, &json).await?;
        let new_step = runs::NewStep {
            run_id,
            name: &step.step,
            status: "completed",
            attempt,
            input: &input,
            output: Some(&json),
            error: None,
            started_at,
        };
        runs::record_step(&mut tx, new_step).await?;
        tx.commit().await?;
        Ok(Ok(output))
    }
    .await;
    match attempted {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(recorded)) => serde_json::from_value(recorded)
            .map_err(|e| invalid_input(format!("recorded effect of {key} is unreadable: {e}"))),
        Err(error) => {
            record_failed_step(
                db,
                step,
                run_id,
                attempt,
                &input,
                &error.to_string(),
                started_at,
            )
            .await;
            Err(error.into())
        }
    }
}

/// Best effort: a failed attempt shows on the run page; if even this fails, the
/// retry will tell the story.
async fn record_failed_step(
    db: &Db,
    step: &StepRef,
    run_id: Uuid,
    attempt: i32,
    input: &serde_json::Value,
    error: &str,
    started_at: chrono::DateTime<Utc>,
) {
    let recorded = async {
        let mut tx = db.tenant_tx(step.tenant).await?;
        let new_step = runs::NewStep {
            run_id,
            name: &step.step,
            status: "failed",
            attempt,
            input,
            output: None,
            error: Some(error),
            started_at,
        };
        runs::record_step(&mut tx, new_step).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, step = %step.step, "could not record a failed step");
    }
}

/// `runs.*`: the run record.
pub struct RunRecorder {
    /// Application-role pool.
    pub db: Db,
}

#[activities]
impl RunRecorder {
    #[activity(definition = OpenRunActivity)]
    pub async fn open(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: OpenRun,
    ) -> Result<(), ActivityError> {
        let run_id = run_uuid(&input.step)?;
        let mut tx = self.db.tenant_tx(input.step.tenant).await?;
        runs::open_run(
            &mut tx,
            run_id,
            &input.step.workflow_id,
            &input.kind,
            &input.input,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[activity(definition = CloseRunActivity)]
    pub async fn close(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CloseRun,
    ) -> Result<(), ActivityError> {
        let run_id = run_uuid(&input.step)?;
        let mut tx = self.db.tenant_tx(input.step.tenant).await?;
        runs::close_run(
            &mut tx,
            run_id,
            &input.status,
            input.result.as_ref(),
            input.error.as_deref(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// `tenants.*`: onboarding steps.
pub struct Onboarding {
    /// Application-role pool.
    pub db: Db,
}

/// A seeding step: `seed` inserts what is missing and answers how many rows.
async fn seed_step(
    db: &Db,
    ctx: &ActivityContext,
    step: &StepRef,
    activity: &str,
    seed: for<'t> fn(&'t mut TenantTx) -> BoxFuture<'t, Result<u64, DbError>>,
) -> Result<SeedOutcome, ActivityError> {
    let work: Work<SeedOutcome> = Box::new(move |tx| {
        Box::pin(async move {
            Ok(SeedOutcome {
                inserted: seed(tx).await?,
            })
        })
    });
    exactly_once(db, ctx, step, activity, serde_json::json!({}), work).await
}

#[activities]
impl Onboarding {
    #[activity(definition = SeedAccessActivity)]
    pub async fn seed_access(
        self: Arc<Self>,
        ctx: ActivityContext,
        step: StepRef,
    ) -> Result<SeedOutcome, ActivityError> {
        seed_step(&self.db, &ctx, &step, "tenants.seed_access", |tx| {
            Box::pin(tenants::seed_access(tx))
        })
        .await
    }

    #[activity(definition = SeedSequencesActivity)]
    pub async fn seed_sequences(
        self: Arc<Self>,
        ctx: ActivityContext,
        step: StepRef,
    ) -> Result<SeedOutcome, ActivityError> {
        seed_step(&self.db, &ctx, &step, "tenants.seed_sequences", |tx| {
            Box::pin(numbers::seed_defaults(tx))
        })
        .await
    }

    #[activity(definition = SeedTicketDefaultsActivity)]
    pub async fn seed_ticket_defaults(
        self: Arc<Self>,
        ctx: ActivityContext,
        step: StepRef,
    ) -> Result<SeedOutcome, ActivityError> {
        seed_step(&self.db, &ctx, &step, "tickets.seed_defaults", |tx| {
            Box::pin(crate::tickets::config::seed_defaults(tx))
        })
        .await
    }
}

/// `selftest.*`: the canary's steps.
pub struct SelfTestSteps {
    /// Application-role pool.
    pub db: Db,
}

#[activities]
impl SelfTestSteps {
    #[activity(definition = WriteMarkActivity)]
    pub async fn write_mark(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: WriteMark,
    ) -> Result<u32, ActivityError> {
        let json = serde_json::json!({ "number": input.number });
        let workflow_id = input.step.workflow_id.clone();
        let number = input.number;
        let work: Work<u32> = Box::new(move |tx| {
            Box::pin(async move {
                self_test::write_mark(tx, &workflow_id, number).await?;
                Ok(number)
            })
        });
        exactly_once(
            &self.db,
            &ctx,
            &input.step,
            "selftest.write_mark",
            json,
            work,
        )
        .await
    }
}

/// `assets.*`: the warranty watch's scan.
pub struct AssetSteps {
    /// Application-role pool.
    pub db: Db,
}

#[activities]
impl AssetSteps {
    #[activity(definition = FlagWarrantiesActivity)]
    pub async fn flag_expiring_warranties(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: FlagWarranties,
    ) -> Result<u64, ActivityError> {
        let json = serde_json::json!({ "notice_days": input.notice_days });
        let notice_days = input.notice_days;
        // Today is read here, in the activity: the workflow stays deterministic and a
        // retry on the same day scans the same window.
        let today = Utc::now().date_naive();
        let work: Work<u64> = Box::new(move |tx| {
            Box::pin(async move {
                let flagged =
                    crate::assets::flag_expiring_warranties(tx, today, notice_days).await?;
                Ok(flagged as u64)
            })
        });
        exactly_once(
            &self.db,
            &ctx,
            &input.step,
            "assets.flag_expiring_warranties",
            json,
            work,
        )
        .await
    }
}

/// `sla.*`: the TicketSla workflow's reads and writes.
pub struct SlaSteps {
    /// Application-role pool.
    pub db: Db,
}

#[activities]
impl SlaSteps {
    #[activity(definition = LoadSlaPlanActivity)]
    pub async fn load_plan(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: LoadSlaPlan,
    ) -> Result<SlaPlan, ActivityError> {
        // A read: no effect to record, and a retry simply reads again.
        let mut tx = self.db.tenant_tx(input.step.tenant).await?;
        let plan = crate::sla::load_plan(&mut tx, input.ticket_id).await?;
        tx.commit().await?;
        Ok(plan)
    }

    #[activity(definition = RecordSlaStateActivity)]
    pub async fn record_state(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RecordSlaState,
    ) -> Result<(), ActivityError> {
        let json = serde_json::json!({ "state": input.state, "audit": input.audit_event });
        let step = input.step.clone();
        let work: Work<()> =
            Box::new(move |tx| Box::pin(async move { crate::sla::record_state(tx, &input).await }));
        exactly_once(&self.db, &ctx, &step, "sla.record_state", json, work).await
    }

    #[activity(definition = FireMilestoneActivity)]
    pub async fn fire_milestone(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: FireMilestone,
    ) -> Result<(), ActivityError> {
        let json =
            serde_json::json!({ "milestone": input.milestone.key(), "due_at": input.due_at });
        let step = input.step.clone();
        let work: Work<()> = Box::new(move |tx| {
            Box::pin(async move { crate::sla::fire_milestone(tx, &input).await })
        });
        exactly_once(&self.db, &ctx, &step, "sla.fire_milestone", json, work).await
    }
}

/// `time.*`: the TimesheetApproval workflow's reads and writes.
pub struct TimeSteps {
    /// Application-role pool.
    pub db: Db,
    /// Real seconds per reminder hour: 3600, except in tests.
    pub seconds_per_hour: u32,
}

#[activities]
impl TimeSteps {
    #[activity(definition = LoadApprovalActivity)]
    pub async fn load_approval(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: LoadApproval,
    ) -> Result<ApprovalPlan, ActivityError> {
        // A read: a retry simply reads again.
        let mut tx = self.db.tenant_tx(input.step.tenant).await?;
        let plan =
            crate::time::approval::load(&mut tx, input.timesheet_id, self.seconds_per_hour).await?;
        tx.commit().await?;
        Ok(plan)
    }

    #[activity(definition = DecideTimesheetActivity)]
    pub async fn decide_timesheet(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: DecideTimesheet,
    ) -> Result<String, ActivityError> {
        let json = serde_json::json!({ "action": input.action, "actor": input.actor, "reason": input.reason });
        let step = input.step.clone();
        let work: Work<String> = Box::new(move |tx| {
            Box::pin(async move { crate::time::approval::decide(tx, &input).await })
        });
        exactly_once(&self.db, &ctx, &step, "time.decide_timesheet", json, work).await
    }

    #[activity(definition = RemindApproversActivity)]
    pub async fn remind_approvers(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RemindApprovers,
    ) -> Result<bool, ActivityError> {
        let json = serde_json::json!({ "submission": input.submission });
        let step = input.step.clone();
        let work: Work<bool> = Box::new(move |tx| {
            Box::pin(async move { crate::time::approval::remind(tx, &input).await })
        });
        exactly_once(&self.db, &ctx, &step, "time.remind_approvers", json, work).await
    }
}

/// The notification activities: planning, rate-limited sending, giving up and
/// digests.
pub struct NotificationSteps {
    /// Application-role pool.
    pub db: Db,
    /// Sends mail.
    pub mailer: crate::notifications::mail::Mailer,
    /// The per-tenant e-mail rate limit.
    pub limiter: crate::notifications::ratelimit::MailRateLimiter,
}

/// Runs `work` while heartbeating every two seconds, so Temporal notices a dead
/// worker within the activity's heartbeat timeout and hands the work to another,
/// instead of waiting out a long attempt timeout.
async fn with_heartbeats<T>(
    ctx: &ActivityContext,
    work: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(work);
    loop {
        tokio::select! {
            outcome = &mut work => return outcome,
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {
                let _ = ctx.record_heartbeat(0u32).await;
            }
        }
    }
}

fn delivery_error(error: crate::notifications::delivery::DeliveryError) -> ActivityError {
    use crate::notifications::delivery::DeliveryError;
    match error {
        DeliveryError::Invalid(message) => invalid_input(message),
        other => ActivityError::application(ApplicationFailure::new(other.to_string())),
    }
}

#[activities]
impl NotificationSteps {
    #[activity(definition = PlanNotificationsActivity)]
    pub async fn plan(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PlanNotifications,
    ) -> Result<NotificationPlan, ActivityError> {
        use engine::notifications::Subtype;
        let subtype = Subtype::parse(&input.subtype).map_err(invalid_input)?;
        if input.event.tenant != input.step.tenant {
            return Err(invalid_input("the event belongs to another tenant".into()));
        }
        // Idempotent by construction (unique rows per batch key and recipient), so a
        // retry after a commit plans nothing twice.
        let work = async {
            let mut tx = self.db.tenant_tx(input.step.tenant).await?;
            let plan =
                crate::notifications::delivery::plan(&mut tx, &self.mailer, &input.event, subtype)
                    .await?;
            tx.commit().await?;
            Ok(plan)
        };
        with_heartbeats(&ctx, work).await.map_err(delivery_error)
    }

    #[activity(definition = SendNotificationBatchActivity)]
    pub async fn send_batch(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: SendNotificationBatch,
    ) -> Result<SentBatch, ActivityError> {
        let work = crate::notifications::delivery::send_batch(
            &self.db,
            &self.mailer,
            &self.limiter,
            input.step.tenant,
            &input.batch_key,
            input.max,
            input.reserved,
        );
        with_heartbeats(&ctx, work).await.map_err(delivery_error)
    }

    #[activity(definition = AbandonNotificationsActivity)]
    pub async fn abandon(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: AbandonNotifications,
    ) -> Result<u32, ActivityError> {
        let mut tx = self.db.tenant_tx(input.step.tenant).await?;
        let n = crate::notifications::delivery::abandon(&mut tx, &input.batch_key, &input.reason)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    #[activity(definition = CollectDigestActivity)]
    pub async fn collect_digest(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CollectDigest,
    ) -> Result<NotificationPlan, ActivityError> {
        let batch_key = format!("digest:{}", input.step.idempotency_key());
        let mut tx = self.db.tenant_tx(input.step.tenant).await?;
        let plan = crate::notifications::delivery::collect_digest(
            &mut tx,
            &self.mailer,
            &batch_key,
            input.up_to,
        )
        .await
        .map_err(delivery_error)?;
        tx.commit().await?;
        Ok(plan)
    }
}

/// Runs `work` while heartbeating every few seconds, so a long step whose worker
/// dies is retried after the heartbeat timeout rather than its whole
/// start-to-close timeout.
async fn with_heartbeat<T>(
    ctx: &ActivityContext,
    work: impl std::future::Future<Output = Result<T, ActivityError>>,
) -> Result<T, ActivityError> {
    let beat = async {
        loop {
            let _ = ctx.record_heartbeat(0u8).await;
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    };
    tokio::select! {
        outcome = work => outcome,
        never = beat => never,
    }
}

/// `billing.*`: the BillingCycle, CreditExpiry and InvoiceDelivery workflows' steps.
pub struct BillingSteps {
    /// Application-role pool.
    pub db: Db,
    /// Sends invoices.
    pub mailer: crate::notifications::mail::Mailer,
}

#[activities]
impl BillingSteps {
    #[activity(definition = PlanBillingRunActivity)]
    pub async fn plan_run(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PlanBillingRun,
    ) -> Result<RunPlan, ActivityError> {
        let json = serde_json::json!({ "period_end": input.period_end, "client_ids": input.client_ids.as_ref().map(Vec::len) });
        // Today is read here, once: the recorded plan fixes the run's day.
        let period_end = input.period_end.unwrap_or_else(|| Utc::now().date_naive());
        let only = input.client_ids.clone();
        let work: Work<RunPlan> = Box::new(move |tx| {
            Box::pin(async move {
                let client_ids =
                    crate::billing::cycle::clients_to_bill(tx, period_end, only.as_deref()).await?;
                Ok(RunPlan {
                    period_end,
                    client_ids,
                })
            })
        });
        exactly_once(&self.db, &ctx, &input.step, "billing.plan_run", json, work).await
    }

    #[activity(definition = BillClientsActivity)]
    pub async fn bill_clients(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: BillClients,
    ) -> Result<BatchOutcome, ActivityError> {
        let json = serde_json::json!({ "period_end": input.period_end, "clients": input.client_ids.len() });
        let run_id = run_uuid(&input.step)?;
        let step = input.step.clone();
        let work: Work<BatchOutcome> = Box::new(move |tx| {
            Box::pin(async move {
                let outcome = crate::billing::cycle::bill_clients(
                    tx,
                    run_id,
                    input.period_end,
                    &input.client_ids,
                )
                .await?;
                // The batch's own counts complete the progress the workflow sent.
                let mut progress = input.progress;
                progress.invoices += outcome.invoices;
                progress.lines += outcome.lines;
                progress.held += outcome.held_count;
                progress.failed += outcome.failed_count;
                let progress = serde_json::to_value(&progress)
                    .map_err(|e| DbError::Unavailable(e.to_string()))?;
                runs::record_progress(tx, run_id, &progress).await?;
                Ok(outcome)
            })
        });
        with_heartbeat(
            &ctx,
            exactly_once(&self.db, &ctx, &step, "billing.bill_clients", json, work),
        )
        .await
    }

    #[activity(definition = SendInvoiceActivity)]
    pub async fn send_invoice(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: SendInvoice,
    ) -> Result<SentInvoice, ActivityError> {
        use crate::billing::document::{self, DeliveryError};
        // What can never be sent fails now, without retries.
        {
            let mut tx = self.db.tenant_tx(input.step.tenant).await?;
            document::check_sendable(&mut tx, input.invoice_id, input.to.as_deref())
                .await
                .map_err(|e| match e {
                    DeliveryError::Db(db) => ActivityError::from(db),
                    other => invalid_input(other.to_string()),
                })?;
            tx.commit().await?;
        }
        let json = serde_json::json!({ "invoice_id": input.invoice_id, "to": input.to });
        let step = input.step.clone();
        let me = self.clone();
        let work: Work<SentInvoice> = Box::new(move |tx| {
            Box::pin(async move {
                let sent = document::send(tx, &me.mailer, input.invoice_id, input.to.as_deref())
                    .await
                    .map_err(|e| match e {
                        DeliveryError::Db(db) => db,
                        // Retryable: the workflow's policy spaces the attempts.
                        other => DbError::Unavailable(other.to_string()),
                    })?;
                Ok(SentInvoice {
                    delivery_id: sent.id,
                    to_email: sent.to_email,
                    message_id: sent.message_id,
                })
            })
        });
        exactly_once(&self.db, &ctx, &step, "billing.send_invoice", json, work).await
    }

    #[activity(definition = ExpireCreditsActivity)]
    pub async fn expire_credits(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: StepRef,
    ) -> Result<u64, ActivityError> {
        let today = Utc::now().date_naive();
        let json = serde_json::json!({ "today": today });
        let work: Work<u64> = Box::new(move |tx| {
            Box::pin(async move { crate::billing::invoices::expire_credits(tx, today).await })
        });
        exactly_once(&self.db, &ctx, &input, "billing.expire_credits", json, work).await
    }
}

/// `playbooks.action`: the actions of playbook runs.
pub struct PlaybookSteps {
    /// Application-role pool.
    pub db: Db,
    /// Where `disable_user` announces the change, so API processes drop the
    /// user's cached credentials at once; `None` leaves it to their cache TTL.
    pub credentials: Option<CredentialAnnouncer>,
}

/// A Redis connection and key prefix to announce credential changes on.
#[derive(Clone)]
pub struct CredentialAnnouncer {
    /// The connection.
    pub redis: redis::aio::ConnectionManager,
    /// The deployment's Redis key prefix.
    pub redis_prefix: String,
}

#[activities]
impl PlaybookSteps {
    /// Performs one action once per step. A refusal is recorded like a result (so
    /// a retry answers the same refusal) with the action's writes rolled back to a
    /// savepoint, then fails the activity without retries.
    #[activity(definition = PlaybookActionActivity)]
    pub async fn playbook_action(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PlaybookAction,
    ) -> Result<serde_json::Value, ActivityError> {
        if input.action == "http_request" && !input.dry_run {
            return http_request_step(&self.db, &ctx, input).await;
        }
        let json = serde_json::json!({
            "action": input.action, "args": input.args, "dry_run": input.dry_run,
        });
        let step = input.step.clone();
        let work: Work<Result<serde_json::Value, String>> = Box::new(move |tx| {
            Box::pin(async move {
                if input.dry_run {
                    return Ok(Ok(input.fixture.unwrap_or_default()));
                }
                perform_in_savepoint(tx, &input).await
            })
        });
        let deactivates = input_action_deactivates(&json);
        let reply = exactly_once(&self.db, &ctx, &step, "playbooks.action", json, work).await?;
        if deactivates && reply.is_ok() {
            if let Some(announcer) = &self.credentials {
                let mut redis = announcer.redis.clone();
                crate::credentials::announce_credentials_changed(
                    &mut redis,
                    &announcer.redis_prefix,
                )
                .await;
            }
        }
        reply.map_err(invalid_input)
    }

    /// Admits a run Temporal started by itself under its version's manifest and
    /// the tenant's limits, or audits the refusal and answers its reason. It writes only that audit
    /// entry, so a retry at worst audits the same refusal twice.
    #[activity(definition = PlaybookAdmitActivity)]
    pub async fn playbook_admit(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: PlaybookAdmission,
    ) -> Result<Option<String>, ActivityError> {
        use crate::playbooks::{limits, manifest};
        let mut tx = self.db.tenant_tx(input.tenant).await?;
        let refused = match (input.version, input.run_as, &input.input) {
            (Some(version), Some(run_as), Some(given)) => {
                manifest::admit(&mut tx, input.playbook_id, version, run_as, given)
                    .await?
                    .err()
                    .map(|refused| refused.to_string())
            }
            _ => None,
        };
        let refused = match refused {
            Some(reason) => Some(reason),
            None => limits::check_can_start(&mut tx)
                .await?
                .err()
                .map(|r| r.to_string()),
        };
        if let Some(reason) = &refused {
            limits::record_refusal(&mut tx, input.playbook_id, &input.trigger, reason).await?;
        }
        tx.commit().await?;
        Ok(refused)
    }

    /// Opens or closes a run's wait for an event.
    #[activity(definition = PlaybookEventWaitActivity)]
    pub async fn playbook_event_wait(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PlaybookEventWait,
    ) -> Result<(), ActivityError> {
        use crate::playbooks::event_waits;
        let json = serde_json::json!({
            "event_type": input.event_type, "filter": input.filter, "open": input.open,
        });
        let step = input.step.clone();
        let work: Work<()> = Box::new(move |tx| {
            Box::pin(async move {
                let workflow_id = &input.step.workflow_id;
                let wait = i32::try_from(input.wait).unwrap_or(i32::MAX);
                if input.open {
                    let filter = input.filter.as_deref();
                    event_waits::open_wait(tx, workflow_id, wait, &input.event_type, filter).await
                } else {
                    event_waits::close_wait(tx, workflow_id, wait).await
                }
            })
        });
        exactly_once(&self.db, &ctx, &step, "playbooks.event_wait", json, work).await
    }
}

/// `http_request`, with no transaction open while the request is out: (a) a short
/// transaction answers a step already recorded, or checks the call (fields, the
/// user's permission, the tenant's allow-list); (b) the request is sent; (c) its
/// answer, or a refusal from (a) or (b), is recorded exactly once like any other
/// action's. Every HTTP status is an answer the script sees; no connection or no
/// answer within `timeout_seconds` fails the attempt so Temporal retries it (3
/// attempts in all, see `engine::workflows::http_request_options`). A worker lost
/// between (b) and (c) sends the request again: calls are at least once.
async fn http_request_step(
    db: &Db,
    ctx: &ActivityContext,
    input: PlaybookAction,
) -> Result<serde_json::Value, ActivityError> {
    use crate::playbooks::actions::{self, http, ActionError};
    let started_at = Utc::now();
    let call = serde_json::json!({
        "action": input.action, "args": input.args, "dry_run": input.dry_run,
    });
    let shown = http::redacted(&call);
    let step = input.step;
    let checked = {
        let mut tx = db.tenant_tx(step.tenant).await?;
        if let Some(recorded) = effects::recorded(&mut tx, &step.idempotency_key()).await? {
            tx.commit().await?;
            let reply: Result<serde_json::Value, String> = serde_json::from_value(recorded)
                .map_err(|e| invalid_input(format!("recorded http_request is unreadable: {e}")))?;
            return reply.map_err(invalid_input);
        }
        let checked = actions::prepare_http_request(&mut tx, &input.args, input.run_as).await;
        tx.commit().await?;
        checked
    };
    let outcome = match checked {
        Err(ActionError::Db(error)) => return Err(error.into()),
        Err(ActionError::Refused(message)) => Err(message),
        Ok(request) => match http::send(request).await {
            Ok(answer) => Ok(answer),
            Err(http::SendError::Refused(message)) => Err(message),
            Err(http::SendError::Unreachable(message)) => {
                let attempt = i32::try_from(ctx.info().attempt).unwrap_or(i32::MAX);
                let run_id = run_uuid(&step)?;
                record_failed_step(db, &step, run_id, attempt, &shown, &message, started_at).await;
                return Err(ActivityError::application(ApplicationFailure::new(message)));
            }
        },
    };
    let work: Work<Result<serde_json::Value, String>> =
        Box::new(move |_| Box::pin(async move { Ok(outcome) }));
    let reply = exactly_once(db, ctx, &step, "playbooks.action", shown, work).await?;
    reply.map_err(invalid_input)
}

/// Whether a recorded action call deactivates a user for real (not a dry run).
fn input_action_deactivates(call: &serde_json::Value) -> bool {
    call["action"] == "disable_user" && call["dry_run"] == false
}

async fn perform_in_savepoint(
    tx: &mut TenantTx,
    input: &PlaybookAction,
) -> Result<Result<serde_json::Value, String>, DbError> {
    use crate::playbooks::actions::{self, ActionError};
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SAVEPOINT playbook_action")
        .execute(tx.conn())
        .await?;
    match actions::perform(tx, &input.action, &input.args, input.run_as).await {
        Ok(value) => Ok(Ok(value)),
        Err(ActionError::Refused(message)) => {
            diesel::sql_query("ROLLBACK TO SAVEPOINT playbook_action")
                .execute(tx.conn())
                .await?;
            Ok(Err(message))
        }
        Err(ActionError::Db(error)) => Err(error),
    }
}
