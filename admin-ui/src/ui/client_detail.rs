//! A client's page: its fields, contacts, locations, assets and timeline, with the
//! small forms that act on the client in place (add a location, log an interaction,
//! archive). A refused small form re-renders the whole page with its errors, so the
//! user keeps what they typed and the context they typed it in.

use super::forms::{optional_text, parse_id, FormErrors, Parse};
use super::pages::{
    csrf_failure, forbidden_page, nav, not_found_page, render, CsrfForm, PageResult,
};
use super::session::SignedIn;
use crate::AppState;
use activities::assets::{self, AssetFilter};
use activities::clients::{self, RecordError};
use activities::contacts::{self, ContactFilter};
use activities::interactions;
use activities::pagination::PageRequest;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::clients::LocationInput;
use engine::interactions::InteractionInput;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Rows of each section on the page; the full lists are linked.
const SECTION_ROWS: i64 = 50;

/// The add-location form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LocationForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    address_line1: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    phone: String,
}

const LOCATION_FIELDS: &[&str] = &[
    "name",
    "address_line1",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
];

/// The log-interaction form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct InteractionForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    kind: String,
    contact_id: String,
    subject: String,
    notes: String,
    duration_minutes: String,
}

const INTERACTION_FIELDS: &[&str] = &["kind", "contact_id", "subject", "notes", "duration_minutes"];

/// What a refused small form brings back to the page.
#[derive(Default)]
struct Refused {
    location: Option<(LocationForm, FormErrors)>,
    interaction: Option<(InteractionForm, FormErrors)>,
    archive_error: Option<String>,
}

pub async fn detail(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_READ) {
        return forbidden_page(&app, &user, Permission::CLIENT_READ);
    }
    let Some(id) = parse_id(&id) else {
        return not_found_page(&app, &user, "client");
    };
    render_detail(&app, &user, id, Refused::default(), StatusCode::OK).await
}

async fn render_detail(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    refused: Refused,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let Some(client) = clients::find_client(&mut tx, id).await? else {
        tx.commit().await?;
        return not_found_page(app, user, "client");
    };
    let section = PageRequest {
        limit: SECTION_ROWS,
        after: None,
    };
    let contact_filter = ContactFilter {
        client_id: Some(id),
        ..ContactFilter::default()
    };
    let contacts = contacts::list_contacts(&mut tx, &contact_filter, section).await?;
    let locations = clients::list_locations(&mut tx, id).await?;
    let asset_filter = AssetFilter {
        client_id: Some(id),
        ..AssetFilter::default()
    };
    let assets = assets::list_assets(&mut tx, &asset_filter, section).await?;
    let kinds = interactions::list_kinds(&mut tx).await?;
    let (timeline, more_timeline) =
        clients::client_timeline(&mut tx, id, None, SECTION_ROWS).await?;
    tx.commit().await?;
    let (location_form, location_errors) = refused.location.unwrap_or_default();
    let (interaction_form, interaction_errors) = refused.interaction.unwrap_or_else(|| {
        let form = InteractionForm {
            kind: "call".into(),
            ..InteractionForm::default()
        };
        (form, FormErrors::default())
    });
    let ctx = context! {
        nav => nav(user),
        client,
        contacts => contacts.data,
        more_contacts => contacts.next_cursor.is_some(),
        locations,
        assets => assets.data,
        more_assets => assets.next_cursor.is_some(),
        kinds,
        timeline,
        more_timeline => more_timeline.is_some(),
        location_form,
        location_errors,
        interaction_form,
        interaction_errors,
        archive_error => refused.archive_error,
        can_write => user.0.can(Permission::CLIENT_WRITE),
    };
    Ok((status, render(app, "client.html", ctx)?).into_response())
}

