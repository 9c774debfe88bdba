use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    for body in ["{not json", "[1,2]", ""] {
        let response = app
            .http
            .post(app.url("/api/v1/users"))
            .bearer_auth(&t.admin_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem = json_with_status(response, 400).await;
        assert_eq!(problem["type"], "/problems/bad-request", "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn invalid_fields_are_a_422_naming_each_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let problem = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/users",
            &json!({"email": "nope", "full_name": "", "roles": [], "password": "short"}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["email", "full_name", "roles", "password"]);
    // Wrong types and missing fields name the field too.
    let typed = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/users",
            &json!({"email": 5, "full_name": "x", "roles": []}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(typed["errors"][0]["field"], "email");
    let missing = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/users",
            &json!({"email": "a@b.com", "roles": ["Admin"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "full_name");
    let unknown_role = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/users",
            &json!({"email": "a@b.com", "full_name": "A", "roles": ["Wizard"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(unknown_role["errors"][0]["field"], "roles");
    // Nothing was written by any of the rejected requests.
    let users = json_with_status(app.get(&t.admin_key, "/api/v1/users").await, 200).await;
    assert_eq!(users["data"].as_array().expect("data").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let body =
        json!({"email": t.admin_email.to_uppercase(), "full_name": "Again", "roles": ["Admin"]});
    let problem = json_with_status(app.post(&t.admin_key, "/api/v1/users", &body).await, 409).await;
    assert_eq!(problem["type"], "/problems/conflict");
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problems() {
    let app = TestApp::spawn().await;
    let unknown = app
        .http
        .get(app.url("/api/v1/no-such-thing"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        unknown.headers()["content-type"],
        "application/problem+json"
    );
    json_with_status(unknown, 404).await;
    let t = app.tenant("acme").await;
    let wrong_method = app
        .http
        .put(app.url("/api/v1/users"))
        .bearer_auth(&t.admin_key)
        .send()
        .await
        .expect("put");
    assert_eq!(wrong_method.status(), 405);
    let malformed_id =
        json_with_status(app.get(&t.admin_key, "/api/v1/users/not-a-uuid").await, 404).await;
    assert_eq!(malformed_id["type"], "/problems/not-found");
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let huge = json!({"email": "a@b.com", "full_name": "x".repeat(128 * 1024), "roles": ["Admin"]});
    let problem = json_with_status(app.post(&t.admin_key, "/api/v1/users", &huge).await, 413).await;
    assert_eq!(problem["type"], "/problems/payload-too-large");
    // Also through the idempotency layer, which buffers the body itself.
    let response = app
        .http
        .post(app.url("/api/v1/users"))
        .bearer_auth(&t.admin_key)
        .header("idempotency-key", "big")
        .json(&huge)
        .send()
        .await
        .expect("post");
    json_with_status(response, 413).await;
    app.stop().await;
}

#[tokio::test]
async fn pagination_walks_every_user_once_in_stable_order() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    for i in 0..6 {
        app.user(t.tenant, &format!("u{i}@acme.example.com"), "Read-only")
            .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=3&cursor={c}"),
            None => "/api/v1/users?limit=3".to_owned(),
        };
        let page = json_with_status(app.get(&t.admin_key, &path).await, 200).await;
        seen.extend(
            page["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|u| u["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
    for bad in [
        "/api/v1/users?limit=0",
        "/api/v1/users?limit=201",
        "/api/v1/users?cursor=zzz",
    ] {
        json_with_status(app.get(&t.admin_key, bad).await, 422).await;
    }
    json_with_status(app.get(&t.admin_key, "/api/v1/users?limit=abc").await, 400).await;
    app.stop().await;
}

#[tokio::test]
async fn nul_characters_are_a_422_naming_the_field_not_a_500() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let body = json!({"email": "a@b.com", "full_name": "A", "roles": ["Admin", "bad\u{0}role"]});
    let problem = json_with_status(app.post(&t.admin_key, "/api/v1/users", &body).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "roles[1]");
    let named = json_with_status(
        app.post(&t.admin_key, "/api/v1/api-keys", &json!({"name": "x\u{0}"}))
            .await,
        422,
    )
    .await;
    assert_eq!(named["errors"][0]["field"], "name");
    app.stop().await;
}
