//! Assets: create, change, archive and search, with a field-by-field change history,
//! tenant asset types and relationships.

mod relationships;
mod types;
mod warranty;

pub use relationships::{add_relationship, list_relationships, remove_relationship, Relationship};
pub use types::{create_asset_type, list_asset_types, update_asset_type, AssetType};
pub use warranty::flag_expiring_warranties;

use crate::audit::{self, AuditEntry};
use crate::clients::{keel_search_key, require_live_client};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{asset_changes, assets, client_locations};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::assets::{AssetDraft, AssetInput, AssetPatch, AssetStatus};
use engine::validation::FieldIssue;
use engine::{DomainEvent, RecordRef};
use serde::Serialize;
use uuid::Uuid;

/// An asset as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = assets)]
pub struct Asset {
    /// Asset id.
    pub id: Uuid,
    /// Owning client.
    pub client_id: Uuid,
    /// A location of the client.
    pub location_id: Option<Uuid>,
    /// Unique tag in the tenant.
    pub asset_tag: String,
    /// Name.
    pub name: String,
    /// Asset type key.
    pub kind: String,
    /// Serial number.
    pub serial: Option<String>,
    /// `active`, `in_stock`, `in_repair`, `retired`, `lost`.
    pub status: String,
    /// Purchase date.
    pub purchased_on: Option<NaiveDate>,
    /// Warranty end date.
    pub warranty_expires_on: Option<NaiveDate>,
    /// Fields of the asset's type.
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// Free text.
    pub notes: String,
    /// Set once deleted.
    pub archived_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl Asset {
    fn to_input(&self) -> AssetInput {
        AssetInput {
            client_id: Some(self.client_id),
            location_id: self.location_id,
            asset_tag: Some(self.asset_tag.clone()),
            name: Some(self.name.clone()),
            kind: Some(self.kind.clone()),
            serial: self.serial.clone(),
            status: AssetStatus::parse(&self.status).ok(),
            purchased_on: self.purchased_on,
            warranty_expires_on: self.warranty_expires_on,
            properties: Some(self.properties.clone()),
            notes: Some(self.notes.clone()),
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("updated_at");
            map.remove("created_at");
        }
        value
    }
}

/// One entry of an asset's change history.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = asset_changes)]
pub struct AssetChange {
    /// Entry id.
    pub id: Uuid,
    /// Who made the change (none for the system).
    pub actor_user_id: Option<Uuid>,
    /// `created`, `updated`, `archived`, `relationship_added`, `relationship_removed`.
    pub action: String,
    /// `{"field": {"from": …, "to": …}}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// When.
    pub changed_at: DateTime<Utc>,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = assets, treat_none_as_null = true)]
pub(crate) struct AssetColumns<'a> {
    client_id: Uuid,
    location_id: Option<Uuid>,
    asset_tag: &'a str,
    name: &'a str,
    kind: &'a str,
    serial: Option<&'a str>,
    status: &'a str,
    purchased_on: Option<NaiveDate>,
    warranty_expires_on: Option<NaiveDate>,
    properties: &'a serde_json::Value,
    notes: &'a str,
}

impl<'a> From<&'a AssetDraft> for AssetColumns<'a> {
    fn from(d: &'a AssetDraft) -> Self {
        AssetColumns {
            client_id: d.client_id,
            location_id: d.location_id,
            asset_tag: &d.asset_tag,
            name: &d.name,
            kind: &d.kind,
            serial: d.serial.as_deref(),
            status: d.status.as_str(),
            purchased_on: d.purchased_on,
            warranty_expires_on: d.warranty_expires_on,
            properties: &d.properties,
            notes: &d.notes,
        }
    }
}

/// Filters of an asset list.
#[derive(Clone, Debug, Default)]
pub struct AssetFilter {
    /// Only this client's.
    pub client_id: Option<Uuid>,
    /// A `LIKE` pattern on tag, name and serial.
    pub search: Option<String>,
    /// Only of this type.
    pub kind: Option<String>,
    /// Only in this status.
    pub status: Option<AssetStatus>,
    /// Only those whose warranty ends on or before this date.
    pub warranty_before: Option<NaiveDate>,
    /// Include archived assets.
    pub include_archived: bool,
}

