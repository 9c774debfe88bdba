//! Playbooks end to end: API → Temporal → worker → Postgres. Saving compiles (a
//! compile error is a 422 with line and column), a dry run records what it would
//! do and changes nothing, a hostile script fails its run and leaves the worker
//! healthy, and a run that creates a ticket, sleeps, waits for an approval and
//! comments survives its worker being killed during the sleep and during the wait
//! with exactly one ticket and one comment.

mod actions;
mod children;
mod email;
mod http;
mod long_runs;
mod manifest;
mod ui;
mod waits;
mod webhooks;

use keel_tests::app::json_with_status;
use keel_tests::worker::{worker_process, TestWorker};
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

async fn created(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    json_with_status(app.post(key, path, &body).await, 201).await
}

async fn playbook(app: &TestApp, key: &str, name: &str, source: &str) -> String {
    let body = json!({"name": name, "source": source});
    let saved = created(app, key, "/api/v1/playbooks", body).await;
    saved["id"].as_str().expect("id").to_owned()
}

async fn start(app: &TestApp, key: &str, playbook: &str, body: Value) -> String {
    let path = format!("/api/v1/playbooks/{playbook}/runs");
    let started = json_with_status(app.post(key, &path, &body).await, 202).await;
    started["run_id"].as_str().expect("run id").to_owned()
}

async fn run_of(app: &TestApp, key: &str, run_id: &str) -> Value {
    let path = format!("/api/v1/workflow-runs/{run_id}");
    json_with_status(app.get(key, &path).await, 200).await
}

/// The run once it has ended.
async fn ended(app: &TestApp, key: &str, run_id: &str) -> Value {
    keel_tests::eventually(Duration::from_secs(120), || async {
        let run = run_of(app, key, run_id).await;
        (run["status"] != "running").then_some(run)
    })
    .await
    .expect("the run ended")
}

/// The run once a step named `step` is recorded.
async fn reached(app: &TestApp, key: &str, run_id: &str, step: &str) -> Value {
    keel_tests::eventually(Duration::from_secs(120), || async {
        let run = run_of(app, key, run_id).await;
        let steps = run["steps"].as_array().cloned().unwrap_or_default();
        steps.iter().any(|s| s["name"] == step).then_some(run)
    })
    .await
    .unwrap_or_else(|| panic!("the run reached {step}"))
}

fn step_names(run: &Value) -> Vec<String> {
    let mut names: Vec<String> = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .filter(|n| !n.starts_with("runs."))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

async fn tickets_titled(app: &TestApp, key: &str, title: &str) -> Vec<Value> {
    let page = json_with_status(app.get(key, "/api/v1/tickets?limit=200").await, 200).await;
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|t| t["title"] == title)
        .cloned()
        .collect()
}

#[tokio::test]
async fn saving_compiles_and_reports_line_and_column() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-compile").await;
    let key = &t.admin_key;
    let broken = json!({"name": "Broken", "source": "let a = 1;\nlet b = (a + ;\n"});
    let problem = json_with_status(app.post(key, "/api/v1/playbooks", &broken).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "source");
    assert_eq!(problem["errors"][0]["line"], 2, "{problem}");
    assert!(problem["errors"][0]["column"].as_u64().unwrap_or(0) > 0);
    let unknown = json!({"name": "Unknown", "source": "create_tiket(#{ title: \"x\" });"});
    let problem = json_with_status(app.post(key, "/api/v1/playbooks", &unknown).await, 422).await;
    let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("create_tiket"), "{problem}");
    let listed = json_with_status(app.get(key, "/api/v1/playbooks").await, 200).await;
    assert_eq!(listed["data"], json!([]), "nothing refused was saved");

    let id = playbook(&app, key, "Nudge", "print(\"v1\");").await;
    let path = format!("/api/v1/playbooks/{id}");
    let patched = json_with_status(
        app.patch(key, &path, &json!({"source": "print(\"v2\");"}))
            .await,
        200,
    )
    .await;
    assert_eq!(patched["version"], 2);
    let bad_patch = app.patch(key, &path, &json!({"source": "sleep("})).await;
    json_with_status(bad_patch, 422).await;
    let versions = json_with_status(app.get(key, &format!("{path}/versions")).await, 200).await;
    let numbers: Vec<u64> = versions
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["version"].as_u64())
        .collect();
    assert_eq!(numbers, vec![2, 1], "versions are kept, newest first");
    let duplicate = json!({"name": "nudge", "source": "1"});
    json_with_status(app.post(key, "/api/v1/playbooks", &duplicate).await, 422).await;
    let catalogue = json_with_status(app.get(key, "/api/v1/playbook-actions").await, 200).await;
    let names: Vec<&str> = catalogue["data"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(names.contains(&"create_ticket") && names.contains(&"kv_increment"));
}

