//! Who is calling: resolves a presented API key or session to a [`Principal`] with
//! the permissions of all the user's roles, in one query under the tenant's RLS.

use crate::db::{DbError, TenantTx};
use diesel::sql_types::{Array, Nullable, Text, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::RunQueryDsl;
use engine::{Permission, TenantId};
use uuid::Uuid;

/// How the principal authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An API key, by id.
    ApiKey(Uuid),
    /// A browser session, by id, with the CSRF token its forms must carry.
    Session { id: Uuid, csrf_token: String },
}

/// An authenticated user acting in one tenant.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The tenant the user belongs to.
    pub tenant: TenantId,
    /// The user.
    pub user_id: Uuid,
    /// The user's e-mail address.
    pub email: String,
    /// The user's name.
    pub full_name: String,
    /// Every `resource:action` the user's roles grant, sorted.
    pub permissions: Vec<String>,
    /// The credential used.
    pub credential: Credential,
}

impl Principal {
    /// True when one of the user's roles grants `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions
            .binary_search_by(|p| p.as_str().cmp(permission.name))
            .is_ok()
    }
}

#[derive(QueryableByName)]
struct PrincipalRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    full_name: String,
    #[diesel(sql_type = SqlUuid)]
    credential_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    csrf_token: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    permissions: Vec<String>,
}

// The permissions of a user, aggregated over all of the user's roles.
const PERMISSIONS_OF_USER: &str = "
    ARRAY(SELECT DISTINCT rp.permission
            FROM role_assignments ra
            JOIN role_permissions rp ON rp.tenant = ra.tenant AND rp.role_id = ra.role_id
           WHERE ra.tenant = u.tenant AND ra.user_id = u.id
           ORDER BY 1) AS permissions";

/// The principal behind a live API key whose token hashes to `token_hash`, marking
/// the key used (at most once a minute, to keep reads cheap). `None` for an unknown,
/// revoked or deactivated-user key.
pub async fn principal_for_api_key(
    tx: &mut TenantTx,
    token_hash: &str,
) -> Result<Option<Principal>, DbError> {
    let sql = format!(
        "WITH touched AS (
           UPDATE api_keys SET last_used_at = now()
            WHERE secret_hash = $1 AND revoked_at IS NULL
              AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
         SELECT u.id AS user_id, u.email, u.full_name, k.id AS credential_id,
                NULL::text AS csrf_token, {PERMISSIONS_OF_USER}
           FROM api_keys k JOIN users u ON u.tenant = k.tenant AND u.id = k.user_id
          WHERE k.secret_hash = $1 AND k.revoked_at IS NULL AND u.is_active"
    );
    let row: Option<PrincipalRow> = diesel::sql_query(sql)
        .bind::<Text, _>(token_hash)
        .get_result(tx.conn())
        .await
        .optional()?;
    let tenant = tx.tenant();
    Ok(row.map(|row| row.into_principal(tenant, |id, _| Credential::ApiKey(id))))
}

/// The principal behind an unexpired session whose token hashes to `token_hash`.
pub async fn principal_for_session(
    tx: &mut TenantTx,
    token_hash: &str,
) -> Result<Option<Principal>, DbError> {
    let sql = format!(
        "SELECT u.id AS user_id, u.email, u.full_name, s.id AS credential_id,
                s.csrf_token, {PERMISSIONS_OF_USER}
           FROM sessions s JOIN users u ON u.tenant = s.tenant AND u.id = s.user_id
          WHERE s.token_hash = $1 AND s.expires_at > now() AND u.is_active"
    );
    let row: Option<PrincipalRow> = diesel::sql_query(sql)
        .bind::<Text, _>(token_hash)
        .get_result(tx.conn())
        .await
        .optional()?;
    let tenant = tx.tenant();
    Ok(row.map(|row| {
        row.into_principal(tenant, |id, csrf| Credential::Session {
            id,
            csrf_token: csrf.unwrap_or_default(),
        })
    }))
}

impl PrincipalRow {
    fn into_principal(
        self,
        tenant: TenantId,
        credential: impl FnOnce(Uuid, Option<String>) -> Credential,
    ) -> Principal {
        Principal {
            tenant,
            user_id: self.user_id,
            email: self.email,
            full_name: self.full_name,
            permissions: self.permissions,
            credential: credential(self.credential_id, self.csrf_token),
        }
    }
}
