//! An asset's page: its fields, its relationships to other assets (with forms to add
//! and remove them) and its field-by-field change history, the record a technician
//! checks before touching a device.

use super::forms::{parse_id, FormErrors, Parse};
use super::pages::{forbidden_page, nav, not_found_page, render, writable, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::assets::{self, AssetFilter};
use activities::clients;
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::records::RecordError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::assets::RelationshipKind;
use engine::validation::FieldIssue;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// History entries shown.
const HISTORY_ROWS: i64 = 50;

/// The add- and remove-relationship forms: the kind as listed on the page and the
/// other asset.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RelationForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    kind: String,
    related_id: String,
}

const RELATION_FIELDS: &[&str] = &["kind", "related_id"];

pub async fn detail(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    if !user.0.can(Permission::CLIENT_READ) {
        return forbidden_page(&app, &user, Permission::CLIENT_READ);
    }
    let Some(id) = parse_id(&id) else {
        return not_found_page(&app, &user, "asset");
    };
    let form = RelationForm {
        kind: RelationshipKind::DependsOn.as_str().into(),
        ..RelationForm::default()
    };
    render_detail(&app, &user, id, form, FormErrors::default(), StatusCode::OK).await
}

async fn render_detail(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    relation_form: RelationForm,
    relation_errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let Some(asset) = assets::find_asset(&mut tx, id).await? else {
        tx.commit().await?;
        return not_found_page(app, user, "asset");
    };
    let client = clients::find_client(&mut tx, asset.client_id).await?;
    let location = clients::list_locations(&mut tx, asset.client_id)
        .await?
        .into_iter()
        .find(|l| Some(l.id) == asset.location_id);
    let mut related = Vec::new();
    for relationship in assets::list_relationships(&mut tx, id).await? {
        let other = assets::find_asset(&mut tx, relationship.asset_id).await?;
        related.push(
            context! { kind => relationship.kind, id => relationship.asset_id, asset => other },
        );
    }
    // The other assets of the same client, to relate to.
    let filter = AssetFilter {
        client_id: Some(asset.client_id),
        ..AssetFilter::default()
    };
    let all = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let mut candidates: Vec<_> = assets::list_assets(&mut tx, &filter, all)
        .await?
        .data
        .into_iter()
        .filter(|a| a.id != id)
        .collect();
    candidates.sort_by_key(|a| a.asset_tag.to_lowercase());
    let first = PageRequest {
        limit: HISTORY_ROWS,
        after: None,
    };
    let history = assets::asset_history(&mut tx, id, first).await?;
    tx.commit().await?;
    let history: Vec<_> = history
        .data
        .into_iter()
        .map(|entry| {
            context! {
                action => entry.action, changed_at => entry.changed_at,
                changes => changes_of(&entry.changes),
            }
        })
        .collect();
    let kinds: Vec<&str> = RelationshipKind::ALL.iter().map(|k| k.as_str()).collect();
    let ctx = context! {
        nav => nav(user), asset, client, location, related, history, candidates, kinds,
        relation_form, relation_errors,
        can_write => user.0.can(Permission::CLIENT_WRITE),
    };
    Ok((status, render(app, "asset.html", ctx)?).into_response())
}

/// The page again with the refused relationship form: field problems (a cycle, an
/// unknown asset) are 422 next to the asset select, a conflict (a second parent, an
/// archived asset) 409 above the form.
async fn refuse(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    form: RelationForm,
    error: RecordError,
) -> PageResult {
    let (errors, status) = match error {
        RecordError::Invalid(issues) => {
            // The domain names the other asset `asset_id`; the form calls it `related_id`.
            let issues = issues
                .into_iter()
                .map(|issue| FieldIssue {
                    field: if issue.field == "asset_id" {
                        "related_id".into()
                    } else {
                        issue.field
                    },
                    message: issue.message,
                })
                .collect();
            (
                FormErrors::from_issues(issues, RELATION_FIELDS),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        RecordError::Conflict(message) => (FormErrors::general(message), StatusCode::CONFLICT),
        RecordError::NotFound(what) => return not_found_page(app, user, what),
        RecordError::Db(error) => return Err(error.into()),
    };
    render_detail(app, user, id, form, errors, status).await
}

pub async fn add_relationship(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RelationForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::CLIENT_WRITE,
        &id,
        "asset",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let mut parse = Parse::default();
    let kind = parse.optional("kind", &form.kind, RelationshipKind::parse);
    let related = parse.id("related_id", &form.related_id);
    if related.is_none() && parse.0.iter().all(|i| i.field != "related_id") {
        parse.add("related_id", "is required");
    }
    let (kind, related) = match (parse.merge(Ok(())), kind, related) {
        (Ok(()), Some(kind), Some(related)) => (kind, related),
        (Err(issues), _, _) => {
            return refuse(&app, &user, id, form, RecordError::Invalid(issues)).await
        }
        (Ok(()), _, _) => {
            let error = RecordError::field("kind", "is required");
            return refuse(&app, &user, id, form, error).await;
        }
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match assets::add_relationship(&mut tx, id, related, kind, Some(user.0.user_id)).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/assets/{id}#relationships")).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            refuse(&app, &user, id, form, error).await
        }
    }
}

/// Removes a relationship as the page lists it: `parent` and `depends_on` are this
/// asset's own, `child` and `dependent` the other asset's towards this one.
pub async fn remove_relationship(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RelationForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::CLIENT_WRITE,
        &id,
        "asset",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let Some(other) = parse_id(&form.related_id) else {
        return not_found_page(&app, &user, "relationship");
    };
    let (from, to, kind) = match form.kind.as_str() {
        "parent" => (id, other, RelationshipKind::Parent),
        "depends_on" => (id, other, RelationshipKind::DependsOn),
        "child" => (other, id, RelationshipKind::Parent),
        "dependent" => (other, id, RelationshipKind::DependsOn),
        _ => return not_found_page(&app, &user, "relationship"),
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match assets::remove_relationship(&mut tx, from, to, kind, Some(user.0.user_id)).await {
        // Already gone (a second click, another user): the page shows the state.
        Ok(()) | Err(RecordError::NotFound(_)) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/assets/{id}#relationships")).into_response())
        }
        Err(error) => {
            tx.rollback().await?;
            let form = RelationForm::default();
            refuse(&app, &user, id, form, error).await
        }
    }
}

/// `{"field": {"from": a, "to": b}}` as rows of text, so the page shows values rather
/// than JSON.
fn changes_of(changes: &serde_json::Value) -> Vec<(String, String, String)> {
    let text = |value: Option<&serde_json::Value>| match value {
        None | Some(serde_json::Value::Null) => "—".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    changes
        .as_object()
        .map(|map| {
            map.iter()
                // The record's own id says nothing to a reader of its history.
                .filter(|(field, _)| field.as_str() != "id")
                .map(|(field, change)| {
                    (
                        field.clone(),
                        text(change.get("from")),
                        text(change.get("to")),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
