//! Asset types: the built-ins, and the tenant's own with a JSON Schema for the
//! `properties` of their assets.

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::asset_types;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::assets::{is_builtin_kind, FieldSchema, BUILTIN_KINDS};
use serde::Serialize;
use uuid::Uuid;

/// An asset type.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AssetType {
    /// The key assets use in `kind`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// JSON Schema for `properties` (`{}` accepts any object).
    #[schema(value_type = Object)]
    pub field_schema: serde_json::Value,
    /// Shipped with Keel.
    pub is_builtin: bool,
}

/// Built-in types first, then the tenant's by name.
pub async fn list_asset_types(tx: &mut TenantTx) -> Result<Vec<AssetType>, DbError> {
    let custom: Vec<(String, String, serde_json::Value)> = asset_types::table
        .select((
            asset_types::key,
            asset_types::name,
            asset_types::field_schema,
        ))
        .order(asset_types::name)
        .load(tx.conn())
        .await?;
    let builtin = BUILTIN_KINDS.iter().map(|(key, name)| AssetType {
        key: (*key).into(),
        name: (*name).into(),
        field_schema: serde_json::json!({}),
        is_builtin: true,
    });
    Ok(builtin
        .chain(
            custom
                .into_iter()
                .map(|(key, name, field_schema)| AssetType {
                    key,
                    name,
                    field_schema,
                    is_builtin: false,
                }),
        )
        .collect())
}

/// The compiled schema of type `key`: `Ok(None)` for built-ins (free-form),
/// `Err(message)` when there is no such type.
pub(crate) async fn schema_for(
    tx: &mut TenantTx,
    key: &str,
) -> Result<Result<Option<FieldSchema>, String>, DbError> {
    if is_builtin_kind(key) {
        return Ok(Ok(None));
    }
    let schema: Option<serde_json::Value> = asset_types::table
        .find((tx.tenant().0, key))
        .select(asset_types::field_schema)
        .first(tx.conn())
        .await
        .optional()?;
    Ok(match schema {
        None => Err(format!("{key:?} is not a built-in or tenant asset type")),
        // A stored schema compiled when it was saved; should that ever fail, the
        // asset is refused rather than stored unchecked.
        Some(schema) => FieldSchema::compile(&schema)
            .map(Some)
            .map_err(|e| format!("the type's schema {e}")),
    })
}

/// Adds a tenant asset type.
pub async fn create_asset_type(
    tx: &mut TenantTx,
    key: &str,
    name: &str,
    field_schema: &serde_json::Value,
    actor: Option<Uuid>,
) -> Result<AssetType, RecordError> {
    let key = engine::interactions::kind_key(key).map_err(|e| RecordError::field("key", e))?;
    if is_builtin_kind(&key) {
        return Err(RecordError::Conflict(format!(
            "{key:?} is a built-in asset type"
        )));
    }
    FieldSchema::compile(field_schema).map_err(|e| RecordError::field("field_schema", e))?;
    diesel::insert_into(asset_types::table)
        .values((
            asset_types::tenant.eq(tx.tenant().0),
            asset_types::key.eq(&key),
            asset_types::name.eq(name),
            asset_types::field_schema.eq(field_schema),
        ))
        .execute(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            e if e.is_unique_violation() => {
                RecordError::Conflict(format!("an asset type {key:?} already exists"))
            }
            e => RecordError::Db(e),
        })?;
    record(tx, actor, "asset_type.created", &key, field_schema).await?;
    Ok(AssetType {
        key,
        name: name.into(),
        field_schema: field_schema.clone(),
        is_builtin: false,
    })
}

/// Renames a tenant type or replaces its schema. Existing assets are not
/// revalidated; the new schema applies to their next change.
pub async fn update_asset_type(
    tx: &mut TenantTx,
    key: &str,
    name: Option<&str>,
    field_schema: Option<&serde_json::Value>,
    actor: Option<Uuid>,
) -> Result<AssetType, RecordError> {
    if is_builtin_kind(key) {
        return Err(RecordError::Conflict(format!(
            "{key:?} is a built-in asset type and cannot be changed"
        )));
    }
    if let Some(schema) = field_schema {
        FieldSchema::compile(schema).map_err(|e| RecordError::field("field_schema", e))?;
    }
    let current: (String, serde_json::Value) = asset_types::table
        .find((tx.tenant().0, key))
        .select((asset_types::name, asset_types::field_schema))
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("asset type"))?;
    let name = name.map(str::to_owned).unwrap_or(current.0);
    let schema = field_schema.cloned().unwrap_or(current.1);
    diesel::update(asset_types::table.find((tx.tenant().0, key)))
        .set((
            asset_types::name.eq(&name),
            asset_types::field_schema.eq(&schema),
            asset_types::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    record(tx, actor, "asset_type.updated", key, &schema).await?;
    Ok(AssetType {
        key: key.into(),
        name,
        field_schema: schema,
        is_builtin: false,
    })
}

async fn record(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    key: &str,
    schema: &serde_json::Value,
) -> Result<(), DbError> {
    audit::record(
        tx,
        AuditEntry {
            actor,
            action,
            resource: "asset_type",
            resource_id: None,
            details: serde_json::json!({ "key": key, "field_schema": schema }),
        },
    )
    .await
}
