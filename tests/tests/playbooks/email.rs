//! `send_email` and `find_invoices` end to end: a playbook's e-mails reach a real
//! SMTP server (`keel_tests::smtp`) exactly once through the notification log and
//! the `OutboundEmail` workflow, a dry run sends nothing, a bad address fails the
//! run naming the field with nothing queued, and `find_invoices` answers what a
//! reminder needs in integer cents.

use super::{created, ended, playbook, start};
use keel_tests::app::json_with_status;
use keel_tests::smtp::{SmtpSink, SunkMail};
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

async fn mail_to(app: &TestApp, key: &str, sink: &SmtpSink) {
    let settings = json!({"host": sink.host(), "port": sink.port(), "tls_mode": "none",
                          "from_address": "desk@msp.test", "from_name": "MSP Desk"});
    json_with_status(app.put(key, "/api/v1/smtp-settings", &settings).await, 200).await;
}

async fn log(app: &TestApp, key: &str) -> Vec<Value> {
    let page = json_with_status(app.get(key, "/api/v1/notification-log").await, 200).await;
    page["data"].as_array().expect("data").clone()
}

async fn runs_of_kind(app: &TestApp, key: &str, kind: &str) -> Vec<Value> {
    let path = format!("/api/v1/workflow-runs?kind={kind}&limit=200");
    let page = json_with_status(app.get(key, &path).await, 200).await;
    page["data"].as_array().expect("data").clone()
}

fn addressed_to<'a>(mails: &'a [SunkMail], address: &str) -> Vec<&'a SunkMail> {
    mails
        .iter()
        .filter(|m| m.envelope_to.iter().any(|t| t == address))
        .collect()
}

const ALERT: &str = r#"
    let plain = send_email(#{ to: input.to, subject: "Backup failed on SRV-01", text: "The nightly backup failed.\nPlease check <the> job." });
    let templated = send_email(#{ to: "ap@globex.test", template: "invoice_overdue",
        data: #{ invoice: #{ number: "INV-000009", due_on: "2026-11-01", balance_due: "250.00 USD", url: "https://pay.msp.test/9" } } });
    plain.queued + templated.queued
"#;

#[tokio::test]
async fn send_email_delivers_each_message_exactly_once_and_a_dry_run_sends_nothing() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await.expect("sink");
    let t = app.tenant("pb-mail").await;
    let key = &t.admin_key;
    mail_to(&app, key, &sink).await;
    let _worker = TestWorker::start(&app);
    let id = playbook(&app, key, "Alert", ALERT).await;
    let to = json!(["ops@client.test", "OPS@client.test", "boss@client.test"]);

    let dry = start(
        &app,
        key,
        &id,
        json!({"input": {"to": to}, "dry_run": true}),
    )
    .await;
    let run = ended(&app, key, &dry).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert!(log(&app, key).await.is_empty(), "a dry run queues nothing");
    assert!(runs_of_kind(&app, key, "outbound_email").await.is_empty());

    let real = start(&app, key, &id, json!({"input": {"to": to}})).await;
    let run = ended(&app, key, &real).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        run["result"]["result"], 3,
        "the duplicate address is sent once"
    );
    // Both batches are delivered, each by its own run, and every row is sent.
    let sent = keel_tests::eventually(Duration::from_secs(60), || async {
        let runs = runs_of_kind(&app, key, "outbound_email").await;
        let rows = log(&app, key).await;
        let done = runs.len() == 2 && runs.iter().all(|r| r["status"] == "completed");
        (done && rows.iter().all(|r| r["status"] == "sent")).then_some(rows)
    })
    .await
    .expect("both deliveries completed");
    assert_eq!(sent.len(), 3, "{sent:?}");
    replay_and_record_a_delivery(&app, key).await;
    assert!(sent.iter().all(|r| r["attempts"] == 1
        && r["smtp_response"]
            .as_str()
            .is_some_and(|s| s.starts_with("250"))));

    let mails = sink.messages().expect("messages");
    assert_eq!(mails.len(), 3, "exactly one message per recipient");
    for address in ["ops@client.test", "boss@client.test"] {
        let to = addressed_to(&mails, address);
        assert_eq!(to.len(), 1, "{address} gets one e-mail");
        assert_eq!(to[0].subject, "Backup failed on SRV-01");
        assert!(to[0].from.contains("desk@msp.test"));
        let text = to[0].text_body.as_deref().expect("text part");
        assert!(text.contains("Please check <the> job."), "{text}");
        let html = to[0].html_body.as_deref().expect("html part");
        assert!(html.contains("&lt;the&gt;"), "html is escaped: {html}");
    }
    let invoice = addressed_to(&mails, "ap@globex.test");
    assert_eq!(invoice.len(), 1);
    assert_eq!(invoice[0].subject, "Invoice INV-000009 is overdue");
    let text = invoice[0].text_body.as_deref().expect("text part");
    assert!(
        text.contains("250.00 USD") && text.contains("https://pay.msp.test/9"),
        "{text}"
    );
}

