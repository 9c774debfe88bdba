//! Tenants (MSPs) and what a new tenant is seeded with.

use crate::audit::{self, AuditEntry};
use crate::db::{Db, DbError, TenantTx};
use crate::events;
use crate::numbers;
use crate::schema::{permissions, role_permissions, roles, tenants};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use engine::{DomainEvent, Permission, Slug, TenantId, SHIPPED_ROLES};
use uuid::Uuid;

/// A tenant as stored.
#[derive(Clone, Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    /// Tenant id.
    pub id: Uuid,
    /// URL-safe short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Tenant {
    /// The id as a [`TenantId`].
    pub fn tenant_id(&self) -> TenantId {
        TenantId(self.id)
    }
}

/// Why a tenant could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// Another tenant has this slug.
    #[error("a tenant with slug {0:?} already exists")]
    SlugTaken(String),
    /// The name is empty or longer than 200 characters.
    #[error("name must be 1 to 200 characters")]
    InvalidName,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Creates a tenant and onboards it synchronously, all in one transaction. Used by
/// tests and tools; the product path is [`insert_tenant`] followed by the
/// `TenantOnboarding` workflow, which runs the same seeding steps durably.
pub async fn create_tenant(db: &Db, slug: &Slug, name: &str) -> Result<Tenant, TenantError> {
    let mut tx = db.platform_tx().await?;
    let tenant = insert_tenant_in(&mut tx, slug, name).await?;
    seed_access(&mut tx).await?;
    numbers::seed_defaults(&mut tx).await?;
    crate::tickets::config::seed_defaults(&mut tx).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// Inserts a tenant (with its `tenant.created` event and audit entry), leaving its
/// seeding to the `TenantOnboarding` workflow.
pub async fn insert_tenant(db: &Db, slug: &Slug, name: &str) -> Result<Tenant, TenantError> {
    let mut tx = db.platform_tx().await?;
    let tenant = insert_tenant_in(&mut tx, slug, name).await?;
    tx.commit().await?;
    Ok(tenant)
}

async fn insert_tenant_in(
    tx: &mut TenantTx,
    slug: &Slug,
    name: &str,
) -> Result<Tenant, TenantError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(TenantError::InvalidName);
    }
    let tenant: Tenant = diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(Uuid::now_v7()),
            tenants::slug.eq(slug.as_str()),
            tenants::name.eq(name),
        ))
        .returning(Tenant::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            err if err.is_unique_violation() => TenantError::SlugTaken(slug.to_string()),
            err => TenantError::Db(err),
        })?;
    tx.enter_tenant(tenant.tenant_id()).await?;
    let created = DomainEvent::TenantCreated {
        slug: tenant.slug.clone(),
        name: tenant.name.clone(),
    };
    events::emit(tx, created).await?;
    let details = serde_json::json!({ "slug": tenant.slug, "name": tenant.name });
    audit::record(
        tx,
        AuditEntry {
            actor: None,
            action: "tenant.created",
            resource: "tenant",
            resource_id: Some(tenant.id),
            details,
        },
    )
    .await?;
    Ok(tenant)
}

/// Syncs the permission catalogue and gives the tenant its shipped roles and their
/// grants. Idempotent: existing roles and grants are kept; answers rows inserted.
pub async fn seed_access(tx: &mut TenantTx) -> Result<u64, DbError> {
    sync_permission_catalogue(tx).await?;
    seed_shipped_roles(tx).await
}

/// Brings the global permission catalogue in line with [`Permission::ALL`].
async fn sync_permission_catalogue(tx: &mut TenantTx) -> Result<(), DbError> {
    let rows: Vec<_> = Permission::ALL
        .iter()
        .map(|p| {
            (
                permissions::name.eq(p.name),
                permissions::description.eq(p.description),
            )
        })
        .collect();
    diesel::insert_into(permissions::table)
        .values(rows)
        .on_conflict(permissions::name)
        .do_update()
        .set(permissions::description.eq(excluded(permissions::description)))
        .execute(tx.conn())
        .await?;
    Ok(())
}

async fn seed_shipped_roles(tx: &mut TenantTx) -> Result<u64, DbError> {
    let tenant = tx.tenant().0;
    let role_rows: Vec<_> = SHIPPED_ROLES
        .iter()
        .map(|role| {
            (
                roles::tenant.eq(tenant),
                roles::id.eq(Uuid::now_v7()),
                roles::name.eq(role.name),
                roles::description.eq(role.description),
                roles::is_system.eq(true),
            )
        })
        .collect();
    let mut inserted = diesel::insert_into(roles::table)
        .values(role_rows)
        .on_conflict((roles::tenant, roles::name))
        .do_nothing()
        .execute(tx.conn())
        .await?;
    let names: Vec<&str> = SHIPPED_ROLES.iter().map(|r| r.name).collect();
    let ids: Vec<(Uuid, String)> = roles::table
        .filter(roles::name.eq_any(&names))
        .select((roles::id, roles::name))
        .load(tx.conn())
        .await?;
    let grants: Vec<_> = SHIPPED_ROLES
        .iter()
        .filter_map(|role| {
            ids.iter()
                .find(|(_, name)| name == role.name)
                .map(|(id, _)| (*id, role))
        })
        .flat_map(|(id, role)| {
            role.permissions.iter().map(move |p| {
                (
                    role_permissions::tenant.eq(tenant),
                    role_permissions::role_id.eq(id),
                    role_permissions::permission.eq(p.name),
                )
            })
        })
        .collect();
    inserted += diesel::insert_into(role_permissions::table)
        .values(grants)
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    Ok(inserted as u64)
}

/// Looks a tenant up by slug. A platform query: it runs before any tenant is known
/// (login form, CLI), and `tenants` is not a tenant-owned table.
pub async fn tenant_by_slug(db: &Db, slug: &str) -> Result<Option<Tenant>, DbError> {
    let mut tx = db.platform_tx().await?;
    let tenant = tenants::table
        .filter(tenants::slug.eq(slug))
        .select(Tenant::as_select())
        .first(tx.conn())
        .await
        .optional()?;
    tx.commit().await?;
    Ok(tenant)
}

/// Looks a tenant up by id (platform query, for credentials that name their tenant).
pub async fn tenant_by_id(tx: &mut TenantTx, id: TenantId) -> Result<Option<Tenant>, DbError> {
    Ok(tenants::table
        .find(id.0)
        .select(Tenant::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}
