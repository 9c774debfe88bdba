//! A client's page: its fields, contacts, locations, tickets, assets, billing
//! (see `client_billing`) and timeline, with the small forms that act on the
//! client in place (add, edit or archive a location, log an interaction, archive,
//! run a playbook: see `playbook_launch`).
//! A refused small form re-renders the whole page with its errors, so the user
//! keeps what they typed and the context they typed it in.

use super::client_billing::CreditForm;
use super::forms::{checkbox, optional_text, parse_id, ticked, FormErrors, Parse};
use super::pages::{
    csrf_failure, forbidden_page, nav, not_found_page, render, CsrfForm, PageResult,
};
use super::playbook_launch::{self, LaunchForm};
use super::session::SignedIn;
use crate::AppState;
use activities::assets::{self, AssetFilter};
use activities::clients::{self, Location, RecordError};
use activities::contacts::{self, ContactFilter};
use activities::interactions;
use activities::pagination::PageRequest;
use activities::tickets::{self, TicketFilter};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::clients::{LocationInput, LocationPatch};
use engine::interactions::InteractionInput;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Rows of each section on the page; the full lists are linked.
const SECTION_ROWS: i64 = 50;

/// The add- and edit-location forms as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LocationForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    address_line1: String,
    address_line2: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    phone: String,
    is_default: Option<String>,
    is_billing: Option<String>,
}

const LOCATION_FIELDS: &[&str] = &[
    "name",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
    "is_default",
    "is_billing",
];

impl LocationForm {
    /// Every field of the form, as an input (HTML forms send them all).
    fn input(&self) -> LocationInput {
        LocationInput {
            name: Some(self.name.clone()),
            address_line1: Some(self.address_line1.clone()),
            address_line2: Some(self.address_line2.clone()),
            city: Some(self.city.clone()),
            region: Some(self.region.clone()),
            postal_code: Some(self.postal_code.clone()),
            country: optional_text(&self.country),
            phone: optional_text(&self.phone),
            is_default: Some(ticked(&self.is_default)),
            is_billing: Some(ticked(&self.is_billing)),
        }
    }

