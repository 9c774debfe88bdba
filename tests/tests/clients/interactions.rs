use super::{acme, client, events_about, ids, invalid_fields};
use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn interactions_link_client_contact_and_user_and_feed_the_timeline() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key, acme()).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let other_client = client(&app, &t.admin_key, json!({"name": "Other"})).await["id"].clone();
    let contact = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Ann"}),
        )
        .await,
        201,
    )
    .await;
    let older = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/interactions",
            &json!({"client_id": client_id, "contact_id": contact["id"], "kind": "call",
              "subject": "Renewal", "duration_minutes": 15, "occurred_at": "2026-11-01T10:00:00Z"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(older["user_id"], json!(t.admin_id), "the caller by default");
    let newer = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/interactions",
            &json!({"client_id": client_id, "kind": "note", "notes": "Prefers e-mail"}),
        )
        .await,
        201,
    )
    .await;

    let timeline = json_with_status(
        app.get(
            &t.admin_key,
            &format!("/api/v1/clients/{client_id}/timeline?limit=1"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(timeline["data"][0]["entry_id"], newer["id"]);
    let cursor = timeline["next_cursor"].as_str().expect("cursor").to_owned();
    let rest = json_with_status(
        app.get(
            &t.admin_key,
            &format!("/api/v1/clients/{client_id}/timeline?limit=1&cursor={cursor}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["data"][0]["entry_id"], older["id"]);
    assert_eq!(rest["data"][0]["label"], "call");
    assert_eq!(rest["next_cursor"], json!(null));
    assert_eq!(
        app.get(
            &t.admin_key,
            &format!("/api/v1/clients/{client_id}/timeline?cursor=garbage")
        )
        .await
        .status(),
        422
    );

    let listed = json_with_status(
        app.get(
            &t.admin_key,
            &format!("/api/v1/interactions?client_id={client_id}&kind=call"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        ids(&listed),
        vec![older["id"].as_str().expect("id").to_owned()]
    );

    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/interactions",
            &json!({"client_id": other_client, "contact_id": contact["id"], "kind": "call"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["contact_id"], "a contact of another client");
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/interactions",
            &json!({"client_id": client_id, "kind": "site_visit", "duration_minutes": -5}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["duration_minutes"]);
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/interactions",
            &json!({"client_id": client_id, "kind": "site_visit"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["kind"], "an unknown kind");

    // The tenant defines the kind, then it is accepted.
    json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/interaction-kinds",
            &json!({"key": "site_visit", "label": "Site visit"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        app.post(
            &t.admin_key,
            "/api/v1/interaction-kinds",
            &json!({"key": "call", "label": "Call"})
        )
        .await
        .status(),
        409
    );
    let kinds = json_with_status(
        app.get(&t.admin_key, "/api/v1/interaction-kinds").await,
        200,
    )
    .await;
    assert_eq!(kinds["data"].as_array().expect("kinds").len(), 5);
    let visit = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/interactions",
            &json!({"client_id": client_id, "kind": "site_visit"}),
        )
        .await,
        201,
    )
    .await;
    let id = visit["id"].as_str().expect("id");
    let patched = json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/interactions/{id}"),
            &json!({"notes": "Replaced the switch"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["notes"], "Replaced the switch");
    assert_eq!(
        app.delete(&t.admin_key, &format!("/api/v1/interactions/{id}"))
            .await
            .status(),
        204
    );
    let listed = json_with_status(
        app.get(
            &t.admin_key,
            &format!("/api/v1/interactions?client_id={client_id}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&listed).len(), 2, "deleted interactions are not listed");
    assert_eq!(events_about(&app, "interaction.created", id).await, 1);
    assert_eq!(events_about(&app, "interaction.updated", id).await, 1);
    assert_eq!(events_about(&app, "interaction.archived", id).await, 1);
    let other = app.tenant("other").await;
    assert_eq!(
        app.get(&other.admin_key, &format!("/api/v1/interactions/{id}"))
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn an_interaction_links_a_ticket_of_its_own_client_only() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme-links").await;
    let key = &t.admin_key;
    let client_id = client(&app, key, acme()).await["id"].clone();
    let other_client = client(&app, key, json!({"name": "Other"})).await["id"].clone();
    let ticket = |client: &serde_json::Value| {
        let body = json!({"client_id": client, "title": "Printer jam"});
        let app = &app;
        async move { json_with_status(app.post(key, "/api/v1/tickets", &body).await, 201).await }
    };
    let own = ticket(&client_id).await;
    let foreign = ticket(&other_client).await;
    let call = |ticket_id: serde_json::Value| json!({"client_id": client_id, "ticket_id": ticket_id, "kind": "call", "subject": "Called about the jam"});
    let linked = json_with_status(
        app.post(key, "/api/v1/interactions", &call(own["id"].clone()))
            .await,
        201,
    )
    .await;
    assert_eq!(linked["ticket_id"], own["id"], "{linked}");
    for (bad, message) in [
        (foreign["id"].clone(), "belongs to another client"),
        (
            json!("0190d1c2-0000-7000-8000-000000000009"),
            "no such ticket",
        ),
    ] {
        let problem =
            json_with_status(app.post(key, "/api/v1/interactions", &call(bad)).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], "ticket_id", "{problem}");
        assert_eq!(problem["errors"][0]["message"], message, "{problem}");
    }
}
