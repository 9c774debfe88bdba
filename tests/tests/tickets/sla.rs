use super::{client, ticket};
use keel_tests::app::json_with_status;
use keel_tests::worker::{worker_process, TestWorker};
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

/// A default policy whose Medium targets are `response`/`resolution` SLA minutes
/// (seconds in tests).
async fn policy(app: &TestApp, key: &str, targets: Value, notify: Value, escalation: Value) {
    json_with_status(
        app.post(
            key,
            "/api/v1/sla-policies",
            &json!({"name": "Standard", "is_default": true, "targets": targets,
                    "notify_percents": notify, "escalation_percents": escalation}),
        )
        .await,
        201,
    )
    .await;
}

/// The SLA audit of a ticket as (event, details).
async fn audit(app: &TestApp, key: &str, id: &str) -> Vec<(String, Value)> {
    let body = json_with_status(
        app.get(key, &format!("/api/v1/tickets/{id}/sla-audit"))
            .await,
        200,
    )
    .await;
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| {
            (
                e["event"].as_str().expect("event").to_owned(),
                e["details"].clone(),
            )
        })
        .collect()
}

/// Waits until the audit has an entry `event` (with `details` containing `field: value`).
async fn await_audit(
    app: &TestApp,
    key: &str,
    id: &str,
    event: &str,
    limit: Duration,
) -> Vec<(String, Value)> {
    keel_tests::eventually(limit, || async {
        let entries = audit(app, key, id).await;
        entries.iter().any(|(e, _)| e == event).then_some(entries)
    })
    .await
    .unwrap_or_else(|| panic!("no {event} within {limit:?}"))
}

fn labels(entries: &[(String, Value)]) -> Vec<String> {
    entries
        .iter()
        .map(|(event, d)| match event.as_str() {
            "threshold_warning" | "sla_breach" => format!(
                "{event}:{}:{}",
                d["measure"].as_str().unwrap_or(""),
                d["percent"]
            ),
            "escalated" => format!("escalated:{}", d["level"]),
            other => other.to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn warnings_escalations_and_breaches_fire_in_order_exactly_once_then_closing_ends_the_workflow(
) {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let manager = app
        .user(t.tenant, "lead@acme.example.com", "Dispatcher")
        .await;
    policy(
        &app,
        &t.admin_key,
        json!([{"priority": "Medium", "response_minutes": 4, "resolution_minutes": 10}]),
        json!([50, 100]),
        json!([70, 90, 110]),
    )
    .await;
    let boards = json_with_status(app.get(&t.admin_key, "/api/v1/boards").await, 200).await;
    let board = boards["data"][0]["id"].as_str().expect("board").to_owned();
    json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/boards/{board}"),
            &json!({"escalation_managers": {"1": manager}}),
        )
        .await,
        200,
    )
    .await;
    let worker = TestWorker::start(&app);
    let client_id = client(&app, &t.admin_key).await;
    let created = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Server down"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();

    let entries = await_audit(
        &app,
        &t.admin_key,
        &id,
        "escalated",
        Duration::from_secs(60),
    )
    .await;
    let entries = keel_tests::eventually(Duration::from_secs(60), || async {
        let all = audit(&app, &t.admin_key, &id).await;
        (labels(&all).contains(&"escalated:3".to_owned())).then_some(all)
    })
    .await
    .unwrap_or(entries);
    assert_eq!(
        labels(&entries),
        vec![
            "sla_started",
            "threshold_warning:response:50",
            "sla_breach:response:100",
            "threshold_warning:resolution:50",
            "escalated:1",
            "escalated:2",
            "sla_breach:resolution:100",
            "escalated:3",
        ]
    );
    let body = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/tickets/{id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(body["sla"]["response_met"], false);
    assert_eq!(body["sla"]["resolution_met"], false);
    assert_eq!(body["sla"]["escalation_level"], 3);
    assert_eq!(
        body["additional_agents"],
        json!([manager]),
        "the level-1 manager joined"
    );

    json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/tickets/{id}"),
            &json!({"status": "Closed"}),
        )
        .await,
        200,
    )
    .await;
    let done = keel_tests::eventually(Duration::from_secs(30), || async {
        let runs =
            json_with_status(app.get(&t.admin_key, "/api/v1/workflow-runs").await, 200).await;
        runs["data"]
            .as_array()?
            .iter()
            .find(|r| r["kind"] == "ticket_sla" && r["status"] == "completed")
            .cloned()
    })
    .await;
    assert!(
        done.is_some(),
        "closing the ticket completed its SLA workflow"
    );
    let entries = audit(&app, &t.admin_key, &id).await;
    assert_eq!(
        labels(&entries).last().map(String::as_str),
        Some("resolution_recorded")
    );
    let once = labels(&entries)
        .iter()
        .filter(|l| l.starts_with("escalated"))
        .count();
    assert_eq!(once, 3, "no milestone fired twice");
    worker.stop();
    app.stop().await;
}

