use keel_tests::app::json_with_status;
use keel_tests::TestApp;

#[tokio::test]
async fn readiness_checks_postgres_redis_and_temporal() {
    let app = TestApp::spawn().await;
    let health = json_with_status(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("healthz"),
        200,
    )
    .await;
    assert_eq!(health["status"], "ok");
    let ready = json_with_status(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("readyz"),
        200,
    )
    .await;
    for service in ["postgres", "redis", "temporal"] {
        assert_eq!(
            ready["checks"][service]["status"], "up",
            "{service}: {ready}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    json_with_status(app.get(&t.admin_key, "/api/v1/users").await, 200).await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("keel_http_requests_total")
                && l.contains("route=\"/api/v1/users\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no request counter in:\n{text}"));
    let count: f64 = line
        .rsplit(' ')
        .next()
        .expect("value")
        .parse()
        .expect("number");
    assert!(count >= 1.0);
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = TestApp::spawn().await;
    let doc = json_with_status(
        app.http
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("doc"),
        200,
    )
    .await;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    for (path, method) in [
        ("/api/v1/users", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/users/{id}", "get"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/api-keys/{id}", "delete"),
        ("/api/v1/audit-log", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    app.stop().await;
}
