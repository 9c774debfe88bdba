//! Playbooks from the UI, as a user's browser drives it: the "Run playbook" form
//! of a ticket's and a client's page starts a manual playbook with the record as
//! its input (and says why when a limit or a permission refuses it), and the
//! limits page saves the tenant's limits or names the field it refuses.

use super::{created, ended, playbook, run_of};
use keel_tests::app::json_with_status;
use keel_tests::browser::{location, Browser};
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::json;

fn id_of(record: &serde_json::Value) -> String {
    record["id"].as_str().expect("id").to_owned()
}

/// The run id a run form redirected to.
fn run_id_of(response: &reqwest::Response) -> String {
    let to = location(response);
    to.strip_prefix("/runs/")
        .unwrap_or_else(|| panic!("redirected to a run page, not {to:?}"))
        .to_owned()
}

#[tokio::test]
async fn the_ticket_and_client_pages_run_a_manual_playbook_with_the_record_as_input() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-ui-run").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Initech"})).await;
    let body = json!({"title": "Printer on fire", "client_id": client["id"]});
    let ticket = created(&app, key, "/api/v1/tickets", body).await;
    let (ticket_id, client_id) = (id_of(&ticket), id_of(&client));
    let source = r#"`${input.ticket_id ?? "-"} ${input.client_id}`"#;
    let echo = playbook(&app, key, "Echo", source).await;
    // Neither an event playbook nor a disabled one is offered (the event is one
    // this test never causes, so no run starts by itself).
    let event = json!({"name": "On ticket", "source": "1",
                       "trigger": {"kind": "event", "event": "client.merged"}});
    created(&app, key, "/api/v1/playbooks", event).await;
    let off = playbook(&app, key, "Switched off", "1").await;
    let path = format!("/api/v1/playbooks/{off}");
    json_with_status(app.patch(key, &path, &json!({"enabled": false})).await, 200).await;

    let browser = Browser::sign_in(&app, &t.slug, &t.admin_email).await;
    let ticket_page = format!("/tickets/{ticket_id}");
    let (status, html) = browser.page(&ticket_page).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!(r#"<option value="{echo}">Echo</option>"#)),
        "{html}"
    );
    assert!(
        !html.contains("On ticket") && !html.contains("Switched off"),
        "{html}"
    );

    let action = format!("{ticket_page}/playbook-runs");
    let started = browser.submit(&action, &[("playbook_id", &echo)]).await;
    assert_eq!(started.status(), 303);
    let run_id = run_id_of(&started);
    let run = run_of(&app, key, &run_id).await;
    assert_eq!(run["input"]["input"]["ticket_id"], ticket_id, "{run}");
    assert_eq!(run["input"]["input"]["client_id"], client_id, "{run}");
    assert_eq!(run["input"]["trigger"], "manual", "{run}");
    assert_eq!(run["input"]["run_as"], t.admin_id.to_string(), "{run}");
    let run = ended(&app, key, &run_id).await;
    assert_eq!(
        run["result"]["result"],
        format!("{ticket_id} {client_id}"),
        "{run}"
    );
    let (status, html) = browser.page(&format!("/runs/{run_id}")).await;
    assert_eq!(status, 200, "the redirect leads to the run's page: {html}");

    let client_page = format!("/clients/{client_id}");
    let (_, html) = browser.page(&client_page).await;
    assert!(html.contains(r#"id="run-playbook""#), "{html}");
    let action = format!("{client_page}/playbook-runs");
    let started = browser.submit(&action, &[("playbook_id", &echo)]).await;
    assert_eq!(started.status(), 303);
    let run = ended(&app, key, &run_id_of(&started)).await;
    assert_eq!(
        run["input"]["input"],
        json!({"client_id": client_id}),
        "{run}"
    );
    assert_eq!(run["result"]["result"], format!("- {client_id}"), "{run}");

    // A disabled playbook, chosen by a stale page, is refused on the page.
    let refused = browser.submit(&action, &[("playbook_id", &off)]).await;
    assert_eq!(refused.status(), 409);
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("The run could not start: the playbook is disabled"),
        "{html}"
    );
    assert!(html.contains("Initech"), "the client's page again: {html}");

    // At the daily limit the ticket page says which limit and how to get past it.
    let limits = json!({"max_concurrent_runs": 5, "max_runs_per_day": 2});
    json_with_status(app.put(key, "/api/v1/playbook-limits", &limits).await, 200).await;
    let action = format!("{ticket_page}/playbook-runs");
    let refused = browser.submit(&action, &[("playbook_id", &echo)]).await;
    assert_eq!(refused.status(), 429);
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("The run could not start: 2 playbook runs started in the last 24 hours")
            && html.contains("raise max_runs_per_day or wait"),
        "{html}"
    );
    assert!(
        html.contains("Printer on fire"),
        "the ticket's page again: {html}"
    );
    assert!(
        html.contains(&format!(r#"<option value="{echo}" selected>"#)),
        "{html}"
    );
    let runs = json_with_status(
        app.get(key, "/api/v1/workflow-runs?kind=playbook_run")
            .await,
        200,
    )
    .await;
    assert_eq!(runs["data"].as_array().map(Vec::len), Some(2), "{runs}");
}

#[tokio::test]
async fn a_run_form_needs_the_playbook_run_permission_and_the_csrf_token() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-ui-deny").await;
    let key = &t.admin_key;
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Globex"})).await;
    let body = json!({"title": "VPN down", "client_id": client["id"]});
    let ticket = created(&app, key, "/api/v1/tickets", body).await;
    let echo = playbook(&app, key, "Echo", "input").await;
    let reader = "reader@pb-ui-deny.example.com";
    app.user(t.tenant, reader, "Read-only").await;

    let browser = Browser::sign_in(&app, &t.slug, reader).await;
    let ticket_page = format!("/tickets/{}", id_of(&ticket));
    let (status, html) = browser.page(&ticket_page).await;
    assert_eq!(status, 200, "{html}");
    assert!(!html.contains("run-playbook"), "no run form: {html}");
    let action = format!("{ticket_page}/playbook-runs");
    let refused = browser.submit(&action, &[("playbook_id", &echo)]).await;
    assert_eq!(refused.status(), 403);
    let html = refused.text().await.expect("html");
    assert!(html.contains("playbook:run"), "{html}");

    let admin = Browser::sign_in(&app, &t.slug, &t.admin_email).await;
    let forged = admin
        .post_raw(&action, &[("playbook_id", &echo), ("csrf_token", "forged")])
        .await;
    assert_eq!(forged.status(), 403);
    let unchosen = admin.submit(&action, &[("playbook_id", "")]).await;
    assert_eq!(unchosen.status(), 422);
    let html = unchosen.text().await.expect("html");
    assert!(
        html.contains(r#"data-field="playbook_id">choose a playbook to run</p>"#),
        "{html}"
    );
    let runs = json_with_status(
        app.get(key, "/api/v1/workflow-runs?kind=playbook_run")
            .await,
        200,
    )
    .await;
    assert_eq!(runs["data"], json!([]), "nothing started: {runs}");
}

#[tokio::test]
async fn the_limits_page_saves_the_limits_or_names_the_refused_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-ui-limits").await;
    let key = &t.admin_key;
    let admin = Browser::sign_in(&app, &t.slug, &t.admin_email).await;
    let (status, html) = admin.page("/playbooks").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"href="/playbooks/limits""#),
        "linked: {html}"
    );
    let (status, html) = admin.page("/playbooks/limits").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<td>25</td><td>0 running</td>"),
        "the defaults: {html}"
    );

    let fields = [("max_concurrent_runs", "3"), ("max_runs_per_day", "40")];
    let saved = admin.submit("/playbooks/limits", &fields).await;
    assert_eq!(saved.status(), 303);
    assert_eq!(location(&saved), "/playbooks/limits?saved=1");
    let wanted = json!({"max_concurrent_runs": 3, "max_runs_per_day": 40});
    let limits = json_with_status(app.get(key, "/api/v1/playbook-limits").await, 200).await;
    assert_eq!(limits, wanted);
    let (_, html) = admin.page("/playbooks/limits?saved=1").await;
    assert!(
        html.contains("Saved.") && html.contains("<td>40</td>"),
        "{html}"
    );

    let cases = [
        (
            "0",
            "40",
            "max_concurrent_runs",
            "must be between 1 and 10000",
        ),
        ("3", "many", "max_runs_per_day", "must be a whole number"),
        (
            "3",
            "2000000",
            "max_runs_per_day",
            "must be between 1 and 1000000",
        ),
    ];
    for (concurrent, daily, field, message) in cases {
        let fields = [
            ("max_concurrent_runs", concurrent),
            ("max_runs_per_day", daily),
        ];
        let refused = admin.submit("/playbooks/limits", &fields).await;
        assert_eq!(refused.status(), 422, "{field}");
        let html = refused.text().await.expect("html");
        let shown = format!(r#"data-field="{field}">{message}</p>"#);
        assert!(html.contains(&shown), "{field}: {html}");
        assert!(
            html.contains(&format!(r#"value="{daily}""#)),
            "kept as typed: {html}"
        );
    }
    let limits = json_with_status(app.get(key, "/api/v1/playbook-limits").await, 200).await;
    assert_eq!(limits, wanted, "nothing refused was saved");

    // A technician reads the limits but cannot change them.
    let tech = "tech@pb-ui-limits.example.com";
    app.user(t.tenant, tech, "Technician").await;
    let technician = Browser::sign_in(&app, &t.slug, tech).await;
    let (status, html) = technician.page("/playbooks/limits").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<td>3</td>") && !html.contains(r#"action="/playbooks/limits""#),
        "{html}"
    );
    let fields = [("max_concurrent_runs", "9"), ("max_runs_per_day", "9")];
    let refused = technician.submit("/playbooks/limits", &fields).await;
    assert_eq!(refused.status(), 403);
    let limits = json_with_status(app.get(key, "/api/v1/playbook-limits").await, 200).await;
    assert_eq!(limits, wanted);
}
