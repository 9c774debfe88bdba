//! Client pages: the searchable list and the create/edit form. The detail page with
//! its contacts, locations, assets and timeline lives in `client_detail`.

use super::forms::{self, checkbox, link, optional_text, page_after, ticked, FormErrors, Parse};
use super::lookups::{client_options, user_options};
use super::pages::{
    archived_page, csrf_failure, forbidden_page, nav, not_found_page, render, PageResult,
};
use super::session::SignedIn;
use crate::AppState;
use activities::clients::{self, Client, ClientFilter, RecordError};
use activities::sla;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::clients::{
    BillingCycle, ClientDraft, ClientInput, ClientPatch, ClientType, PaymentTerms,
};
use engine::validation::{contains_pattern, FieldIssue};
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The list's search box, filters and cursor; all text, so a hand-edited URL still
/// gives a page.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClientListQuery {
    q: String,
    /// `active` (default), `inactive` or `all`.
    status: String,
    /// `company`, `individual` or blank for both.
    client_type: String,
    tag: String,
    #[serde(skip_serializing)]
    cursor: String,
}

pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<ClientListQuery>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_READ) {
        return forbidden_page(&app, &user, Permission::CLIENT_READ);
    }
    let (rows, next_url, search_error) = match contains_pattern(Some(&query.q)) {
        Err(error) => (Vec::new(), None, Some(format!("Search {error}."))),
        Ok(search) => {
            let filter = ClientFilter {
                search,
                is_inactive: match query.status.as_str() {
                    "all" => None,
                    "inactive" => Some(true),
                    _ => Some(false),
                },
                client_type: ClientType::parse(&query.client_type).ok(),
                tag: optional_text(&query.tag),
                ..ClientFilter::default()
            };
            let mut tx = app.db.tenant_tx(user.0.tenant).await?;
            let page = clients::list_clients(&mut tx, &filter, page_after(&query.cursor)).await?;
            tx.commit().await?;
            let next = page.next_cursor.map(|cursor| {
                let cursor = cursor.to_string();
                link(
                    "/clients",
                    &[
                        ("q", &query.q),
                        ("status", &query.status),
                        ("client_type", &query.client_type),
                        ("tag", &query.tag),
                        ("cursor", &cursor),
                    ],
                )
            });
            (page.data, next, None)
        }
    };
    let ctx = context! {
        nav => nav(&user),
        clients => rows,
        query,
        next_url,
        search_error,
        paged => !query.cursor.is_empty(),
        can_write => user.0.can(Permission::CLIENT_WRITE),
    };
    Ok(render(&app, "clients.html", ctx)?.into_response())
}

/// The client form as submitted: text as typed, so a refused form comes back with
/// exactly what the user entered.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClientForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    client_type: String,
    billing_email: String,
    currency: String,
    payment_terms: String,
    billing_cycle: String,
    billing_anchor_day: String,
    tax_region: String,
    is_tax_exempt: Option<String>,
    tax_exempt_certificate: String,
    tags: String,
    notes: String,
    parent_id: String,
    account_manager_id: String,
    sla_policy_id: String,
    is_inactive: Option<String>,
}

/// The inputs the form shows; issues on other fields are listed above it.
const FIELDS: &[&str] = &[
    "name",
    "client_type",
    "billing_email",
    "currency",
    "payment_terms",
    "billing_cycle",
    "billing_anchor_day",
    "tax_region",
    "is_tax_exempt",
    "tax_exempt_certificate",
    "tags",
    "notes",
    "parent_id",
    "account_manager_id",
    "sla_policy_id",
    "is_inactive",
];

impl ClientForm {
    /// A new client's form, with the defaults validation would apply.
    fn blank() -> ClientForm {
        ClientForm {
            client_type: ClientType::Company.as_str().into(),
            currency: "USD".into(),
            payment_terms: PaymentTerms::Net30.as_str().into(),
            billing_cycle: BillingCycle::Monthly.as_str().into(),
            billing_anchor_day: "1".into(),
            ..ClientForm::default()
        }
    }

    /// The stored client, as the edit form shows it.
    fn of(client: &Client) -> ClientForm {
        ClientForm {
            csrf_token: String::new(),
            name: client.name.clone(),
            client_type: client.client_type.clone(),
            billing_email: client.billing_email.clone().unwrap_or_default(),
            currency: client.currency.clone(),
            payment_terms: client.payment_terms.clone(),
            billing_cycle: client.billing_cycle.clone(),
            billing_anchor_day: client.billing_anchor_day.to_string(),
            tax_region: client.tax_region.clone().unwrap_or_default(),
            is_tax_exempt: checkbox(client.is_tax_exempt),
            tax_exempt_certificate: client.tax_exempt_certificate.clone().unwrap_or_default(),
            tags: client.tags.join(", "),
            notes: client.notes.clone(),
            parent_id: id_text(client.parent_id),
            account_manager_id: id_text(client.account_manager_id),
            sla_policy_id: id_text(client.sla_policy_id),
            is_inactive: checkbox(client.is_inactive),
        }
    }

