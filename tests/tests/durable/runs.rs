use crate::{finished_run, quick, start_self_test};
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_self_test_runs_end_to_end_and_shows_every_step() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let worker = TestWorker::start(&app);
    let (run_id, workflow_id) = start_self_test(&app, &t.admin_key, quick(3)).await;
    assert!(
        workflow_id.starts_with(&format!("{}:self_test:", t.tenant.0)),
        "{workflow_id}"
    );
    // The run is visible at once, before any worker picked it up.
    json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/workflow-runs/{run_id}"))
            .await,
        200,
    )
    .await;

    let run = finished_run(&app, &t.admin_key, &run_id, Duration::from_secs(30)).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["result"]["marks"], 3);
    let steps: Vec<&str> = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(steps, ["write_mark_1", "write_mark_2", "write_mark_3"]);
    assert!(run["temporal_url"]
        .as_str()
        .expect("link")
        .contains(&run_id));

    let listed = json_with_status(
        app.get(&t.admin_key, "/api/v1/workflow-runs?kind=self_test")
            .await,
        200,
    )
    .await;
    assert!(listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|r| r["run_id"] == run_id.as_str()));
    json_with_status(
        app.get(&t.admin_key, "/api/v1/workflow-runs?kind=nonsense")
            .await,
        422,
    )
    .await;
    worker.stop();
    app.stop().await;
}

#[tokio::test]
async fn signals_reach_only_the_callers_runs_and_bad_payloads_never_reach_them() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;
    let worker = TestWorker::start(&app);
    let (run_id, _) = start_self_test(
        &app,
        &a.admin_key,
        json!({"steps": 1, "wait_for_note_seconds": 60}),
    )
    .await;
    let signal_path = format!("/api/v1/workflow-runs/{run_id}/signals/note");

    // Another tenant cannot see or signal the run: 404, like an unknown id.
    json_with_status(
        app.get(&b.admin_key, &format!("/api/v1/workflow-runs/{run_id}"))
            .await,
        404,
    )
    .await;
    json_with_status(
        app.post(&b.admin_key, &signal_path, &json!({"text": "from b"}))
            .await,
        404,
    )
    .await;
    // Malformed payloads are 422 and leave the run waiting.
    for bad in [
        json!({"text": 5}),
        json!({"text": ""}),
        json!({"txt": "typo"}),
    ] {
        let problem = json_with_status(app.post(&a.admin_key, &signal_path, &bad).await, 422).await;
        assert!(problem["errors"][0]["field"].is_string(), "{problem}");
    }
    json_with_status(
        app.post(
            &a.admin_key,
            &format!("/api/v1/workflow-runs/{run_id}/signals/unknown"),
            &json!({}),
        )
        .await,
        404,
    )
    .await;
    let running = json_with_status(
        app.get(&a.admin_key, &format!("/api/v1/workflow-runs/{run_id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(running["status"], "running");

    // A valid note is delivered and ends the wait.
    json_with_status(
        app.post(&a.admin_key, &signal_path, &json!({"text": "all good"}))
            .await,
        202,
    )
    .await;
    let run = finished_run(&app, &a.admin_key, &run_id, Duration::from_secs(30)).await;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["result"]["notes"], json!(["all good"]));
    // A finished run takes no more signals.
    json_with_status(
        app.post(&a.admin_key, &signal_path, &json!({"text": "late"}))
            .await,
        409,
    )
    .await;
    worker.stop();
    app.stop().await;
}

#[tokio::test]
async fn self_test_input_is_validated_before_anything_starts() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    for (body, field) in [
        (json!({"steps": 0}), "steps"),
        (json!({"steps": 1001}), "steps"),
        (json!({"pause_ms": 600000}), "pause_ms"),
    ] {
        let problem = json_with_status(
            app.post(&t.admin_key, "/api/v1/self-tests", &body).await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let tech = app
        .user(t.tenant, "tech@acme.example.com", "Technician")
        .await;
    let tech_key = app.api_key(t.tenant, tech).await;
    json_with_status(
        app.post(&tech_key, "/api/v1/self-tests", &quick(1)).await,
        403,
    )
    .await;
    let runs = json_with_status(app.get(&t.admin_key, "/api/v1/workflow-runs").await, 200).await;
    assert_eq!(runs["data"].as_array().expect("data").len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_temporal_cli_lists_keel_runs_with_readable_types_and_ids() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let worker = TestWorker::start(&app);
    let (run_id, workflow_id) = start_self_test(&app, &t.admin_key, quick(1)).await;
    finished_run(&app, &t.admin_key, &run_id, Duration::from_secs(30)).await;
    let address = keel_tests::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233");
    let query = format!("WorkflowId = '{workflow_id}'");
    let list = || {
        let output = std::process::Command::new("temporal")
            .args([
                "workflow",
                "list",
                "--address",
                &address,
                "--query",
                &query,
                "-o",
                "json",
            ])
            .output()
            .expect("the temporal CLI is installed");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json")
    };
    // Temporal's visibility store catches up with the run's completion shortly after.
    let listed =
        keel_tests::eventually(Duration::from_secs(30), || {
            let listed = list();
            async move {
                (listed[0]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED").then_some(listed)
            }
        })
        .await
        .expect("the CLI shows the run completed");
    let run = &listed[0];
    assert_eq!(run["type"]["name"], "SelfTest");
    assert_eq!(run["execution"]["workflowId"], workflow_id.as_str());
    assert_eq!(run["execution"]["runId"], run_id.as_str());
    worker.stop();
    app.stop().await;
}
