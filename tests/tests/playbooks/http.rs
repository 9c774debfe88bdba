//! `http_request` against a server the test runs on 127.0.0.1: nothing is
//! called until the tenant allows the host, then the call carries the script's
//! method, headers and JSON body and answers status, headers and parsed JSON;
//! a response over 1 MiB, a redirect, a server slower than the timeout and a dry
//! run each behave as documented; removing the host refuses calls again.

use super::{ended, playbook, start};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request the server received.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Starts the server; it answers by path and records every request.
async fn serve() -> (u16, Log) {
    let log: Log = Arc::default();
    let app = axum::Router::new().fallback(answer).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (port, log)
}

async fn answer(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    log.lock().expect("log").push(Seen {
        method,
        path: path.clone(),
        headers,
        body: body.clone(),
    });
    match path.as_str() {
        "/echo" => {
            let got: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let reply = json!({"ok": true, "got": got});
            (StatusCode::CREATED, [("x-reply", "yes")], axum::Json(reply)).into_response()
        }
        // 1 MiB and one byte, streamed in chunks without a content-length.
        "/big" => {
            let chunks = (0..=16).map(|i| {
                let size = if i < 16 { 64 * 1024 } else { 1 };
                Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; size]))
            });
            Body::from_stream(futures::stream::iter(chunks)).into_response()
        }
        "/redirect" => (StatusCode::FOUND, [("location", "/echo")]).into_response(),
        // Slower than any timeout_seconds the test gives.
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(20)).await;
            "late".into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn seen(log: &Log, path: &str) -> Vec<Seen> {
    let log = log.lock().expect("log");
    log.iter().filter(|s| s.path == path).cloned().collect()
}

/// Every field comes from the input, so one playbook makes every call.
const CALLER: &str = r#"
    http_request(#{ url: input.url, method: input.method, headers: input.headers,
                    body: input.body, timeout_seconds: input.timeout })
"#;

async fn run(app: &TestApp, key: &str, playbook: &str, input: Value, dry_run: bool) -> Value {
    let body = json!({"input": input, "dry_run": dry_run});
    let run_id = start(app, key, playbook, body).await;
    ended(app, key, &run_id).await
}

