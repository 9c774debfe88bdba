use crate::finished_run;
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_platform_admin_creates_a_tenant_and_onboarding_seeds_it_durably() {
    let app = TestApp::spawn().await;
    let platform = app.tenant("platform").await;
    let worker = TestWorker::start(&app);
    let created = json_with_status(
        app.post(
            &platform.admin_key,
            "/api/v1/tenants",
            &json!({"slug": "new-msp", "name": "New MSP"}),
        )
        .await,
        201,
    )
    .await;
    let tenant =
        engine::TenantId(uuid::Uuid::parse_str(created["id"].as_str().expect("id")).expect("uuid"));
    let run_id = created["onboarding_run_id"]
        .as_str()
        .expect("run")
        .to_owned();

    // The run belongs to the new tenant; wait for it there, then look through its API.
    let run_uuid = uuid::Uuid::parse_str(&run_id).expect("uuid");
    let closed = keel_tests::eventually(Duration::from_secs(30), || async {
        let mut tx = app.pool.tenant_tx(tenant).await.ok()?;
        let found = activities::runs::find_run(&mut tx, run_uuid).await.ok()??;
        tx.commit().await.ok()?;
        (found.0.status != "running").then_some(())
    })
    .await;
    assert!(closed.is_some(), "onboarding finished");
    let admin = app.user(tenant, "admin@new-msp.example.com", "Admin").await;
    let key = app.api_key(tenant, admin).await;
    let run = finished_run(&app, &key, &run_id, Duration::from_secs(30)).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["kind"], "tenant_onboarding");
    let steps: Vec<&str> = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        steps,
        ["seed_access", "seed_sequences", "seed_ticket_defaults"]
    );
    assert!(run["result"]["access_rows"].as_u64().expect("rows") > 5);
    // The platform tenant cannot see the new tenant's run.
    json_with_status(
        app.get(
            &platform.admin_key,
            &format!("/api/v1/workflow-runs/{run_id}"),
        )
        .await,
        404,
    )
    .await;
    // Slugs are unique.
    json_with_status(
        app.post(
            &platform.admin_key,
            "/api/v1/tenants",
            &json!({"slug": "new-msp", "name": "Again"}),
        )
        .await,
        409,
    )
    .await;
    worker.stop();
    app.stop().await;
}

#[tokio::test]
async fn only_platform_admins_create_tenants() {
    let app = TestApp::spawn().await;
    let other = app.tenant("not-platform").await;
    let problem = json_with_status(
        app.post(
            &other.admin_key,
            "/api/v1/tenants",
            &json!({"slug": "x-msp", "name": "X"}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(problem["type"], "/problems/forbidden");
    let platform = app.tenant("platform").await;
    let invalid = json_with_status(
        app.post(
            &platform.admin_key,
            "/api/v1/tenants",
            &json!({"slug": "Bad Slug", "name": ""}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["slug", "name"]);
    assert!(activities::tenants::tenant_by_slug(&app.pool, "x-msp")
        .await
        .expect("lookup")
        .is_none());
    app.stop().await;
}
