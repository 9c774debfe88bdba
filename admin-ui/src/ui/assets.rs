//! Asset pages: the searchable list, the detail page with relationships and change
//! history, and the create/edit form. An asset's location must be one of its client's,
//! so a new asset first picks its client (a plain GET form, no script needed).

use super::forms::{link, optional_text, page_after, parse_id, FormErrors, Parse};
use super::lookups::{client_names, client_options};
use super::pages::{
    archived_page, csrf_failure, forbidden_page, nav, not_found_page, render, PageResult,
};
use super::session::SignedIn;
use crate::AppState;
use activities::assets::{self, Asset, AssetFilter};
use activities::clients::{self, Client};
use activities::records::RecordError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::assets::{AssetDraft, AssetInput, AssetPatch, AssetStatus};
use engine::validation::{contains_pattern, FieldIssue};
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The list's search box, filters and cursor.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AssetListQuery {
    q: String,
    kind: String,
    status: String,
    client_id: String,
    #[serde(skip_serializing)]
    cursor: String,
}

fn statuses() -> Vec<&'static str> {
    AssetStatus::ALL.iter().map(|s| s.as_str()).collect()
}

pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<AssetListQuery>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_READ) {
        return forbidden_page(&app, &user, Permission::CLIENT_READ);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let kinds = assets::list_asset_types(&mut tx).await?;
    let (rows, next_url, search_error) = match contains_pattern(Some(&query.q)) {
        Err(error) => (Vec::new(), None, Some(format!("Search {error}."))),
        Ok(search) => {
            let filter = AssetFilter {
                client_id: parse_id(&query.client_id),
                search,
                kind: optional_text(&query.kind),
                status: AssetStatus::parse(&query.status).ok(),
                ..AssetFilter::default()
            };
            let page = assets::list_assets(&mut tx, &filter, page_after(&query.cursor)).await?;
            let next = page.next_cursor.map(|cursor| {
                let cursor = cursor.to_string();
                let pairs = [
                    ("q", query.q.as_str()),
                    ("kind", &query.kind),
                    ("status", &query.status),
                    ("client_id", &query.client_id),
                    ("cursor", &cursor),
                ];
                link("/assets", &pairs)
            });
            (page.data, next, None)
        }
    };
    let names = client_names(&mut tx, rows.iter().map(|a| a.client_id).collect()).await?;
    tx.commit().await?;
    let ctx = context! {
        nav => nav(&user),
        assets => rows,
        client_names => names,
        kinds,
        statuses => statuses(),
        query,
        next_url,
        search_error,
        paged => !query.cursor.is_empty(),
        can_write => user.0.can(Permission::CLIENT_WRITE),
    };
    Ok(render(&app, "assets.html", ctx)?.into_response())
}

/// The asset form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AssetForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    client_id: String,
    asset_tag: String,
    name: String,
    kind: String,
    serial: String,
    status: String,
    purchased_on: String,
    warranty_expires_on: String,
    location_id: String,
    notes: String,
}

const FIELDS: &[&str] = &[
    "client_id",
    "asset_tag",
    "name",
    "kind",
    "serial",
    "status",
    "purchased_on",
    "warranty_expires_on",
    "location_id",
    "notes",
];

impl AssetForm {
    fn of(asset: &Asset) -> AssetForm {
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        AssetForm {
            csrf_token: String::new(),
            client_id: asset.client_id.to_string(),
            asset_tag: asset.asset_tag.clone(),
            name: asset.name.clone(),
            kind: asset.kind.clone(),
            serial: asset.serial.clone().unwrap_or_default(),
            status: asset.status.clone(),
            purchased_on: date(asset.purchased_on),
            warranty_expires_on: date(asset.warranty_expires_on),
            location_id: asset.location_id.map(|l| l.to_string()).unwrap_or_default(),
            notes: asset.notes.clone(),
        }
    }

    /// The form as a validated input and draft, or every problem at once.
    fn checked(&self) -> Result<(AssetInput, AssetDraft), Vec<FieldIssue>> {
        let mut parse = Parse::default();
        let input = AssetInput {
            client_id: parse.id("client_id", &self.client_id),
            location_id: parse.id("location_id", &self.location_id),
            asset_tag: Some(self.asset_tag.clone()),
            name: Some(self.name.clone()),
            kind: optional_text(&self.kind),
            serial: optional_text(&self.serial),
            status: parse.optional("status", &self.status, AssetStatus::parse),
            purchased_on: parse.date("purchased_on", &self.purchased_on),
            warranty_expires_on: parse.date("warranty_expires_on", &self.warranty_expires_on),
            notes: Some(self.notes.clone()),
            properties: None,
        };
        let draft = parse.merge(input.validate())?;
        Ok((input, draft))
    }
}

