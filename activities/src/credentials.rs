//! Passwords, API keys and sessions. Secrets are random, shown once and stored only
//! as hashes: argon2id for passwords (low entropy), SHA-256 for generated secrets
//! (256 bits of entropy make a slow hash pointless and keep per-request auth cheap).

use crate::db::{DbError, TenantTx};
use crate::events;
use crate::schema::{api_keys, sessions};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::{DomainEvent, TenantId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The prefix of every API key, so leaked keys are easy to grep for.
const API_KEY_PREFIX: &str = "keel";

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// Checks `password` against a stored PHC hash; a malformed hash never verifies.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random secret: 32 bytes as 64 hex digits.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256 of a presented secret, hex encoded, as stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A credential presented by a client, split into its tenant and the whole token.
/// Keys and session cookies look like `keel_<tenant as 32 hex>_<64 hex secret>`, so
/// the tenant is known before any tenant data is read.
#[derive(Debug, PartialEq, Eq)]
pub struct PresentedCredential {
    /// The tenant the credential claims; it is verified by the lookup under RLS.
    pub tenant: TenantId,
    /// The SHA-256 of the full token.
    pub hash: String,
}

/// Parses a presented API key or session token; `None` when it is not of Keel's shape.
pub fn parse_credential(token: &str) -> Option<PresentedCredential> {
    let rest = token.strip_prefix(API_KEY_PREFIX)?.strip_prefix('_')?;
    let (tenant, secret) = rest.split_once('_')?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(PresentedCredential {
        tenant: TenantId::parse_simple(tenant)?,
        hash: secret_hash(token),
    })
}

fn new_token(tenant: TenantId) -> String {
    format!("{API_KEY_PREFIX}_{}_{}", tenant.simple(), random_secret())
}

/// An API key as listed (never with its secret).
#[derive(Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyInfo {
    /// Key id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Label given at creation.
    pub name: String,
    /// First characters of the secret, to recognise a key.
    pub secret_prefix: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last successful use (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked at; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Issues a new API key for `user_id`; answers its info and the key itself, which
/// is never stored and cannot be shown again.
pub async fn issue_api_key(
    tx: &mut TenantTx,
    user_id: Uuid,
    name: &str,
) -> Result<(ApiKeyInfo, String), DbError> {
    let token = new_token(tx.tenant());
    let visible = token.len().min(API_KEY_PREFIX.len() + 1 + 32 + 1 + 8);
    let info = diesel::insert_into(api_keys::table)
        .values((
            api_keys::tenant.eq(tx.tenant().0),
            api_keys::id.eq(Uuid::now_v7()),
            api_keys::user_id.eq(user_id),
            api_keys::name.eq(name),
            api_keys::secret_prefix.eq(&token[..visible]),
            api_keys::secret_hash.eq(secret_hash(&token)),
        ))
        .returning(ApiKeyInfo::as_returning())
        .get_result(tx.conn())
        .await?;
    events::emit(
        tx,
        DomainEvent::ApiKeyCreated {
            key_id: info.id,
            user_id,
        },
    )
    .await?;
    Ok((info, token))
}

/// The keys of `user_id`, newest first, revoked ones included.
pub async fn api_keys_of(tx: &mut TenantTx, user_id: Uuid) -> Result<Vec<ApiKeyInfo>, DbError> {
    Ok(api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .order(api_keys::id.desc())
        .select(ApiKeyInfo::as_select())
        .load(tx.conn())
        .await?)
}

/// Revokes key `key_id` of `user_id`; answers false when no such live key exists.
pub async fn revoke_api_key(
    tx: &mut TenantTx,
    user_id: Uuid,
    key_id: Uuid,
) -> Result<bool, DbError> {
    let changed = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(key_id))
            .filter(api_keys::user_id.eq(user_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Utc::now()))
    .execute(tx.conn())
    .await?;
    Ok(changed == 1)
}

/// A new session's secrets, to be set as cookies.
pub struct NewSession {
    /// The session token (cookie value).
    pub token: String,
    /// The CSRF token forms must echo.
    pub csrf_token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Starts a session for `user_id` lasting `ttl`.
pub async fn start_session(
    tx: &mut TenantTx,
    user_id: Uuid,
    ttl: Duration,
) -> Result<NewSession, DbError> {
    let token = new_token(tx.tenant());
    let csrf_token = random_secret();
    let expires_at = Utc::now() + ttl;
    diesel::insert_into(sessions::table)
        .values((
            sessions::tenant.eq(tx.tenant().0),
            sessions::id.eq(Uuid::now_v7()),
            sessions::user_id.eq(user_id),
            sessions::token_hash.eq(secret_hash(&token)),
            sessions::csrf_token.eq(&csrf_token),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(tx.conn())
        .await?;
    // Expired sessions of this user are swept here rather than by a timer.
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::expires_at.lt(Utc::now())),
    )
    .execute(tx.conn())
    .await?;
    Ok(NewSession {
        token,
        csrf_token,
        expires_at,
    })
}

/// Ends the session whose token hashes to `token_hash`.
pub async fn end_session(tx: &mut TenantTx, token_hash: &str) -> Result<(), DbError> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash)))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The Redis channel on which processes announce that credentials or roles
/// changed, so each drops the principals it cached.
pub fn invalidation_channel(redis_prefix: &str) -> String {
    format!("{redis_prefix}auth-invalidate")
}

/// Announces a change of credentials or roles to every process. A failure is
/// logged, not returned: caches then expire on their own within their TTL.
pub async fn announce_credentials_changed(
    redis: &mut redis::aio::ConnectionManager,
    redis_prefix: &str,
) {
    let published: redis::RedisResult<i64> = redis::cmd("PUBLISH")
        .arg(invalidation_channel(redis_prefix))
        .arg("1")
        .query_async(redis)
        .await;
    if let Err(error) = published {
        tracing::warn!(%error, "could not announce a credential change; other processes rely on the cache TTL");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_tenant_and_parse_back() {
        let tenant = TenantId(Uuid::now_v7());
        let token = new_token(tenant);
        let parsed = parse_credential(&token).expect("own tokens parse");
        assert_eq!(parsed.tenant, tenant);
        assert_eq!(parsed.hash, secret_hash(&token));
    }

    #[test]
    fn foreign_shapes_are_rejected() {
        let tenant = TenantId(Uuid::now_v7()).simple();
        for bad in [
            "",
            "keel_",
            "Bearer x",
            &format!("keel_{tenant}_short"),
            &format!("other_{tenant}_{}", "a".repeat(64)),
        ] {
            assert_eq!(parse_credential(bad), None, "{bad}");
        }
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong"));
        assert!(!verify_password("not a hash", "correct horse"));
    }
}
