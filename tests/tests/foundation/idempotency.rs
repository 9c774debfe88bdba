use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::json;

async fn post_with_key(
    app: &TestApp,
    key: &str,
    idempotency_key: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/users"))
        .bearer_auth(key)
        .header("idempotency-key", idempotency_key)
        .json(body)
        .send()
        .await
        .expect("post")
}

#[tokio::test]
async fn the_same_post_twice_creates_one_row_and_answers_the_same() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let body =
        json!({"email": "once@acme.example.com", "full_name": "Once", "roles": ["Technician"]});
    let first = post_with_key(&app, &t.admin_key, "create-once", &body).await;
    assert_eq!(first.status(), 201);
    let first_body = first.text().await.expect("body");
    let second = post_with_key(&app, &t.admin_key, "create-once", &body).await;
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.text().await.expect("body"), first_body);
    let users = json_with_status(app.get(&t.admin_key, "/api/v1/users").await, 200).await;
    let matching = users["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|u| u["email"] == "once@acme.example.com")
        .count();
    assert_eq!(matching, 1);
    app.stop().await;
}

#[tokio::test]
async fn reusing_a_key_with_another_body_is_a_conflict() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let first = json!({"email": "a@acme.example.com", "full_name": "A", "roles": ["Technician"]});
    let other = json!({"email": "b@acme.example.com", "full_name": "B", "roles": ["Technician"]});
    assert_eq!(
        post_with_key(&app, &t.admin_key, "k1", &first)
            .await
            .status(),
        201
    );
    let problem =
        json_with_status(post_with_key(&app, &t.admin_key, "k1", &other).await, 409).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("different request"));
    let users = json_with_status(app.get(&t.admin_key, "/api/v1/users").await, 200).await;
    assert!(users["data"]
        .as_array()
        .expect("data")
        .iter()
        .all(|u| u["email"] != "b@acme.example.com"));
    app.stop().await;
}

#[tokio::test]
async fn failed_requests_are_replayed_too_and_keys_are_per_user() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let invalid = json!({"email": "bad", "full_name": "A", "roles": ["Technician"]});
    let first =
        json_with_status(post_with_key(&app, &t.admin_key, "k2", &invalid).await, 422).await;
    let again = post_with_key(&app, &t.admin_key, "k2", &invalid).await;
    assert_eq!(again.headers()["content-type"], "application/problem+json");
    assert_eq!(json_with_status(again, 422).await, first);
    // Another user's identical key is independent.
    let other = app.user(t.tenant, "other@acme.example.com", "Admin").await;
    let other_key = app.api_key(t.tenant, other).await;
    let valid = json!({"email": "c@acme.example.com", "full_name": "C", "roles": ["Technician"]});
    assert_eq!(
        post_with_key(&app, &other_key, "k2", &valid).await.status(),
        201
    );
    app.stop().await;
}