/// One page of assets, newest first.
pub async fn list_assets(
    tx: &mut TenantTx,
    filter: &AssetFilter,
    page: PageRequest,
) -> Result<Page<Asset>, DbError> {
    let mut query = assets::table
        .select(Asset::as_select())
        .order(assets::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(assets::id.lt(after));
    }
    if let Some(client) = filter.client_id {
        query = query.filter(assets::client_id.eq(client));
    }
    if let Some(pattern) = &filter.search {
        query = query.filter(assets::search_key.like(keel_search_key(pattern.clone())));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(assets::kind.eq(kind));
    }
    if let Some(status) = filter.status {
        query = query.filter(assets::status.eq(status.as_str()));
    }
    if let Some(date) = filter.warranty_before {
        query = query.filter(assets::warranty_expires_on.le(date));
    }
    if !filter.include_archived {
        query = query.filter(assets::archived_at.is_null());
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |a| a.id))
}

/// The asset with `id` (archived included).
pub async fn find_asset(tx: &mut TenantTx, id: Uuid) -> Result<Option<Asset>, DbError> {
    Ok(assets::table
        .find((tx.tenant().0, id))
        .select(Asset::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// Checks the client, the location (a live one of that client), the type and the
/// properties against the type's schema.
pub(crate) async fn check_asset(tx: &mut TenantTx, draft: &AssetDraft) -> Result<(), RecordError> {
    require_live_client(tx, draft.client_id, "client_id").await?;
    let mut issues: Vec<FieldIssue> = Vec::new();
    if let Some(location) = draft.location_id {
        let owner: Option<(Uuid, Option<DateTime<Utc>>)> = client_locations::table
            .find((tx.tenant().0, location))
            .select((client_locations::client_id, client_locations::archived_at))
            .first(tx.conn())
            .await
            .optional()
            .map_err(DbError::from)?;
        let message = match owner {
            None => Some("no such location"),
            Some((owner, _)) if owner != draft.client_id => {
                Some("belongs to another client than the asset")
            }
            Some((_, Some(_))) => Some("refers to an archived location"),
            Some(_) => None,
        };
        if let Some(message) = message {
            issues.push(FieldIssue {
                field: "location_id".into(),
                message: message.into(),
            });
        }
    }
    match types::schema_for(tx, &draft.kind).await? {
        Err(message) => issues.push(FieldIssue {
            field: "kind".into(),
            message,
        }),
        Ok(Some(schema)) => issues.extend(schema.check(&draft.properties)),
        Ok(None) => {}
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(RecordError::Invalid(issues))
    }
}

/// Creates an asset.
pub async fn create_asset(
    tx: &mut TenantTx,
    draft: &AssetDraft,
    actor: Option<Uuid>,
) -> Result<Asset, RecordError> {
    check_asset(tx, draft).await?;
    let asset = insert_asset(tx, draft).await?;
    let changes = engine::changes::field_changes(&serde_json::json!({}), &asset.snapshot());
    log_change(tx, asset.id, actor, "created", changes).await?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "asset.created",
            resource: "asset",
            resource_id: Some(asset.id),
            details: serde_json::json!({ "asset_tag": asset.asset_tag, "client_id": asset.client_id }),
        },
        DomainEvent::AssetCreated(RecordRef::new(asset.id, asset.client_id)),
    )
    .await?;
    Ok(asset)
}

/// Inserts without history, audit or event; a taken tag is a field error.
pub(crate) async fn insert_asset(
    tx: &mut TenantTx,
    draft: &AssetDraft,
) -> Result<Asset, RecordError> {
    diesel::insert_into(assets::table)
        .values((
            assets::tenant.eq(tx.tenant().0),
            assets::id.eq(Uuid::now_v7()),
            AssetColumns::from(draft),
        ))
        .returning(Asset::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| tag_taken(e, &draft.asset_tag))
}

fn tag_taken(error: diesel::result::Error, tag: &str) -> RecordError {
    match DbError::from(error) {
        e if e.is_unique_violation() => RecordError::field(
            "asset_tag",
            format!("{tag:?} is already the tag of another asset"),
        ),
        e => RecordError::Db(e),
    }
}

/// Changes an asset; each changed field goes into its history.
pub async fn update_asset(
    tx: &mut TenantTx,
    id: Uuid,
    patch: AssetPatch,
    actor: Option<Uuid>,
) -> Result<Asset, RecordError> {
    let before = lock_asset(tx, id).await?;
    if before.archived_at.is_some() {
        return Err(RecordError::Conflict("the asset is archived".into()));
    }
    let mut input = before.to_input();
    let client_changes = patch.client_id.is_some();
    patch.apply_to(&mut input);
    // Moving an asset to another client leaves its old client's location behind.
    if client_changes
        && input.client_id != Some(before.client_id)
        && input.location_id == before.location_id
    {
        input.location_id = None;
    }
    let draft = input.validate()?;
    check_asset(tx, &draft).await?;
    let after: Asset = diesel::update(assets::table.find((tx.tenant().0, id)))
        .set((
            AssetColumns::from(&draft),
            assets::updated_at.eq(Utc::now()),
        ))
        .returning(Asset::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| tag_taken(e, &draft.asset_tag))?;
    let changes = engine::changes::field_changes(&before.snapshot(), &after.snapshot());
    if !changes.is_empty() {
        let changed = changes.keys().cloned().collect();
        log_change(tx, id, actor, "updated", changes.clone()).await?;
        audit::record_with_event(
            tx,
            AuditEntry {
                actor,
                action: "asset.updated",
                resource: "asset",
                resource_id: Some(id),
                details: serde_json::json!({ "changes": changes }),
            },
            DomainEvent::AssetUpdated(RecordRef {
                id,
                client_id: after.client_id,
                changed,
            }),
        )
        .await?;
    }
    Ok(after)
}

/// Archives an asset and drops its relationships; archiving again is a no-op.
pub async fn archive_asset(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    let asset = lock_asset(tx, id).await?;
    if asset.archived_at.is_some() {
        return Ok(());
    }
    relationships::detach_all(tx, id).await?;
    diesel::update(assets::table.find((tx.tenant().0, id)))
        .set((
            assets::archived_at.eq(Utc::now()),
            assets::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    log_change(tx, id, actor, "archived", serde_json::Map::new()).await?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "asset.archived",
            resource: "asset",
            resource_id: Some(id),
            details: serde_json::json!({ "asset_tag": asset.asset_tag }),
        },
        DomainEvent::AssetArchived(RecordRef::new(id, asset.client_id)),
    )
    .await?;
    Ok(())
}

/// The asset's history, newest first.
pub async fn asset_history(
    tx: &mut TenantTx,
    id: Uuid,
    page: PageRequest,
) -> Result<Page<AssetChange>, DbError> {
    let mut query = asset_changes::table
        .filter(asset_changes::asset_id.eq(id))
        .select(AssetChange::as_select())
        .order(asset_changes::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(asset_changes::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |c| c.id))
}

pub(crate) async fn lock_asset(tx: &mut TenantTx, id: Uuid) -> Result<Asset, RecordError> {
    assets::table
        .find((tx.tenant().0, id))
        .select(Asset::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("asset"))
}

pub(crate) async fn log_change(
    tx: &mut TenantTx,
    asset_id: Uuid,
    actor: Option<Uuid>,
    action: &str,
    changes: serde_json::Map<String, serde_json::Value>,
) -> Result<(), DbError> {
    diesel::insert_into(asset_changes::table)
        .values((
            asset_changes::tenant.eq(tx.tenant().0),
            asset_changes::id.eq(Uuid::now_v7()),
            asset_changes::asset_id.eq(asset_id),
            asset_changes::actor_user_id.eq(actor),
            asset_changes::action.eq(action),
            asset_changes::changes.eq(serde_json::Value::Object(changes)),
        ))
        .execute(tx.conn())
        .await?;
    Ok(())
}
