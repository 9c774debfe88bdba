//! `/healthz` (the process answers), `/readyz` (its dependencies answer) and
//! `/metrics` (Prometheus).

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::time::Duration;

/// The health routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(
        json!({ "status": "ok", "edition": ee::Edition::current().name(), "version": env!("CARGO_PKG_VERSION") }),
    )
}

async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    let limit = Duration::from_secs(2);
    let (postgres, redis, temporal) = tokio::join!(
        check(limit, async {
            app.db.ping().await.map_err(|e| e.to_string())
        }),
        check(limit, async {
            activities::ratelimit::ping(&app.redis)
                .await
                .map_err(|e| e.to_string())
        }),
        check(limit, async {
            tokio::net::TcpStream::connect(&app.settings.temporal_address)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }),
    );
    let ready = [&postgres, &redis, &temporal].iter().all(|c| c.is_ok());
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let show = |c: &Result<(), String>| match c {
        Ok(()) => json!({ "status": "up" }),
        Err(e) => json!({ "status": "down", "error": e }),
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "postgres": show(&postgres), "redis": show(&redis), "temporal": show(&temporal) },
    });
    (status, Json(body))
}

async fn check(
    limit: Duration,
    probe: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    tokio::time::timeout(limit, probe)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
}