    /// The stored location, as its edit form shows it.
    fn of(location: &Location) -> LocationForm {
        LocationForm {
            csrf_token: String::new(),
            name: location.name.clone(),
            address_line1: location.address_line1.clone(),
            address_line2: location.address_line2.clone(),
            city: location.city.clone(),
            region: location.region.clone(),
            postal_code: location.postal_code.clone(),
            country: location.country.clone().unwrap_or_default(),
            phone: location.phone.clone().unwrap_or_default(),
            is_default: checkbox(location.is_default),
            is_billing: checkbox(location.is_billing),
        }
    }
}

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
pub(super) struct Refused {
    pub(super) location: Option<(LocationForm, FormErrors)>,
    /// A refused edit of the location with this id.
    pub(super) location_edit: Option<(Uuid, LocationForm, FormErrors)>,
    /// Why a location could not be archived.
    pub(super) location_error: Option<String>,
    pub(super) interaction: Option<(InteractionForm, FormErrors)>,
    pub(super) archive_error: Option<String>,
    /// A refused grant of credit (the billing section).
    pub(super) credit: Option<(CreditForm, FormErrors)>,
    /// A refused "Run playbook" form (see `playbook_launch`).
    pub(super) playbook_run: Option<(LaunchForm, FormErrors)>,
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

/// The client's page, with the forms a refused post brings back.
pub(super) async fn render_detail(
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
    let parent = match client.parent_id {
        Some(parent) => clients::find_client(&mut tx, parent).await?,
        None => None,
    };
    let manager = match client.account_manager_id {
        Some(manager) => activities::users::find_user(&mut tx, manager).await?,
        None => None,
    };
    let policy = match client.sla_policy_id {
        Some(policy) => activities::sla::find_policy(&mut tx, policy).await?,
        None => None,
    };
    let can_read_tickets = user.0.can(Permission::TICKET_READ);
    let tickets = if can_read_tickets {
        let filter = TicketFilter {
            client_id: Some(id),
            ..TicketFilter::default()
        };
        tickets::list_tickets(&mut tx, &filter, section, 0).await?
    } else {
        activities::pagination::Page {
            data: Vec::new(),
            next_cursor: None,
        }
    };
    let billing = super::client_billing::section(&mut tx, user, &client, refused.credit).await?;
    let playbook_run =
        playbook_launch::section(&mut tx, user, "clients", id, refused.playbook_run).await?;
    tx.commit().await?;
    let mut location_edit = refused.location_edit;
    let locations: Vec<_> = locations
        .iter()
        .map(|location| {
            let (form, errors) = match location_edit.take() {
                Some((edited, form, errors)) if edited == location.id => (form, errors),
                other => {
                    location_edit = other;
                    (LocationForm::of(location), FormErrors::default())
                }
            };
            context! { location, form, errors }
        })
        .collect();
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
        parent,
        manager,
        policy,
        contacts => contacts.data,
        more_contacts => contacts.next_cursor.is_some(),
        locations,
        assets => assets.data,
        more_assets => assets.next_cursor.is_some(),
        tickets => super::tickets::ticket_rows(tickets.data, chrono::Utc::now()),
        more_tickets => tickets.next_cursor.is_some(),
        can_read_tickets,
        can_create_ticket => user.0.can(Permission::TICKET_CREATE),
        kinds,
        timeline,
        more_timeline => more_timeline.is_some(),
        location_form,
        location_errors,
        interaction_form,
        interaction_errors,
        archive_error => refused.archive_error,
        location_error => refused.location_error,
        can_write => user.0.can(Permission::CLIENT_WRITE),
        billing,
        playbook_run,
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
    let input = form.input();
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

/// Checks the CSRF token and CLIENT_WRITE, and parses the client and location ids.
fn location_ids(
    user: &SignedIn,
    ids: &(String, String),
    csrf_token: &str,
) -> Result<(Uuid, Uuid), Refusal> {
    let id = writable(user, &ids.0, csrf_token)?;
    let location = parse_id(&ids.1).ok_or(Refusal::NotFound)?;
    Ok((id, location))
}

pub async fn update_location(
    State(app): State<AppState>,
    user: SignedIn,
    Path(ids): Path<(String, String)>,
    Form(form): Form<LocationForm>,
) -> PageResult {
    let (id, location) = match location_ids(&user, &ids, &form.csrf_token) {
        Ok(ids) => ids,
        Err(refusal) => return answer(&app, &user, refusal),
    };
    // The whole form is sent: every field set, blank country and phone clear.
    let input = form.input();
    let patch = LocationPatch {
        name: Some(input.name),
        address_line1: Some(input.address_line1),
        address_line2: Some(input.address_line2),
        city: Some(input.city),
        region: Some(input.region),
        postal_code: Some(input.postal_code),
        country: Some(input.country),
        phone: Some(input.phone),
        is_default: Some(input.is_default),
        is_billing: Some(input.is_billing),
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match clients::update_location(&mut tx, id, location, patch, Some(user.0.user_id)).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{id}#locations")).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refuse(&app, &user, id, error, LOCATION_FIELDS, |errors| Refused {
                location_edit: Some((location, form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn archive_location(
    State(app): State<AppState>,
    user: SignedIn,
    Path(ids): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let (id, location) = match location_ids(&user, &ids, &form.csrf_token) {
        Ok(ids) => ids,
        Err(refusal) => return answer(&app, &user, refusal),
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match clients::archive_location(&mut tx, id, location, Some(user.0.user_id)).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{id}#locations")).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refuse(&app, &user, id, error, &[], |errors| Refused {
                location_error: Some(errors.general.join("; ")),
                ..Refused::default()
            })
            .await
        }
    }
}
