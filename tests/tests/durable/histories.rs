use crate::{finished_run, start_self_test};
use activities::temporal::Temporal;
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::json;
use std::time::Duration;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

/// Runs each built-in workflow through its interesting paths (timers, a signal),
/// replays the server's histories against this build, and with
/// `KEEL_RECORD_HISTORIES=1` stores them as fixtures for `engine/tests/replay.rs`.
#[tokio::test]
async fn histories_from_the_server_replay_against_this_build() {
    let app = TestApp::spawn().await;
    let platform = app.tenant("platform").await;
    let worker = TestWorker::start(&app);
    let (run_id, self_test_id) = start_self_test(
        &app,
        &platform.admin_key,
        json!({"steps": 2, "pause_ms": 10, "wait_for_note_seconds": 60}),
    )
    .await;
    let signal = format!("/api/v1/workflow-runs/{run_id}/signals/note");
    json_with_status(
        app.post(&platform.admin_key, &signal, &json!({"text": "recorded"}))
            .await,
        202,
    )
    .await;
    assert_eq!(
        finished_run(&app, &platform.admin_key, &run_id, Duration::from_secs(30)).await["status"],
        "completed"
    );
    let created = json_with_status(
        app.post(
            &platform.admin_key,
            "/api/v1/tenants",
            &json!({"slug": "recorded", "name": "Recorded"}),
        )
        .await,
        201,
    )
    .await;
    let tenant =
        engine::TenantId(uuid::Uuid::parse_str(created["id"].as_str().expect("id")).expect("uuid"));
    let temporal = Temporal::connect(
        &keel_tests::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        "default",
        &app.task_queue_prefix,
    )
    .await
    .expect("temporal");
    temporal
        .onboarding_result(tenant)
        .await
        .expect("onboarding completes");
    let onboarding_id =
        engine::workflows::WorkflowKind::TenantOnboarding.workflow_id(tenant, &tenant.simple());

    // The warranty watch: one scan, a short durable sleep, then continue-as-new; the
    // first run's history is complete once the second run exists.
    let watch = temporal
        .start_warranty_watch(engine::workflows::warranty_watch::WarrantyWatchInput {
            tenant: platform.tenant,
            notice_days: 30,
            interval_seconds: 1,
        })
        .await
        .expect("start watch");
    let first_watch_run = watch.run_id.clone().expect("run id");
    let continued = keel_tests::eventually(Duration::from_secs(30), || async {
        let first = temporal
            .run_history_json(&watch.workflow_id, Some(&first_watch_run))
            .await
            .ok()?;
        String::from_utf8_lossy(&first)
            .contains("WorkflowExecutionContinuedAsNewEventAttributes")
            .then_some(())
    })
    .await;
    assert!(continued.is_some(), "the watch continued as new");
    let watch_history = temporal
        .run_history_json(&watch.workflow_id, Some(&first_watch_run))
        .await
        .expect("history");
    temporal
        .stop_warranty_watch(platform.tenant)
        .await
        .expect("stop watch");

    // A ticket's SLA clock: a default policy with a short resolution target (SLA
    // minutes are seconds in tests), a pause and a resume, the breach, then closing.
    let ticket_sla = record_ticket_sla(&app, &platform.admin_key, platform.tenant).await;
    let sink = keel_tests::smtp::SmtpSink::start().await.expect("sink");
    let (fan_out, digest) =
        record_notifications(&app, &platform.admin_key, platform.admin_id, &sink).await;
    let approval = record_timesheet_approval(&app, &platform.admin_key, platform.tenant).await;
    let (billing, expiry) =
        record_billing(&app, &temporal, &platform.admin_key, platform.tenant).await;
    let delivery = record_invoice_delivery(&app, &platform.admin_key).await;

    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<engine::workflows::TicketSla>()
            .expect("register")
            .register_workflow::<engine::workflows::WarrantyWatch>()
            .expect("register")
            .register_workflow::<engine::workflows::TenantOnboarding>()
            .expect("register")
            .register_workflow::<engine::workflows::SelfTest>()
            .expect("register")
            .register_workflow::<engine::workflows::NotificationFanOut>()
            .expect("register")
            .register_workflow::<engine::workflows::NotificationDigest>()
            .expect("register")
            .register_workflow::<engine::workflows::TimesheetApproval>()
            .expect("register")
            .register_workflow::<engine::workflows::BillingCycle>()
            .expect("register")
            .register_workflow::<engine::workflows::CreditExpiry>()
            .expect("register")
            .register_workflow::<engine::workflows::InvoiceDelivery>()
            .expect("register")
            .build(),
    )
    .expect("replayer");
    // Wait for Temporal's own completion, so the recorded history is whole.
    temporal
        .self_test_result(&self_test_id)
        .await
        .expect("self test completes");
    for (name, workflow_id) in [
        ("tenant_onboarding", onboarding_id),
        ("self_test", self_test_id),
        ("warranty_watch", String::new()),
        ("ticket_sla", ticket_sla),
        ("notification_fan_out", fan_out),
        ("notification_digest", digest),
        ("timesheet_approval", approval),
        ("billing_cycle", billing),
        ("credit_expiry", expiry),
        ("invoice_delivery", delivery),
    ] {
        let json = if name == "warranty_watch" {
            watch_history.clone()
        } else {
            temporal.history_json(&workflow_id).await.expect("history")
        };
        replayer
            .replay_workflow(WorkflowHistory::from_json(&json).expect("parse"))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if std::env::var_os("KEEL_RECORD_HISTORIES").is_some() {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/histories");
            std::fs::write(dir.join(format!("{name}.json")), &json).expect("write fixture");
        }
    }
    worker.stop();
    app.stop().await;
}