/// Every field the form shows; the client and the type's properties stay.
fn patch_of(input: AssetInput) -> AssetPatch {
    AssetPatch {
        location_id: Some(input.location_id),
        asset_tag: Some(input.asset_tag),
        name: Some(input.name),
        kind: Some(input.kind),
        serial: Some(input.serial),
        status: Some(input.status),
        purchased_on: Some(input.purchased_on),
        warranty_expires_on: Some(input.warranty_expires_on),
        notes: Some(input.notes),
        ..AssetPatch::default()
    }
}

/// The form for an asset of `client`; without a client, the client picker.
async fn render_form(
    app: &AppState,
    user: &SignedIn,
    id: Option<Uuid>,
    form: &AssetForm,
    errors: &FormErrors,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let client: Option<Client> = match parse_id(&form.client_id) {
        Some(client_id) => clients::find_client(&mut tx, client_id)
            .await?
            .filter(|c| c.archived_at.is_none()),
        None => None,
    };
    let (locations, options) = match &client {
        Some(client) => (
            clients::list_locations(&mut tx, client.id).await?,
            Vec::new(),
        ),
        None => (Vec::new(), client_options(&mut tx, None).await?),
    };
    let kinds = assets::list_asset_types(&mut tx).await?;
    tx.commit().await?;
    let ctx = context! {
        nav => nav(user), id, form, errors, client, locations, kinds,
        clients => options, statuses => statuses(),
    };
    Ok((status, render(app, "asset_form.html", ctx)?).into_response())
}

async fn refused(
    app: &AppState,
    user: &SignedIn,
    id: Option<Uuid>,
    form: &AssetForm,
    error: RecordError,
) -> PageResult {
    let (errors, status) = match error {
        RecordError::Invalid(issues) => (
            FormErrors::from_issues(issues, FIELDS),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RecordError::Conflict(message) => (FormErrors::general(message), StatusCode::CONFLICT),
        RecordError::NotFound(what) => return not_found_page(app, user, what),
        RecordError::Db(error) => return Err(error.into()),
    };
    render_form(app, user, id, form, &errors, status).await
}

/// `?client_id=` of the new-asset link on a client's page (or of the client picker).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewAssetQuery {
    client_id: String,
}

pub async fn new_form(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<NewAssetQuery>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let form = AssetForm {
        client_id: query.client_id,
        kind: "workstation".into(),
        status: AssetStatus::Active.as_str().into(),
        ..AssetForm::default()
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
    Form(form): Form<AssetForm>,
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
    match assets::create_asset(&mut tx, &draft, Some(user.0.user_id)).await {
        Ok(asset) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/assets/{}", asset.id)).into_response())
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
    let Some(asset) = find(&app, &user, &id).await? else {
        return not_found_page(&app, &user, "asset");
    };
    if asset.archived_at.is_some() {
        return archived_page(&app, &user, "asset");
    }
    let form = AssetForm::of(&asset);
    render_form(
        &app,
        &user,
        Some(asset.id),
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
    Form(mut form): Form<AssetForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::CLIENT_WRITE) {
        return forbidden_page(&app, &user, Permission::CLIENT_WRITE);
    }
    let Some(stored) = find(&app, &user, &id).await? else {
        return not_found_page(&app, &user, "asset");
    };
    if stored.archived_at.is_some() {
        return archived_page(&app, &user, "asset");
    }
    // The edit form does not move assets between clients.
    form.client_id = stored.client_id.to_string();
    let input = match form.checked() {
        Ok((input, _)) => input,
        Err(issues) => {
            let error = RecordError::Invalid(issues);
            return refused(&app, &user, Some(stored.id), &form, error).await;
        }
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match assets::update_asset(&mut tx, stored.id, patch_of(input), Some(user.0.user_id)).await {
        Ok(asset) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/assets/{}", asset.id)).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refused(&app, &user, Some(stored.id), &form, error).await
        }
    }
}

/// The asset with path id `id` (archived included) unless unknown or of another tenant.
async fn find(
    app: &AppState,
    user: &SignedIn,
    id: &str,
) -> Result<Option<Asset>, crate::error::ApiError> {
    let Some(id) = parse_id(id) else {
        return Ok(None);
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let asset = assets::find_asset(&mut tx, id).await?;
    tx.commit().await?;
    Ok(asset)
}
