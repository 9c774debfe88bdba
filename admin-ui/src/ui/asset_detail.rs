//! An asset's page: its fields, its relationships to other assets and its
//! field-by-field change history, the record a technician checks before touching a
//! device.

use super::forms::parse_id;
use super::pages::{forbidden_page, nav, not_found_page, render, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::assets;
use activities::clients;
use activities::pagination::PageRequest;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use engine::Permission;
use minijinja::context;

/// History entries shown.
const HISTORY_ROWS: i64 = 50;

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
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let Some(asset) = assets::find_asset(&mut tx, id).await? else {
        tx.commit().await?;
        return not_found_page(&app, &user, "asset");
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
    let ctx = context! {
        nav => nav(&user), asset, client, location, related, history,
        can_write => user.0.can(Permission::CLIENT_WRITE),
    };
    Ok(render(&app, "asset.html", ctx)?.into_response())
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