    /// The form as a validated input and draft, or every problem at once.
    fn checked(&self) -> Result<(ClientInput, ClientDraft), Vec<FieldIssue>> {
        let mut parse = Parse::default();
        let input = ClientInput {
            name: Some(self.name.clone()),
            client_type: parse.optional("client_type", &self.client_type, ClientType::parse),
            billing_email: optional_text(&self.billing_email),
            currency: optional_text(&self.currency),
            payment_terms: parse.optional(
                "payment_terms",
                &self.payment_terms,
                PaymentTerms::parse,
            ),
            tax_region: optional_text(&self.tax_region),
            is_tax_exempt: Some(ticked(&self.is_tax_exempt)),
            tax_exempt_certificate: optional_text(&self.tax_exempt_certificate),
            billing_cycle: parse.optional(
                "billing_cycle",
                &self.billing_cycle,
                BillingCycle::parse,
            ),
            billing_anchor_day: parse.number("billing_anchor_day", &self.billing_anchor_day),
            parent_id: parse.id("parent_id", &self.parent_id),
            account_manager_id: parse.id("account_manager_id", &self.account_manager_id),
            sla_policy_id: parse.id("sla_policy_id", &self.sla_policy_id),
            is_inactive: Some(ticked(&self.is_inactive)),
            notes: Some(self.notes.clone()),
            tags: Some(
                self.tags
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            ..ClientInput::default()
        };
        let draft = parse.merge(input.validate())?;
        Ok((input, draft))
    }
}

/// Every field the form shows, set (HTML forms send them all); blank optional text
/// and blank selects clear. Fields the form does not show (properties) stay.
fn patch_of(input: ClientInput) -> ClientPatch {
    ClientPatch {
        name: Some(input.name),
        client_type: Some(input.client_type),
        billing_email: Some(input.billing_email),
        currency: Some(input.currency),
        payment_terms: Some(input.payment_terms),
        tax_region: Some(input.tax_region),
        is_tax_exempt: Some(input.is_tax_exempt),
        tax_exempt_certificate: Some(input.tax_exempt_certificate),
        billing_cycle: Some(input.billing_cycle),
        billing_anchor_day: Some(input.billing_anchor_day),
        notes: Some(input.notes),
        tags: Some(input.tags),
        parent_id: Some(input.parent_id),
        account_manager_id: Some(input.account_manager_id),
        sla_policy_id: Some(input.sla_policy_id),
        is_inactive: Some(input.is_inactive),
        ..ClientPatch::default()
    }
}

/// A stored optional id as form text.
fn id_text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// Where the form posts: a new client, or the edit of `id`. The parent, account
/// manager and SLA policy selects list what there is to choose from, keeping the
/// current choice even when it is no longer offered (an inactive parent).
async fn render_form(
    app: &AppState,
    user: &SignedIn,
    id: Option<Uuid>,
    form: &ClientForm,
    errors: &FormErrors,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let parents: Vec<Client> = client_options(&mut tx, forms::parse_id(&form.parent_id))
        .await?
        .into_iter()
        .filter(|c| Some(c.id) != id)
        .collect();
    let managers = user_options(&mut tx, forms::parse_id(&form.account_manager_id)).await?;
    let policies = sla::list_policies(&mut tx).await?;
    tx.commit().await?;
    let ctx = context! {
        nav => nav(user),
        id,
        form,
        errors,
        parents,
        managers,
        policies,
        client_types => ClientType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        payment_terms => PaymentTerms::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        billing_cycles => BillingCycle::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
    };
    Ok((status, render(app, "client_form.html", ctx)?).into_response())
}

/// Re-shows a refused form: field problems are 422, a state conflict 409.
async fn refused(
    app: &AppState,
    user: &SignedIn,
    id: Option<Uuid>,
    form: &ClientForm,
    error: RecordError,
) -> PageResult {
    match error {
        RecordError::Invalid(issues) => {
            render_form(
                app,
                user,
                id,
                form,
                &FormErrors::from_issues(issues, FIELDS),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        RecordError::Conflict(message) => {
            render_form(
                app,
                user,
                id,
                form,
                &FormErrors::general(message),
                StatusCode::CONFLICT,
            )
            .await
        }
        RecordError::NotFound(what) => not_found_page(app, user, what),
        RecordError::Db(error) => Err(error.into()),
    }
}

pub async fn new_form(State(app): State<AppState>, user: SignedIn) -> PageResult {
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let errors = FormErrors::default();
    render_form(
        &app,
        &user,
        None,
        &ClientForm::blank(),
        &errors,
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<ClientForm>,
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
    match clients::create_client(&mut tx, &draft, Some(user.0.user_id)).await {
        Ok(client) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{}", client.id)).into_response())
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
    let Some(client) = find(&app, &user, &id).await? else {
        return not_found_page(&app, &user, "client");
    };
    if client.archived_at.is_some() {
        return archived_page(&app, &user, "client");
    }
    let errors = FormErrors::default();
    let form = ClientForm::of(&client);
    render_form(&app, &user, Some(client.id), &form, &errors, StatusCode::OK).await
}

pub async fn update(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ClientForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let Some(id) = forms::parse_id(&id) else {
        return not_found_page(&app, &user, "client");
    };
    let input = match form.checked() {
        Ok((input, _)) => input,
        Err(issues) => {
            return refused(&app, &user, Some(id), &form, RecordError::Invalid(issues)).await
        }
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match clients::update_client(&mut tx, id, patch_of(input), Some(user.0.user_id)).await {
        Ok(client) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/clients/{}", client.id)).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refused(&app, &user, Some(id), &form, error).await
        }
    }
}

/// The client with path id `id` (archived included) unless unknown or of another tenant.
async fn find(
    app: &AppState,
    user: &SignedIn,
    id: &str,
) -> Result<Option<Client>, crate::error::ApiError> {
    let Some(id) = forms::parse_id(id) else {
        return Ok(None);
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let client = clients::find_client(&mut tx, id).await?;
    tx.commit().await?;
    Ok(client)
}
