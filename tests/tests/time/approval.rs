//! The TimesheetApproval workflow on the real stack: submit locks, the reminder
//! fires once, approvers decide through the workflow, self-approval follows the
//! tenant's rule, reversal unlocks, and a killed worker loses no decision. Also the
//! server-side timer and periods under a changed cadence.

use super::{log, office};
use keel_tests::app::json_with_status;
use keel_tests::smtp::SmtpSink;
use keel_tests::worker::{worker_process, TestWorker};
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

async fn mail_to(app: &TestApp, admin: &str, sink: &SmtpSink) {
    json_with_status(
        app.put(
            admin,
            "/api/v1/smtp-settings",
            &json!({"host": sink.host(), "port": sink.port(), "tls_mode": "none",
                    "from_address": "desk@msp.test", "from_name": "MSP Desk"}),
        )
        .await,
        200,
    )
    .await;
}

async fn settings(app: &TestApp, admin: &str, body: Value) {
    json_with_status(app.put(admin, "/api/v1/time-settings", &body).await, 200).await;
}

async fn sheet_of(app: &TestApp, key: &str, id: &str) -> Value {
    json_with_status(app.get(key, &format!("/api/v1/timesheets/{id}")).await, 200).await
}

fn count(subjects: &[String], prefix: &str) -> usize {
    subjects.iter().filter(|s| s.starts_with(prefix)).count()
}

async fn subjects(sink: &SmtpSink) -> Vec<String> {
    sink.messages()
        .expect("sink")
        .into_iter()
        .map(|m| m.subject)
        .collect()
}

