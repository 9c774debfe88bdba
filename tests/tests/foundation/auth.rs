use keel_tests::app::{json_with_status, PASSWORD};
use keel_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_technician_is_forbidden_an_admin_only_endpoint() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let tech = app
        .user(t.tenant, "tech@acme.example.com", "Technician")
        .await;
    let tech_key = app.api_key(t.tenant, tech).await;
    let body =
        json!({"email": "new@acme.example.com", "full_name": "New", "roles": ["Technician"]});
    let problem = json_with_status(app.post(&tech_key, "/api/v1/users", &body).await, 403).await;
    assert_eq!(problem["type"], "/problems/forbidden");
    assert!(problem["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("user:create"));
    // The same request as Admin works, so the 403 was about the role.
    json_with_status(app.post(&t.admin_key, "/api/v1/users", &body).await, 201).await;
    // Technicians may still read users.
    json_with_status(app.get(&tech_key, "/api/v1/users").await, 200).await;
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_key_is_unauthorized_at_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let issued = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/api-keys",
            &json!({"name": "short-lived"}),
        )
        .await,
        201,
    )
    .await;
    let key = issued["key"].as_str().expect("key shown once").to_owned();
    json_with_status(app.get(&key, "/api/v1/users").await, 200).await;
    let revoke = app
        .http
        .delete(app.url(&format!(
            "/api/v1/api-keys/{}",
            issued["id"].as_str().expect("id")
        )))
        .bearer_auth(&key)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoke.status(), 204);
    let problem = json_with_status(app.get(&key, "/api/v1/users").await, 401).await;
    assert_eq!(problem["type"], "/problems/unauthorized");
    // The list shows it revoked, and never the secret.
    let keys = json_with_status(app.get(&t.admin_key, "/api/v1/api-keys").await, 200).await;
    let listed = keys["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["id"] == issued["id"])
        .expect("listed")
        .clone();
    assert!(listed["revoked_at"].is_string());
    assert!(listed.get("key").is_none());
    app.stop().await;
}

#[tokio::test]
async fn missing_or_malformed_keys_are_unauthorized() {
    let app = TestApp::spawn().await;
    let none = app
        .http
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("request");
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(none.headers()["content-type"], "application/problem+json");
    for bad in [
        "nonsense",
        "keel_00000000000000000000000000000000_00",
        &format!("keel_{}_{}", uuid::Uuid::now_v7().simple(), "ab".repeat(32)),
    ] {
        assert_eq!(app.get(bad, "/api/v1/users").await.status(), 401, "{bad}");
    }
    app.stop().await;
}

/// Fetches the login page and answers the CSRF token of its form.
async fn login_csrf(app: &TestApp, client: &reqwest::Client) -> String {
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("csrf field") + marker.len();
    page[start..start + 64].to_owned()
}

async fn attempt_login(
    app: &TestApp,
    client: &reqwest::Client,
    tenant: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let csrf = login_csrf(app, client).await;
    client
        .post(app.url("/login"))
        .form(&[
            ("tenant", tenant),
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .expect("login")
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn five_wrong_passwords_in_a_row_lock_the_account() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client = browser();
    for attempt in 1..=5 {
        let response =
            attempt_login(&app, &client, &t.slug, &t.admin_email, "wrong password!").await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    // Now even the right password is refused until the window passes.
    let locked = attempt_login(&app, &client, &t.slug, &t.admin_email, PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    // Another account of the same tenant is unaffected.
    let other = "finance@acme.example.com";
    app.user(t.tenant, other, "Finance").await;
    assert_eq!(
        attempt_login(&app, &client, &t.slug, other, PASSWORD)
            .await
            .status(),
        303
    );
    app.stop().await;
}

#[tokio::test]
async fn login_sets_a_hardened_session_cookie_and_logout_ends_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client = browser();
    let response = attempt_login(&app, &client, &t.slug, &t.admin_email, PASSWORD).await;
    assert_eq!(response.status(), 303);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("keel_session="))
        .expect("session cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let dashboard = client.get(app.url("/")).send().await.expect("dashboard");
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.expect("html");
    assert!(html.contains("Dashboard"));
    // A form post without the CSRF token is refused.
    let forged = client
        .post(app.url("/api-keys"))
        .form(&[("name", "x"), ("csrf_token", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("csrf") + marker.len();
    let csrf = &html[start..start + 64];
    let logout = client
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 303);
    // The old cookie no longer opens the dashboard, even if replayed.
    let session = cookie.split(';').next().expect("pair").to_owned();
    let replay = app
        .http
        .get(app.url("/"))
        .header("cookie", session)
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), 303);
    assert_eq!(replay.headers()["location"], "/login");
    app.stop().await;
}

#[tokio::test]
async fn revoking_a_key_on_one_server_locks_it_out_of_every_server() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let other = app.sibling().await;
    let issued = json_with_status(
        app.post(&t.admin_key, "/api/v1/api-keys", &json!({"name": "shared"}))
            .await,
        201,
    )
    .await;
    let key = issued["key"].as_str().expect("key").to_owned();
    let on_other = |key: String| {
        let url = format!("{other}/api/v1/users");
        let http = app.http.clone();
        async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    // Both servers have now authenticated (and cached) the key.
    assert_eq!(app.get(&key, "/api/v1/users").await.status(), 200);
    assert_eq!(on_other(key.clone()).await, 200);
    let revoke = app
        .http
        .delete(app.url(&format!(
            "/api/v1/api-keys/{}",
            issued["id"].as_str().expect("id")
        )))
        .bearer_auth(&t.admin_key)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoke.status(), 204);
    assert_eq!(
        app.get(&key, "/api/v1/users").await.status(),
        401,
        "the revoking server forgets at once"
    );
    let locked_out = keel_tests::eventually(std::time::Duration::from_secs(3), || {
        let key = key.clone();
        async { (on_other(key).await == 401).then_some(()) }
    })
    .await;
    assert!(
        locked_out.is_some(),
        "the other server must stop accepting the key well before its cache TTL"
    );
    app.stop().await;
}
