//! A version's manifest (input schema, required permissions) admits every start:
//! the API's, a parent run's, a webhook's, an event's and a schedule's. A refused
//! start starts nothing, and a start nobody asked for is audited on the playbook.

use super::{created, ended, playbook_runs, start, temporal};
use activities::playbooks::webhooks::sign;
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

const CHECKED: &str = r#"
    let t = create_ticket(#{ title: input.title, client_id: input.client_id });
    #{ days: input.days, title: t.title }
"#;

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

fn start_path(id: &str) -> String {
    format!("/api/v1/playbooks/{id}/runs")
}

/// The first audit entry refusing a run of `playbook` started by `trigger`.
async fn refusal(app: &TestApp, key: &str, playbook: &str, trigger: &str) -> Value {
    keel_tests::eventually(Duration::from_secs(60), || async {
        let log = json_with_status(app.get(key, "/api/v1/audit-log?limit=200").await, 200).await;
        log["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .find(|e| {
                e["action"] == "playbook.run_refused"
                    && e["resource_id"] == playbook
                    && e["details"]["trigger"] == trigger
            })
    })
    .await
    .unwrap_or_else(|| panic!("a refused {trigger} start of {playbook} is audited"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_start_is_admitted_by_the_manifest_of_the_version_it_runs() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-manifest").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let tech = app
        .user(t.tenant, "tech@pb-manifest.example.com", "Technician")
        .await;
    let tech_key = app.api_key(t.tenant, tech).await;
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Acme"})).await;
    let client_id = client["id"].as_str().expect("id");

    // A manifest is checked on save, each problem at its path.
    let bad = json!({"name": "Bad", "source": "1",
        "input_schema": [{"name": "ok", "type": "string"}, {"name": "9lives", "type": "integer"}],
        "permissions": ["ticket:update", "tickets:nuke"]});
    let problem = json_with_status(app.post(key, "/api/v1/playbooks", &bad).await, 422).await;
    assert_eq!(
        fields(&problem),
        ["input_schema[1].name", "permissions[1]"],
        "{problem}"
    );

    let schema = json!([
        {"name": "client_id", "type": "uuid", "required": true},
        {"name": "title", "type": "string", "required": true},
        {"name": "days", "type": "integer", "required": false, "default": 7},
    ]);
    let body = json!({"name": "Checked", "source": CHECKED, "input_schema": schema,
                      "permissions": ["user:update"]});
    let saved = created(&app, key, "/api/v1/playbooks", body).await;
    let id = saved["id"].as_str().expect("id").to_owned();
    assert_eq!(saved["input_schema"], schema);
    assert_eq!(
        saved["required_permissions"],
        json!(["ticket:create", "user:update"]),
        "declared and derived from create_ticket"
    );

    // A technician lacks user:update: refused before anything starts.
    let given = json!({"input": {"client_id": client_id, "title": "Hello"}});
    let problem = json_with_status(app.post(&tech_key, &start_path(&id), &given).await, 403).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("user:update") && !detail.contains("ticket:create"),
        "{problem}"
    );

    // Input that does not fit names every field that does not.
    let wrong = json!({"input": {"client_id": client_id, "days": "seven"}});
    let problem = json_with_status(app.post(key, &start_path(&id), &wrong).await, 422).await;
    assert_eq!(fields(&problem), ["input.title", "input.days"], "{problem}");
    assert!(playbook_runs(&app, key).await.is_empty(), "nothing started");

    // Admitted: the default is filled in before the script sees its input.
    let run_id = start(&app, key, &id, given.clone()).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        run["result"]["result"],
        json!({"days": 7, "title": "Hello"})
    );

    // A new manifest is a new version; each run is checked against the one it pins.
    let path = format!("/api/v1/playbooks/{id}");
    let patched = app.patch(key, &path, &json!({"permissions": []})).await;
    let patched = json_with_status(patched, 200).await;
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["required_permissions"], json!(["ticket:create"]));
    let run_id = start(&app, &tech_key, &id, given.clone()).await;
    assert_eq!(ended(&app, key, &run_id).await["status"], "completed");
    let pinned = json!({"version": 1, "input": given["input"]});
    json_with_status(app.post(&tech_key, &start_path(&id), &pinned).await, 403).await;

    // A parent run's start_playbook goes through the child's manifest too.
    let parent_source = r#"
        let child = start_playbook(#{ playbook: "Checked", input: input.child, wait: true });
        child.result
    "#;
    let parent = created(
        &app,
        key,
        "/api/v1/playbooks",
        json!({"name": "Parent", "source": parent_source}),
    )
    .await;
    let parent_id = parent["id"].as_str().expect("id");
    let refused = start(
        &app,
        key,
        parent_id,
        json!({"input": {"child": {"client_id": client_id}}}),
    )
    .await;
    let run = ended(&app, key, &refused).await;
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(error.contains("input.title is required"), "{run}");
    let child = json!({"child": {"client_id": client_id, "title": "From parent"}});
    let run_id = start(&app, key, parent_id, json!({ "input": child })).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        run["result"]["result"],
        json!({"days": 7, "title": "From parent"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn starts_nobody_asked_for_are_refused_by_the_manifest_and_audited() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-manifest-auto").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let author = app
        .user(t.tenant, "author@pb-manifest-auto.example.com", "Admin")
        .await;
    let author_key = app.api_key(t.tenant, author).await;
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Acme"})).await;

    // A webhook's body must fit the schema: 422 to the sender, audited.
    let hooked = json!({"name": "Alerts", "source": "input.host",
        "trigger": {"kind": "webhook", "hook": "alerts"},
        "input_schema": [{"name": "host", "type": "string", "required": true}]});
    let hooked = created(&app, key, "/api/v1/playbooks", hooked).await;
    let hooked_id = hooked["id"].as_str().expect("id");
    let webhook_path = format!("/api/v1/playbooks/{hooked_id}/webhook");
    let webhook = json_with_status(app.get(key, &webhook_path).await, 200).await;
    let body = json!({"check": "disk"}).to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(
        webhook["secret"].as_str().expect("secret"),
        timestamp,
        body.as_bytes(),
    );
    let response = app
        .http
        .post(app.url(webhook["path"].as_str().expect("path")))
        .header("content-type", "application/json")
        .header("X-Keel-Signature", format!("t={timestamp},v1={signature}"))
        .body(body)
        .send()
        .await
        .expect("webhook request");
    let problem = json_with_status(response, 422).await;
    assert_eq!(fields(&problem), ["input.host"], "{problem}");
    let audited = refusal(&app, key, hooked_id, "webhook").await;
    let reason = audited["details"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("input.host is required"), "{audited}");

    // A schedule starts with no input: a schema that requires some is refused.
    let cron = json!({"kind": "schedule", "cron": "0 3 * * *", "timezone": "UTC"});
    let needs_input = json!({"name": "Nightly", "source": "kv_increment(#{ key: \"n\" })",
        "trigger": cron, "input_schema": [{"name": "days", "type": "integer", "required": true}]});
    let problem = json_with_status(
        app.post(&author_key, "/api/v1/playbooks", &needs_input)
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&problem), ["input_schema"], "{problem}");
    let nightly = json!({"name": "Nightly", "source": "kv_increment(#{ key: \"n\" })",
        "trigger": cron, "input_schema": [{"name": "days", "type": "integer", "default": 3}]});
    let nightly = created(&app, &author_key, "/api/v1/playbooks", nightly).await;
    let nightly_id = nightly["id"].as_str().expect("id");
    let on_ticket = json!({"name": "On ticket", "source": "kv_increment(#{ key: \"t\" })",
        "trigger": {"kind": "event", "event": "ticket.created"}});
    let on_ticket = created(&app, &author_key, "/api/v1/playbooks", on_ticket).await;
    let on_ticket_id = on_ticket["id"].as_str().expect("id");

    // Event and scheduled runs act as their author; once the author is
    // deactivated, each start is refused and audited, and nothing runs.
    let user_path = format!("/api/v1/users/{author}");
    let deactivated = app
        .patch(key, &user_path, &json!({"is_active": false}))
        .await;
    json_with_status(deactivated, 200).await;
    let ticket = json!({"title": "Printer down", "client_id": client["id"]});
    created(&app, key, "/api/v1/tickets", ticket).await;
    let audited = refusal(&app, key, on_ticket_id, "event:ticket.created").await;
    assert_eq!(
        audited["details"]["reason"], "the run's user is deactivated",
        "{audited}"
    );
    let nightly_uuid = nightly_id.parse().expect("uuid");
    temporal(&app)
        .await
        .trigger_playbook_schedule(t.tenant, nightly_uuid)
        .await
        .expect("trigger");
    let audited = refusal(&app, key, nightly_id, "schedule").await;
    let reason = audited["details"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("deactivated"), "{audited}");
    assert!(playbook_runs(&app, key).await.is_empty(), "nothing ran");
}
