//! Interactions: calls, e-mails, meetings and notes logged against a client.

use crate::validation::{self, input_and_patch, FieldIssue, Issues};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The kinds every tenant has; tenants may define more.
pub const BUILTIN_KINDS: &[(&str, &str)] = &[
    ("call", "Call"),
    ("email", "E-mail"),
    ("meeting", "Meeting"),
    ("note", "Note"),
];

/// Whether `key` is a built-in kind.
pub fn is_builtin_kind(key: &str) -> bool {
    BUILTIN_KINDS.iter().any(|(k, _)| *k == key)
}

/// A kind key: 2–40 characters of lowercase letters, digits and `_`, starting with a
/// letter (`site_visit`).
pub fn kind_key(text: &str) -> Result<String, String> {
    let key = text.trim();
    let ok = (2..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(key.to_owned())
    } else {
        Err("must be 2-40 lowercase letters, digits or '_', starting with a letter".into())
    }
}

input_and_patch! {
    /// An interaction as submitted.
    InteractionInput,
    /// A partial change to an interaction.
    InteractionPatch {
        /// The client. Required.
        client_id: Uuid,
        /// A contact of that client.
        contact_id: Uuid,
        /// A ticket of that client.
        ticket_id: Uuid,
        /// `call`, `email`, `meeting`, `note` or a tenant-defined kind. Required.
        kind: String,
        /// A one-line summary.
        subject: String,
        /// What was said or done.
        notes: String,
        /// When it happened; default now. At most a day in the future.
        occurred_at: DateTime<Utc>,
        /// Length in minutes, 0–100000.
        duration_minutes: i32,
        /// The user who had the interaction; default the caller.
        user_id: Uuid,
    }
}

/// A validated interaction.
#[derive(Clone, Debug, PartialEq)]
pub struct InteractionDraft {
    /// Client.
    pub client_id: Uuid,
    /// Contact.
    pub contact_id: Option<Uuid>,
    /// Ticket.
    pub ticket_id: Option<Uuid>,
    /// Kind key.
    pub kind: String,
    /// Subject.
    pub subject: String,
    /// Notes.
    pub notes: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Minutes.
    pub duration_minutes: Option<i32>,
    /// User.
    pub user_id: Option<Uuid>,
}

impl InteractionInput {
    /// Checks every field; `now` fills a missing `occurred_at` and bounds it.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<InteractionDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        let kind = match self.kind.as_deref() {
            None => {
                issues.add("kind", "is required");
                None
            }
            Some(text) => issues.check("kind", kind_key(text)),
        };
        let subject = issues.check(
            "subject",
            validation::notes_text(self.subject.as_deref(), 200),
        );
        let notes = issues.check(
            "notes",
            validation::notes_text(self.notes.as_deref(), 20_000),
        );
        let occurred_at = self.occurred_at.unwrap_or(now);
        if occurred_at > now + chrono::Duration::days(1) {
            issues.add("occurred_at", "must not be more than a day in the future");
        }
        if self
            .duration_minutes
            .is_some_and(|m| !(0..=100_000).contains(&m))
        {
            issues.add("duration_minutes", "must be between 0 and 100000");
        }
        issues.finish(|| InteractionDraft {
            client_id: self.client_id.unwrap_or_default(),
            contact_id: self.contact_id,
            ticket_id: self.ticket_id,
            kind: kind.unwrap_or_default(),
            subject: subject.unwrap_or_default(),
            notes: notes.unwrap_or_default(),
            occurred_at,
            duration_minutes: self.duration_minutes,
            user_id: self.user_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let now = Utc::now();
        let draft = InteractionInput {
            client_id: Some(Uuid::nil()),
            kind: Some("call".into()),
            ..Default::default()
        }
        .validate(now)
        .unwrap();
        assert_eq!(draft.occurred_at, now);
        let issues = InteractionInput {
            kind: Some("Bad Kind".into()),
            occurred_at: Some(now + chrono::Duration::days(2)),
            duration_minutes: Some(-1),
            ..Default::default()
        }
        .validate(now)
        .unwrap_err();
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["client_id", "kind", "occurred_at", "duration_minutes"]
        );
    }
}
