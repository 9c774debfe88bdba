//! The client, ticket, time and notification actions end to end: a playbook that
//! onboards a client leaves each record exactly once, written by the same domain
//! functions as the REST API (so the audit log shows the run's user), and an
//! action refused for bad input fails its run by naming the field, with nothing of
//! that step written.

use super::{created, ended, playbook, start};
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::{json, Value};

/// The `data` of a list endpoint.
async fn listed(app: &TestApp, key: &str, path: &str) -> Vec<Value> {
    let page = json_with_status(app.get(key, path).await, 200).await;
    page["data"].as_array().expect("data").clone()
}

fn id_of(record: &Value) -> &str {
    record["id"].as_str().expect("id")
}

/// How many audit entries record `action` on `resource_id`.
async fn audited(app: &TestApp, key: &str, action: &str, resource_id: &str) -> usize {
    listed(app, key, "/api/v1/audit-log?limit=200")
        .await
        .iter()
        .filter(|e| e["action"] == action && e["resource_id"] == resource_id)
        .count()
}

const ONBOARDING: &str = r#"
    let c = create_client(#{ name: input.client_name, billing_email: "accounts@acmedental.example" });
    update_client(#{ client_id: c.id, notes: "Onboarded by playbook", tags: ["dental"] });
    let p = create_contact(#{ client_id: c.id, full_name: "Dana Reyes", email: "dana@acmedental.example", role: "Office manager" });
    add_client_note(#{ client_id: c.id, contact_id: p.id, body: "Welcome call booked." });
    let t = create_ticket(#{ title: "Onboard Acme Dental", client_id: c.id });
    assign_ticket(#{ ticket_id: t.id, user_id: input.tech });
    create_time_entry(#{ ticket_id: t.id, work_date: "2026-11-30", minutes: 15, notes: "Kick-off call", billable: false });
    notify_user(#{ user_id: input.tech, title: `${t.number} is yours`, link: `/tickets/${t.id}` });
    let found = find_assets(#{ client_id: input.asset_client, text: "router" });
    update_asset(#{ asset_id: found[0].id, status: "in_repair", notes: "Sent to the vendor." });
    let closed = close_ticket(#{ ticket_id: t.id, comment: "Onboarding done." });
    #{ client: c.id, contact: p.id, ticket: t.id, status: closed.status, assets: found.len() }
"#;

#[tokio::test]
async fn an_onboarding_playbook_writes_each_record_once_through_the_domain_rules() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-actions").await;
    let key = &t.admin_key;
    let tech = app
        .user(t.tenant, "tech@pb-actions.example.com", "Technician")
        .await;
    let tech_key = app.api_key(t.tenant, tech).await;
    let _worker = TestWorker::start(&app);
    let owner = created(&app, key, "/api/v1/clients", json!({"name": "Globex"})).await;
    let asset_body = json!({"client_id": owner["id"], "asset_tag": "NET-001",
                            "name": "Edge router", "kind": "network"});
    let asset = created(&app, key, "/api/v1/assets", asset_body).await;

    let id = playbook(&app, key, "Onboard", ONBOARDING).await;
    let input = json!({"client_name": "Acme Dental", "tech": tech, "asset_client": owner["id"]});
    let run_id = start(&app, key, &id, json!({"input": input})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    let result = &run["result"]["result"];
    assert_eq!(result["status"], "Closed", "{run}");
    assert_eq!(result["assets"], 1, "{run}");

    // The client, changed once, created by the run's user.
    let clients = listed(&app, key, "/api/v1/clients?q=acme%20dental").await;
    assert_eq!(clients.len(), 1, "{clients:?}");
    let client = &clients[0];
    assert_eq!(client["id"], result["client"]);
    assert_eq!(client["billing_email"], "accounts@acmedental.example");
    assert_eq!(client["notes"], "Onboarded by playbook");
    assert_eq!(client["tags"], json!(["dental"]));
    let client_id = id_of(client);
    assert_eq!(audited(&app, key, "client.created", client_id).await, 1);
    assert_eq!(audited(&app, key, "client.updated", client_id).await, 1);

    // Its contact and the note, by the run's user, about that contact.
    let contacts = listed(
        &app,
        key,
        &format!("/api/v1/contacts?client_id={client_id}"),
    )
    .await;
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert_eq!(contacts[0]["email"], "dana@acmedental.example");
    assert_eq!(contacts[0]["role"], "Office manager");
    let path = format!("/api/v1/interactions?client_id={client_id}");
    let notes = listed(&app, key, &path).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["kind"], "note");
    assert_eq!(notes[0]["notes"], "Welcome call booked.");
    assert_eq!(notes[0]["contact_id"], contacts[0]["id"]);
    assert_eq!(notes[0]["user_id"], json!(t.admin_id));

    // The ticket: assigned, commented once, closed.
    let ticket_id = result["ticket"].as_str().expect("ticket id");
    let ticket = json_with_status(
        app.get(key, &format!("/api/v1/tickets/{ticket_id}")).await,
        200,
    )
    .await;
    assert_eq!(ticket["assigned_to"], json!(tech), "{ticket}");
    assert_eq!(ticket["status"], "Closed", "{ticket}");
    assert_eq!(ticket["is_closed"], true, "{ticket}");
    let comments = listed(&app, key, &format!("/api/v1/tickets/{ticket_id}/comments")).await;
    let bodies: Vec<&str> = comments.iter().filter_map(|c| c["body"].as_str()).collect();
    assert_eq!(bodies, vec!["Onboarding done."]);

    // The run's user logged the time, non-billable, against the ticket's client.
    let entries: Vec<Value> = listed(&app, key, "/api/v1/time-entries")
        .await
        .into_iter()
        .filter(|e| e["ticket_id"] == ticket_id)
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["minutes"], 15);
    assert_eq!(entries[0]["billable_minutes"], 0);
    assert_eq!(entries[0]["client_id"], client["id"]);
    assert_eq!(entries[0]["user_id"], json!(t.admin_id));

    // The technician's inbox holds the playbook's notification once.
    let inbox: Vec<Value> = listed(&app, &tech_key, "/api/v1/notifications")
        .await
        .into_iter()
        .filter(|n| n["subtype"] == "playbook")
        .collect();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let number = ticket["number"].as_str().expect("number");
    assert_eq!(inbox[0]["title"], format!("{number} is yours"));
    assert_eq!(inbox[0]["link"], format!("/tickets/{ticket_id}"));

    // The asset changed once, in its history under the run's user.
    let asset_id = id_of(&asset);
    let now = json_with_status(
        app.get(key, &format!("/api/v1/assets/{asset_id}")).await,
        200,
    )
    .await;
    assert_eq!(now["status"], "in_repair", "{now}");
    let history = listed(&app, key, &format!("/api/v1/assets/{asset_id}/history")).await;
    let updates: Vec<&Value> = history
        .iter()
        .filter(|h| h["action"] == "updated")
        .collect();
    assert_eq!(updates.len(), 1, "{history:?}");
    assert_eq!(updates[0]["actor_user_id"], json!(t.admin_id));
}

#[tokio::test]
async fn a_refused_action_fails_the_run_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-refusal").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Initech"})).await;
    let client_id = id_of(&client).to_owned();

    let source = r#"
        add_client_note(#{ client_id: input.client_id, body: "Before the bad contact." });
        create_contact(#{ client_id: input.client_id, full_name: "Bad Address", email: "not-an-address" });
        add_client_note(#{ client_id: input.client_id, body: "Never reached." });
    "#;
    let id = playbook(&app, key, "Bad contact", source).await;
    let run_id = start(&app, key, &id, json!({"input": {"client_id": client_id}})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("create_contact()") && error.contains("email"),
        "{error}"
    );
    let contacts = listed(
        &app,
        key,
        &format!("/api/v1/contacts?client_id={client_id}"),
    )
    .await;
    assert!(contacts.is_empty(), "no contact: {contacts:?}");
    let path = format!("/api/v1/interactions?client_id={client_id}");
    let notes: Vec<Value> = listed(&app, key, &path).await;
    let bodies: Vec<&str> = notes.iter().filter_map(|n| n["notes"].as_str()).collect();
    assert_eq!(
        bodies,
        vec!["Before the bad contact."],
        "earlier steps stay"
    );

    // A refusal after a write inside the same step undoes that write: closing a
    // closed ticket is a conflict, so its comment is not kept either.
    let ticket = created(
        &app,
        key,
        "/api/v1/tickets",
        json!({"title": "Already done", "client_id": client_id}),
    )
    .await;
    let ticket_path = format!("/api/v1/tickets/{}", id_of(&ticket));
    let closed = app
        .patch(key, &ticket_path, &json!({"status": "Closed"}))
        .await;
    json_with_status(closed, 200).await;
    let source = r#"close_ticket(#{ ticket_id: input.ticket_id, comment: "Closing again." })"#;
    let id = playbook(&app, key, "Close twice", source).await;
    let run_id = start(
        &app,
        key,
        &id,
        json!({"input": {"ticket_id": ticket["id"]}}),
    )
    .await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(error.contains("already Closed"), "{error}");
    let comments = listed(&app, key, &format!("{ticket_path}/comments")).await;
    assert!(comments.is_empty(), "no comment: {comments:?}");
}
