//! Signed inbound webhooks. A playbook whose trigger is `webhook` gets a signing
//! secret; a sender signs each request as
//! `X-Keel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//! A request is accepted when the signature matches and `t` lies within five
//! minutes of the server's clock; the same signed request sent again starts no
//! second run (its run id derives from the signature).

use crate::db::{DbError, TenantTx};
use crate::schema::{playbook_versions, playbooks};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

/// How far a request's timestamp may be from the server's clock.
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

/// The header carrying the timestamp and the signature.
pub const SIGNATURE_HEADER: &str = "X-Keel-Signature";

/// Why a request's signature is refused; the message tells the sender what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or not `t=…,v1=…`.
    #[error(
        "send the header X-Keel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">"
    )]
    Malformed,
    /// The timestamp is too old or too far ahead.
    #[error("the signature's timestamp is {0} s from the server's clock; at most 300 s is accepted (is the request replayed, or the sender's clock wrong?)")]
    OutsideWindow(i64),
    /// The HMAC does not match.
    #[error("the signature does not match the body and timestamp under this hook's secret")]
    Mismatch,
}

/// A parsed `X-Keel-Signature` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    /// Unix seconds the sender signed at.
    pub timestamp: i64,
    /// The HMAC, as sent (hex).
    pub signature: Vec<u8>,
}

/// Parses `t=<unix seconds>,v1=<hex>` (parts in any order, spaces allowed).
pub fn parse_header(value: &str) -> Result<SignatureHeader, SignatureError> {
    let mut timestamp = None;
    let mut signature = None;
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.trim().parse::<i64>().ok(),
            Some(("v1", v)) => signature = hex::decode(v.trim()).ok(),
            _ => {}
        }
    }
    match (timestamp, signature) {
        (Some(timestamp), Some(signature)) if signature.len() == 32 => Ok(SignatureHeader {
            timestamp,
            signature,
        }),
        _ => Err(SignatureError::Malformed),
    }
}

/// The signature of `body` at `timestamp` under `secret` (hex): what a sender puts
/// after `v1=`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks the header against `body`, `secret` and the clock `now` (unix seconds),
/// comparing the HMAC in constant time.
pub fn verify(
    header: &SignatureHeader,
    secret: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let skew = now - header.timestamp;
    if skew.abs() > REPLAY_WINDOW_SECONDS {
        return Err(SignatureError::OutsideWindow(skew));
    }
    mac(secret, header.timestamp, body)
        .verify_slice(&header.signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// A fresh signing secret: 32 random bytes, hex, prefixed so it is recognisable.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

/// A webhook as its author sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    /// The hook's name (the last path segment).
    pub hook: String,
    /// Where senders POST: `/api/v1/webhooks/{tenant slug}/{hook}`.
    pub path: String,
    /// The signing secret.
    pub secret: String,
    /// When the secret was last rotated.
    pub rotated_at: DateTime<Utc>,
    /// When a signed request last started a run.
    pub last_received_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct SecretRow {
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = Timestamptz)]
    rotated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_received_at: Option<DateTime<Utc>>,
}

/// Gives the playbook a secret unless it has one (called when a webhook
/// trigger is saved; the secret survives trigger edits until rotated).
pub async fn ensure_secret(tx: &mut TenantTx, playbook: Uuid) -> Result<(), DbError> {
    write_secret(tx, playbook, "DO NOTHING").await
}

/// Replaces the playbook's secret; the old one stops working at once.
pub async fn rotate_secret(tx: &mut TenantTx, playbook: Uuid) -> Result<(), DbError> {
    write_secret(
        tx,
        playbook,
        "DO UPDATE SET secret = EXCLUDED.secret, rotated_at = now()",
    )
    .await
}

