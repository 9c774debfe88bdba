//! The Keel worker process: runs Keel's workflows and activities on their task
//! queues, the outbox relay, and the workflow starter that reacts to events. Wiring
//! only: the workflows live in `engine`, the activities in `activities`.

mod starter;

use activities::durable::{
    AssetSteps, BillingSteps, CredentialAnnouncer, NotificationSteps, Onboarding, PlaybookSteps,
    RunRecorder, SelfTestSteps, SlaSteps, TimeSteps,
};
use activities::events::consumer::{Consumer, ConsumerSettings};
use activities::events::relay::{Relay, RelaySettings};
use activities::notifications::mail::{MailConfig, Mailer};
use activities::notifications::ratelimit::MailRateLimiter;
use activities::temporal::Temporal;
use activities::Db;
use engine::workflows::{
    BillingCycle, CreditExpiry, InvoiceDelivery, NotificationDigest, NotificationFanOut, SelfTest,
    TenantOnboarding, TicketSla, TimesheetApproval, WarrantyWatch,
};
use std::future::Future;
use std::time::Duration;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::runtime::PollerBehavior;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// Where the worker finds its services and how it is tuned.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// `host:port` of the Temporal frontend.
    pub temporal_address: String,
    /// Temporal namespace.
    pub namespace: String,
    /// Prefix of task queue names (empty in production; per test in tests).
    pub task_queue_prefix: String,
    /// Redis URL, for the relay and consumers.
    pub redis_url: String,
    /// Redis key prefix.
    pub redis_prefix: String,
    /// Concurrent workflow tasks.
    pub max_workflow_tasks: usize,
    /// Concurrent activities.
    pub max_activities: usize,
    /// Whether this process also runs the outbox relay and the workflow starter.
    pub run_event_bus: bool,
    /// Real seconds per SLA minute for new TicketSla runs: 60, except in tests that
    /// shrink SLA targets to seconds (`KEEL_SLA_SECONDS_PER_MINUTE`).
    pub sla_seconds_per_minute: u32,
    /// Real seconds per hour of a timesheet reminder delay: 3600, except in tests
    /// (`KEEL_TIMESHEET_SECONDS_PER_HOUR`).
    pub timesheet_seconds_per_hour: u32,
    /// Outgoing mail: relay, sender, secret, public URL and rate-limit window.
    pub mail: MailConfig,
}

impl WorkerSettings {
    /// Defaults for the given services.
    pub fn new(
        temporal_address: &str,
        namespace: &str,
        redis_url: &str,
        redis_prefix: &str,
    ) -> Self {
        WorkerSettings {
            temporal_address: temporal_address.to_owned(),
            namespace: namespace.to_owned(),
            task_queue_prefix: String::new(),
            redis_url: redis_url.to_owned(),
            redis_prefix: redis_prefix.to_owned(),
            max_workflow_tasks: 50,
            max_activities: 50,
            run_event_bus: true,
            sla_seconds_per_minute: 60,
            timesheet_seconds_per_hour: 3600,
            mail: MailConfig {
                default_smtp_url: None,
                default_from: "Keel <keel@localhost>".to_owned(),
                secret_key: Vec::new(),
                public_url: "http://127.0.0.1:8080".to_owned(),
                rate_window: Duration::from_secs(60),
            },
        }
    }
}

