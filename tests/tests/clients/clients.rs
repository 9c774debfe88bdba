use super::{acme, audits_about, client, events_about, ids, invalid_fields};
use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_client_is_created_read_patched_and_archived_with_audit_and_events() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let created = client(
        &app,
        &t.admin_key,
        json!({"name": "  Acme Corp ", "billing_email": "Billing@Acme.test", "currency": "eur",
               "tax_region": "US-NY", "tags": ["VIP", "vip", "Managed"], "properties": {"segment": "dental"}}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["name"], "Acme Corp");
    assert_eq!(created["billing_email"], "billing@acme.test");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["payment_terms"], "net_30");
    assert_eq!(created["billing_cycle"], "monthly");
    assert_eq!(created["tags"], json!(["vip", "managed"]));
    assert_eq!(created["is_inactive"], false);

    let fetched = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/clients/{id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(fetched, created);

    // PATCH: absent fields stay, null clears, values replace.
    let patched = json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/clients/{id}"),
            &json!({"tax_region": null, "payment_terms": "net_15", "is_inactive": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["tax_region"], json!(null));
    assert_eq!(patched["payment_terms"], "net_15");
    assert_eq!(patched["is_inactive"], true);
    assert_eq!(patched["name"], "Acme Corp");
    assert_eq!(patched["tags"], json!(["vip", "managed"]));

    // A required field cannot be nulled; an unknown field is refused.
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/clients/{id}"),
            &json!({"name": null}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["name"]);
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/clients/{id}"),
            &json!({"colour": "red"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["colour"]);

    let deleted = app
        .delete(&t.admin_key, &format!("/api/v1/clients/{id}"))
        .await;
    assert_eq!(deleted.status(), 204);
    let archived = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/clients/{id}"))
            .await,
        200,
    )
    .await;
    assert!(archived["archived_at"].is_string());
    let list = json_with_status(app.get(&t.admin_key, "/api/v1/clients").await, 200).await;
    assert!(
        ids(&list).is_empty(),
        "archived clients are not listed: {list}"
    );
    let list = json_with_status(
        app.get(&t.admin_key, "/api/v1/clients?include_archived=true")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&list), vec![id.clone()]);
    let refused = app
        .patch(
            &t.admin_key,
            &format!("/api/v1/clients/{id}"),
            &json!({"notes": "x"}),
        )
        .await;
    assert_eq!(refused.status(), 409);

    assert_eq!(events_about(&app, "client.created", &id).await, 1);
    assert_eq!(events_about(&app, "client.updated", &id).await, 1);
    assert_eq!(events_about(&app, "client.archived", &id).await, 1);
    assert_eq!(audits_about(&app, "client.created", &id).await, 1);
    assert_eq!(audits_about(&app, "client.updated", &id).await, 1);
    assert_eq!(audits_about(&app, "client.archived", &id).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn bad_client_fields_are_all_named() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let response = app
        .post(
            &t.admin_key,
            "/api/v1/clients",
            &json!({"name": "", "billing_email": "not-an-email", "currency": "QQQ",
                    "is_tax_exempt": true, "billing_anchor_day": 31, "properties": [1]}),
        )
        .await;
    let fields = invalid_fields(response).await;
    assert_eq!(
        fields,
        vec![
            "name",
            "billing_email",
            "currency",
            "tax_exempt_certificate",
            "billing_anchor_day",
            "properties"
        ]
    );
    let unknown_terms = app
        .post(
            &t.admin_key,
            "/api/v1/clients",
            &json!({"name": "A", "payment_terms": "net_31"}),
        )
        .await;
    assert_eq!(invalid_fields(unknown_terms).await, vec!["payment_terms"]);
    // Nothing was stored.
    let list = json_with_status(app.get(&t.admin_key, "/api/v1/clients").await, 200).await;
    assert!(ids(&list).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn lists_paginate_filter_and_search_without_case_or_accents() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let mut created = Vec::new();
    for name in [
        "Zürich Dental",
        "Acme Corp",
        "Globex",
        "Initech",
        "Crème Brûlée Bakery",
    ] {
        let body = json!({"name": name, "client_type": if name == "Globex" { "individual" } else { "company" }, "tags": if name == "Initech" { json!(["vip"]) } else { json!([]) }});
        created.push(
            client(&app, &t.admin_key, body).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    // Newest first, two per page, cursors chain to the end.
    let mut seen = Vec::new();
    let mut path = "/api/v1/clients?limit=2".to_owned();
    loop {
        let page = json_with_status(app.get(&t.admin_key, &path).await, 200).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/clients?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let search = |q: &str| format!("/api/v1/clients?q={q}");
    let found = json_with_status(app.get(&t.admin_key, &search("zurich")).await, 200).await;
    assert_eq!(ids(&found), vec![created[0].clone()]);
    let found = json_with_status(app.get(&t.admin_key, &search("BRULEE")).await, 200).await;
    assert_eq!(ids(&found), vec![created[4].clone()]);
    let found = json_with_status(app.get(&t.admin_key, &search("%25")).await, 200).await;
    assert!(ids(&found).is_empty(), "% is literal, not a wildcard");
    let typed = json_with_status(
        app.get(&t.admin_key, "/api/v1/clients?client_type=individual")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&typed), vec![created[2].clone()]);
    let tagged =
        json_with_status(app.get(&t.admin_key, "/api/v1/clients?tag=VIP").await, 200).await;
    assert_eq!(ids(&tagged), vec![created[3].clone()]);

    for bad in ["limit=0", "limit=201", "cursor=nope"] {
        let response = app
            .get(&t.admin_key, &format!("/api/v1/clients?{bad}"))
            .await;
        assert_eq!(response.status(), 422, "{bad}");
    }
    let response = app
        .get(&t.admin_key, "/api/v1/clients?client_type=alien")
        .await;
    assert_eq!(response.status(), 400);
    let response = app.get(&t.admin_key, "/api/v1/clients?q=a%00b").await;
    assert_eq!(response.status(), 422);
    app.stop().await;
}

#[tokio::test]
async fn another_tenants_client_is_not_found_anywhere() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;
    let theirs = client(&app, &b.admin_key, acme()).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/clients/{theirs}");
    assert_eq!(app.get(&a.admin_key, &path).await.status(), 404);
    assert_eq!(
        app.patch(&a.admin_key, &path, &json!({"notes": "x"}))
            .await
            .status(),
        404
    );
    assert_eq!(app.delete(&a.admin_key, &path).await.status(), 404);
    assert_eq!(
        app.get(&a.admin_key, &format!("{path}/timeline"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&a.admin_key, &format!("{path}/locations"))
            .await
            .status(),
        404
    );
    // Nor can it be referenced: as a parent, or by a contact.
    let fields = invalid_fields(
        app.post(
            &a.admin_key,
            "/api/v1/clients",
            &json!({"name": "X", "parent_id": theirs}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["parent_id"]);
    let fields = invalid_fields(
        app.post(
            &a.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": theirs, "full_name": "Eve"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["client_id"]);
    let list = json_with_status(app.get(&a.admin_key, "/api/v1/clients").await, 200).await;
    assert!(ids(&list).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn read_only_users_can_list_but_not_write() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let reader = app
        .user(t.tenant, "reader@acme.example.com", "Read-only")
        .await;
    let key = app.api_key(t.tenant, reader).await;
    assert_eq!(app.get(&key, "/api/v1/clients").await.status(), 200);
    let problem = json_with_status(app.post(&key, "/api/v1/clients", &acme()).await, 403).await;
    assert!(problem["detail"]
        .as_str()
        .expect("detail")
        .contains("client:write"));
    app.stop().await;
}

#[tokio::test]
async fn parents_cannot_form_cycles_and_parents_with_children_cannot_be_archived() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let parent = client(&app, &t.admin_key, json!({"name": "Holding"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let child = client(
        &app,
        &t.admin_key,
        json!({"name": "Branch", "parent_id": parent}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/clients/{parent}"),
            &json!({"parent_id": child}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["parent_id"]);
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/clients/{parent}"),
            &json!({"parent_id": parent}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["parent_id"]);
    assert_eq!(
        app.delete(&t.admin_key, &format!("/api/v1/clients/{parent}"))
            .await
            .status(),
        409
    );
    let children = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/clients?parent_id={parent}"))
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&children), vec![child]);
    app.stop().await;
}

#[tokio::test]
async fn locations_keep_one_default_and_one_billing_address() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let id = client(&app, &t.admin_key, acme()).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/clients/{id}/locations");
    let first = json_with_status(
        app.post(&t.admin_key, &path, &json!({"name": "HQ", "country": "us"}))
            .await,
        201,
    )
    .await;
    assert_eq!(
        first["is_default"], true,
        "the first location is the default"
    );
    assert_eq!(first["country"], "US");
    let second = json_with_status(
        app.post(
            &t.admin_key,
            &path,
            &json!({"name": "Branch", "is_default": true, "is_billing": true}),
        )
        .await,
        201,
    )
    .await;
    let list = json_with_status(app.get(&t.admin_key, &path).await, 200).await;
    let defaults: Vec<_> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|l| l["is_default"] == true)
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(defaults, vec![second["id"].clone()]);
    let fields = invalid_fields(
        app.post(&t.admin_key, &path, &json!({"name": "X", "country": "USA"}))
            .await,
    )
    .await;
    assert_eq!(fields, vec!["country"]);
    let location_path = format!("{path}/{}", first["id"].as_str().expect("id"));
    let renamed = json_with_status(
        app.patch(&t.admin_key, &location_path, &json!({"city": "Albany"}))
            .await,
        200,
    )
    .await;
    assert_eq!(renamed["city"], "Albany");
    assert_eq!(renamed["name"], "HQ");
    assert_eq!(app.delete(&t.admin_key, &location_path).await.status(), 204);
    let list = json_with_status(app.get(&t.admin_key, &path).await, 200).await;
    assert_eq!(list["data"].as_array().expect("data").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn merging_moves_everything_and_archives_the_duplicate() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let keep = client(&app, &t.admin_key, json!({"name": "Acme"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let dup = client(&app, &t.admin_key, json!({"name": "ACME Inc (dup)"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let location = json_with_status(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{dup}/locations"),
            &json!({"name": "Old office"}),
        )
        .await,
        201,
    )
    .await;
    let contact = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": dup, "full_name": "Ann", "email": "ann@acme.test"}),
        )
        .await,
        201,
    )
    .await;
    let placed = json_with_status(app.post(&t.admin_key, "/api/v1/assets", &json!({"client_id": dup, "location_id": location["id"], "asset_tag": "A-1", "name": "Laptop"})).await, 201).await;
    let loose = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/assets",
            &json!({"client_id": dup, "asset_tag": "A-2", "name": "Phone", "kind": "mobile"}),
        )
        .await,
        201,
    )
    .await;
    json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/interactions",
            &json!({"client_id": dup, "kind": "call", "subject": "Intro"}),
        )
        .await,
        201,
    )
    .await;
    let ticket = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/tickets",
            &json!({"client_id": dup, "title": "Old ticket"}),
        )
        .await,
        201,
    )
    .await;
    let eur = client(
        &app,
        &t.admin_key,
        json!({"name": "Euro", "currency": "EUR"}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{dup}/merge"),
            &json!({"target_id": eur}),
        )
        .await,
    )
    .await;
    assert_eq!(
        fields,
        vec!["target_id"],
        "different currencies do not merge"
    );
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{dup}/merge"),
            &json!({"target_id": dup}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["target_id"]);

    let summary = json_with_status(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{dup}/merge"),
            &json!({"target_id": keep}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(summary["contacts"], 1);
    assert_eq!(summary["assets"], 2);
    assert_eq!(summary["locations"], 1);
    assert_eq!(summary["interactions"], 1);
    assert_eq!(summary["tickets"], 1);
    let moved = json_with_status(
        app.get(
            &t.admin_key,
            &format!("/api/v1/tickets/{}", ticket["id"].as_str().expect("id")),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["client_id"], json!(keep), "tickets moved");
    let merged = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/clients/{dup}"))
            .await,
        200,
    )
    .await;
    assert_eq!(merged["merged_into"], json!(keep));
    assert!(merged["archived_at"].is_string());
    for (path, id) in [
        ("contacts", &contact["id"]),
        ("assets", &placed["id"]),
        ("assets", &loose["id"]),
    ] {
        let record = json_with_status(
            app.get(
                &t.admin_key,
                &format!("/api/v1/{path}/{}", id.as_str().expect("id")),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(record["client_id"], json!(keep), "{path} moved");
    }
    let placed_now = json_with_status(
        app.get(
            &t.admin_key,
            &format!("/api/v1/assets/{}", placed["id"].as_str().expect("id")),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        placed_now["location_id"], location["id"],
        "the asset stays at its (moved) location"
    );
    let timeline = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/clients/{keep}/timeline"))
            .await,
        200,
    )
    .await;
    let titles: Vec<&str> = timeline["data"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["title"].as_str())
        .collect();
    assert_eq!(
        titles,
        vec!["T-000001 Old ticket", "Intro"],
        "tickets and interactions, newest first"
    );
    assert_eq!(events_about(&app, "client.merged", &dup).await, 1);
    assert_eq!(audits_about(&app, "client.merged", &dup).await, 1);
    // Merging an archived client again is a conflict.
    assert_eq!(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{dup}/merge"),
            &json!({"target_id": keep})
        )
        .await
        .status(),
        409
    );
    app.stop().await;
}
