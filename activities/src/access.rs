//! Who is calling: resolves a presented API key or session to a [`Principal`] with
//! the permissions of all the user's roles, in one query under the tenant's RLS
//! (the SQL functions of migration `create_access_functions`).

use crate::db::{DbError, TenantTx};
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use engine::{Permission, TenantId};
use serde::Deserialize;
use uuid::Uuid;

diesel::define_sql_function! {
    /// The principal behind a live API key, as JSON.
    fn keel_principal_for_api_key(token_hash: Text) -> diesel::sql_types::Nullable<diesel::sql_types::Jsonb>;
}
diesel::define_sql_function! {
    /// The principal behind an unexpired session, as JSON.
    fn keel_principal_for_session(token_hash: Text) -> diesel::sql_types::Nullable<diesel::sql_types::Jsonb>;
}

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

#[derive(Deserialize)]
struct PrincipalRow {
    user_id: Uuid,
    email: String,
    full_name: String,
    credential_id: Uuid,
    csrf_token: Option<String>,
    permissions: Vec<String>,
}

/// The principal behind a live API key whose token hashes to `token_hash`; `None`
/// for an unknown, revoked or deactivated-user key.
pub async fn principal_for_api_key(
    tx: &mut TenantTx,
    token_hash: &str,
) -> Result<Option<Principal>, DbError> {
    let found: Option<serde_json::Value> = diesel::select(keel_principal_for_api_key(token_hash))
        .get_result(tx.conn())
        .await?;
    let tenant = tx.tenant();
    Ok(decode(found).map(|row| row.into_principal(tenant, |id, _| Credential::ApiKey(id))))
}

/// The principal behind an unexpired session whose token hashes to `token_hash`.
pub async fn principal_for_session(
    tx: &mut TenantTx,
    token_hash: &str,
) -> Result<Option<Principal>, DbError> {
    let found: Option<serde_json::Value> = diesel::select(keel_principal_for_session(token_hash))
        .get_result(tx.conn())
        .await?;
    let tenant = tx.tenant();
    Ok(decode(found).map(|row| {
        row.into_principal(tenant, |id, csrf| Credential::Session {
            id,
            csrf_token: csrf.unwrap_or_default(),
        })
    }))
}

fn decode(found: Option<serde_json::Value>) -> Option<PrincipalRow> {
    found.and_then(|json| match serde_json::from_value(json) {
        Ok(row) => Some(row),
        Err(e) => {
            tracing::error!(error = %e, "principal lookup answered an unexpected shape");
            None
        }
    })
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
