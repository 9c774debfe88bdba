//! The durable engine against real Postgres, Redis and a Temporal dev server:
//! workflows, workers (in process and as killable processes), runs and signals.

mod crash;
mod histories;
mod onboarding;
mod runs;
mod warranty;

use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

/// Starts a self test through the API; answers (run_id, workflow_id).
pub async fn start_self_test(app: &TestApp, key: &str, body: Value) -> (String, String) {
    let started = json_with_status(app.post(key, "/api/v1/self-tests", &body).await, 201).await;
    (
        started["run_id"].as_str().expect("run_id").to_owned(),
        started["workflow_id"]
            .as_str()
            .expect("workflow_id")
            .to_owned(),
    )
}

/// Polls the run until it is no longer running; answers its body.
pub async fn finished_run(app: &TestApp, key: &str, run_id: &str, limit: Duration) -> Value {
    keel_tests::eventually(limit, || async {
        let run = json_with_status(
            app.get(key, &format!("/api/v1/workflow-runs/{run_id}"))
                .await,
            200,
        )
        .await;
        (run["status"] != "running").then_some(run)
    })
    .await
    .unwrap_or_else(|| panic!("run {run_id} did not finish within {limit:?}"))
}

/// A body for a quick self test.
pub fn quick(steps: u32) -> Value {
    json!({ "steps": steps, "pause_ms": 0 })
}