/// Opens a ticket under a 3-"minute" policy, pauses and resumes it, waits for the
/// breach and closes it; answers its SLA workflow id once that workflow completed.
async fn record_ticket_sla(app: &TestApp, key: &str, tenant: engine::TenantId) -> String {
    let policy = json!({"name": "Recorded", "is_default": true, "notify_percents": [50, 100],
                        "targets": [{"priority": "Medium", "response_minutes": 2, "resolution_minutes": 3}]});
    json_with_status(app.post(key, "/api/v1/sla-policies", &policy).await, 201).await;
    let client = json_with_status(
        app.post(key, "/api/v1/clients", &json!({"name": "Recorded"}))
            .await,
        201,
    )
    .await;
    let ticket = json_with_status(
        app.post(
            key,
            "/api/v1/tickets",
            &json!({"client_id": client["id"], "title": "Recorded"}),
        )
        .await,
        201,
    )
    .await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/tickets/{id}");
    let audit_has = |event: &'static str| {
        let path = format!("{path}/sla-audit");
        async move {
            keel_tests::eventually(Duration::from_secs(30), || async {
                let audit = json_with_status(app.get(key, &path).await, 200).await;
                audit["data"]
                    .as_array()?
                    .iter()
                    .any(|e| e["event"] == event)
                    .then_some(())
            })
            .await
            .unwrap_or_else(|| panic!("no {event} in the SLA audit"))
        }
    };
    audit_has("sla_started").await;
    json_with_status(
        app.patch(key, &path, &json!({"status": "Waiting on customer"}))
            .await,
        200,
    )
    .await;
    audit_has("sla_paused").await;
    json_with_status(
        app.patch(key, &path, &json!({"status": "In progress"}))
            .await,
        200,
    )
    .await;
    audit_has("sla_breach").await;
    json_with_status(
        app.patch(key, &path, &json!({"status": "Closed"})).await,
        200,
    )
    .await;
    let runs_done = keel_tests::eventually(Duration::from_secs(30), || async {
        let runs = json_with_status(app.get(key, "/api/v1/workflow-runs").await, 200).await;
        runs["data"]
            .as_array()?
            .iter()
            .any(|r| r["kind"] == "ticket_sla" && r["status"] == "completed")
            .then_some(())
    })
    .await;
    assert!(runs_done.is_some(), "the SLA workflow completed");
    let ticket_id = uuid::Uuid::parse_str(&id).expect("uuid");
    engine::workflows::ticket_sla::workflow_id(tenant, ticket_id)
}

