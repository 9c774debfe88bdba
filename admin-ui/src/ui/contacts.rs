//! Contact pages: the searchable list and the create/edit form. A saved contact leads
//! back to its client's page, where contacts are seen in context.

use super::forms::{link, optional_text, page_after, parse_id, FormErrors, Parse};
use super::lookups::{client_names, client_options};
use super::pages::{
    archived_page, csrf_failure, forbidden_page, nav, not_found_page, render, PageResult,
};
use super::session::SignedIn;
use crate::AppState;
use activities::clients;
use activities::contacts::{self, Contact, ContactFilter};
use activities::records::RecordError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::contacts::{ContactDraft, ContactEmail, ContactInput, ContactPatch, ContactPhone};
use engine::validation::{contains_pattern, FieldIssue};
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The list's search box, client filter and cursor.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ContactListQuery {
    q: String,
    client_id: String,
    #[serde(skip_serializing)]
    cursor: String,
}

pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<ContactListQuery>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_READ) {
        return forbidden_page(&app, &user, Permission::CLIENT_READ);
    }
    let client_id = parse_id(&query.client_id);
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let client = match client_id {
        Some(id) => clients::find_client(&mut tx, id).await?,
        None => None,
    };
    let (rows, next_url, search_error) = match contains_pattern(Some(&query.q)) {
        Err(error) => (Vec::new(), None, Some(format!("Search {error}."))),
        Ok(search) => {
            let filter = ContactFilter {
                client_id,
                search,
                ..ContactFilter::default()
            };
            let page = contacts::list_contacts(&mut tx, &filter, page_after(&query.cursor)).await?;
            let next = page.next_cursor.map(|cursor| {
                let cursor = cursor.to_string();
                let pairs = [
                    ("q", query.q.as_str()),
                    ("client_id", &query.client_id),
                    ("cursor", &cursor),
                ];
                link("/contacts", &pairs)
            });
            (page.data, next, None)
        }
    };
    let names = client_names(&mut tx, rows.iter().map(|c| c.client_id).collect()).await?;
    tx.commit().await?;
    let ctx = context! {
        nav => nav(&user),
        contacts => rows,
        client_names => names,
        client,
        query,
        next_url,
        search_error,
        paged => !query.cursor.is_empty(),
        can_write => user.0.can(Permission::CLIENT_WRITE),
    };
    Ok(render(&app, "contacts.html", ctx)?.into_response())
}

/// The contact form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ContactForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    client_id: String,
    full_name: String,
    role: String,
    email: String,
    phone: String,
    notes: String,
}

const FIELDS: &[&str] = &["client_id", "full_name", "role", "email", "phone", "notes"];

impl ContactForm {
    fn of(contact: &Contact) -> ContactForm {
        ContactForm {
            csrf_token: String::new(),
            client_id: contact.client_id.to_string(),
            full_name: contact.full_name.clone(),
            role: contact.role.clone(),
            email: contact.email.clone().unwrap_or_default(),
            phone: contact.phone.clone().unwrap_or_default(),
            notes: contact.notes.clone(),
        }
    }

    /// The form as a validated input and draft, or every problem at once.
    fn checked(&self) -> Result<(ContactInput, ContactDraft), Vec<FieldIssue>> {
        let mut parse = Parse::default();
        let client_id = parse.id("client_id", &self.client_id);
        let input = ContactInput {
            client_id,
            full_name: Some(self.full_name.clone()),
            role: Some(self.role.clone()),
            email: optional_text(&self.email),
            phone: optional_text(&self.phone),
            notes: Some(self.notes.clone()),
            ..ContactInput::default()
        };
        let draft = parse.merge(input.validate())?;
        Ok((input, draft))
    }
}