fn error_of(run: &Value) -> String {
    assert_eq!(run["status"], "failed", "{run}");
    run["error"].as_str().expect("error").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn http_request_calls_only_allowed_hosts_and_answers_as_documented() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-http").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let (port, log) = serve().await;
    let host = format!("127.0.0.1:{port}");
    let base = format!("http://{host}");
    let caller = playbook(&app, key, "Caller", CALLER).await;

    // Nothing is allowed yet: the refusal names the host and how to allow it.
    let refused = run(
        &app,
        key,
        &caller,
        json!({"url": format!("{base}/echo")}),
        false,
    )
    .await;
    let error = error_of(&refused);
    assert!(
        error.contains(&format!("{host} is not on the tenant's HTTP allow-list")),
        "{error}"
    );
    assert!(error.contains("/api/v1/playbook-http-hosts"), "{error}");
    assert!(error.contains("/playbooks/limits"), "{error}");
    assert!(seen(&log, "/echo").is_empty(), "nothing was sent");

    // The allow-list: bad patterns by field, managers only, duplicates refused.
    let hosts = "/api/v1/playbook-http-hosts";
    for (bad, reason) in [
        (format!("{base}/"), "without a scheme"),
        ("api.example.com/v1".to_owned(), "without a path"),
        ("*.com".to_owned(), "wildcard"),
        ("127.0.0.1:0".to_owned(), "port"),
    ] {
        let response = app.post(key, hosts, &json!({"pattern": bad})).await;
        let problem = json_with_status(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], "pattern", "{problem}");
        let message = problem["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(reason), "{bad}: {message}");
    }
    let technician = app
        .user(t.tenant, "tech@pb-http.example", "Technician")
        .await;
    let technician_key = app.api_key(t.tenant, technician).await;
    let response = app
        .post(&technician_key, hosts, &json!({"pattern": &host}))
        .await;
    json_with_status(response, 403).await;
    let added = json_with_status(app.post(key, hosts, &json!({"pattern": &host})).await, 201).await;
    assert_eq!(added["pattern"], host.as_str());
    let again = app.post(key, hosts, &json!({"pattern": &host})).await;
    let problem = json_with_status(again, 409).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already"),
        "{problem}"
    );
    let listed = json_with_status(app.get(&technician_key, hosts).await, 200).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["data"][0]["id"], added["id"]);

    // Allowed: the call carries what the script gave and answers parsed JSON.
    let input = json!({
        "url": format!("{base}/echo"), "method": "POST", "timeout": 5,
        "headers": {"X-Trace": "abc-123", "Authorization": "Bearer s3cret"},
        "body": {"ticket": "T-0001", "tags": ["a", "b"]},
    });
    let done = run(&app, key, &caller, input, false).await;
    assert_eq!(done["status"], "completed", "{done}");
    let answer = &done["result"]["result"];
    assert_eq!(answer["status"], 201, "{answer}");
    assert_eq!(
        answer["body"],
        json!({"ok": true, "got": {"ticket": "T-0001", "tags": ["a", "b"]}})
    );
    assert_eq!(answer["headers"]["x-reply"], "yes", "{answer}");
    assert_eq!(answer["truncated"], false);
    let echoed = seen(&log, "/echo");
    assert_eq!(echoed.len(), 1, "sent once");
    let request = &echoed[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.headers["x-trace"], "abc-123");
    assert_eq!(request.headers["authorization"], "Bearer s3cret");
    assert_eq!(request.headers["content-type"], "application/json");
    let sent: Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(sent, json!({"ticket": "T-0001", "tags": ["a", "b"]}));
    let step = done["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "001-http_request")
        .expect("the step")
        .clone();
    assert_eq!(step["status"], "completed", "{step}");
    assert_eq!(
        step["input"]["args"]["headers"]["Authorization"], "(redacted)",
        "credentials stay off the run page: {step}"
    );

    // Too large, a redirect, too slow: started together, judged one by one.
    let big = run(
        &app,
        key,
        &caller,
        json!({"url": format!("{base}/big")}),
        false,
    );
    let redirect = run(
        &app,
        key,
        &caller,
        json!({"url": format!("{base}/redirect")}),
        false,
    );
    let slow = run(
        &app,
        key,
        &caller,
        json!({"url": format!("{base}/slow"), "timeout": 1}),
        false,
    );
    let (big, redirect, slow) = tokio::join!(big, redirect, slow);
    let error = error_of(&big);
    assert!(
        error.contains("larger than 1048576 bytes (1 MiB)"),
        "{error}"
    );
    assert_eq!(redirect["status"], "completed", "{redirect}");
    let answer = &redirect["result"]["result"];
    assert_eq!(answer["status"], 302, "{answer}");
    assert_eq!(answer["headers"]["location"], "/echo", "{answer}");
    assert_eq!(
        seen(&log, "/echo").len(),
        1,
        "the redirect was not followed"
    );
    let error = error_of(&slow);
    assert!(
        error.contains(&format!(
            "{host} did not answer within timeout_seconds (1 s)"
        )),
        "{error}"
    );
    assert_eq!(seen(&log, "/slow").len(), 3, "tried 3 times in all");

    // A dry run answers the fixture and sends nothing.
    let dry = run(
        &app,
        key,
        &caller,
        json!({"url": format!("{base}/dry")}),
        true,
    )
    .await;
    assert_eq!(dry["status"], "completed", "{dry}");
    assert_eq!(dry["result"]["result"]["status"], 200, "{dry}");
    assert!(seen(&log, "/dry").is_empty(), "a dry run sends nothing");

    // Removed: calls are refused again; an unknown id is a 404; both changes audited.
    let id = added["id"].as_str().expect("id");
    let unknown = format!("{hosts}/0190d1c2-0000-7000-8000-00000000dead");
    json_with_status(app.delete(key, &unknown).await, 404).await;
    let removed = app.delete(key, &format!("{hosts}/{id}")).await;
    assert_eq!(removed.status(), 204);
    let listed = json_with_status(app.get(key, hosts).await, 200).await;
    assert_eq!(listed["data"], json!([]));
    let refused = run(
        &app,
        key,
        &caller,
        json!({"url": format!("{base}/echo")}),
        false,
    )
    .await;
    assert!(error_of(&refused).contains("is not on the tenant's HTTP allow-list"));
    assert_eq!(seen(&log, "/echo").len(), 1, "nothing more was sent");
    let audit = json_with_status(app.get(key, "/api/v1/audit-log?limit=200").await, 200).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["resource_id"] == added["id"])
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec!["playbook.http_host_removed", "playbook.http_host_added"]
    );
}