/// A timesheet submitted under a one-"hour" reminder (hours are seconds in tests):
/// the reminder fires, then the (self-)approval arrives as a signal; answers
/// the approval workflow's id once it completed.
async fn record_timesheet_approval(app: &TestApp, key: &str, tenant: engine::TenantId) -> String {
    let settings = json!({"period": {"frequency": "weekly", "week_start": "Mon"},
                          "allow_self_approval": true, "reminder_hours": 1});
    json_with_status(app.put(key, "/api/v1/time-settings", &settings).await, 200).await;
    let client = json_with_status(
        app.post(key, "/api/v1/clients", &json!({"name": "Recorded time"}))
            .await,
        201,
    )
    .await;
    let entry = json_with_status(
        app.post(
            key,
            "/api/v1/time-entries",
            &json!({"client_id": client["id"], "work_date": "2026-11-24", "minutes": 45}),
        )
        .await,
        201,
    )
    .await;
    let sheet = entry["timesheet_id"].as_str().expect("sheet").to_owned();
    let path = format!("/api/v1/timesheets/{sheet}");
    json_with_status(
        app.post(key, &format!("{path}/submit"), &json!({})).await,
        200,
    )
    .await;
    let reminded = keel_tests::eventually(Duration::from_secs(30), || async {
        let audit = json_with_status(app.get(key, "/api/v1/audit-log?limit=200").await, 200).await;
        audit["data"]
            .as_array()?
            .iter()
            .any(|e| {
                e["action"] == "timesheet.approval_reminder" && e["resource_id"] == sheet.as_str()
            })
            .then_some(())
    })
    .await;
    assert!(reminded.is_some(), "the approvers were reminded");
    let approved = json_with_status(
        app.post(key, &format!("{path}/approve"), &json!({})).await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "APPROVED");
    let sheet_id = uuid::Uuid::parse_str(&sheet).expect("uuid");
    let runs_done = keel_tests::eventually(Duration::from_secs(30), || async {
        let runs = json_with_status(app.get(key, "/api/v1/workflow-runs").await, 200).await;
        runs["data"]
            .as_array()?
            .iter()
            .any(|r| r["kind"] == "timesheet_approval" && r["status"] == "completed")
            .then_some(())
    })
    .await;
    assert!(runs_done.is_some(), "the approval workflow completed");
    engine::workflows::timesheet_approval::workflow_id(tenant, sheet_id, 1)
}

/// A billing run over two clients in batches of one, and a credit expiry that
/// expires a lapsed credit; answers both workflow ids once they completed.
async fn record_billing(
    app: &TestApp,
    temporal: &Temporal,
    key: &str,
    tenant: engine::TenantId,
) -> (String, String) {
    let service = json_with_status(
        app.post(
            key,
            "/api/v1/services",
            &json!({"name": "Recorded fee", "kind": "fixed", "rate_cents": 1000}),
        )
        .await,
        201,
    )
    .await;
    let mut clients = Vec::new();
    for name in ["Billed one", "Billed two"] {
        let client = json_with_status(
            app.post(
                key,
                "/api/v1/clients",
                &json!({"name": name, "currency": "USD"}),
            )
            .await,
            201,
        )
        .await;
        let contract = json!({"client_id": client["id"], "starts_on": "2026-01-01",
                              "lines": [{"kind": "fixed", "service_id": service["id"]}]});
        json_with_status(app.post(key, "/api/v1/contracts", &contract).await, 201).await;
        clients.push(client["id"].as_str().expect("id").to_owned());
    }
    let started = json_with_status(
        app.post(
            key,
            "/api/v1/billing-runs",
            &json!({"period_end": "2026-02-01", "batch_size": 1}),
        )
        .await,
        202,
    )
    .await;
    let billing = started["workflow_id"]
        .as_str()
        .expect("workflow id")
        .to_owned();
    temporal
        .billing_cycle_result(&billing)
        .await
        .expect("billing run completes");
    // A credit that lapsed yesterday (the API only grants future expiries).
    json_with_status(
        app.post(
            key,
            "/api/v1/credits",
            &json!({"client_id": clients[0], "amount_cents": 700, "reason": "Lapsing"}),
        )
        .await,
        201,
    )
    .await;
    let mut owner = app.db.owner().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query("UPDATE credits SET expires_on = current_date - 1")
        .execute(&mut owner)
        .await
        .expect("lapse the credit");
    let expiry = temporal
        .start_credit_expiry(tenant)
        .await
        .expect("expiry starts");
    let expired = completed_run(app, key, "credit_expiry", |r| {
        r["workflow_id"] == expiry.workflow_id.as_str()
    })
    .await;
    let balance = json_with_status(
        app.get(key, &format!("/api/v1/clients/{}/balance", clients[0]))
            .await,
        200,
    )
    .await;
    assert_eq!(balance["credit_cents"], 0, "the lapsed credit expired");
    let books = json_with_status(app.get(key, "/api/v1/billing/reconciliation").await, 200).await;
    assert_eq!(books["balanced"], true, "{books}");
    (billing, expired)
}

