//! `notify_user`: an in-app notification for one user.

use super::{text_field, to_json, uuid_field, ActionError};
use crate::db::TenantTx;
use crate::notifications::InAppNotification;
use crate::records::RecordError;
use crate::schema::in_app_notifications;
use crate::tickets::config;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::validation::{notes_text, required_text};
use serde_json::Value;
use uuid::Uuid;

/// An in-app notification outside the event fan-out (no event, subtype
/// `playbook`), stored as the fan-out stores its own.
pub(super) async fn notify_user(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let user = uuid_field(args, "user_id")?;
    let title = required_text(text_field(args, "title"), 200)
        .map_err(|e| RecordError::field("title", e.to_string()))?;
    let body = notes_text(text_field(args, "body"), 1_000)
        .map_err(|e| RecordError::field("body", e.to_string()))?;
    let link = text_field(args, "link")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| inbox_link(l).map(str::to_owned))
        .transpose()?;
    config::require_user(tx, user, "user_id").await?;
    let notification: InAppNotification = diesel::insert_into(in_app_notifications::table)
        .values((
            in_app_notifications::tenant.eq(tx.tenant().0),
            in_app_notifications::id.eq(Uuid::now_v7()),
            in_app_notifications::user_id.eq(user),
            in_app_notifications::subtype.eq("playbook"),
            in_app_notifications::title.eq(title),
            in_app_notifications::body.eq(body),
            in_app_notifications::link.eq(link),
        ))
        .returning(InAppNotification::as_returning())
        .get_result(tx.conn())
        .await?;
    to_json(notification)
}

/// The inbox renders `link` as an `href`: only a path in Keel or an http(s) URL,
/// never `javascript:` or a protocol-relative `//host`.
pub(super) fn inbox_link(link: &str) -> Result<&str, RecordError> {
    let local = link.starts_with('/') && !link.starts_with("//") && !link.starts_with("/\\");
    let web = link.starts_with("https://") || link.starts_with("http://");
    let clean = link.len() <= 2_000 && !link.chars().any(|c| c.is_whitespace() || c.is_control());
    if (local || web) && clean {
        Ok(link)
    } else {
        Err(RecordError::field(
            "link",
            "must be a path in Keel (/tickets/…) or an http(s) URL, at most 2000 characters",
        ))
    }
}