#[tokio::test]
async fn a_bad_address_or_template_data_fails_the_run_naming_the_field_and_queues_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-mail-bad").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let cases = [
        (
            "Bad address",
            r#"send_email(#{ to: ["ok@client.test", "not-an-address"], subject: "Hi", text: "Body" })"#,
            "to[1]",
        ),
        (
            "Missing data",
            r#"send_email(#{ to: "ok@client.test", template: "invoice_overdue", data: #{} })"#,
            "data does not fit the template invoice_overdue",
        ),
        (
            "Unknown template",
            r#"send_email(#{ to: "ok@client.test", template: "welcome" })"#,
            "template \"welcome\"",
        ),
    ];
    for (name, source, expected) in cases {
        let id = playbook(&app, key, name, source).await;
        let run = ended(&app, key, &start(&app, key, &id, json!({})).await).await;
        assert_eq!(run["status"], "failed", "{name}: {run}");
        let error = run["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("send_email()") && error.contains(expected),
            "{name}: {error}"
        );
    }
    assert!(log(&app, key).await.is_empty(), "nothing was queued");
    assert!(runs_of_kind(&app, key, "outbound_email").await.is_empty());
}

#[tokio::test]
async fn find_invoices_answers_what_a_reminder_needs_in_integer_cents() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-invoices").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let body = json!({"name": "Globex", "billing_email": "ap@globex.test"});
    let client = created(&app, key, "/api/v1/clients", body).await;
    let client_id = client["id"].as_str().expect("id").to_owned();
    let manual = |date: &str| {
        json!({"client_id": client_id, "invoice_date": date,
               "lines": [{"description": "Onboarding", "quantity": "3", "unit_price_cents": 10005}]})
    };
    let late = created(&app, key, "/api/v1/invoices/manual", manual("2025-01-31")).await;
    let late_id = late["id"].as_str().expect("id");
    let finalized = json_with_status(
        app.post(
            key,
            &format!("/api/v1/invoices/{late_id}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    created(&app, key, "/api/v1/invoices/manual", manual("2025-02-28")).await;

    let source = r#"
        #{ overdue: find_invoices(#{ status: "overdue", client_id: input.client_id }),
           drafts: find_invoices(#{ status: "draft" }),
           paid: find_invoices(#{ status: "paid" }) }
    "#;
    let id = playbook(&app, key, "Late", source).await;
    let run = ended(
        &app,
        key,
        &start(&app, key, &id, json!({"input": {"client_id": client_id}})).await,
    )
    .await;
    assert_eq!(run["status"], "completed", "{run}");
    let result = &run["result"]["result"];
    let overdue = result["overdue"].as_array().expect("overdue");
    assert_eq!(overdue.len(), 1, "{result}");
    let found = &overdue[0];
    assert_eq!(found["id"], late["id"]);
    assert_eq!(found["number"], finalized["number"]);
    assert_eq!(found["client_name"], "Globex");
    assert_eq!(found["billing_email"], "ap@globex.test");
    assert_eq!(found["currency"], "USD");
    assert_eq!(found["total_cents"], finalized["total_cents"]);
    assert_eq!(found["balance_due_cents"], finalized["balance_due_cents"]);
    assert!(found["balance_due_cents"].as_i64().unwrap_or(0) >= 30015);
    assert_eq!(found["due_on"], finalized["due_on"]);
    let due: chrono::NaiveDate = finalized["due_on"]
        .as_str()
        .expect("due_on")
        .parse()
        .expect("date");
    let days = (chrono::Utc::now().date_naive() - due).num_days();
    let reported = found["days_overdue"].as_i64().expect("days");
    assert!(
        (days - 1..=days).contains(&reported),
        "{reported} vs {days}"
    );
    assert_eq!(result["drafts"].as_array().map(Vec::len), Some(1));
    assert_eq!(result["paid"], json!([]));

    // Without billing:read (which find_invoices needs) the user may not start
    // it: the manifest refuses before any run exists.
    let tech = app
        .user(t.tenant, "tech@pb-invoices.example.com", "Technician")
        .await;
    let tech_key = app.api_key(t.tenant, tech).await;
    let path = format!("/api/v1/playbooks/{id}/runs");
    let given = json!({"input": {"client_id": client_id}});
    let problem = json_with_status(app.post(&tech_key, &path, &given).await, 403).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("billing:read"), "{problem}");
}

/// Replays a delivery's history through this build and, with
/// `KEEL_RECORD_HISTORIES=1`, stores it as the fixture `engine/tests/replay.rs`
/// replays in every build.
async fn replay_and_record_a_delivery(app: &TestApp, key: &str) {
    use temporalio_client::WorkflowHistory;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
    let runs = runs_of_kind(app, key, "outbound_email").await;
    let workflow_id = runs[0]["workflow_id"].as_str().expect("workflow id");
    let temporal = activities::temporal::Temporal::connect(
        &keel_tests::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        "default",
        &app.task_queue_prefix,
    )
    .await
    .expect("temporal");
    // The record closes before Temporal's own completion event: wait for it.
    let history = keel_tests::eventually(Duration::from_secs(30), || async {
        let json = temporal.history_json(workflow_id).await.ok()?;
        String::from_utf8_lossy(&json)
            .contains("WorkflowExecutionCompletedEventAttributes")
            .then_some(json)
    })
    .await
    .expect("the delivery's history is complete");
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<engine::workflows::OutboundEmail>()
        .expect("register")
        .build();
    WorkflowReplayer::new(options)
        .expect("replayer")
        .replay_workflow(WorkflowHistory::from_json(&history).expect("parse"))
        .await
        .expect("the delivery replays");
    if std::env::var_os("KEEL_RECORD_HISTORIES").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../engine/tests/histories/outbound_email.json");
        std::fs::write(path, &history).expect("write fixture");
    }
}
