//! Replays recorded histories of every built-in workflow through the current code.
//! A change that would break runs already in flight (non-determinism) fails here,
//! in CI, before it reaches a worker. Histories are recorded against a real server
//! by the `durable` integration tests (`KEEL_RECORD_HISTORIES=1`).

use engine::workflows::{
    BillingCycle, CreditExpiry, InvoiceDelivery, NotificationDigest, NotificationFanOut, SelfTest,
    TenantOnboarding, TicketSla, TimesheetApproval, WarrantyWatch,
};
use std::path::PathBuf;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

fn recorded() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/histories exists")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("readable"),
            )
        })
        .collect();
    files.sort();
    files
}

fn replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<TenantOnboarding>()
        .expect("register onboarding")
        .register_workflow::<SelfTest>()
        .expect("register self test")
        .register_workflow::<WarrantyWatch>()
        .expect("register warranty watch")
        .register_workflow::<TicketSla>()
        .expect("register ticket sla")
        .register_workflow::<NotificationFanOut>()
        .expect("register notification fan-out")
        .register_workflow::<NotificationDigest>()
        .expect("register notification digest")
        .register_workflow::<TimesheetApproval>()
        .expect("register timesheet approval")
        .register_workflow::<BillingCycle>()
        .expect("register billing cycle")
        .register_workflow::<CreditExpiry>()
        .expect("register credit expiry")
        .register_workflow::<InvoiceDelivery>()
        .expect("register invoice delivery")
        .register_workflow::<engine::workflows::OutboundEmail>()
        .expect("register outbound e-mail")
        .build();
    WorkflowReplayer::new(options).expect("replayer")
}

#[tokio::test]
async fn every_built_in_workflow_has_a_recorded_history_that_replays_cleanly() {
    let files = recorded();
    for kind in [
        "tenant_onboarding",
        "self_test",
        "warranty_watch",
        "ticket_sla",
        "notification_fan_out",
        "notification_digest",
        "timesheet_approval",
        "billing_cycle",
        "credit_expiry",
        "invoice_delivery",
        "outbound_email",
    ] {
        assert!(
            files.iter().any(|(name, _)| name.starts_with(kind)),
            "no recorded history for {kind}"
        );
    }
    let replayer = replayer();
    for (name, json) in files {
        let history = WorkflowHistory::from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{name} no longer replays: {e}"));
    }
}

mod changed {
    //! A SelfTest whose first command differs from the recorded one.
    use std::time::Duration;
    use temporalio_macros::{workflow, workflow_methods};
    use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};

    #[workflow]
    pub struct ChangedSelfTest;

    #[workflow_methods]
    impl ChangedSelfTest {
        #[init]
        fn new(_ctx: &WorkflowContextView, _input: serde_json::Value) -> Self {
            ChangedSelfTest
        }

        #[run(name = "SelfTest")]
        pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
            ctx.timer(Duration::from_secs(1)).await;
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_non_deterministic_change_is_caught_by_the_replay() {
    let (name, json) = recorded()
        .into_iter()
        .find(|(name, _)| name.starts_with("self_test"))
        .expect("a self test history");
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<changed::ChangedSelfTest>()
        .expect("register")
        .build();
    let replayer = WorkflowReplayer::new(options).expect("replayer");
    let outcome = replayer
        .replay_workflow(WorkflowHistory::from_json(&json).expect("history"))
        .await;
    assert!(
        outcome.is_err(),
        "{name}: a workflow that schedules different commands must fail replay"
    );
}
