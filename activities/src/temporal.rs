//! The Temporal client side: starting Keel's workflows, signalling runs and waiting
//! for results. Used by the API, the CLI and the event-driven workflow starter.

use dsl::workflow::{PlaybookRun, PlaybookRunInput, PlaybookRunResult, PlaybookSignal};
use engine::workflows::billing_cycle::{BillingCycleInput, BillingRunSummary};
use engine::workflows::credit_expiry::CreditExpiryInput;
use engine::workflows::invoice_delivery::InvoiceDeliveryInput;
use engine::workflows::notification_digest::DigestInput;
use engine::workflows::notification_fan_out::FanOutInput;
use engine::workflows::onboarding::{OnboardingInput, OnboardingResult};
use engine::workflows::outbound_email::{OutboundEmail, OutboundEmailInput};
use engine::workflows::self_test::{Note, SelfTestInput, SelfTestResult};
use engine::workflows::ticket_sla::{self, SlaSignal, SlaView, TicketSlaInput};
use engine::workflows::timesheet_approval::{self, ApprovalInput, TimesheetDecision};
use engine::workflows::warranty_watch::WarrantyWatchInput;
use engine::workflows::{
    task_queue, BillingCycle, CreditExpiry, InvoiceDelivery, NotificationDigest,
    NotificationFanOut, SelfTest, TenantOnboarding, TicketSla, TimesheetApproval, WarrantyWatch,
    WorkflowKind, PLATFORM_QUEUE,
};
use engine::TenantId;
use std::time::Duration;
use temporalio_client::errors::{WorkflowInteractionError, WorkflowStartError};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowExecutionInfo,
    WorkflowGetResultOptions, WorkflowHandle, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowSignalOptions, WorkflowStartOptions, WorkflowTerminateOptions,
};

/// Why a Temporal call failed.
#[derive(Debug, thiserror::Error)]
pub enum TemporalError {
    /// Temporal is unreachable or misconfigured.
    #[error("cannot reach Temporal at {address}: {cause}")]
    Unreachable {
        /// The frontend address.
        address: String,
        /// The cause.
        cause: String,
    },
    /// The run does not exist (any more).
    #[error("workflow run not found")]
    NotFound,
    /// The run failed; the message says why.
    #[error("workflow run failed: {0}")]
    RunFailed(String),
    /// Another Temporal error.
    #[error("temporal: {0}")]
    Rpc(String),
}

/// A started (or already running) run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedRun {
    /// Workflow id.
    pub workflow_id: String,
    /// Run id, when Temporal reported it.
    pub run_id: Option<String>,
}

/// A connected client plus Keel's naming rules.
#[derive(Clone)]
pub struct Temporal {
    client: Client,
    namespace: String,
    queue_prefix: String,
}

impl Temporal {
    /// Connects to the frontend at `address` (`host:port`).
    pub async fn connect(
        address: &str,
        namespace: &str,
        queue_prefix: &str,
    ) -> Result<Temporal, TemporalError> {
        let unreachable = |cause: String| TemporalError::Unreachable {
            address: address.to_owned(),
            cause,
        };
        let url =
            Url::parse(&format!("http://{address}")).map_err(|e| unreachable(e.to_string()))?;
        let options = ConnectionOptions::new(url)
            .identity(format!("keel@{}", std::process::id()))
            .build();
        let connection = Connection::connect(options)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let client = Client::new(connection, ClientOptions::new(namespace.to_owned()).build())
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(Temporal {
            client,
            namespace: namespace.to_owned(),
            queue_prefix: queue_prefix.to_owned(),
        })
    }

    /// The underlying client (for workers).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The platform task queue under this deployment's prefix.
    pub fn platform_queue(&self) -> String {
        task_queue(&self.queue_prefix, PLATFORM_QUEUE)
    }

