//! The one mapping from failures to HTTP: `application/problem+json` (RFC 9457) with
//! a stable `type` per kind of error, so integrators can branch on it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, e.g. `email` or `roles[1]`.
    pub field: String,
    /// Why it is invalid.
    pub message: String,
    /// For source code (a playbook's `source`): the 1-based line at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For source code: the 1-based column at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// A problem document.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The invalid fields, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    // Boxed: handlers return Result<_, ApiError> everywhere, and a small Err keeps
    // every Result cheap to move.
    problem: Box<Problem>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            problem: Box::new(Problem {
                kind: format!("/problems/{slug}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: Vec::new(),
            }),
            retry_after: None,
        }
    }

    /// 400: the body or query could not be parsed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            detail,
        )
    }

    /// 401: an inbound webhook's signature is missing, stale or wrong.
    pub fn invalid_signature(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-signature",
            "Invalid signature",
            detail,
        )
    }

    /// 401: no valid credential.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }

    /// 403: authenticated, but the user's roles lack `permission`.
    pub fn forbidden(permission: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Permission denied",
            format!("this requires the {permission} permission"),
        )
    }

    /// 403: the rules of the record refuse this caller (not a missing permission).
    pub fn refused(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "refused", "Not allowed", detail)
    }

    /// 403: the feature exists only in the Enterprise Edition.
    pub fn enterprise_only(feature: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "enterprise-feature",
            "Enterprise feature",
            format!("{feature} is available in the Enterprise Edition"),
        )
    }

    /// 404: no such resource (including one that belongs to another tenant).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no such {what}"),
        )
    }

    /// 405: the path exists but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this path does not accept this method",
        )
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// 413: the body is larger than the server accepts.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("request bodies are limited to {limit_bytes} bytes"),
        )
    }

    /// 422: well-formed but invalid; `errors` names each bad field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Validation failed",
            "one or more fields are invalid",
        );
        error.problem.errors = errors;
        error
    }

    /// 422 for a single field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
            ..Default::default()
        }])
    }

    /// 429: too many attempts; retry after `seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("try again in {seconds} seconds"),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// 429: a tenant limit (not a request rate) stops this; the detail says which
    /// and how to get past it.
    pub fn limit_reached(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "limit-reached",
            "Limit reached",
            detail,
        )
    }

    /// 503: a backing service is down. The cause is logged, not shown.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "backing service unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            "a backing service is unavailable; retry later",
        )
    }

    /// 500: an unexpected failure. The cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "an unexpected error occurred",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, in words (a page shows it where the user acted).
    pub fn detail(&self) -> &str {
        &self.problem.detail
    }

    /// The invalid fields of a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.problem.errors
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ee::NotInEdition> for ApiError {
    fn from(error: ee::NotInEdition) -> Self {
        ApiError::enterprise_only(error.0.label())
    }
}

impl From<activities::DbError> for ApiError {
    fn from(error: activities::DbError) -> Self {
        match error {
            activities::DbError::Unavailable(cause) => ApiError::unavailable(cause),
            other => ApiError::internal(other),
        }
    }
}

impl From<activities::ratelimit::RedisError> for ApiError {
    fn from(error: activities::ratelimit::RedisError) -> Self {
        ApiError::unavailable(error)
    }
}

impl From<Vec<engine::validation::FieldIssue>> for ApiError {
    fn from(issues: Vec<engine::validation::FieldIssue>) -> Self {
        ApiError::validation(
            issues
                .into_iter()
                .map(|i| FieldError {
                    field: i.field,
                    message: i.message,
                    ..Default::default()
                })
                .collect(),
        )
    }
}

impl From<activities::time::approval::TimesheetError> for ApiError {
    fn from(error: activities::time::approval::TimesheetError) -> Self {
        use activities::time::approval::TimesheetError;
        use engine::time::timesheets::TransitionError;
        match error {
            TimesheetError::Record(record) => record.into(),
            TimesheetError::Transition(refusal @ TransitionError::NotAllowed { .. }) => {
                ApiError::conflict(refusal.to_string())
            }
            TimesheetError::Transition(TransitionError::Forbidden(why)) => ApiError::refused(why),
        }
    }
}

impl From<activities::records::RecordError> for ApiError {
    fn from(error: activities::records::RecordError) -> Self {
        use activities::records::RecordError;
        match error {
            RecordError::NotFound(what) => ApiError::not_found(what),
            RecordError::Invalid(issues) => issues.into(),
            RecordError::Conflict(detail) => ApiError::conflict(detail),
            RecordError::Db(db) => db.into(),
        }
    }
}