#[tokio::test]
async fn a_dry_run_records_its_actions_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-dry").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let source = r#"
        let t = create_ticket(#{ title: "Dry ticket", client_id: input.client_id });
        let n = kv_increment(#{ key: "dry-counter" });
        `${t.number} ${n}`
    "#;
    let id = playbook(&app, key, "Dry", source).await;
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Initech"})).await;
    let body = json!({
        "input": {"client_id": client["id"]},
        "dry_run": true,
        "fixtures": {"create_ticket": {"id": "0190d1c2-0000-7000-8000-000000000001", "number": "T-DRY"}},
    });
    let run_id = start(&app, key, &id, body).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["result"]["result"], "T-DRY 1", "fixtures answer: {run}");
    assert_eq!(run["result"]["dry_run"], true);
    assert_eq!(
        step_names(&run),
        vec!["001-create_ticket", "002-kv_increment"]
    );
    let create = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "001-create_ticket")
        .expect("create step")
        .clone();
    assert_eq!(create["input"]["args"]["title"], "Dry ticket", "{create}");
    assert!(tickets_titled(&app, key, "Dry ticket").await.is_empty());
    // The counter was never touched: a real run starts it at 1.
    let counter = playbook(
        &app,
        key,
        "Count",
        "kv_increment(#{ key: \"dry-counter\" })",
    )
    .await;
    let real = start(&app, key, &counter, json!({})).await;
    let run = ended(&app, key, &real).await;
    assert_eq!(run["result"]["result"], 1, "{run}");
}

/// The tenant's playbook runs, newest first.
/// A Temporal client on the test's task queues.
async fn temporal(app: &TestApp) -> activities::temporal::Temporal {
    activities::temporal::Temporal::connect(
        &keel_tests::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        "default",
        &app.task_queue_prefix,
    )
    .await
    .expect("temporal")
}

async fn playbook_runs(app: &TestApp, key: &str) -> Vec<Value> {
    let path = "/api/v1/workflow-runs?kind=playbook_run&limit=200";
    let page = json_with_status(app.get(key, path).await, 200).await;
    page["data"].as_array().expect("data").clone()
}

