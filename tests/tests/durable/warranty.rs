use activities::temporal::Temporal;
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::json;
use std::time::Duration;

/// A new asset whose warranty ends soon starts the tenant's warranty watch through the
/// event bus; its first scan flags the asset once, and the run shows on the API.
#[tokio::test]
async fn the_first_asset_starts_a_durable_warranty_watch_that_flags_it_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let worker = TestWorker::start(&app);
    let client = json_with_status(
        app.post(&t.admin_key, "/api/v1/clients", &json!({"name": "Acme"}))
            .await,
        201,
    )
    .await;
    let ends = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive();
    let asset = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/assets",
            &json!({"client_id": client["id"], "asset_tag": "SRV-1", "name": "DC01", "kind": "server",
                    "warranty_expires_on": ends.to_string()}),
        )
        .await,
        201,
    )
    .await;
    let scan = keel_tests::eventually(Duration::from_secs(60), || async {
        let runs =
            json_with_status(app.get(&t.admin_key, "/api/v1/workflow-runs").await, 200).await;
        runs["data"]
            .as_array()?
            .iter()
            .find(|r| r["kind"] == "warranty_watch" && r["status"] == "completed")
            .cloned()
    })
    .await
    .expect("a warranty scan completed");
    assert_eq!(scan["result"]["flagged"], 1, "{scan}");
    assert_eq!(
        super_events(&app, asset["id"].as_str().expect("id")).await,
        1,
        "one warranty_expiring event"
    );

    let temporal = Temporal::connect(
        &keel_tests::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        "default",
        &app.task_queue_prefix,
    )
    .await
    .expect("temporal");
    temporal
        .stop_warranty_watch(t.tenant)
        .await
        .expect("the watch was running");
    worker.stop();
    app.stop().await;
}

async fn super_events(app: &TestApp, asset_id: &str) -> i64 {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let mut owner = app.db.owner().await;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM outbox WHERE event_type = 'asset.warranty_expiring' AND envelope->'data'->>'id' = $1",
    )
    .bind::<Text, _>(asset_id)
    .get_result(&mut owner)
    .await
    .expect("count");
    row.count
}
