//! Authentication and authorization at the edge. API requests carry
//! `Authorization: Bearer <key>`; the middleware resolves it to a [`Principal`] under
//! the key's tenant and stores it in the request, where handlers extract it and
//! check a permission with [`require`].

use crate::error::ApiError;
use crate::AppState;
use activities::access::{self, Principal};
use activities::credentials::parse_credential;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use engine::Permission;

/// The authenticated caller of an API request.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized("missing credentials"))
    }
}

/// Fails with 403 unless `principal` holds `permission`.
pub fn require(principal: &Principal, permission: Permission) -> Result<(), ApiError> {
    if principal.can(permission) {
        Ok(())
    } else {
        Err(ApiError::forbidden(permission.name))
    }
}

/// Middleware: resolves the bearer key of an API request, or answers 401.
pub async fn authenticate_bearer(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = header
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| {
            ApiError::unauthorized("send an API key as `Authorization: Bearer <key>`")
        })?;
    let credential =
        parse_credential(token.trim()).ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
    let principal = match app.principals.get(&credential.hash) {
        Some(cached) => Some(cached),
        None => {
            let mut tx = app.db.tenant_tx(credential.tenant).await?;
            let found = access::principal_for_api_key(&mut tx, &credential.hash).await?;
            tx.commit().await?;
            if let Some(principal) = &found {
                app.principals.insert(&credential.hash, principal);
            }
            found
        }
    };
    let principal =
        principal.ok_or_else(|| ApiError::unauthorized("invalid or revoked API key"))?;
    let span = tracing::Span::current();
    span.record("tenant", tracing::field::display(principal.tenant));
    span.record("user", tracing::field::display(principal.user_id));
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}
