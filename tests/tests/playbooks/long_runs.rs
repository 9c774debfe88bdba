//! Runs that outgrow one Temporal history continue as new under one run record,
//! and runs a schedule starts are admitted under the tenant's limits.

use super::{
    created, ended, playbook, playbook_runs, reached, run_of, start, step_names, temporal,
};
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

/// 105 clock reads cross the first history boundary (100 calls), the wait for
/// `go` sits in the second Temporal run and 100 uuids cross the second boundary.
const LONG_RUN: &str = r#"
    for i in 0..105 { now(); }
    kv_increment(#{ key: "long" });
    let approval = wait_for_signal("go", "1h");
    kv_increment(#{ key: "long" });
    for i in 0..100 { uuid(); }
    let total = kv_increment(#{ key: "long" });
    #{ total: total, approved: approval.answer }
"#;

fn history_text(history: Vec<u8>) -> String {
    String::from_utf8(history).expect("history is JSON text")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_run_continues_as_new_and_keeps_one_record_with_every_step() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-long").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let id = playbook(&app, key, "Long", LONG_RUN).await;
    let run_id = start(&app, key, &id, json!({"input": {}})).await;

    // The wait is reached in the second Temporal run: the signal still finds it.
    let waiting = reached(&app, key, &run_id, "106-kv_increment").await;
    let workflow_id = waiting["workflow_id"]
        .as_str()
        .expect("workflow id")
        .to_owned();
    let path = format!("/api/v1/workflow-runs/{run_id}/signals/go");
    json_with_status(app.post(key, &path, &json!({"answer": "yes"})).await, 202).await;

    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        run["result"]["result"],
        json!({"total": 3, "approved": "yes"})
    );
    assert_eq!(run["result"]["steps"], 209, "{run}");
    let names = step_names(&run);
    for step in ["106-kv_increment", "108-kv_increment", "209-kv_increment"] {
        assert!(names.contains(&step.to_owned()), "{step} in {names:?}");
    }
    assert_eq!(names.len(), 3, "only actions are steps: {names:?}");

    // Three Temporal runs: the first ended by continuing as new, the last was
    // continued from another; the record kept the first run's id.
    let temporal = temporal(&app).await;
    let first = history_text(
        temporal
            .run_history_json(&workflow_id, Some(&run_id))
            .await
            .expect("first history"),
    );
    assert!(first.contains("CONTINUED_AS_NEW") || first.contains("ContinuedAsNew"));
    let last = history_text(temporal.history_json(&workflow_id).await.expect("history"));
    let flat = last.to_lowercase().replace('_', "");
    assert!(
        flat.contains("continuedexecutionrunid"),
        "the last run was continued from another"
    );
    assert_eq!(
        last.matches("PlaybookRun").count(),
        1,
        "the last history is one run's"
    );
    let runs = playbook_runs(&app, key).await;
    assert_eq!(runs.len(), 1, "one record for the whole run: {runs:?}");

    // Both ends replay deterministically through this build, the continue-as-new
    // command included.
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<dsl::PlaybookRun>()
        .expect("register")
        .build();
    let replayer = WorkflowReplayer::new(options).expect("replayer");
    for history in [&first, &last] {
        let parsed = WorkflowHistory::from_json(history.as_bytes()).expect("parse");
        replayer
            .replay_workflow(parsed)
            .await
            .expect("the history replays");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_run_over_the_tenant_limit_is_refused_and_audited() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-sched-limit").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let temporal = temporal(&app).await;
    let limits = json!({"max_concurrent_runs": 5, "max_runs_per_day": 1});
    json_with_status(app.put(key, "/api/v1/playbook-limits", &limits).await, 200).await;

    let trigger = json!({"kind": "schedule", "cron": "0 3 * * *", "timezone": "UTC"});
    let source = r#"kv_increment(#{ key: "ticks" })"#;
    let body = json!({"name": "Nightly", "source": source, "trigger": trigger});
    let saved = created(&app, key, "/api/v1/playbooks", body).await;
    let playbook: uuid::Uuid = saved["id"].as_str().expect("id").parse().expect("uuid");

    temporal
        .trigger_playbook_schedule(t.tenant, playbook)
        .await
        .expect("trigger");
    let first = keel_tests::eventually(Duration::from_secs(60), || async {
        let runs = playbook_runs(&app, key).await;
        runs.into_iter().find(|r| r["status"] == "completed")
    })
    .await
    .expect("the first scheduled run completed");
    let first = run_of(&app, key, first["run_id"].as_str().expect("run id")).await;
    assert_eq!(first["result"]["result"], 1, "{first}");

    // The day's one run is used: the next firing is refused, audited, recorded
    // as no run, and changes nothing.
    temporal
        .trigger_playbook_schedule(t.tenant, playbook)
        .await
        .expect("trigger");
    let refusal = keel_tests::eventually(Duration::from_secs(60), || async {
        let log = json_with_status(app.get(key, "/api/v1/audit-log?limit=200").await, 200).await;
        let entries = log["data"].as_array().cloned().unwrap_or_default();
        entries
            .into_iter()
            .find(|e| e["action"] == "playbook.run_refused")
    })
    .await
    .expect("the refused scheduled run is audited");
    assert_eq!(refusal["resource_id"], saved["id"], "{refusal}");
    assert_eq!(refusal["details"]["trigger"], "schedule", "{refusal}");
    let reason = refusal["details"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("max_runs_per_day"), "{reason}");
    let runs: Vec<Value> = playbook_runs(&app, key).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
}