/// The form edits the primary address and number. Blank drops the primary entry;
/// another stored entry, if any, becomes primary (validation requires one).
fn patch_of(input: ContactInput, stored: &Contact) -> ContactPatch {
    let mut patch = ContactPatch {
        client_id: Some(input.client_id),
        full_name: Some(input.full_name),
        role: Some(input.role),
        notes: Some(input.notes),
        ..ContactPatch::default()
    };
    match input.email {
        Some(email) => patch.email = Some(Some(email)),
        None => {
            let mut rest: Vec<ContactEmail> =
                serde_json::from_value(stored.emails.clone()).unwrap_or_default();
            rest.retain(|e| !e.is_primary);
            if let Some(first) = rest.first_mut() {
                first.is_primary = true;
            }
            patch.emails = Some(Some(rest));
        }
    }
    match input.phone {
        Some(phone) => patch.phone = Some(Some(phone)),
        None => {
            let mut rest: Vec<ContactPhone> =
                serde_json::from_value(stored.phones.clone()).unwrap_or_default();
            rest.retain(|p| !p.is_primary);
            if let Some(first) = rest.first_mut() {
                first.is_primary = true;
            }
            patch.phones = Some(Some(rest));
        }
    }
    patch
}

/// Issues on the address and number lists belong to the e-mail and phone inputs.
fn on_inputs(issues: Vec<FieldIssue>) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|mut issue| {
            if issue.field.starts_with("emails") {
                issue.field = "email".into();
            } else if issue.field.starts_with("phones") {
                issue.field = "phone".into();
            }
            issue
        })
        .collect()
}

async fn render_form(
    app: &AppState,
    user: &SignedIn,
    id: Option<Uuid>,
    form: &ContactForm,
    errors: &FormErrors,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let options = client_options(&mut tx, parse_id(&form.client_id)).await?;
    tx.commit().await?;
    let ctx = context! { nav => nav(user), id, form, errors, clients => options };
    Ok((status, render(app, "contact_form.html", ctx)?).into_response())
}

async fn refused(
    app: &AppState,
    user: &SignedIn,
    id: Option<Uuid>,
    form: &ContactForm,
    error: RecordError,
) -> PageResult {
    let (errors, status) = match error {
        RecordError::Invalid(issues) => (
            FormErrors::from_issues(on_inputs(issues), FIELDS),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RecordError::Conflict(message) => (FormErrors::general(message), StatusCode::CONFLICT),
        RecordError::NotFound(what) => return not_found_page(app, user, what),
        RecordError::Db(error) => return Err(error.into()),
    };
    render_form(app, user, id, form, &errors, status).await
}

/// `?client_id=` of the new-contact link on a client's page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewContactQuery {
    client_id: String,
}

pub async fn new_form(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<NewContactQuery>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let form = ContactForm {
        client_id: parse_id(&query.client_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        ..ContactForm::default()
    };
    render_form(
        &app,
        &user,
        None,
        &form,
        &FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<ContactForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let draft = match form.checked() {
        Ok((_, draft)) => draft,
        Err(issues) => {
            return refused(&app, &user, None, &form, RecordError::Invalid(issues)).await
        }
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match contacts::create_contact(&mut tx, &draft, Some(user.0.user_id)).await {
        Ok(contact) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{}#contacts", contact.client_id)).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refused(&app, &user, None, &form, error).await
        }
    }
}

pub async fn edit_form(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let Some(contact) = find(&app, &user, &id).await? else {
        return not_found_page(&app, &user, "contact");
    };
    if contact.archived_at.is_some() {
        return archived_page(&app, &user, "contact");
    }
    let form = ContactForm::of(&contact);
    render_form(
        &app,
        &user,
        Some(contact.id),
        &form,
        &FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn update(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ContactForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let Some(stored) = find(&app, &user, &id).await? else {
        return not_found_page(&app, &user, "contact");
    };
    if stored.archived_at.is_some() {
        return archived_page(&app, &user, "contact");
    }
    let input = match form.checked() {
        Ok((input, _)) => input,
        Err(issues) => {
            let error = RecordError::Invalid(issues);
            return refused(&app, &user, Some(stored.id), &form, error).await;
        }
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let patch = patch_of(input, &stored);
    match contacts::update_contact(&mut tx, stored.id, patch, Some(user.0.user_id)).await {
        Ok(contact) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{}#contacts", contact.client_id)).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refused(&app, &user, Some(stored.id), &form, error).await
        }
    }
}

/// The contact with path id `id` (archived included) unless unknown or of another tenant.
async fn find(
    app: &AppState,
    user: &SignedIn,
    id: &str,
) -> Result<Option<Contact>, crate::error::ApiError> {
    let Some(id) = parse_id(id) else {
        return Ok(None);
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let contact = contacts::find_contact(&mut tx, id).await?;
    tx.commit().await?;
    Ok(contact)
}