#[tokio::test]
async fn a_pause_delays_the_breach_by_the_paused_time() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    policy(
        &app,
        &t.admin_key,
        json!([{"priority": "Medium", "resolution_minutes": 6}]),
        json!([100]),
        json!([]),
    )
    .await;
    let worker = TestWorker::start(&app);
    let client_id = client(&app, &t.admin_key).await;
    let created = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Waiting"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/tickets/{id}");
    await_audit(
        &app,
        &t.admin_key,
        &id,
        "sla_started",
        Duration::from_secs(30),
    )
    .await;
    let first_due = json_with_status(app.get(&t.admin_key, &path).await, 200).await["sla"]
        ["resolution_due_at"]
        .clone();

    json_with_status(
        app.patch(
            &t.admin_key,
            &path,
            &json!({"status": "Waiting on customer"}),
        )
        .await,
        200,
    )
    .await;
    await_audit(
        &app,
        &t.admin_key,
        &id,
        "sla_paused",
        Duration::from_secs(30),
    )
    .await;
    // The customer takes four seconds to answer: the length of the pause under test.
    tokio::time::sleep(Duration::from_secs(4)).await;
    json_with_status(
        app.patch(&t.admin_key, &path, &json!({"status": "In progress"}))
            .await,
        200,
    )
    .await;
    let entries = await_audit(
        &app,
        &t.admin_key,
        &id,
        "sla_breach",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        labels(&entries),
        vec![
            "sla_started",
            "sla_paused",
            "sla_resumed",
            "sla_breach:resolution:100"
        ]
    );

    let body = json_with_status(app.get(&t.admin_key, &path).await, 200).await;
    let parse = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc3339")
    };
    let shift = parse(&body["sla"]["resolution_due_at"]) - parse(&first_due);
    assert!(
        shift >= chrono::Duration::seconds(4),
        "the due time moved by the pause: {shift}"
    );
    assert!(body["sla"]["paused_seconds"].as_i64().expect("paused") >= 4);
    worker.stop();
    app.stop().await;
}

#[tokio::test]
async fn a_priority_without_a_target_records_no_target_and_sets_no_timers() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    policy(
        &app,
        &t.admin_key,
        json!([{"priority": "Critical", "resolution_minutes": 1}]),
        json!([100]),
        json!([]),
    )
    .await;
    let worker = TestWorker::start(&app);
    let client_id = client(&app, &t.admin_key).await;
    let created = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Low key", "priority": "Low"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    await_audit(
        &app,
        &t.admin_key,
        &id,
        "no_target",
        Duration::from_secs(30),
    )
    .await;
    let body = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/tickets/{id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(body["sla"]["state"], "no_target");
    assert_eq!(body["sla"]["resolution_due_at"], json!(null));
    // Raising it to Critical gives it a target, and the breach follows.
    json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/tickets/{id}"),
            &json!({"priority": "Critical"}),
        )
        .await,
        200,
    )
    .await;
    let entries = await_audit(
        &app,
        &t.admin_key,
        &id,
        "sla_breach",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        labels(&entries),
        vec!["no_target", "priority_changed", "sla_breach:resolution:100"]
    );
    worker.stop();
    app.stop().await;
}

#[tokio::test]
async fn killing_the_worker_mid_wait_loses_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    policy(
        &app,
        &t.admin_key,
        json!([{"priority": "Medium", "resolution_minutes": 8}]),
        json!([100]),
        json!([]),
    )
    .await;
    let mut first = worker_process(&app);
    let client_id = client(&app, &t.admin_key).await;
    let created = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Crash"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    await_audit(
        &app,
        &t.admin_key,
        &id,
        "sla_started",
        Duration::from_secs(30),
    )
    .await;
    first.0.kill().expect("kill worker");
    first.0.wait().expect("reap");
    let second = worker_process(&app);
    let entries = await_audit(
        &app,
        &t.admin_key,
        &id,
        "sla_breach",
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        labels(&entries),
        vec!["sla_started", "sla_breach:resolution:100"]
    );
    drop(second);
    app.stop().await;
}
