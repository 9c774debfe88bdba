//! Browser sessions: the `keel_session` cookie, the signed-in user extractor, and
//! CSRF checks for forms.

use crate::AppState;
use activities::access::{self, Credential, Principal};
use activities::credentials::parse_credential;
use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "keel_session";
/// The cookie holding the login form's CSRF token (double-submit).
pub const LOGIN_CSRF_COOKIE: &str = "keel_login_csrf";

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}")
}

/// The signed-in user of a UI request, with the number of their unread in-app
/// notifications (the bell in the header); pages without one redirect to `/login`.
pub struct SignedIn(pub Principal, pub i64);

impl SignedIn {
    /// The CSRF token the user's forms must carry.
    pub fn csrf_token(&self) -> &str {
        match &self.0.credential {
            Credential::Session { csrf_token, .. } => csrf_token,
            Credential::ApiKey(_) => "",
        }
    }

    /// True when a submitted form token matches the session's.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        let expected = self.csrf_token();
        !expected.is_empty() && constant_time_eq(expected.as_bytes(), submitted.as_bytes())
    }
}

/// Compares without an early exit, so timing tells nothing about the token.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/login").into_response();
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(to_login)?;
        let credential = parse_credential(&token).ok_or_else(to_login)?;
        let mut tx = app
            .db
            .tenant_tx(credential.tenant)
            .await
            .map_err(|e| crate::error::ApiError::from(e).into_response())?;
        let principal = access::principal_for_session(&mut tx, &credential.hash)
            .await
            .map_err(|e| crate::error::ApiError::from(e).into_response())?;
        // One cheap COUNT per page for the bell in the header.
        let unread = match &principal {
            Some(p) => activities::notifications::unread_count(&mut tx, p.user_id)
                .await
                .map_err(|e| crate::error::ApiError::from(e).into_response())?,
            None => 0,
        };
        tx.commit()
            .await
            .map_err(|e| crate::error::ApiError::from(e).into_response())?;
        let principal = principal.ok_or_else(to_login)?;
        tracing::Span::current().record("tenant", tracing::field::display(principal.tenant));
        tracing::Span::current().record("user", tracing::field::display(principal.user_id));
        Ok(SignedIn(principal, unread))
    }
}
