//! Users of a tenant and their role assignments.

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::events;
use crate::pagination::{Page, PageRequest};
use crate::schema::{role_assignments, roles, users, users_with_roles};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::{DomainEvent, Email};
use uuid::Uuid;

/// A user with the names of their roles.
#[derive(Clone, Debug, serde::Serialize, Queryable, Selectable)]
#[diesel(table_name = users_with_roles)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// Normalised e-mail address, unique in the tenant.
    pub email: String,
    /// Display name.
    pub full_name: String,
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// False once deactivated: the user can neither log in nor use keys.
    pub is_active: bool,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: Uuid,
    email: String,
    full_name: String,
    is_active: bool,
    created_at: DateTime<Utc>,
}

/// A user to create.
pub struct NewUser<'a> {
    /// E-mail address.
    pub email: &'a Email,
    /// Display name (1–200 characters).
    pub full_name: &'a str,
    /// An argon2id hash, or `None` for a user who cannot log in with a password yet.
    pub password_hash: Option<String>,
    /// Names of roles to assign (must exist in the tenant).
    pub roles: &'a [String],
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Another user of the tenant has this e-mail address.
    #[error("a user with e-mail {0} already exists")]
    EmailTaken(String),
    /// A named role does not exist in the tenant.
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Creates a user with the given roles, recording `actor` in the audit log.
pub async fn create_user(
    tx: &mut TenantTx,
    new: NewUser<'_>,
    actor: Option<Uuid>,
) -> Result<User, UserError> {
    let tenant = tx.tenant().0;
    let role_ids = role_ids_by_name(tx, new.roles).await?;
    let row: UserRow = diesel::insert_into(users::table)
        .values((
            users::tenant.eq(tenant),
            users::id.eq(Uuid::now_v7()),
            users::email.eq(new.email.as_str()),
            users::full_name.eq(new.full_name),
            users::password_hash.eq(new.password_hash),
        ))
        .returning(UserRow::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            err if err.is_unique_violation() => UserError::EmailTaken(new.email.to_string()),
            err => UserError::Db(err),
        })?;
    let assignments: Vec<_> = role_ids
        .iter()
        .map(|role_id| {
            (
                role_assignments::tenant.eq(tenant),
                role_assignments::user_id.eq(row.id),
                role_assignments::role_id.eq(role_id),
            )
        })
        .collect();
    diesel::insert_into(role_assignments::table)
        .values(assignments)
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let details = serde_json::json!({ "email": row.email, "roles": new.roles });
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "user.created",
            resource: "user",
            resource_id: Some(row.id),
            details,
        },
    )
    .await?;
    let mut roles = new.roles.to_vec();
    roles.sort();
    let created = DomainEvent::UserCreated {
        user_id: row.id,
        email: row.email.clone(),
        roles: roles.clone(),
    };
    events::emit(tx, created).await?;
    Ok(row.with_roles(roles))
}

async fn role_ids_by_name(tx: &mut TenantTx, names: &[String]) -> Result<Vec<Uuid>, UserError> {
    let found: Vec<(Uuid, String)> = roles::table
        .filter(roles::name.eq_any(names))
        .select((roles::id, roles::name))
        .load(tx.conn())
        .await
        .map_err(DbError::from)?;
    if let Some(missing) = names.iter().find(|n| !found.iter().any(|(_, f)| f == *n)) {
        return Err(UserError::UnknownRole(missing.clone()));
    }
    Ok(found.into_iter().map(|(id, _)| id).collect())
}

/// One page of the tenant's users, newest first.
pub async fn list_users(tx: &mut TenantTx, page: PageRequest) -> Result<Page<User>, DbError> {
    let mut query = users_with_roles::table
        .select(User::as_select())
        .order(users_with_roles::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(users_with_roles::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |user| user.id))
}

/// The user with `id`, if it exists in the tenant.
pub async fn find_user(tx: &mut TenantTx, id: Uuid) -> Result<Option<User>, DbError> {
    Ok(users_with_roles::table
        .find((tx.tenant().0, id))
        .select(User::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// Activates or deactivates a user; deactivating also ends their sessions (their
/// API keys stop working because key lookup requires an active user). Audited;
/// `None` when there is no such user.
pub async fn set_active(
    tx: &mut TenantTx,
    id: Uuid,
    active: bool,
    actor: Option<Uuid>,
) -> Result<Option<User>, DbError> {
    let changed = diesel::update(users::table.find((tx.tenant().0, id)))
        .set(users::is_active.eq(active))
        .execute(tx.conn())
        .await?;
    if changed == 0 {
        return Ok(None);
    }
    if !active {
        diesel::sql_query("DELETE FROM sessions WHERE user_id = $1")
            .bind::<diesel::sql_types::Uuid, _>(id)
            .execute(tx.conn())
            .await?;
    }
    let action = if active {
        "user.reactivated"
    } else {
        "user.deactivated"
    };
    audit::record(
        tx,
        AuditEntry {
            actor,
            action,
            resource: "user",
            resource_id: Some(id),
            details: serde_json::json!({ "is_active": active }),
        },
    )
    .await?;
    find_user(tx, id).await
}

/// What login needs to know about a user.
#[derive(Debug, Queryable)]
pub struct LoginCandidate {
    /// User id.
    pub id: Uuid,
    /// Stored argon2id hash, if any.
    pub password_hash: Option<String>,
    /// Whether the user may log in.
    pub is_active: bool,
}

/// The login facts of the user with `email`, if any.
pub async fn login_candidate(
    tx: &mut TenantTx,
    email: &Email,
) -> Result<Option<LoginCandidate>, DbError> {
    Ok(users::table
        .filter(users::email.eq(email.as_str()))
        .select((users::id, users::password_hash, users::is_active))
        .first(tx.conn())
        .await
        .optional()?)
}

/// The id of the user with `email`, if any.
pub async fn user_id_by_email(tx: &mut TenantTx, email: &Email) -> Result<Option<Uuid>, DbError> {
    Ok(users::table
        .filter(users::email.eq(email.as_str()))
        .select(users::id)
        .first(tx.conn())
        .await
        .optional()?)
}

impl UserRow {
    fn with_roles(self, roles: Vec<String>) -> User {
        User {
            id: self.id,
            email: self.email,
            full_name: self.full_name,
            roles,
            is_active: self.is_active,
            created_at: self.created_at,
        }
    }
}