async fn comments_of(app: &TestApp, key: &str, ticket: &Value) -> Vec<String> {
    let path = format!(
        "/api/v1/tickets/{}/comments",
        ticket["id"].as_str().expect("id")
    );
    let page = json_with_status(app.get(key, &path).await, 200).await;
    let list = page["data"].as_array().or(page.as_array()).cloned();
    list.unwrap_or_default()
        .iter()
        .filter_map(|c| c["body"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_event_starts_each_playbook_whose_trigger_accepts_it_within_the_limits() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-event").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let watched = created(&app, key, "/api/v1/clients", json!({"name": "Watched"})).await;
    let other = created(&app, key, "/api/v1/clients", json!({"name": "Other"})).await;
    let filter = format!(
        r#"event.data.client_id == "{}""#,
        watched["id"].as_str().expect("id")
    );
    let source = r#"
        let ticket = input.event.data;
        add_comment(#{ ticket_id: ticket.id, body: `Triaged ${ticket.number}` });
        ticket.number
    "#;
    let trigger = json!({"kind": "event", "event": "ticket.created", "filter": filter});
    let body = json!({"name": "Triage", "source": source, "trigger": trigger});
    let saved = created(&app, key, "/api/v1/playbooks", body).await;
    assert_eq!(saved["trigger"], trigger, "{saved}");

    // A trigger naming no event type, or a filter that does not compile, is refused.
    for (bad, expected) in [
        (
            json!({"kind": "event", "event": "ticket.exploded"}),
            "not an event type",
        ),
        (
            json!({"kind": "event", "event": "ticket.created", "filter": "event.data =="}),
            "filter 1:",
        ),
    ] {
        let body = json!({"name": "Broken", "source": "1", "trigger": bad});
        let problem = json_with_status(app.post(key, "/api/v1/playbooks", &body).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], "trigger", "{problem}");
        let message = problem["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(expected), "{message}");
    }

    // The other client's ticket comes first on the same stream, so once the
    // watched ticket's run exists the other event was already passed over.
    let ignored = created(
        &app,
        key,
        "/api/v1/tickets",
        json!({"title": "Printer", "client_id": other["id"]}),
    )
    .await;
    let ticket = created(
        &app,
        key,
        "/api/v1/tickets",
        json!({"title": "Server down", "client_id": watched["id"]}),
    )
    .await;
    let number = ticket["number"].as_str().expect("number").to_owned();
    let triaged = format!("Triaged {number}");
    keel_tests::eventually(Duration::from_secs(60), || async {
        comments_of(&app, key, &ticket)
            .await
            .contains(&triaged)
            .then_some(())
    })
    .await
    .expect("the playbook commented on the watched ticket");
    let runs = playbook_runs(&app, key).await;
    assert_eq!(
        runs.len(),
        1,
        "one run, for the watched ticket only: {runs:?}"
    );
    let run = ended(&app, key, runs[0]["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["input"]["trigger"], "event:ticket.created", "{run}");
    assert_eq!(run["result"]["result"], number, "{run}");
    assert!(comments_of(&app, key, &ignored).await.is_empty());

    // Limits: bad values are refused by field; at the daily limit a manual start is
    // a 429 saying which limit, and an event start is skipped and audited.
    let bad = json!({"max_concurrent_runs": 0, "max_runs_per_day": 5});
    let problem = json_with_status(app.put(key, "/api/v1/playbook-limits", &bad).await, 422).await;
    assert_eq!(
        problem["errors"][0]["field"], "max_concurrent_runs",
        "{problem}"
    );
    let limits = json!({"max_concurrent_runs": 5, "max_runs_per_day": 1});
    let set = json_with_status(app.put(key, "/api/v1/playbook-limits", &limits).await, 200).await;
    assert_eq!(set, limits);
    let read = json_with_status(app.get(key, "/api/v1/playbook-limits").await, 200).await;
    assert_eq!(read, limits);
    let path = format!(
        "/api/v1/playbooks/{}/runs",
        saved["id"].as_str().expect("id")
    );
    let body = json!({"input": {}, "dry_run": true});
    let problem = json_with_status(app.post(key, &path, &body).await, 429).await;
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("max_runs_per_day") && detail.contains("limit is 1"),
        "{detail}"
    );
    let again = created(
        &app,
        key,
        "/api/v1/tickets",
        json!({"title": "Disk full", "client_id": watched["id"]}),
    )
    .await;
    let refusal = keel_tests::eventually(Duration::from_secs(60), || async {
        let log = json_with_status(app.get(key, "/api/v1/audit-log?limit=200").await, 200).await;
        log["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|e| e["action"] == "playbook.run_refused")
            .cloned()
    })
    .await
    .expect("the refused start is audited");
    assert_eq!(refusal["resource_id"], saved["id"], "{refusal}");
    assert_eq!(
        refusal["details"]["trigger"], "event:ticket.created",
        "{refusal}"
    );
    assert_eq!(playbook_runs(&app, key).await.len(), 1);
    assert!(comments_of(&app, key, &again).await.is_empty());
}

#[tokio::test]
async fn a_schedule_trigger_keeps_one_temporal_schedule_running_the_current_version() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-schedule").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let temporal = activities::temporal::Temporal::connect(
        &keel_tests::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        "default",
        &app.task_queue_prefix,
    )
    .await
    .expect("temporal");

    let bad = json!({"kind": "schedule", "cron": "61 * * * *"});
    let body = json!({"name": "Nightly", "source": "1", "trigger": bad});
    let problem = json_with_status(app.post(key, "/api/v1/playbooks", &body).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "trigger", "{problem}");
    assert_eq!(
        problem["errors"][0]["message"],
        "cron minute: 61 is outside 0-59"
    );

    let trigger = json!({"kind": "schedule", "cron": "0 3 * * *", "timezone": "Europe/Paris"});
    let body = json!({"name": "Nightly", "source": r#"kv_increment(#{ key: "ticks" })"#, "trigger": trigger});
    let saved = created(&app, key, "/api/v1/playbooks", body).await;
    let id = saved["id"].as_str().expect("id").to_owned();
    let playbook: uuid::Uuid = id.parse().expect("uuid");
    let tenant = t.tenant;
    assert_eq!(
        temporal
            .playbook_schedule(tenant, playbook)
            .await
            .expect("describe"),
        Some("Europe/Paris".to_owned())
    );

    // Fired now, as at 03:00: one run of version 1, as the author.
    temporal
        .trigger_playbook_schedule(tenant, playbook)
        .await
        .expect("trigger");
    let first = keel_tests::eventually(Duration::from_secs(60), || async {
        let runs = playbook_runs(&app, key).await;
        runs.into_iter().find(|r| r["status"] == "completed")
    })
    .await
    .expect("the scheduled run completed");
    let run = run_of(&app, key, first["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["input"]["trigger"], "schedule", "{run}");
    assert_eq!(run["input"]["version"], 1, "{run}");
    assert_eq!(run["input"]["run_as"], t.admin_id.to_string(), "{run}");
    assert_eq!(run["result"]["result"], 1, "{run}");

    // A new version replaces the schedule's input: the next run takes it.
    let patch = json!({"source": r#"kv_increment(#{ key: "ticks", by: 10 })"#});
    let path = format!("/api/v1/playbooks/{id}");
    let updated = json_with_status(app.patch(key, &path, &patch).await, 200).await;
    assert_eq!(updated["version"], 2);
    temporal
        .trigger_playbook_schedule(tenant, playbook)
        .await
        .expect("trigger");
    let second = keel_tests::eventually(Duration::from_secs(60), || async {
        let runs = playbook_runs(&app, key).await;
        let done: Vec<Value> = runs
            .into_iter()
            .filter(|r| r["status"] == "completed")
            .collect();
        (done.len() == 2).then(|| done[0].clone())
    })
    .await
    .expect("the second scheduled run completed");
    let run = run_of(&app, key, second["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["input"]["version"], 2, "{run}");
    assert_eq!(run["result"]["result"], 11, "{run}");

    // Disabled, or made manual, the playbook has no schedule.
    let off = json_with_status(app.patch(key, &path, &json!({"enabled": false})).await, 200).await;
    assert_eq!(off["enabled"], false);
    assert_eq!(
        temporal
            .playbook_schedule(tenant, playbook)
            .await
            .expect("describe"),
        None
    );
    let on = json!({"enabled": true});
    json_with_status(app.patch(key, &path, &on).await, 200).await;
    assert!(temporal
        .playbook_schedule(tenant, playbook)
        .await
        .expect("describe")
        .is_some());
    let manual = json!({"trigger": {"kind": "manual"}});
    json_with_status(app.patch(key, &path, &manual).await, 200).await;
    assert_eq!(
        temporal
            .playbook_schedule(tenant, playbook)
            .await
            .expect("describe"),
        None
    );
}

#[tokio::test]
async fn hostile_scripts_fail_their_run_and_leave_the_worker_healthy() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-sandbox").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let cases = [
        ("Loop", "let n = 0; loop { n += 1; }", "operations"),
        ("Bomb", "fn boom(n) { boom(n + 1) } boom(0)", "recursion"),
        (
            "Huge",
            "let s = \"0123456789\"; while true { s += s; }",
            "string",
        ),
        ("Undefined", "let f = Fn(\"nowhere\"); f.call()", "nowhere"),
        (
            "Refused",
            "create_ticket(#{ title: \"x\", client_id: \"0190d1c2-0000-7000-8000-00000000dead\" })",
            "client",
        ),
    ];
    let mut runs = Vec::new();
    for (name, source, _) in cases {
        let id = playbook(&app, key, name, source).await;
        runs.push(start(&app, key, &id, json!({})).await);
    }
    for ((name, _, expected), run_id) in cases.iter().zip(&runs) {
        let run = ended(&app, key, run_id).await;
        assert_eq!(run["status"], "failed", "{name}: {run}");
        let error = run["error"].as_str().unwrap_or_default().to_lowercase();
        assert!(error.contains(expected), "{name}: {error}");
    }
    let fine = playbook(&app, key, "Fine", "40 + 2").await;
    let run = ended(&app, key, &start(&app, key, &fine, json!({})).await).await;
    assert_eq!(
        run["result"]["result"], 42,
        "the worker still runs playbooks"
    );
}

#[tokio::test]
async fn killing_the_worker_during_the_sleep_and_the_wait_repeats_no_side_effect() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-durable").await;
    let key = &t.admin_key;
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Globex"})).await;
    let source = r#"
        let t = create_ticket(#{ title: input.title, client_id: input.client_id });
        sleep(4);
        kv_set(#{ key: "phase", value: "waiting" });
        let answer = wait_for_signal("approval", "1d");
        add_comment(#{ ticket_id: t.id, body: `Approved by ${answer.by}` });
        t.number
    "#;
    let id = playbook(&app, key, "Approval", source).await;
    let title = "Replace the backup disk";
    let mut worker = worker_process(&app);
    let body = json!({"input": {"title": title, "client_id": client["id"]}});
    let run_id = start(&app, key, &id, body).await;

    reached(&app, key, &run_id, "001-create_ticket").await;
    worker.signal_and_wait(libc::SIGKILL);
    let run = run_of(&app, key, &run_id).await;
    assert_eq!(run["status"], "running", "killed during the sleep: {run}");
    assert!(!step_names(&run).contains(&"003-kv_set".to_owned()));

    let mut worker = worker_process(&app);
    reached(&app, key, &run_id, "003-kv_set").await;
    worker.signal_and_wait(libc::SIGKILL);

    let _worker = worker_process(&app);
    let signal = format!("/api/v1/workflow-runs/{run_id}/signals/approval");
    let accepted = app.post(key, &signal, &json!({"by": "Dana"})).await;
    json_with_status(accepted, 202).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        step_names(&run),
        vec!["001-create_ticket", "003-kv_set", "005-add_comment"]
    );

    let tickets = tickets_titled(&app, key, title).await;
    assert_eq!(tickets.len(), 1, "exactly one ticket");
    assert_eq!(run["result"]["result"], tickets[0]["number"]);
    let ticket_id = tickets[0]["id"].as_str().expect("id");
    let comments = json_with_status(
        app.get(key, &format!("/api/v1/tickets/{ticket_id}/comments"))
            .await,
        200,
    )
    .await;
    let bodies: Vec<&str> = comments["data"]
        .as_array()
        .expect("comments")
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert_eq!(bodies, vec!["Approved by Dana"], "exactly one comment");
}

#[test]
fn keel_playbook_test_runs_the_shipped_library_and_names_compile_errors() {
    use std::process::Command;
    let library = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../playbooks");
    let keel = |args: &[&std::ffi::OsStr]| {
        Command::new(keel_tests::worker::keel_binary())
            .args(["playbook", "test"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("run keel playbook test")
    };
    let script = library.join("stale-ticket-nudge.rhai");
    let fixtures = library.join("stale-ticket-nudge.test.json");
    let passed = keel(&[
        script.as_os_str(),
        "--fixtures".as_ref(),
        fixtures.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&passed.stdout);
    assert!(passed.status.success(), "{stdout}");
    assert!(stdout.contains("2 case(s) passed"), "{stdout}");
    assert!(
        stdout.contains("update_ticket("),
        "each call is printed: {stdout}"
    );

    let dir = std::env::temp_dir().join(format!("keel-pb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let broken = dir.join("broken.rhai");
    std::fs::write(&broken, "let a = 1;\nlet b = ;\n").expect("write");
    let refused = keel(&[broken.as_os_str()]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("broken.rhai:2:9:"), "{stderr}");
    let wrong = dir.join("wrong.json");
    std::fs::write(&wrong, r#"{"expect": {"result": 3}}"#).expect("write");
    let sum = dir.join("sum.rhai");
    std::fs::write(&sum, "1 + 1").expect("write");
    let mismatch = keel(&[sum.as_os_str(), "--fixtures".as_ref(), wrong.as_os_str()]);
    assert!(!mismatch.status.success());
    let stdout = String::from_utf8_lossy(&mismatch.stdout);
    assert!(stdout.contains("result: expected 3, got 2"), "{stdout}");
}
