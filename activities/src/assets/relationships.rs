//! Relationships between assets: `parent` (at most one per asset) and `depends_on`,
//! each kind kept acyclic.

use super::{lock_asset, log_change};
use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::asset_relationships;
use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use engine::assets::RelationshipKind;
use serde::Serialize;
use uuid::Uuid;

/// A relationship seen from one asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Relationship {
    /// The other asset.
    pub asset_id: Uuid,
    /// `parent` (the other contains this one), `child` (this contains the other),
    /// `depends_on` (this needs the other) or `dependent` (the other needs this).
    pub kind: String,
}

/// Every relationship of `asset_id`, outgoing then incoming.
pub async fn list_relationships(
    tx: &mut TenantTx,
    asset_id: Uuid,
) -> Result<Vec<Relationship>, DbError> {
    let outgoing: Vec<(Uuid, String)> = asset_relationships::table
        .filter(asset_relationships::asset_id.eq(asset_id))
        .select((
            asset_relationships::related_asset_id,
            asset_relationships::kind,
        ))
        .order(asset_relationships::created_at)
        .load(tx.conn())
        .await?;
    let incoming: Vec<(Uuid, String)> = asset_relationships::table
        .filter(asset_relationships::related_asset_id.eq(asset_id))
        .select((asset_relationships::asset_id, asset_relationships::kind))
        .order(asset_relationships::created_at)
        .load(tx.conn())
        .await?;
    let inverse = |kind: &str| {
        if kind == "parent" {
            "child"
        } else {
            "dependent"
        }
    };
    Ok(outgoing
        .into_iter()
        .map(|(asset_id, kind)| Relationship { asset_id, kind })
        .chain(incoming.into_iter().map(|(asset_id, kind)| Relationship {
            asset_id,
            kind: inverse(&kind).into(),
        }))
        .collect())
}

/// Records that `asset_id` has `related_id` as its parent, or depends on it.
/// Refused when it would close a cycle of that kind or give an asset two parents.
pub async fn add_relationship(
    tx: &mut TenantTx,
    asset_id: Uuid,
    related_id: Uuid,
    kind: RelationshipKind,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    if asset_id == related_id {
        return Err(RecordError::field(
            "asset_id",
            "an asset cannot relate to itself",
        ));
    }
    // One writer per tenant's asset graph at a time: two concurrent inserts could
    // otherwise each pass the cycle check and together form a cycle.
    tx.conn()
        .batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext('keel:asset-graph:' || keel_current_tenant()::text))",
        )
        .await
        .map_err(DbError::from)?;
    let asset = lock_asset(tx, asset_id).await?;
    let related = lock_asset(tx, related_id)
        .await
        .map_err(|_| RecordError::field("asset_id", "no such asset"))?;
    if asset.archived_at.is_some() || related.archived_at.is_some() {
        return Err(RecordError::Conflict(
            "archived assets cannot gain relationships".into(),
        ));
    }
    if kind == RelationshipKind::Parent && has_parent(tx, asset_id).await? {
        return Err(RecordError::Conflict(
            "the asset already has a parent; remove that relationship first".into(),
        ));
    }
    if reaches(tx, related_id, asset_id, kind).await? {
        return Err(RecordError::field(
            "asset_id",
            format!("would create a {} cycle", kind.as_str()),
        ));
    }
    let inserted = diesel::insert_into(asset_relationships::table)
        .values((
            asset_relationships::tenant.eq(tx.tenant().0),
            asset_relationships::asset_id.eq(asset_id),
            asset_relationships::related_asset_id.eq(related_id),
            asset_relationships::kind.eq(kind.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    if inserted > 0 {
        let change = relation_change(related_id, kind.as_str(), true);
        log_change(tx, asset_id, actor, "relationship_added", change).await?;
    }
    Ok(())
}

/// Removes a relationship; removing one that does not exist answers `NotFound`.
pub async fn remove_relationship(
    tx: &mut TenantTx,
    asset_id: Uuid,
    related_id: Uuid,
    kind: RelationshipKind,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    let removed = diesel::delete(
        asset_relationships::table
            .filter(asset_relationships::asset_id.eq(asset_id))
            .filter(asset_relationships::related_asset_id.eq(related_id))
            .filter(asset_relationships::kind.eq(kind.as_str())),
    )
    .execute(tx.conn())
    .await
    .map_err(DbError::from)?;
    if removed == 0 {
        return Err(RecordError::NotFound("relationship"));
    }
    let change = relation_change(related_id, kind.as_str(), false);
    log_change(tx, asset_id, actor, "relationship_removed", change).await?;
    Ok(())
}

/// Drops every relationship of an asset being archived.
pub(crate) async fn detach_all(tx: &mut TenantTx, asset_id: Uuid) -> Result<(), DbError> {
    diesel::delete(
        asset_relationships::table.filter(
            asset_relationships::asset_id
                .eq(asset_id)
                .or(asset_relationships::related_asset_id.eq(asset_id)),
        ),
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

fn relation_change(
    related: Uuid,
    kind: &str,
    added: bool,
) -> serde_json::Map<String, serde_json::Value> {
    let value = serde_json::json!(related);
    let (from, to) = if added {
        (serde_json::Value::Null, value)
    } else {
        (value, serde_json::Value::Null)
    };
    let mut map = serde_json::Map::new();
    map.insert(kind.into(), serde_json::json!({ "from": from, "to": to }));
    map
}

async fn has_parent(tx: &mut TenantTx, asset_id: Uuid) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        asset_relationships::table
            .filter(asset_relationships::asset_id.eq(asset_id))
            .filter(asset_relationships::kind.eq("parent")),
    ))
    .get_result(tx.conn())
    .await?)
}

/// Whether `to` is reachable from `from` along edges of `kind`.
async fn reaches(
    tx: &mut TenantTx,
    from: Uuid,
    to: Uuid,
    kind: RelationshipKind,
) -> Result<bool, DbError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let found: Found = diesel::sql_query(
        "WITH RECURSIVE reach(id) AS (
             SELECT $1::uuid
             UNION
             SELECT r.related_asset_id FROM asset_relationships r JOIN reach ON r.asset_id = reach.id
              WHERE r.kind = $3)
         SELECT EXISTS (SELECT 1 FROM reach WHERE id = $2) AS found",
    )
    .bind::<diesel::sql_types::Uuid, _>(from)
    .bind::<diesel::sql_types::Uuid, _>(to)
    .bind::<diesel::sql_types::Text, _>(kind.as_str())
    .get_result(tx.conn())
    .await?;
    Ok(found.found)
}
