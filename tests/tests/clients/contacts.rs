use super::{acme, audits_about, client, events_about, ids, invalid_fields};
use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn contacts_have_typed_emails_and_phones_with_one_primary_each() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key, acme()).await["id"].clone();
    let created = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Ann Smith", "role": "Office manager",
                    "email": "Ann@Acme.test", "phone": "+1 212 555 0100",
                    "emails": [{"address": "ann.home@example.com", "kind": "personal"}]}),
        )
        .await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["email"], "ann@acme.test");
    assert_eq!(created["phone"], "+1 212 555 0100");
    assert_eq!(created["role"], "Office manager");
    let emails = created["emails"].as_array().expect("emails");
    assert_eq!(emails.len(), 2);
    assert_eq!(emails.iter().filter(|e| e["is_primary"] == true).count(), 1);

    // Promote the personal address to primary: the shorthand follows.
    let patched = json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/contacts/{id}"),
            &json!({"email": "ann.home@example.com"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["email"], "ann.home@example.com");
    assert_eq!(patched["emails"].as_array().expect("emails").len(), 2);

    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Bob",
                    "emails": [{"address": "b@x.test", "is_primary": true}, {"address": "c@x.test", "is_primary": true}],
                    "phones": [{"number": "call me"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["emails", "phones[0].number", "phones"]);
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Bob", "email": "bob@"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["email"]);
    assert_eq!(events_about(&app, "contact.created", &id).await, 1);
    assert_eq!(events_about(&app, "contact.updated", &id).await, 1);
    assert_eq!(audits_about(&app, "contact.updated", &id).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_primary_email_is_unique_per_tenant_regardless_of_case_until_archived() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let client_id = client(&app, &t.admin_key, acme()).await["id"].clone();
    let other_client = client(&app, &other.admin_key, acme()).await["id"].clone();
    let first = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Ann", "email": "ann@acme.test"}),
        )
        .await,
        201,
    )
    .await;
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Ann 2", "email": "ANN@acme.test"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["email"]);
    // Another tenant may use the same address.
    json_with_status(
        app.post(
            &other.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": other_client, "full_name": "Ann", "email": "ann@acme.test"}),
        )
        .await,
        201,
    )
    .await;
    // Archiving frees the address.
    let id = first["id"].as_str().expect("id");
    assert_eq!(
        app.delete(&t.admin_key, &format!("/api/v1/contacts/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.delete(&t.admin_key, &format!("/api/v1/contacts/{id}"))
            .await
            .status(),
        204,
        "deleting twice is fine"
    );
    json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Ann again", "email": "ann@acme.test"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(events_about(&app, "contact.archived", id).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn contacts_move_between_clients_and_filter_by_client() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let from = client(&app, &t.admin_key, json!({"name": "From"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let to = client(&app, &t.admin_key, json!({"name": "To"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let contact = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": from, "full_name": "Dana Émile"}),
        )
        .await,
        201,
    )
    .await;
    let id = contact["id"].as_str().expect("id").to_owned();
    let moved = json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/contacts/{id}"),
            &json!({"client_id": to}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["client_id"], json!(to));
    let of_from = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/contacts?client_id={from}"))
            .await,
        200,
    )
    .await;
    assert!(ids(&of_from).is_empty());
    let of_to = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/contacts?client_id={to}"))
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&of_to), vec![id.clone()]);
    let found =
        json_with_status(app.get(&t.admin_key, "/api/v1/contacts?q=emile").await, 200).await;
    assert_eq!(ids(&found), vec![id.clone()]);
    assert_eq!(audits_about(&app, "contact.moved", &id).await, 1);
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/contacts/{id}"),
            &json!({"client_id": uuid::Uuid::now_v7()}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["client_id"]);
    let other = app.tenant("other").await;
    assert_eq!(
        app.get(&other.admin_key, &format!("/api/v1/contacts/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.patch(
            &other.admin_key,
            &format!("/api/v1/contacts/{id}"),
            &json!({"role": "x"})
        )
        .await
        .status(),
        404
    );
    app.stop().await;
}
