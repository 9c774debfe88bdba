//! The CSV import page: upload a file of clients, contacts, assets or usage and read the
//! report. Every row is validated before anything is written, so the report either
//! says what went in or says clearly that nothing did.

use super::pages::{csrf_failure, forbidden_page, nav, render, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::imports::{self, ImportError, ImportKind, ImportReport};
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use engine::Permission;
use minijinja::context;
use serde::Serialize;

/// Largest file accepted, the same as the API's import endpoint.
pub const MAX_UPLOAD_BYTES: usize = crate::api::imports::MAX_CSV_BYTES;

/// What the form sent, echoed back so a refused upload keeps the user's choices.
#[derive(Debug, Default, Serialize)]
struct Upload {
    #[serde(skip)]
    csrf_token: String,
    kind: String,
    skip_invalid: bool,
    #[serde(skip)]
    file: bytes::Bytes,
}

/// What the page shows after an upload.
#[derive(Default)]
struct Outcome {
    report: Option<ImportReport>,
    /// True when rows were invalid and nothing was written.
    nothing_imported: bool,
    /// A problem with the file itself, shown on the file input.
    file_error: Option<String>,
    /// A problem with the kind select.
    kind_error: Option<String>,
}

fn columns() -> minijinja::Value {
    context! {
        clients => engine::import::CLIENT_COLUMNS,
        contacts => engine::import::CONTACT_COLUMNS,
        assets => engine::import::ASSET_COLUMNS,
        usage => engine::import::USAGE_COLUMNS,
    }
}

/// The kinds this user may import, by name.
fn allowed_kinds(user: &SignedIn) -> Vec<&'static str> {
    ImportKind::ALL
        .iter()
        .filter(|(_, kind)| user.0.can(kind.permission()))
        .map(|(name, _)| *name)
        .collect()
}

fn render_page(
    app: &AppState,
    user: &SignedIn,
    upload: &Upload,
    outcome: Outcome,
    status: StatusCode,
) -> PageResult {
    let ctx = context! {
        nav => nav(user),
        form => upload,
        columns => columns(),
        kinds => allowed_kinds(user),
        max_mib => MAX_UPLOAD_BYTES / (1024 * 1024),
        invalid_lines => outcome.report.as_ref().map(|r| r.invalid_lines().len()),
        report => outcome.report,
        nothing_imported => outcome.nothing_imported,
        file_error => outcome.file_error,
        kind_error => outcome.kind_error,
    };
    Ok((status, render(app, "import.html", ctx)?).into_response())
}

pub async fn form(State(app): State<AppState>, user: SignedIn) -> PageResult {
    let Some(first) = allowed_kinds(&user).first().copied() else {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    };
    let upload = Upload {
        kind: first.into(),
        ..Upload::default()
    };
    render_page(&app, &user, &upload, Outcome::default(), StatusCode::OK)
}

pub async fn upload(
    State(app): State<AppState>,
    user: SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    if allowed_kinds(&user).is_empty() {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let upload = match multipart {
        Ok(multipart) => read_upload(multipart).await,
        Err(rejection) => Err((rejection.status(), rejection.body_text())),
    };
    let upload = match upload {
        Ok(upload) => upload,
        Err((status, message)) => {
            let outcome = Outcome {
                file_error: Some(message),
                ..Outcome::default()
            };
            return render_page(&app, &user, &Upload::default(), outcome, status);
        }
    };
    if !user.csrf_ok(&upload.csrf_token) {
        return Ok(csrf_failure());
    }
    let Some(kind) = ImportKind::parse(&upload.kind) else {
        let outcome = Outcome {
            kind_error: Some("Choose clients, contacts, assets or usage.".into()),
            ..Outcome::default()
        };
        return render_page(
            &app,
            &user,
            &upload,
            outcome,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if !user.0.can(kind.permission()) {
        return forbidden_page(&app, &user, kind.permission());
    }
    if upload.file.is_empty() {
        let outcome = Outcome {
            file_error: Some("Choose a CSV file (it must not be empty).".into()),
            ..Outcome::default()
        };
        return render_page(
            &app,
            &user,
            &upload,
            outcome,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let actor = Some(user.0.user_id);
    match imports::import_csv(&mut tx, kind, &upload.file, upload.skip_invalid, actor).await {
        Ok(report) => {
            tx.commit().await?;
            let outcome = Outcome {
                report: Some(report),
                ..Outcome::default()
            };
            render_page(&app, &user, &upload, outcome, StatusCode::OK)
        }
        Err(ImportError::InvalidRows(report)) => {
            tx.rollback().await?;
            let outcome = Outcome {
                report: Some(report),
                nothing_imported: true,
                ..Outcome::default()
            };
            render_page(
                &app,
                &user,
                &upload,
                outcome,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ImportError::File(error)) => {
            tx.rollback().await?;
            let outcome = Outcome {
                file_error: Some(format!("The file cannot be imported: {error}.")),
                ..Outcome::default()
            };
            render_page(
                &app,
                &user,
                &upload,
                outcome,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ImportError::Db(error)) => Err(error.into()),
    }
}

/// Reads the form's parts; an unreadable or oversized body becomes the status and
/// message to show.
async fn read_upload(mut multipart: Multipart) -> Result<Upload, (StatusCode, String)> {
    let mut upload = Upload::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(upload),
            Err(error) => return Err(unreadable(error)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                upload.file = field.bytes().await.map_err(unreadable)?;
                if upload.file.len() > MAX_UPLOAD_BYTES {
                    return Err(too_large());
                }
            }
            "csrf_token" => upload.csrf_token = field.text().await.map_err(unreadable)?,
            "kind" => upload.kind = field.text().await.map_err(unreadable)?,
            "skip_invalid" => upload.skip_invalid = true,
            _ => {}
        }
    }
}

fn too_large() -> (StatusCode, String) {
    let mib = MAX_UPLOAD_BYTES / (1024 * 1024);
    let message = format!("The file is larger than {mib} MiB; split it and import the parts.");
    (StatusCode::PAYLOAD_TOO_LARGE, message)
}

fn unreadable(error: MultipartError) -> (StatusCode, String) {
    let status = error.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        (
            status,
            format!("The upload could not be read: {}", error.body_text()),
        )
    }
}