/// Stores a fresh secret for the playbook; `on_conflict` says what happens to one
/// it already has.
async fn write_secret(tx: &mut TenantTx, playbook: Uuid, on_conflict: &str) -> Result<(), DbError> {
    diesel::sql_query(format!(
        "INSERT INTO playbook_webhooks (tenant, playbook_id, secret) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant, playbook_id) {on_conflict}"
    ))
    .bind::<SqlUuid, _>(tx.tenant().0)
    .bind::<SqlUuid, _>(playbook)
    .bind::<Text, _>(new_secret())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The webhook of a playbook whose trigger is `webhook` with `hook`.
pub async fn webhook_of(
    tx: &mut TenantTx,
    playbook: Uuid,
    hook: &str,
    tenant_slug: &str,
) -> Result<Option<Webhook>, DbError> {
    let row = secret_row(tx, playbook).await?;
    Ok(row.map(|row| Webhook {
        hook: hook.to_owned(),
        path: format!("/api/v1/webhooks/{tenant_slug}/{hook}"),
        secret: row.secret,
        rotated_at: row.rotated_at,
        last_received_at: row.last_received_at,
    }))
}

/// The playbook a hook starts, with what a run needs.
#[derive(Clone, Debug)]
pub struct HookTarget {
    /// The playbook.
    pub playbook_id: Uuid,
    /// Whether it may run.
    pub enabled: bool,
    /// Its current version and that version's source.
    pub version: i32,
    /// The source.
    pub source: String,
    /// Its author, whom the run acts as.
    pub run_as: Option<Uuid>,
    /// The signing secret.
    pub secret: String,
}

/// The playbook triggered by `hook` in the transaction's tenant.
pub async fn find_hook(tx: &mut TenantTx, hook: &str) -> Result<Option<HookTarget>, DbError> {
    let kind = diesel::dsl::sql::<Nullable<Text>>("playbooks.trigger ->> 'kind'");
    let named = diesel::dsl::sql::<Nullable<Text>>("playbooks.trigger ->> 'hook'");
    let found: Option<(Uuid, bool, i32, String, Option<Uuid>)> = playbooks::table
        .inner_join(
            playbook_versions::table.on(playbook_versions::playbook_id
                .eq(playbooks::id)
                .and(playbook_versions::version.eq(playbooks::current_version))),
        )
        .filter(kind.eq("webhook"))
        .filter(named.eq(hook))
        .select((
            playbooks::id,
            playbooks::enabled,
            playbooks::current_version,
            playbook_versions::source,
            playbooks::created_by,
        ))
        .first(tx.conn())
        .await
        .optional()?;
    let Some((playbook_id, enabled, version, source, run_as)) = found else {
        return Ok(None);
    };
    let secret = secret_row(tx, playbook_id).await?;
    Ok(secret.map(|row| HookTarget {
        playbook_id,
        enabled,
        version,
        source,
        run_as,
        secret: row.secret,
    }))
}

/// Notes that a signed request arrived.
pub async fn mark_received(tx: &mut TenantTx, playbook: Uuid) -> Result<(), DbError> {
    diesel::sql_query(
        "UPDATE playbook_webhooks SET last_received_at = now() WHERE playbook_id = $1",
    )
    .bind::<SqlUuid, _>(playbook)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The playbook's secret row, if it has a webhook.
async fn secret_row(tx: &mut TenantTx, playbook: Uuid) -> Result<Option<SecretRow>, DbError> {
    Ok(diesel::sql_query(
        "SELECT secret, rotated_at, last_received_at FROM playbook_webhooks WHERE playbook_id = $1",
    )
    .bind::<SqlUuid, _>(playbook)
    .get_result(tx.conn())
    .await
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";

    fn header(timestamp: i64, body: &[u8]) -> SignatureHeader {
        parse_header(&format!(
            "t={timestamp}, v1={}",
            sign(SECRET, timestamp, body)
        ))
        .expect("well formed")
    }

    #[test]
    fn a_request_signed_with_the_secret_within_the_window_is_accepted() {
        let body = br#"{"host":"srv-01"}"#;
        let now = 1_800_000_000;
        assert_eq!(verify(&header(now - 299, body), SECRET, body, now), Ok(()));
        assert_eq!(verify(&header(now + 299, body), SECRET, body, now), Ok(()));
    }

    #[test]
    fn a_changed_body_or_secret_or_a_stale_timestamp_is_refused() {
        let body = br#"{"host":"srv-01"}"#;
        let now = 1_800_000_000;
        let signed = header(now, body);
        assert_eq!(
            verify(&signed, SECRET, br#"{"host":"srv-02"}"#, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&signed, "whsec_another-secret-of-32-characters!", body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header(now - 301, body), SECRET, body, now),
            Err(SignatureError::OutsideWindow(301))
        );
        // The timestamp is signed: moving it forward breaks the signature.
        let mut moved = signed.clone();
        moved.timestamp += 10;
        assert_eq!(
            verify(&moved, SECRET, body, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_say_what_to_send() {
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "t=1,v1=abcd"] {
            assert_eq!(parse_header(bad), Err(SignatureError::Malformed), "{bad}");
        }
        assert!(SignatureError::Malformed
            .to_string()
            .contains("t=<unix seconds>"));
    }

    #[test]
    fn secrets_are_fresh_and_long() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), "whsec_".len() + 64);
    }
}
