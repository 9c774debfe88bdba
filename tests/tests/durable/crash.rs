use crate::{finished_run, start_self_test};
use keel_tests::worker::worker_process;
use keel_tests::TestApp;
use serde_json::json;
use std::time::Duration;

async fn marks(app: &TestApp, tenant: engine::TenantId, workflow_id: &str) -> Vec<i32> {
    let mut tx = app.pool.tenant_tx(tenant).await.expect("tx");
    let marks = activities::self_test::marks_of(&mut tx, workflow_id)
        .await
        .expect("marks");
    tx.commit().await.expect("commit");
    marks
}

#[tokio::test]
async fn a_worker_killed_mid_run_is_replaced_and_every_row_is_written_exactly_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let mut first = worker_process(&app);
    let (run_id, workflow_id) =
        start_self_test(&app, &t.admin_key, json!({"steps": 8, "pause_ms": 300})).await;

    // Let it get part of the way, then kill the worker without warning.
    let partway = keel_tests::eventually(Duration::from_secs(30), || async {
        let written = marks(&app, t.tenant, &workflow_id).await;
        (written.len() >= 2).then_some(written)
    })
    .await
    .expect("the first worker wrote some marks");
    first.signal_and_wait(libc::SIGKILL);
    let at_kill = marks(&app, t.tenant, &workflow_id).await;
    assert!(
        at_kill.len() < 8,
        "the run must still be in progress when the worker dies ({partway:?})"
    );

    let mut second = worker_process(&app);
    let run = finished_run(&app, &t.admin_key, &run_id, Duration::from_secs(60)).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        marks(&app, t.tenant, &workflow_id).await,
        (1..=8).collect::<Vec<i32>>(),
        "each step wrote exactly one row"
    );
    second.signal_and_wait(libc::SIGTERM);
    app.stop().await;
}