/// One of the billing run's drafts finalized and e-mailed (the tenant's SMTP
/// settings point at the notifications' sink); answers the delivery's workflow id.
async fn record_invoice_delivery(app: &TestApp, key: &str) -> String {
    let drafts = json_with_status(app.get(key, "/api/v1/invoices?status=draft").await, 200).await;
    let invoice = drafts["data"][0]["id"]
        .as_str()
        .expect("a draft")
        .to_owned();
    json_with_status(
        app.post(
            key,
            &format!("/api/v1/invoices/{invoice}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let started = json_with_status(
        app.post(
            key,
            &format!("/api/v1/invoices/{invoice}/send"),
            &json!({"to": "ap@recorded.test"}),
        )
        .await,
        202,
    )
    .await;
    let workflow_id = started["workflow_id"]
        .as_str()
        .expect("workflow id")
        .to_owned();
    completed_run(app, key, "invoice_delivery", |r| {
        r["workflow_id"] == workflow_id.as_str()
    })
    .await
}

/// A fan-out that sends two e-mails under a limit of one per "minute", so the
/// second waits on a durable timer, and an on-demand digest carrying a held
/// notification; answers their workflow ids once both completed.
async fn record_notifications(
    app: &TestApp,
    key: &str,
    admin: uuid::Uuid,
    sink: &keel_tests::smtp::SmtpSink,
) -> (String, String) {
    json_with_status(
        app.put(
            key,
            "/api/v1/smtp-settings",
            &json!({"host": sink.host(), "port": sink.port(),
                "tls_mode": "none", "from_address": "desk@recorded.test"}),
        )
        .await,
        200,
    )
    .await;
    json_with_status(
        app.patch(
            key,
            "/api/v1/notification-settings",
            &json!({"rate_limit_per_minute": 1}),
        )
        .await,
        200,
    )
    .await;
    let client = json_with_status(
        app.post(key, "/api/v1/clients", &json!({"name": "Recorded mail"}))
            .await,
        201,
    )
    .await;
    let contact = json_with_status(
        app.post(key, "/api/v1/contacts",
                 &json!({"client_id": client["id"], "full_name": "Rec Contact", "email": "rec@client.test"}))
            .await,
        201,
    )
    .await;
    let ticket = json_with_status(
        app.post(
            key,
            "/api/v1/tickets",
            &json!({"client_id": client["id"], "contact_id": contact["id"],
                 "title": "Recorded mail", "assigned_to": admin}),
        )
        .await,
        201,
    )
    .await;
    sink.wait_for(2, Duration::from_secs(60))
        .await
        .expect("two e-mails");
    let fan_out = completed_run(app, key, "notification_fan_out", |r| {
        r["result"]["sent"] == 2
    })
    .await;
    // A held notification for the digest: the admin takes closures as a digest.
    json_with_status(
        app.put(
            key,
            "/api/v1/notification-preferences/ticket_closed",
            &json!({"enabled": true, "delivery": "digest"}),
        )
        .await,
        200,
    )
    .await;
    let path = format!("/api/v1/tickets/{}", ticket["id"].as_str().expect("id"));
    json_with_status(
        app.patch(key, &path, &json!({"status": "Closed"})).await,
        200,
    )
    .await;
    keel_tests::eventually(Duration::from_secs(60), || async {
        let log = json_with_status(
            app.get(key, "/api/v1/notification-log?status=held").await,
            200,
        )
        .await;
        (!log["data"].as_array()?.is_empty()).then_some(())
    })
    .await
    .expect("a notification held for the digest");
    let started = json_with_status(
        app.post(key, "/api/v1/notification-digests", &json!({}))
            .await,
        201,
    )
    .await;
    let digest_id = started["workflow_id"]
        .as_str()
        .expect("workflow id")
        .to_owned();
    let digest = completed_run(app, key, "notification_digest", |r| {
        r["workflow_id"] == digest_id.as_str()
    })
    .await;
    (fan_out, digest)
}

/// The workflow id of a completed run of `kind` that `pick` accepts.
async fn completed_run(
    app: &TestApp,
    key: &str,
    kind: &str,
    pick: impl Fn(&serde_json::Value) -> bool,
) -> String {
    keel_tests::eventually(Duration::from_secs(60), || async {
        let runs = json_with_status(
            app.get(key, &format!("/api/v1/workflow-runs?kind={kind}&limit=200"))
                .await,
            200,
        )
        .await;
        runs["data"]
            .as_array()?
            .iter()
            .find(|r| r["status"] == "completed" && pick(r))
            .map(|r| r["workflow_id"].as_str().expect("workflow id").to_owned())
    })
    .await
    .unwrap_or_else(|| panic!("no completed {kind} run"))
}
