//! Signed unsubscribe links: a token names the tenant, the user and the subtype, and
//! carries an HMAC so nobody can switch off someone else's e-mail by guessing ids.

use super::mail::MailConfig;
use engine::notifications::Subtype;
use engine::TenantId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// Whom and what an unsubscribe token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The tenant.
    pub tenant: TenantId,
    /// The user.
    pub user_id: Uuid,
    /// The subtype to switch off.
    pub subtype: Subtype,
}

fn signature(config: &MailConfig, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&config.derived_key("unsubscribe"))
        .expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The token of `target`.
pub fn token(config: &MailConfig, target: Unsubscribe) -> String {
    let payload = format!(
        "{}.{}.{}",
        target.tenant.0.simple(),
        target.user_id.simple(),
        target.subtype.as_str()
    );
    let signature = signature(config, &payload);
    format!("{payload}.{signature}")
}

/// The one-click unsubscribe URL of `target`.
pub fn url(config: &MailConfig, target: Unsubscribe) -> String {
    format!(
        "{}/notifications/unsubscribe?token={}",
        config.public_url.trim_end_matches('/'),
        token(config, target)
    )
}

/// Reads a token; `None` unless it is well formed and its signature is ours.
pub fn verify(config: &MailConfig, token: &str) -> Option<Unsubscribe> {
    let (payload, given) = token.rsplit_once('.')?;
    let expected = signature(config, payload);
    // Constant-time comparison: the signature is a secret until it is right.
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return None;
    }
    let mut parts = payload.split('.');
    let tenant = Uuid::try_parse(parts.next()?).ok()?;
    let user_id = Uuid::try_parse(parts.next()?).ok()?;
    let subtype = Subtype::parse(parts.next()?).ok()?;
    Some(Unsubscribe {
        tenant: TenantId(tenant),
        user_id,
        subtype,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secret: &[u8]) -> MailConfig {
        MailConfig {
            default_smtp_url: None,
            default_from: "Keel <keel@localhost>".into(),
            secret_key: secret.to_vec(),
            public_url: "https://keel.example/".into(),
            rate_window: std::time::Duration::from_secs(60),
        }
    }

    #[test]
    fn a_token_verifies_only_unchanged_and_under_its_key() {
        let target = Unsubscribe {
            tenant: TenantId(Uuid::now_v7()),
            user_id: Uuid::now_v7(),
            subtype: Subtype::TicketUpdated,
        };
        let c = config(b"one");
        let t = token(&c, target);
        assert_eq!(verify(&c, &t), Some(target));
        assert!(
            url(&c, target).starts_with("https://keel.example/notifications/unsubscribe?token=")
        );
        assert_eq!(verify(&config(b"two"), &t), None);
        let forged = t.replace("ticket_updated", "ticket_created");
        assert_eq!(verify(&c, &forged), None);
        assert_eq!(verify(&c, "garbage"), None);
    }
}