    fn start_options(&self, workflow_id: &str) -> WorkflowStartOptions {
        WorkflowStartOptions::new(self.platform_queue(), workflow_id.to_owned())
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicateFailedOnly)
            .id_conflict_policy(WorkflowIdConflictPolicy::Fail)
            .execution_timeout(Duration::from_secs(7 * 24 * 3600))
            .build()
    }

    /// Starts onboarding of `tenant`; if it is already running or done, answers
    /// that run instead (starting twice is harmless).
    pub async fn start_onboarding(
        &self,
        tenant: TenantId,
        slug: &str,
    ) -> Result<StartedRun, TemporalError> {
        let workflow_id = WorkflowKind::TenantOnboarding.workflow_id(tenant, &tenant.simple());
        let input = OnboardingInput {
            tenant,
            slug: slug.to_owned(),
        };
        match self
            .client
            .start_workflow(
                TenantOnboarding::run,
                input,
                self.start_options(&workflow_id),
            )
            .await
        {
            Ok(handle) => Ok(StartedRun {
                workflow_id,
                run_id: handle.run_id().map(str::to_owned),
            }),
            Err(WorkflowStartError::AlreadyStarted { run_id, .. }) => Ok(StartedRun {
                workflow_id,
                run_id,
            }),
            Err(other) => Err(TemporalError::Rpc(other.to_string())),
        }
    }

    /// Options that start `workflow_id` or, while it runs, answer the running one.
    fn start_or_join(
        &self,
        workflow_id: &str,
        reuse: WorkflowIdReusePolicy,
    ) -> WorkflowStartOptions {
        WorkflowStartOptions::new(self.platform_queue(), workflow_id.to_owned())
            .id_reuse_policy(reuse)
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .build()
    }

    /// Starts the warranty watch of `input.tenant` unless it already runs. The watch
    /// continues as new after every scan, so it has no execution timeout.
    pub async fn start_warranty_watch(
        &self,
        input: WarrantyWatchInput,
    ) -> Result<StartedRun, TemporalError> {
        let workflow_id =
            WorkflowKind::WarrantyWatch.workflow_id(input.tenant, &input.tenant.simple());
        let options = self.start_or_join(&workflow_id, WorkflowIdReusePolicy::AllowDuplicate);
        let started = self
            .client
            .start_workflow(WarrantyWatch::run, input, options)
            .await
            .map(|handle| handle.run_id().map(str::to_owned));
        joined(workflow_id, started)
    }

    /// Starts the notification fan-out of one event; a redelivered event finds the
    /// run (running or finished) and starts nothing.
    pub async fn start_notification_fan_out(
        &self,
        input: FanOutInput,
    ) -> Result<StartedRun, TemporalError> {
        let workflow_id = WorkflowKind::NotificationFanOut.workflow_id(
            input.event.tenant,
            &input.event.event_id.simple().to_string(),
        );
        let options = self.start_or_join(&workflow_id, WorkflowIdReusePolicy::RejectDuplicate);
        let started = self
            .client
            .start_workflow(NotificationFanOut::run, input, options)
            .await
            .map(|handle| handle.run_id().map(str::to_owned));
        joined(workflow_id, started)
    }

    /// Starts the delivery of e-mails queued outside the fan-out (an `email.queued`
    /// event); a redelivered event finds the run (running or finished) and starts
    /// nothing.
    pub async fn start_outbound_email(
        &self,
        input: OutboundEmailInput,
    ) -> Result<StartedRun, TemporalError> {
        let workflow_id = WorkflowKind::OutboundEmail
            .workflow_id(input.tenant, &input.event_id.simple().to_string());
        let options = self.start_or_join(&workflow_id, WorkflowIdReusePolicy::RejectDuplicate);
        let started = self
            .client
            .start_workflow(OutboundEmail::run, input, options)
            .await
            .map(|handle| handle.run_id().map(str::to_owned));
        joined(workflow_id, started)
    }

    /// Starts a tenant's daily digest unless it runs; with `input.once`, sends one
    /// digest now under a fresh id.
    pub async fn start_notification_digest(
        &self,
        input: DigestInput,
    ) -> Result<StartedRun, TemporalError> {
        let key = if input.once {
            format!("now-{}", uuid::Uuid::now_v7().simple())
        } else {
            input.tenant.simple()
        };
        let workflow_id = WorkflowKind::NotificationDigest.workflow_id(input.tenant, &key);
        let options = self.start_or_join(&workflow_id, WorkflowIdReusePolicy::AllowDuplicate);
        let started = self
            .client
            .start_workflow(NotificationDigest::run, input, options)
            .await
            .map(|handle| handle.run_id().map(str::to_owned));
        joined(workflow_id, started)
    }

    /// Starts the SLA workflow of a ticket unless it already runs (a closed ticket's
    /// finished workflow is started anew, e.g. on reopening).
    pub async fn start_ticket_sla(
        &self,
        input: TicketSlaInput,
    ) -> Result<StartedRun, TemporalError> {
        let workflow_id = ticket_sla::workflow_id(input.tenant, input.ticket_id);
        let options = self.start_or_join(&workflow_id, WorkflowIdReusePolicy::AllowDuplicate);
        let started = self
            .client
            .start_workflow(TicketSla::run, input, options)
            .await
            .map(|handle| handle.run_id().map(str::to_owned));
        joined(workflow_id, started)
    }

    /// Starts the approval workflow of one timesheet submission; the API's start
    /// and the starter's (from `timesheet.submitted`) meet in the same run, and a
    /// finished approval is never started again.
    pub async fn start_timesheet_approval(
        &self,
        input: ApprovalInput,
    ) -> Result<StartedRun, TemporalError> {
        let workflow_id =
            timesheet_approval::workflow_id(input.tenant, input.timesheet_id, input.submission);
        let options = self.start_or_join(&workflow_id, WorkflowIdReusePolicy::RejectDuplicate);
        let started = self
            .client
            .start_workflow(TimesheetApproval::run, input, options)
            .await
            .map(|handle| handle.run_id().map(str::to_owned));
        joined(workflow_id, started)
    }

    /// Hands an approver's decision to the running approval of a submission.
    pub async fn signal_timesheet_approval(
        &self,
        input: &ApprovalInput,
        decision: TimesheetDecision,
    ) -> Result<(), TemporalError> {
        let workflow_id =
            timesheet_approval::workflow_id(input.tenant, input.timesheet_id, input.submission);
        self.client
            .get_workflow_handle::<TimesheetApproval>(workflow_id)
            .signal(
                TimesheetApproval::decide,
                decision,
                WorkflowSignalOptions::default(),
            )
            .await
            .map_err(|e| match e {
                WorkflowInteractionError::NotFound(_) => TemporalError::NotFound,
                other => TemporalError::Rpc(other.to_string()),
            })
    }

    /// Delivers a change to a ticket's running SLA workflow.
    pub async fn signal_ticket_sla(
        &self,
        tenant: TenantId,
        ticket: uuid::Uuid,
        signal: SlaSignal,
    ) -> Result<(), TemporalError> {
        self.client
            .get_workflow_handle::<TicketSla>(ticket_sla::workflow_id(tenant, ticket))
            .signal(TicketSla::changed, signal, WorkflowSignalOptions::default())
            .await
            .map_err(|e| match e {
                WorkflowInteractionError::NotFound(_) => TemporalError::NotFound,
                other => TemporalError::Rpc(other.to_string()),
            })
    }

    /// The SLA workflow's view of a ticket's clock.
    pub async fn ticket_sla_state(
        &self,
        tenant: TenantId,
        ticket: uuid::Uuid,
    ) -> Result<SlaView, TemporalError> {
        self.client
            .get_workflow_handle::<TicketSla>(ticket_sla::workflow_id(tenant, ticket))
            .query(TicketSla::state, (), Default::default())
            .await
            .map_err(|e| match e {
                temporalio_client::errors::WorkflowQueryError::NotFound(_) => {
                    TemporalError::NotFound
                }
                other => TemporalError::Rpc(other.to_string()),
            })
    }

    /// Terminates the warranty watch of `tenant` (for tests and tenant shutdown).
    pub async fn stop_warranty_watch(&self, tenant: TenantId) -> Result<(), TemporalError> {
        let workflow_id = WorkflowKind::WarrantyWatch.workflow_id(tenant, &tenant.simple());
        self.client
            .get_workflow_handle::<WarrantyWatch>(workflow_id)
            .terminate(
                WorkflowTerminateOptions::builder()
                    .reason("stopped by Keel".to_owned())
                    .build(),
            )
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))
    }

    /// Waits for the onboarding of `tenant` to finish.
    pub async fn onboarding_result(
        &self,
        tenant: TenantId,
    ) -> Result<OnboardingResult, TemporalError> {
        let workflow_id = WorkflowKind::TenantOnboarding.workflow_id(tenant, &tenant.simple());
        let handle = self
            .client
            .get_workflow_handle::<TenantOnboarding>(workflow_id);
        handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .map_err(|e| TemporalError::RunFailed(e.to_string()))
    }

    /// Starts a self test with a fresh workflow id.
    pub async fn start_self_test(&self, input: SelfTestInput) -> Result<StartedRun, TemporalError> {
        let workflow_id = WorkflowKind::SelfTest
            .workflow_id(input.tenant, &uuid::Uuid::now_v7().simple().to_string());
        let handle = self
            .client
            .start_workflow(SelfTest::run, input, self.start_options(&workflow_id))
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))?;
        Ok(StartedRun {
            workflow_id,
            run_id: handle.run_id().map(str::to_owned),
        })
    }

    /// Waits for a self test to finish.
    pub async fn self_test_result(
        &self,
        workflow_id: &str,
    ) -> Result<SelfTestResult, TemporalError> {
        let handle = self
            .client
            .get_workflow_handle::<SelfTest>(workflow_id.to_owned());
        handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .map_err(|e| TemporalError::RunFailed(e.to_string()))
    }

    /// Sends the `note` signal to one specific run of a self test.
    pub async fn signal_self_test_note(
        &self,
        workflow_id: &str,
        run_id: &str,
        note: Note,
    ) -> Result<(), TemporalError> {
        self.run_handle::<SelfTest>(workflow_id, Some(run_id))
            .signal(SelfTest::note, note, WorkflowSignalOptions::default())
            .await
            .map_err(signal_error)
    }

    /// Delivers a domain event to a playbook run waiting for it.
    pub async fn signal_playbook_event(
        &self,
        workflow_id: &str,
        delivery: dsl::workflow::PlaybookEventDelivery,
    ) -> Result<(), TemporalError> {
        self.run_handle::<PlaybookRun>(workflow_id, None)
            .signal(
                PlaybookRun::event,
                delivery,
                WorkflowSignalOptions::default(),
            )
            .await
            .map_err(signal_error)
    }

    /// A handle on one run of `workflow_id` (the latest when `run_id` is `None`).
    fn run_handle<W: temporalio_common::HasWorkflowDefinition>(
        &self,
        workflow_id: &str,
        run_id: Option<&str>,
    ) -> WorkflowHandle<Client, W> {
        let info = WorkflowExecutionInfo::builder()
            .namespace(self.namespace.clone())
            .workflow_id(workflow_id)
            .maybe_run_id(run_id.map(str::to_owned))
            .build();
        WorkflowHandle::<Client, W>::new(self.client.clone(), info)
    }
}