#[tokio::test]
async fn the_approval_reminds_once_then_applies_the_approvers_decision_and_locks() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await.expect("sink");
    let o = office(&app, "approval-flow").await;
    mail_to(&app, &o.admin, &sink).await;
    settings(
        &app,
        &o.admin,
        json!({"period": {"frequency": "weekly", "week_start": "Mon"}, "allow_self_approval": false, "reminder_hours": 1}),
    )
    .await;
    let worker = TestWorker::start(&app);
    let entry = log(
        &app,
        &o.tech,
        json!({"client_id": o.client_id, "work_date": "2026-11-24", "minutes": 90}),
    )
    .await;
    let sheet = entry["timesheet_id"].as_str().expect("sheet").to_owned();
    let submitted = json_with_status(
        app.post(
            &o.tech,
            &format!("/api/v1/timesheets/{sheet}/submit"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(submitted["status"], "SUBMITTED");
    assert_eq!(submitted["submission"], 1);
    assert_eq!(submitted["total_minutes"], 90);
    // Submitting twice, and deciding without the permission, are refused at once.
    json_with_status(
        app.post(
            &o.tech,
            &format!("/api/v1/timesheets/{sheet}/submit"),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    json_with_status(
        app.post(
            &o.tech,
            &format!("/api/v1/timesheets/{sheet}/approve"),
            &json!({}),
        )
        .await,
        403,
    )
    .await;
    let entry_id = entry["id"].as_str().expect("id");
    json_with_status(
        app.patch(
            &o.tech,
            &format!("/api/v1/time-entries/{entry_id}"),
            &json!({"minutes": 30}),
        )
        .await,
        409,
    )
    .await;
    // The approvers hear of the submission, then (one scaled hour later) once more.
    sink.wait_for(2, Duration::from_secs(60))
        .await
        .expect("submission and reminder mail");
    let heard = subjects(&sink).await;
    assert_eq!(count(&heard, "Timesheet to approve"), 1, "{heard:?}");
    assert_eq!(count(&heard, "Reminder:"), 1, "{heard:?}");
    let approved = json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/approve"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "APPROVED");
    let entry = json_with_status(
        app.get(&o.tech, &format!("/api/v1/time-entries/{entry_id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(entry["approval_status"], "APPROVED");
    json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/approve"),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    // The owner hears of the approval; the finished workflow reminds no more.
    let mails = sink
        .wait_for(3, Duration::from_secs(30))
        .await
        .expect("approval mail");
    let heard: Vec<String> = mails.into_iter().map(|m| m.subject).collect();
    assert_eq!(count(&heard, "Timesheet approved"), 1, "{heard:?}");
    assert_eq!(count(&heard, "Reminder:"), 1, "{heard:?}");
    // A manager takes the approval back: entries unlock, the reason is a comment.
    let reversed = json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/reject"),
            &json!({"reason": "Client disputes Tuesday"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(reversed["status"], "CHANGES_REQUESTED");
    json_with_status(
        app.patch(
            &o.tech,
            &format!("/api/v1/time-entries/{entry_id}"),
            &json!({"minutes": 60}),
        )
        .await,
        200,
    )
    .await;
    let comments = json_with_status(
        app.get(&o.tech, &format!("/api/v1/timesheets/{sheet}/comments"))
            .await,
        200,
    )
    .await;
    assert!(
        comments[0]["body"]
            .as_str()
            .expect("body")
            .contains("Client disputes Tuesday"),
        "{comments}"
    );
    // The second submission gets its own workflow, and a request for changes.
    let again = json_with_status(
        app.post(
            &o.tech,
            &format!("/api/v1/timesheets/{sheet}/submit"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["submission"], 2);
    json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/reject"),
            &json!({"reason": ""}),
        )
        .await,
        422,
    )
    .await;
    let sent_back = json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/reject"),
            &json!({"reason": "Add notes"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sent_back["status"], "CHANGES_REQUESTED");
    assert_eq!(sent_back["reason"], "Add notes");
    let queue = json_with_status(
        app.get(&o.admin, "/api/v1/timesheets/approvals?status=SUBMITTED")
            .await,
        200,
    )
    .await;
    assert_eq!(queue["data"].as_array().expect("data").len(), 0, "{queue}");
    json_with_status(app.get(&o.tech, "/api/v1/timesheets/approvals").await, 403).await;
    worker.stop();
}

#[tokio::test]
async fn self_approval_follows_the_tenant_rule_and_a_new_cadence_never_overlaps() {
    let app = TestApp::spawn().await;
    let o = office(&app, "approval-self").await;
    let worker = TestWorker::start(&app);
    let entry = log(
        &app,
        &o.admin,
        json!({"client_id": o.client_id, "work_date": "2026-12-02", "minutes": 30}),
    )
    .await;
    let sheet = entry["timesheet_id"].as_str().expect("sheet").to_owned();
    json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/submit"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let refused = json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/approve"),
            &json!({}),
        )
        .await,
        403,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .expect("detail")
            .contains("own timesheet"),
        "{refused}"
    );
    settings(
        &app,
        &o.admin,
        json!({"period": {"frequency": "monthly"}, "allow_self_approval": true, "reminder_hours": 24}),
    )
    .await;
    let approved = json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/approve"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "APPROVED");
    // Weekly Nov 30 - Dec 7 (and the week after, made ahead) stay; the monthly
    // period after them is cut to start where they end.
    let later = log(
        &app,
        &o.admin,
        json!({"client_id": o.client_id, "work_date": "2026-12-20", "minutes": 30}),
    )
    .await;
    let later_sheet = sheet_of(
        &app,
        &o.admin,
        later["timesheet_id"].as_str().expect("sheet"),
    )
    .await;
    assert_eq!(later_sheet["period_start"], "2026-12-14");
    assert_eq!(later_sheet["period_end"], "2027-01-01");
    let periods = json_with_status(
        app.get(
            &o.admin,
            "/api/v1/time-periods?from=2026-11-01&to=2027-03-01",
        )
        .await,
        200,
    )
    .await;
    let periods = periods.as_array().expect("periods");
    assert!(periods.len() >= 4, "{periods:?}");
    for pair in periods.windows(2) {
        assert!(
            pair[0]["end"].as_str() <= pair[1]["start"].as_str(),
            "{periods:?}"
        );
    }
    json_with_status(
        app.put(&o.admin, "/api/v1/time-settings", &json!({"period": {"frequency": "monthly"}, "allow_self_approval": true, "reminder_hours": 0})).await,
        422,
    )
    .await;
    worker.stop();
}

#[tokio::test]
async fn the_timer_lives_on_the_server_and_logs_an_entry_when_stopped() {
    let app = TestApp::spawn().await;
    let o = office(&app, "approval-timer").await;
    json_with_status(
        app.post(&o.tech, "/api/v1/timer/start", &json!({})).await,
        422,
    )
    .await;
    let started = json_with_status(
        app.post(
            &o.tech,
            "/api/v1/timer/start",
            &json!({"client_id": o.client_id, "notes": "Printer"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(started["running"], true);
    json_with_status(
        app.post(
            &o.tech,
            "/api/v1/timer/start",
            &json!({"client_id": o.client_id}),
        )
        .await,
        409,
    )
    .await;
    let running = json_with_status(app.get(&o.tech, "/api/v1/timer").await, 200).await;
    assert_eq!(running["timer"]["notes"], "Printer");
    let other = json_with_status(app.get(&o.other_tech, "/api/v1/timer").await, 200).await;
    assert_eq!(other["running"], false, "timers are per user");
    let logged = json_with_status(
        app.post(&o.tech, "/api/v1/timer/stop", &json!({"billable": false}))
            .await,
        201,
    )
    .await;
    assert_eq!(logged["minutes"], 1);
    assert_eq!(logged["billable_minutes"], 0);
    assert_eq!(logged["notes"], "Printer");
    assert_eq!(logged["user_id"], o.tech_id);
    let stopped = json_with_status(app.get(&o.tech, "/api/v1/timer").await, 200).await;
    assert_eq!(stopped["running"], false);
    json_with_status(
        app.post(&o.tech, "/api/v1/timer/stop", &json!({})).await,
        404,
    )
    .await;
    json_with_status(app.delete(&o.tech, "/api/v1/timer").await, 404).await;
}

#[tokio::test]
async fn killing_the_worker_while_a_timesheet_waits_loses_no_decision() {
    let app = TestApp::spawn().await;
    let o = office(&app, "approval-kill").await;
    let mut worker = worker_process(&app);
    let entry = log(
        &app,
        &o.tech,
        json!({"client_id": o.client_id, "work_date": "2026-11-25", "minutes": 45}),
    )
    .await;
    let sheet = entry["timesheet_id"].as_str().expect("sheet").to_owned();
    json_with_status(
        app.post(
            &o.tech,
            &format!("/api/v1/timesheets/{sheet}/submit"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    // Wait until the workflow is waiting (its run is recorded), then kill the worker.
    let runs = keel_tests::eventually(Duration::from_secs(60), || async {
        let runs = json_with_status(
            app.get(&o.admin, "/api/v1/workflow-runs?kind=timesheet_approval")
                .await,
            200,
        )
        .await;
        (!runs["data"].as_array()?.is_empty()).then_some(runs)
    })
    .await
    .expect("the approval run was recorded");
    assert_eq!(runs["data"][0]["status"], "running");
    worker.signal_and_wait(libc::SIGKILL);
    // No worker: the decision is accepted by the workflow, not yet applied.
    let accepted = json_with_status(
        app.post(
            &o.admin,
            &format!("/api/v1/timesheets/{sheet}/approve"),
            &json!({}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(accepted["status"], "SUBMITTED");
    let _worker = worker_process(&app);
    let approved = keel_tests::eventually(Duration::from_secs(90), || async {
        let now = sheet_of(&app, &o.tech, &sheet).await;
        (now["status"] == "APPROVED").then_some(now)
    })
    .await
    .expect("the signal completed the approval after the restart");
    assert!(approved["decided_by"].is_string(), "{approved}");
    let entry_id = entry["id"].as_str().expect("id");
    let entry = json_with_status(
        app.get(&o.tech, &format!("/api/v1/time-entries/{entry_id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(entry["approval_status"], "APPROVED");
}