/// Why the worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Temporal could not be reached.
    #[error(transparent)]
    Temporal(#[from] activities::temporal::TemporalError),
    /// The SDK refused to build or run the worker.
    #[error("temporal worker: {0}")]
    Sdk(String),
    /// Redis refused the consumer group.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

fn sdk(error: impl std::fmt::Display) -> WorkerError {
    WorkerError::Sdk(error.to_string())
}

/// Runs the worker until `shutdown` resolves, then drains in-flight tasks.
pub async fn run(
    settings: WorkerSettings,
    db: Db,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkerError> {
    let temporal = Temporal::connect(
        &settings.temporal_address,
        &settings.namespace,
        &settings.task_queue_prefix,
    )
    .await?;
    let runtime = Runtime::from_current_tokio(Default::default()).map_err(sdk)?;
    let limiter_redis = activities::ratelimit::connect(&settings.redis_url)
        .await
        .map_err(sdk)?;
    let notifications = NotificationSteps {
        db: db.clone(),
        mailer: Mailer::new(settings.mail.clone()),
        limiter: MailRateLimiter::new(
            limiter_redis.clone(),
            &settings.redis_prefix,
            settings.mail.rate_window,
        ),
    };
    let options = WorkerOptions::new(temporal.platform_queue())
        .register_workflow::<TenantOnboarding>()
        .map_err(sdk)?
        .register_workflow::<SelfTest>()
        .map_err(sdk)?
        .register_workflow::<WarrantyWatch>()
        .map_err(sdk)?
        .register_workflow::<TicketSla>()
        .map_err(sdk)?
        .register_workflow::<NotificationFanOut>()
        .map_err(sdk)?
        .register_workflow::<NotificationDigest>()
        .map_err(sdk)?
        .register_workflow::<TimesheetApproval>()
        .map_err(sdk)?
        .register_workflow::<BillingCycle>()
        .map_err(sdk)?
        .register_workflow::<CreditExpiry>()
        .map_err(sdk)?
        .register_workflow::<InvoiceDelivery>()
        .map_err(sdk)?
        .register_workflow::<dsl::PlaybookRun>()
        .map_err(sdk)?
        .register_workflow::<engine::workflows::OutboundEmail>()
        .map_err(sdk)?
        .register_activities(RunRecorder { db: db.clone() })
        .register_activities(Onboarding { db: db.clone() })
        .register_activities(SelfTestSteps { db: db.clone() })
        .register_activities(AssetSteps { db: db.clone() })
        .register_activities(SlaSteps { db: db.clone() })
        .register_activities(TimeSteps {
            db: db.clone(),
            seconds_per_hour: settings.timesheet_seconds_per_hour,
        })
        .register_activities(BillingSteps {
            db: db.clone(),
            mailer: Mailer::new(settings.mail.clone()),
        })
        .register_activities(PlaybookSteps {
            db: db.clone(),
            credentials: Some(CredentialAnnouncer {
                redis: limiter_redis.clone(),
                redis_prefix: settings.redis_prefix.clone(),
            }),
        })
        .register_activities(notifications)
        .max_cached_workflows(1000)
        .tuner(
            TunerHolder::builder()
                .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(
                    settings.max_workflow_tasks,
                ))
                .activity_task_slot_supplier(FixedSizeSlotSupplier::new(settings.max_activities))
                .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(
                    settings.max_activities,
                ))
                .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
                .build(),
        )
        .workflow_task_poller_behavior(PollerBehavior::SimpleMaximum(4))
        .activity_task_poller_behavior(PollerBehavior::SimpleMaximum(4))
        .graceful_shutdown_period(Duration::from_secs(10))
        .build();
    let mut worker = Worker::new(&runtime, temporal.client().clone(), options).map_err(sdk)?;
    let stop_worker = worker.shutdown_handle();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mut background = Vec::new();
    if settings.run_event_bus {
        let relay = Relay::new(
            db.clone(),
            RelaySettings::new(&settings.redis_url, &settings.redis_prefix),
        );
        background.push(tokio::spawn(relay.run(stopped(stop_rx.clone()))));
        let redis = activities::ratelimit::connect(&settings.redis_url)
            .await
            .map_err(sdk)?;
        let consumer_name = format!(
            "worker-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        let consumer_settings =
            ConsumerSettings::new(&settings.redis_prefix, starter::GROUP, &consumer_name);
        let consumer = Consumer::join(
            redis,
            consumer_settings,
            starter::WorkflowStarter::new(
                temporal.clone(),
                db.clone(),
                settings.sla_seconds_per_minute,
            ),
        )
        .await?;
        background.push(tokio::spawn(consumer.run(stopped(stop_rx.clone()))));
    }
    tracing::info!(queue = %temporal.platform_queue(), "worker running");
    // The SDK's worker future is not Send: it runs on this task, beside the signal.
    let (outcome, ()) = tokio::join!(worker.run(), async {
        shutdown.await;
        stop_worker();
        let _ = stop_tx.send(true);
    });
    for task in background {
        let _ = task.await;
    }
    outcome.map_err(sdk)
}