/// A signal's failure: a run that is gone is `NotFound`.
fn signal_error(error: WorkflowInteractionError) -> TemporalError {
    match error {
        WorkflowInteractionError::NotFound(_) => TemporalError::NotFound,
        other => TemporalError::Rpc(other.to_string()),
    }
}

impl Temporal {
    /// Starts a playbook run under `<tenant>:playbook_run:<run key>`.
    pub async fn start_playbook_run(
        &self,
        input: PlaybookRunInput,
    ) -> Result<StartedRun, TemporalError> {
        let workflow_id = dsl::workflow::workflow_id(input.tenant, uuid::Uuid::now_v7());
        let handle = self
            .client
            .start_workflow(PlaybookRun::run, input, self.start_options(&workflow_id))
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))?;
        Ok(StartedRun {
            workflow_id,
            run_id: handle.run_id().map(str::to_owned),
        })
    }

    /// Starts the run `event_id` owes playbook `input.playbook_id`. The id is
    /// derived from both, and a closed run is never started again, so an event
    /// redelivered to the starter starts nothing twice.
    pub async fn start_playbook_run_for_event(
        &self,
        input: PlaybookRunInput,
        event_id: uuid::Uuid,
    ) -> Result<StartedRun, TemporalError> {
        self.start_playbook_run_once(input, &event_id.simple().to_string())
            .await
    }

    /// Starts the run `delivery` (an event id, a webhook signature) owes playbook
    /// `input.playbook_id`, once: the id derives from both and a closed run is
    /// never started again, so a redelivery starts nothing twice.
    pub async fn start_playbook_run_once(
        &self,
        input: PlaybookRunInput,
        delivery: &str,
    ) -> Result<StartedRun, TemporalError> {
        let key = format!("{}-{delivery}", input.playbook_id.simple());
        let workflow_id = WorkflowKind::PlaybookRun.workflow_id(input.tenant, &key);
        let options = self.start_or_join(&workflow_id, WorkflowIdReusePolicy::RejectDuplicate);
        let started = self
            .client
            .start_workflow(PlaybookRun::run, input, options)
            .await
            .map(|handle| handle.run_id().map(str::to_owned));
        joined(workflow_id, started)
    }

    /// Makes the playbook's Temporal Schedule match `wanted`: replaced by one
    /// firing on `cron` in `timezone` with `input` (the current version), or
    /// removed when `None`. A run still going when the next is due makes that one
    /// skip.
    pub async fn sync_playbook_schedule(
        &self,
        tenant: TenantId,
        playbook: uuid::Uuid,
        wanted: Option<(String, String, PlaybookRunInput)>,
    ) -> Result<(), TemporalError> {
        use temporalio_client::schedules::{
            CreateScheduleOptions, DeleteScheduleOptions, ScheduleAction, ScheduleError,
            ScheduleOverlapPolicy, ScheduleSpec,
        };
        let schedule_id = playbook_schedule_id(tenant, playbook);
        let handle = self.client.get_schedule_handle(schedule_id.clone());
        match handle.delete(DeleteScheduleOptions::default()).await {
            Ok(()) => {}
            Err(ScheduleError::Rpc(status)) if status.code() == tonic::Code::NotFound => {}
            Err(other) => return Err(TemporalError::Rpc(other.to_string())),
        }
        let Some((cron, timezone, input)) = wanted else {
            return Ok(());
        };
        let workflow_id = WorkflowKind::PlaybookRun
            .workflow_id(tenant, &format!("{}-scheduled", playbook.simple()));
        let action = ScheduleAction::start_workflow(
            PlaybookRun::run,
            input,
            self.platform_queue(),
            workflow_id,
        );
        let spec = ScheduleSpec::builder()
            .cron_strings(vec![cron])
            .timezone_name(timezone)
            .build();
        let options = CreateScheduleOptions::builder()
            .action(action)
            .spec(spec)
            .overlap_policy(ScheduleOverlapPolicy::Skip)
            .note("a Keel playbook's schedule trigger")
            .build();
        self.client
            .create_schedule(schedule_id, options)
            .await
            .map(drop)
            .map_err(|e| TemporalError::Rpc(e.to_string()))
    }

    /// The timezone of the playbook's schedule, `None` when it has none.
    pub async fn playbook_schedule(
        &self,
        tenant: TenantId,
        playbook: uuid::Uuid,
    ) -> Result<Option<String>, TemporalError> {
        let handle = self
            .client
            .get_schedule_handle(playbook_schedule_id(tenant, playbook));
        match handle.describe(Default::default()).await {
            Ok(description) => Ok(Some(
                description
                    .raw()
                    .schedule
                    .as_ref()
                    .and_then(|s| s.spec.as_ref())
                    .map(|spec| spec.timezone_name.clone())
                    .unwrap_or_default(),
            )),
            Err(temporalio_client::schedules::ScheduleError::Rpc(status))
                if status.code() == tonic::Code::NotFound =>
            {
                Ok(None)
            }
            Err(other) => Err(TemporalError::Rpc(other.to_string())),
        }
    }

    /// Fires the playbook's schedule now (as its next due time would).
    pub async fn trigger_playbook_schedule(
        &self,
        tenant: TenantId,
        playbook: uuid::Uuid,
    ) -> Result<(), TemporalError> {
        use temporalio_client::schedules::ScheduleOverlapPolicy;
        self.client
            .get_schedule_handle(playbook_schedule_id(tenant, playbook))
            .trigger(ScheduleOverlapPolicy::Skip, Default::default())
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))
    }

    /// Hands a signal to a waiting playbook run: to the latest Temporal run of its
    /// workflow, since a long run continues as new under the same workflow id.
    pub async fn signal_playbook_run(
        &self,
        workflow_id: &str,
        signal: PlaybookSignal,
    ) -> Result<(), TemporalError> {
        self.run_handle::<PlaybookRun>(workflow_id, None)
            .signal(
                PlaybookRun::signal,
                signal,
                WorkflowSignalOptions::default(),
            )
            .await
            .map_err(signal_error)
    }

    /// Waits for a playbook run to end.
    pub async fn playbook_run_result(
        &self,
        workflow_id: &str,
    ) -> Result<PlaybookRunResult, TemporalError> {
        self.client
            .get_workflow_handle::<PlaybookRun>(workflow_id.to_owned())
            .get_result(WorkflowGetResultOptions::default())
            .await
            .map_err(|e| TemporalError::RunFailed(e.to_string()))
    }
}

