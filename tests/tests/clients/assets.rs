use super::{acme, audits_about, client, events_about, ids, invalid_fields};
use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::{json, Value};

async fn asset(app: &TestApp, key: &str, body: Value) -> String {
    json_with_status(app.post(key, "/api/v1/assets", &body).await, 201).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn assets_keep_a_history_of_every_change() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key, acme()).await["id"].clone();
    let created = json_with_status(
        app.post(&t.admin_key, "/api/v1/assets", &json!({"client_id": client_id, "asset_tag": "WS-001", "name": "Reception PC",
              "kind": "workstation", "serial": "SN123", "purchased_on": "2025-01-15", "warranty_expires_on": "2028-01-15"})).await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["status"], "active");
    let patched = json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/assets/{id}"),
            &json!({"status": "in_repair", "serial": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["status"], "in_repair");
    assert_eq!(patched["serial"], json!(null));
    let history = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/assets/{id}/history"))
            .await,
        200,
    )
    .await;
    let entries = history["data"].as_array().expect("history");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["action"], "updated");
    assert_eq!(
        entries[0]["changes"],
        json!({"serial": {"from": "SN123", "to": null}, "status": {"from": "active", "to": "in_repair"}})
    );
    assert_eq!(entries[1]["action"], "created");
    assert_eq!(entries[0]["actor_user_id"], json!(t.admin_id));

    let search = json_with_status(
        app.get(&t.admin_key, "/api/v1/assets?q=reception").await,
        200,
    )
    .await;
    assert_eq!(ids(&search), vec![id.clone()]);
    let by_status = json_with_status(
        app.get(&t.admin_key, "/api/v1/assets?status=active").await,
        200,
    )
    .await;
    assert!(ids(&by_status).is_empty());
    let due = json_with_status(
        app.get(&t.admin_key, "/api/v1/assets?warranty_before=2028-12-31")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&due), vec![id.clone()]);

    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/assets",
            &json!({"client_id": client_id, "asset_tag": "X", "name": "Y",
        "purchased_on": "2026-05-01", "warranty_expires_on": "2026-04-01"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["warranty_expires_on"]);
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/assets",
            &json!({"client_id": client_id, "asset_tag": "X", "name": "Y", "kind": "toaster"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["kind"]);

    assert_eq!(
        app.delete(&t.admin_key, &format!("/api/v1/assets/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/assets/{id}"),
            &json!({"name": "x"})
        )
        .await
        .status(),
        409
    );
    assert_eq!(events_about(&app, "asset.created", &id).await, 1);
    assert_eq!(events_about(&app, "asset.updated", &id).await, 1);
    assert_eq!(events_about(&app, "asset.archived", &id).await, 1);
    assert_eq!(audits_about(&app, "asset.archived", &id).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn asset_tags_are_unique_per_tenant_ignoring_case() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let client_id = client(&app, &t.admin_key, acme()).await["id"].clone();
    let other_client = client(&app, &other.admin_key, acme()).await["id"].clone();
    asset(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "asset_tag": "SRV-1", "name": "DC01"}),
    )
    .await;
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/assets",
            &json!({"client_id": client_id, "asset_tag": "srv-1", "name": "DC02"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["asset_tag"]);
    asset(
        &app,
        &other.admin_key,
        json!({"client_id": other_client, "asset_tag": "SRV-1", "name": "Theirs"}),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_location_must_belong_to_the_assets_client() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let mine = client(&app, &t.admin_key, acme()).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let theirs = client(&app, &t.admin_key, json!({"name": "Other"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let my_site = json_with_status(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{mine}/locations"),
            &json!({"name": "HQ"}),
        )
        .await,
        201,
    )
    .await;
    let their_site = json_with_status(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{theirs}/locations"),
            &json!({"name": "Far"}),
        )
        .await,
        201,
    )
    .await;
    let fields = invalid_fields(app.post(&t.admin_key, "/api/v1/assets", &json!({"client_id": mine, "location_id": their_site["id"], "asset_tag": "P-1", "name": "Printer"})).await).await;
    assert_eq!(fields, vec!["location_id"]);
    let id = asset(&app, &t.admin_key, json!({"client_id": mine, "location_id": my_site["id"], "asset_tag": "P-1", "name": "Printer", "kind": "printer"})).await;
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/assets/{id}"),
            &json!({"location_id": their_site["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["location_id"]);
    // Moving the asset to the other client drops the old client's location.
    let moved = json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/assets/{id}"),
            &json!({"client_id": theirs}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["location_id"], json!(null));
    app.stop().await;
}

#[tokio::test]
async fn relationships_refuse_cycles_and_second_parents() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let c = client(&app, &t.admin_key, acme()).await["id"].clone();
    let host = asset(
        &app,
        &t.admin_key,
        json!({"client_id": c, "asset_tag": "HOST", "name": "Hypervisor", "kind": "server"}),
    )
    .await;
    let vm = asset(
        &app,
        &t.admin_key,
        json!({"client_id": c, "asset_tag": "VM", "name": "VM", "kind": "server"}),
    )
    .await;
    let app_server = asset(
        &app,
        &t.admin_key,
        json!({"client_id": c, "asset_tag": "APP", "name": "App"}),
    )
    .await;
    let switch = asset(
        &app,
        &t.admin_key,
        json!({"client_id": c, "asset_tag": "SW", "name": "Switch", "kind": "network"}),
    )
    .await;
    let rel = |id: &str| format!("/api/v1/assets/{id}/relationships");

    let detail = json_with_status(
        app.post(
            &t.admin_key,
            &rel(&vm),
            &json!({"asset_id": host, "kind": "parent"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        detail["relationships"],
        json!([{"asset_id": host, "kind": "parent"}])
    );
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            &rel(&host),
            &json!({"asset_id": vm, "kind": "parent"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["asset_id"], "a parent cycle");
    assert_eq!(
        app.post(
            &t.admin_key,
            &rel(&vm),
            &json!({"asset_id": switch, "kind": "parent"})
        )
        .await
        .status(),
        409,
        "a second parent"
    );

    // depends_on: APP -> VM -> SW, then SW -> APP would close a cycle.
    json_with_status(
        app.post(
            &t.admin_key,
            &rel(&app_server),
            &json!({"asset_id": vm, "kind": "depends_on"}),
        )
        .await,
        201,
    )
    .await;
    json_with_status(
        app.post(
            &t.admin_key,
            &rel(&vm),
            &json!({"asset_id": switch, "kind": "depends_on"}),
        )
        .await,
        201,
    )
    .await;
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            &rel(&switch),
            &json!({"asset_id": app_server, "kind": "depends_on"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["asset_id"], "a dependency cycle");
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            &rel(&switch),
            &json!({"asset_id": switch, "kind": "depends_on"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["asset_id"], "a self-relationship");

    let seen_from_host = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/assets/{host}"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        seen_from_host["relationships"],
        json!([{"asset_id": vm, "kind": "child"}])
    );
    let removed = app
        .delete(
            &t.admin_key,
            &format!("/api/v1/assets/{vm}/relationships/{host}?kind=parent"),
        )
        .await;
    assert_eq!(removed.status(), 204);
    let again = app
        .delete(
            &t.admin_key,
            &format!("/api/v1/assets/{vm}/relationships/{host}?kind=parent"),
        )
        .await;
    assert_eq!(again.status(), 404);
    let history = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/assets/{vm}/history"))
            .await,
        200,
    )
    .await;
    let actions: Vec<_> = history["data"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect();
    assert_eq!(
        actions,
        vec![
            "relationship_removed",
            "relationship_added",
            "relationship_added",
            "created"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn custom_asset_types_validate_properties_with_their_schema() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let c = client(&app, &t.admin_key, acme()).await["id"].clone();
    let schema = json!({"type": "object", "required": ["capacity_va"],
                        "properties": {"capacity_va": {"type": "integer", "minimum": 100}, "battery_date": {"type": "string"}}});
    json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/asset-types",
            &json!({"key": "ups", "name": "UPS", "field_schema": schema}),
        )
        .await,
        201,
    )
    .await;
    let fields = invalid_fields(app.post(&t.admin_key, "/api/v1/asset-types", &json!({"key": "bad", "name": "Bad", "field_schema": {"type": "object", "minProperties": "x"}})).await).await;
    assert_eq!(fields, vec!["field_schema"]);
    assert_eq!(
        app.post(
            &t.admin_key,
            "/api/v1/asset-types",
            &json!({"key": "server", "name": "Mine"})
        )
        .await
        .status(),
        409
    );

    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/assets",
            &json!({"client_id": c, "asset_tag": "UPS-1", "name": "Rack UPS", "kind": "ups",
        "properties": {"capacity_va": 50}}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["properties.capacity_va"]);
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/assets",
            &json!({"client_id": c, "asset_tag": "UPS-1", "name": "Rack UPS", "kind": "ups"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["properties"], "a required property is missing");
    let id = asset(&app, &t.admin_key, json!({"client_id": c, "asset_tag": "UPS-1", "name": "Rack UPS", "kind": "ups", "properties": {"capacity_va": 1500}})).await;
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/assets/{id}"),
            &json!({"properties": {"capacity_va": "lots"}}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["properties.capacity_va"]);
    let types = json_with_status(app.get(&t.admin_key, "/api/v1/asset-types").await, 200).await;
    assert_eq!(types["data"].as_array().expect("types").len(), 7);
    let renamed = json_with_status(
        app.patch(
            &t.admin_key,
            "/api/v1/asset-types/ups",
            &json!({"name": "Power supply"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["field_schema"], schema);
    assert_eq!(
        app.patch(
            &t.admin_key,
            "/api/v1/asset-types/nope",
            &json!({"name": "X"})
        )
        .await
        .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn warranties_about_to_expire_are_flagged_once_per_expiry_date() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let c = client(&app, &t.admin_key, acme()).await["id"].clone();
    let soon = asset(&app, &t.admin_key, json!({"client_id": c, "asset_tag": "A", "name": "Soon", "warranty_expires_on": "2026-12-10"})).await;
    asset(&app, &t.admin_key, json!({"client_id": c, "asset_tag": "B", "name": "Later", "warranty_expires_on": "2027-06-01"})).await;
    asset(&app, &t.admin_key, json!({"client_id": c, "asset_tag": "C", "name": "Retired", "status": "retired", "warranty_expires_on": "2026-12-05"})).await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
    let flag = || async {
        let mut tx = app.pool.tenant_tx(t.tenant).await.expect("tx");
        let n = activities::assets::flag_expiring_warranties(&mut tx, today, 30)
            .await
            .expect("flag");
        tx.commit().await.expect("commit");
        n
    };
    assert_eq!(flag().await, 1);
    assert_eq!(flag().await, 0, "a second scan does not repeat the notice");
    assert_eq!(
        events_about(&app, "asset.warranty_expiring", &soon).await,
        1
    );
    // A renewed warranty that is again about to expire gets its own notice.
    json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/assets/{soon}"),
            &json!({"warranty_expires_on": "2026-12-20"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(flag().await, 1);
    app.stop().await;
}
