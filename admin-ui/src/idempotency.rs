//! The `Idempotency-Key` middleware for API POSTs. The key is scoped to the caller;
//! the request fingerprint covers method, path and body.

use crate::error::ApiError;
use crate::AppState;
use activities::access::Principal;
use activities::idempotency::{self, Claim};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";

/// Middleware: replays, rejects or records POSTs that carry an `Idempotency-Key`.
pub async fn idempotent_posts(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = match request.headers().get(HEADER) {
        Some(value) if request.method() == Method::POST => value
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()))
            .ok_or_else(|| {
                ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
            })?
            .to_owned(),
        _ => return Ok(next.run(request).await),
    };
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("missing credentials"))?;
    let (parts, body) = request.into_parts();
    // CSV imports carry files far larger than JSON bodies; they keep their own limit.
    let limit = if parts.uri.path().starts_with("/api/v1/imports/") {
        crate::api::imports::MAX_CSV_BYTES
    } else {
        app.settings.max_body_bytes
    };
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::payload_too_large(limit))?;
    let fingerprint = hex::encode(
        Sha256::new()
            .chain_update(parts.uri.path())
            .chain_update([0])
            .chain_update(&bytes)
            .finalize(),
    );

    let mut tx = app.db.tenant_tx(principal.tenant).await?;
    let claim = idempotency::claim(&mut tx, principal.user_id, &key, &fingerprint).await?;
    tx.commit().await?;
    match claim {
        Claim::Fresh => {}
        Claim::Replay { status, body } => return Ok(replay(status, body)),
        Claim::BodyMismatch => {
            return Err(ApiError::conflict(
                "this Idempotency-Key was used with a different request",
            ))
        }
        Claim::InProgress => {
            return Err(ApiError::conflict(
                "a request with this Idempotency-Key is still in progress",
            ))
        }
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(ApiError::internal)?.to_bytes();
    let mut tx = app.db.tenant_tx(principal.tenant).await?;
    if parts.status.is_server_error() {
        idempotency::release(&mut tx, principal.user_id, &key).await?;
    } else {
        let text = String::from_utf8_lossy(&body);
        idempotency::remember_response(
            &mut tx,
            principal.user_id,
            &key,
            parts.status.as_u16(),
            &text,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