/// The hour (UTC) of a tenant's daily billing run and credit expiry.
pub const BILLING_HOUR_UTC: u32 = 2;

impl Temporal {
    /// Starts a billing run under a fresh workflow id.
    pub async fn start_billing_cycle(
        &self,
        input: BillingCycleInput,
    ) -> Result<StartedRun, TemporalError> {
        let day = input
            .period_end
            .map_or_else(|| "today".to_owned(), |d| d.to_string());
        let key = format!("{day}-{}", uuid::Uuid::now_v7().simple());
        let workflow_id = WorkflowKind::BillingCycle.workflow_id(input.tenant, &key);
        let handle = self
            .client
            .start_workflow(BillingCycle::run, input, self.start_options(&workflow_id))
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))?;
        Ok(StartedRun {
            workflow_id,
            run_id: handle.run_id().map(str::to_owned),
        })
    }

    /// Waits for a billing run to finish.
    pub async fn billing_cycle_result(
        &self,
        workflow_id: &str,
    ) -> Result<BillingRunSummary, TemporalError> {
        self.client
            .get_workflow_handle::<BillingCycle>(workflow_id.to_owned())
            .get_result(WorkflowGetResultOptions::default())
            .await
            .map_err(|e| TemporalError::RunFailed(e.to_string()))
    }

    /// Starts the e-mailing of one invoice under a fresh id.
    pub async fn start_invoice_delivery(
        &self,
        input: InvoiceDeliveryInput,
    ) -> Result<StartedRun, TemporalError> {
        let key = format!(
            "{}-{}",
            input.invoice_id.simple(),
            uuid::Uuid::now_v7().simple()
        );
        let workflow_id = WorkflowKind::InvoiceDelivery.workflow_id(input.tenant, &key);
        let handle = self
            .client
            .start_workflow(
                InvoiceDelivery::run,
                input,
                self.start_options(&workflow_id),
            )
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))?;
        Ok(StartedRun {
            workflow_id,
            run_id: handle.run_id().map(str::to_owned),
        })
    }

    /// Runs the credit expiry of `tenant` now, under a fresh id (the schedule runs
    /// it daily).
    pub async fn start_credit_expiry(&self, tenant: TenantId) -> Result<StartedRun, TemporalError> {
        let key = format!("now-{}", uuid::Uuid::now_v7().simple());
        let workflow_id = WorkflowKind::CreditExpiry.workflow_id(tenant, &key);
        let handle = self
            .client
            .start_workflow(
                CreditExpiry::run,
                CreditExpiryInput { tenant },
                self.start_options(&workflow_id),
            )
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))?;
        Ok(StartedRun {
            workflow_id,
            run_id: handle.run_id().map(str::to_owned),
        })
    }

    /// The workflow types the tenant's daily billing schedules start (empty when
    /// none exist).
    pub async fn billing_schedules(&self, tenant: TenantId) -> Result<Vec<String>, TemporalError> {
        use temporalio_client::schedules::ScheduleDescriptionAction;
        let mut types = Vec::new();
        for kind in [WorkflowKind::BillingCycle, WorkflowKind::CreditExpiry] {
            let handle = self
                .client
                .get_schedule_handle(billing_schedule_id(tenant, kind));
            match handle.describe(Default::default()).await {
                Ok(description) => {
                    if let ScheduleDescriptionAction::StartWorkflow(start) = description.action() {
                        types.push(start.workflow_type().to_owned());
                    }
                }
                Err(temporalio_client::schedules::ScheduleError::Rpc(status))
                    if status.code() == tonic::Code::NotFound => {}
                Err(other) => return Err(TemporalError::Rpc(other.to_string())),
            }
        }
        Ok(types)
    }

    /// Creates the tenant's daily Temporal Schedules, unless they exist: a billing
    /// run up to the day, and the expiry of credits, at [`BILLING_HOUR_UTC`].
    /// Answers how many were created.
    pub async fn ensure_billing_schedules(&self, tenant: TenantId) -> Result<u32, TemporalError> {
        use temporalio_client::schedules::{
            CreateScheduleOptions, ScheduleAction, ScheduleCalendarSpec, ScheduleError,
            ScheduleOverlapPolicy, ScheduleSpec,
        };
        let daily = || {
            ScheduleSpec::from_calendar(
                ScheduleCalendarSpec::builder()
                    .hour(BILLING_HOUR_UTC.to_string())
                    .minute("0")
                    .comment("Keel daily billing")
                    .build(),
            )
        };
        let billing = ScheduleAction::start_workflow(
            BillingCycle::run,
            BillingCycleInput {
                tenant,
                period_end: None,
                client_ids: None,
                batch_size: None,
            },
            self.platform_queue(),
            WorkflowKind::BillingCycle.workflow_id(tenant, "scheduled"),
        );
        let expiry = ScheduleAction::start_workflow(
            CreditExpiry::run,
            CreditExpiryInput { tenant },
            self.platform_queue(),
            WorkflowKind::CreditExpiry.workflow_id(tenant, "scheduled"),
        );
        let mut created = 0;
        for (kind, action) in [
            (WorkflowKind::BillingCycle, billing),
            (WorkflowKind::CreditExpiry, expiry),
        ] {
            let options = CreateScheduleOptions::builder()
                .action(action)
                .spec(daily())
                .overlap_policy(ScheduleOverlapPolicy::Skip)
                .note("created by Keel")
                .build();
            match self
                .client
                .create_schedule(billing_schedule_id(tenant, kind), options)
                .await
            {
                Ok(_) => created += 1,
                Err(ScheduleError::Rpc(status)) if status.code() == tonic::Code::AlreadyExists => {}
                Err(other) => return Err(TemporalError::Rpc(other.to_string())),
            }
        }
        Ok(created)
    }

    /// The full event history of the latest run of `workflow_id`, as JSON (the SDK's
    /// format, which its replayer reads back).
    pub async fn history_json(&self, workflow_id: &str) -> Result<Vec<u8>, TemporalError> {
        self.run_history_json(workflow_id, None).await
    }

    /// The event history of one run of a workflow (the latest when `run_id` is
    /// `None`), as JSON.
    pub async fn run_history_json(
        &self,
        workflow_id: &str,
        run_id: Option<&str>,
    ) -> Result<Vec<u8>, TemporalError> {
        self.run_handle::<temporalio_client::UntypedWorkflow>(workflow_id, run_id)
            .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
            .to_json()
            .await
            .map_err(|e| TemporalError::Rpc(e.to_string()))
    }
}

/// The id of a playbook's schedule.
pub fn playbook_schedule_id(tenant: TenantId, playbook: uuid::Uuid) -> String {
    WorkflowKind::PlaybookRun.workflow_id(tenant, &format!("{}-schedule", playbook.simple()))
}

/// The id of a tenant's daily schedule of `kind`.
pub fn billing_schedule_id(tenant: TenantId, kind: WorkflowKind) -> String {
    kind.workflow_id(tenant, "daily")
}

/// The run a start made or found: an id already taken counts as started.
fn joined(
    workflow_id: String,
    started: Result<Option<String>, WorkflowStartError>,
) -> Result<StartedRun, TemporalError> {
    match started {
        Ok(run_id) | Err(WorkflowStartError::AlreadyStarted { run_id, .. }) => Ok(StartedRun {
            workflow_id,
            run_id,
        }),
        Err(other) => Err(TemporalError::Rpc(other.to_string())),
    }
}