/// The page again after a refused small form; field problems are 422, a conflict
/// with the client's state 409.
async fn refuse(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    error: RecordError,
    fields: &[&str],
    into_page: impl FnOnce(FormErrors) -> Refused,
) -> PageResult {
    let (errors, status) = match error {
        RecordError::Invalid(issues) => (
            FormErrors::from_issues(issues, fields),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RecordError::Conflict(message) => (FormErrors::general(message), StatusCode::CONFLICT),
        RecordError::NotFound(what) => return not_found_page(app, user, what),
        RecordError::Db(error) => return Err(error.into()),
    };
    render_detail(app, user, id, into_page(errors), status).await
}

/// Why a write on the client page is refused before it starts.
enum Refusal {
    Csrf,
    Forbidden,
    NotFound,
}

/// Checks the CSRF token and CLIENT_WRITE, and parses the path id.
fn writable(user: &SignedIn, id: &str, csrf_token: &str) -> Result<Uuid, Refusal> {
    if !user.csrf_ok(csrf_token) {
        return Err(Refusal::Csrf);
    }
    if !user.0.can(Permission::CLIENT_WRITE) {
        return Err(Refusal::Forbidden);
    }
    parse_id(id).ok_or(Refusal::NotFound)
}

fn answer(app: &AppState, user: &SignedIn, refusal: Refusal) -> PageResult {
    match refusal {
        Refusal::Csrf => Ok(csrf_failure()),
        Refusal::Forbidden => forbidden_page(app, user, Permission::CLIENT_WRITE),
        Refusal::NotFound => not_found_page(app, user, "client"),
    }
}

pub async fn archive(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let id = match writable(&user, &id, &form.csrf_token) {
        Ok(id) => id,
        Err(refusal) => return answer(&app, &user, refusal),
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match clients::archive_client(&mut tx, id, Some(user.0.user_id)).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to("/clients").into_response())
        }
        Err(RecordError::Conflict(message)) => {
            tx.rollback().await?;
            let refused = Refused {
                archive_error: Some(message),
                ..Refused::default()
            };
            render_detail(&app, &user, id, refused, StatusCode::CONFLICT).await
        }
        Err(error) => {
            tx.rollback().await?;
            refuse(&app, &user, id, error, &[], |_| Refused::default()).await
        }
    }
}

pub async fn add_location(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<LocationForm>,
) -> PageResult {
    let id = match writable(&user, &id, &form.csrf_token) {
        Ok(id) => id,
        Err(refusal) => return answer(&app, &user, refusal),
    };
    let input = LocationInput {
        name: Some(form.name.clone()),
        address_line1: Some(form.address_line1.clone()),
        city: Some(form.city.clone()),
        region: Some(form.region.clone()),
        postal_code: Some(form.postal_code.clone()),
        country: optional_text(&form.country),
        phone: optional_text(&form.phone),
        ..LocationInput::default()
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match clients::create_location(&mut tx, id, &input, Some(user.0.user_id)).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{id}#locations")).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refuse(&app, &user, id, error, LOCATION_FIELDS, |errors| Refused {
                location: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn log_interaction(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<InteractionForm>,
) -> PageResult {
    let id = match writable(&user, &id, &form.csrf_token) {
        Ok(id) => id,
        Err(refusal) => return answer(&app, &user, refusal),
    };
    let mut parse = Parse::default();
    let input = InteractionInput {
        client_id: Some(id),
        contact_id: parse.id("contact_id", &form.contact_id),
        kind: Some(form.kind.clone()),
        subject: Some(form.subject.clone()),
        notes: Some(form.notes.clone()),
        duration_minutes: parse.number("duration_minutes", &form.duration_minutes),
        user_id: Some(user.0.user_id),
        ..InteractionInput::default()
    };
    let draft = match parse.merge(input.validate(chrono::Utc::now())) {
        Ok(draft) => draft,
        Err(issues) => {
            let error = RecordError::Invalid(issues);
            return refuse(&app, &user, id, error, INTERACTION_FIELDS, |errors| {
                Refused {
                    interaction: Some((form, errors)),
                    ..Refused::default()
                }
            })
            .await;
        }
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match interactions::create_interaction(&mut tx, &draft, Some(user.0.user_id)).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{id}#timeline")).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refuse(&app, &user, id, error, INTERACTION_FIELDS, |errors| {
                Refused {
                    interaction: Some((form, errors)),
                    ..Refused::default()
                }
            })
            .await
        }
    }
}
