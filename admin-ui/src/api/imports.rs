//! `/api/v1/imports/{kind}`: CSV import of clients, contacts, assets and usage.

use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::AppState;
use activities::imports::{self, ImportError, ImportKind, ImportReport};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

/// Largest CSV file accepted, in bytes.
pub const MAX_CSV_BYTES: usize = 32 * 1024 * 1024;

/// Import options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Import the valid rows even when others are invalid (default: import nothing
    /// unless every row is valid).
    skip_invalid: Option<bool>,
}

/// Imports a CSV file (UTF-8, header row first). Every row is validated before
/// anything is written. When a row is invalid and `skip_invalid` is not set, nothing
/// is imported and the answer is 422 with the report, whose `invalid` lists each bad
/// row's line (the header is line 1), column and reason.
#[utoipa::path(post, path = "/imports/{kind}", tag = "imports", security(("api_key" = [])),
    params(("kind" = String, Path, description = "`clients`, `contacts`, `assets` (client write permission) or `usage` (billing permission)"), ImportParams),
    request_body(content = String, content_type = "text/csv",
                 description = "clients: name, client_type, billing_email, currency, payment_terms, tax_region, is_tax_exempt, tax_exempt_certificate, billing_cycle, billing_anchor_day, account_manager_email, notes, tags (';'-separated). contacts: client_id or client_name, full_name, role, email, phone, notes. assets: client_id or client_name, location_name, asset_tag, name, kind, serial, status, purchased_on, warranty_expires_on, notes. usage: client_id or client_name, service_id or service_name (a usage or product service), quantity (decimal such as 12.5), recorded_on (YYYY-MM-DD), note."),
    responses((status = 200, body = ImportReport, description = "Imported (with `skip_invalid`, the report lists the skipped rows)"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 422, body = ImportReport, description = "Invalid rows; nothing was imported")))]
pub async fn import_csv(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(MAX_CSV_BYTES)
        } else {
            ApiError::bad_request(rejection.body_text())
        }
    })?;
    let kind = ImportKind::parse(&kind).ok_or_else(|| ApiError::not_found("import kind"))?;
    require(&caller, kind.permission())?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let skip_invalid = params.skip_invalid.unwrap_or(false);
    match imports::import_csv(&mut tx, kind, &body, skip_invalid, Some(caller.user_id)).await {
        Ok(report) => {
            tx.commit().await?;
            Ok(Json(report).into_response())
        }
        Err(ImportError::InvalidRows(report)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(report)).into_response())
        }
        Err(ImportError::File(error)) => Err(ApiError::bad_request(error.to_string())),
        Err(ImportError::Db(error)) => Err(error.into()),
    }
}
