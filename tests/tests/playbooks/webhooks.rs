//! The signed inbound webhook trigger, driving the shipped RMM-alert playbook:
//! only a request signed with the hook's current secret inside the 5-minute window
//! starts a run, a replayed request starts none, and a repeated alert comments on
//! the ticket the first one opened.

use super::{comments_of, created, ended, playbook_runs, tickets_titled};
use activities::playbooks::webhooks::sign;
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::json;

const RMM_PLAYBOOK: &str = include_str!("../../../playbooks/rmm-alert-to-ticket.rhai");

/// POSTs `body` to the hook, signed at `timestamp` with `secret` (unsigned: None).
async fn deliver(
    app: &TestApp,
    path: &str,
    body: &str,
    signed: Option<(&str, i64)>,
) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some((secret, timestamp)) = signed {
        let signature = sign(secret, timestamp, body.as_bytes());
        request = request.header("X-Keel-Signature", format!("t={timestamp},v1={signature}"));
    }
    request.send().await.expect("webhook request")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn refused(response: reqwest::Response, status: u16, kind: &str) -> String {
    let problem = json_with_status(response, status).await;
    assert_eq!(problem["type"], format!("/problems/{kind}"), "{problem}");
    problem["detail"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_webhook_starts_its_playbook_once_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-webhook").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Acme"})).await;
    let trigger = json!({"kind": "webhook", "hook": "rmm-alerts"});
    let body = json!({"name": "RMM alerts", "source": RMM_PLAYBOOK, "trigger": trigger});
    let saved = created(&app, key, "/api/v1/playbooks", body).await;
    let id = saved["id"].as_str().expect("id");

    // A hook is a URL-safe name, and one playbook's only.
    for (hook, expected) in [("RMM Alerts", "lower-case"), ("rmm-alerts", "already uses")] {
        let trigger = json!({"kind": "webhook", "hook": hook});
        let body = json!({"name": format!("Other {hook}"), "source": "1", "trigger": trigger});
        let problem = json_with_status(app.post(key, "/api/v1/playbooks", &body).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], "trigger", "{problem}");
        let message = problem["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(expected), "{message}");
    }

    let webhook_path = format!("/api/v1/playbooks/{id}/webhook");
    let webhook = json_with_status(app.get(key, &webhook_path).await, 200).await;
    assert_eq!(webhook["path"], "/api/v1/webhooks/pb-webhook/rmm-alerts");
    let secret = webhook["secret"].as_str().expect("secret").to_owned();
    let path = webhook["path"].as_str().expect("path").to_owned();

    let alert = json!({"client_id": client["id"], "host": "srv-01", "check": "disk",
                       "severity": "critical", "message": "C: 98% full"})
    .to_string();
    // Unsigned, signed with another secret, signed too long ago, or for an unknown
    // hook or tenant: refused, and nothing runs.
    let detail = refused(
        deliver(&app, &path, &alert, None).await,
        401,
        "invalid-signature",
    )
    .await;
    assert!(detail.contains("X-Keel-Signature: t="), "{detail}");
    let wrong = "whsec_not-the-secret-of-this-hook-at-all";
    let detail = refused(
        deliver(&app, &path, &alert, Some((wrong, now()))).await,
        401,
        "invalid-signature",
    )
    .await;
    assert!(detail.contains("does not match"), "{detail}");
    let stale = deliver(&app, &path, &alert, Some((&secret, now() - 301))).await;
    let detail = refused(stale, 401, "invalid-signature").await;
    assert!(detail.contains("at most 300 s"), "{detail}");
    for other in [
        "/api/v1/webhooks/pb-webhook/nope",
        "/api/v1/webhooks/nobody/rmm-alerts",
    ] {
        let response = deliver(&app, other, &alert, Some((&secret, now()))).await;
        refused(response, 404, "not-found").await;
    }
    let not_object = deliver(&app, &path, "[1, 2]", Some((&secret, now()))).await;
    let problem = json_with_status(not_object, 422).await;
    assert_eq!(problem["errors"][0]["field"], "body", "{problem}");
    assert!(playbook_runs(&app, key).await.is_empty());

    // Signed and fresh: one run, as the author, with the body as input; the very
    // same request sent again joins that run.
    let signed_at = now();
    let first = json_with_status(
        deliver(&app, &path, &alert, Some((&secret, signed_at))).await,
        202,
    )
    .await;
    let again = json_with_status(
        deliver(&app, &path, &alert, Some((&secret, signed_at))).await,
        202,
    )
    .await;
    assert_eq!(first["workflow_id"], again["workflow_id"]);
    let run = ended(&app, key, first["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["input"]["trigger"], "webhook", "{run}");
    assert_eq!(run["input"]["input"]["host"], "srv-01", "{run}");
    assert_eq!(run["result"]["result"]["deduplicated"], false, "{run}");
    let tickets = tickets_titled(&app, key, "[srv-01] disk").await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");

    // The same alert later (a new signature) comments on the open ticket.
    let repeat = json!({"client_id": client["id"], "host": "srv-01", "check": "disk",
                        "severity": "critical", "message": "C: 99% full"})
    .to_string();
    let second = json_with_status(
        deliver(&app, &path, &repeat, Some((&secret, now()))).await,
        202,
    )
    .await;
    assert_ne!(first["workflow_id"], second["workflow_id"]);
    let run = ended(&app, key, second["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["result"]["result"]["deduplicated"], true, "{run}");
    assert_eq!(tickets_titled(&app, key, "[srv-01] disk").await.len(), 1);
    let comments = comments_of(&app, key, &tickets[0]).await;
    assert_eq!(comments, vec!["Alert again: C: 99% full".to_owned()]);
    assert_eq!(playbook_runs(&app, key).await.len(), 2);

    // Rotating the secret retires the old one at once.
    let rotate_path = format!("/api/v1/playbooks/{id}/webhook/rotate");
    let rotated = json_with_status(app.post(key, &rotate_path, &json!({})).await, 200).await;
    let new_secret = rotated["secret"].as_str().expect("secret");
    assert_ne!(new_secret, secret);
    let old = deliver(&app, &path, &repeat, Some((&secret, now()))).await;
    refused(old, 401, "invalid-signature").await;

    // A disabled playbook's hook answers 409 and starts nothing.
    let patch = app
        .patch(
            key,
            &format!("/api/v1/playbooks/{id}"),
            &json!({"enabled": false}),
        )
        .await;
    json_with_status(patch, 200).await;
    let disabled = deliver(&app, &path, &repeat, Some((new_secret, now()))).await;
    refused(disabled, 409, "conflict").await;
    assert_eq!(playbook_runs(&app, key).await.len(), 2);
}
