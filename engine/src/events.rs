//! Domain events: what happened in a tenant, as typed, versioned records. Writers
//! put them in the outbox in the same transaction as the change; the relay publishes
//! them to Redis Streams (one stream per type); consumers react.

use crate::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The schema version of [`EventEnvelope`]; bumped only by adding a new version
/// alongside, never by changing the meaning of an existing one.
pub const ENVELOPE_VERSION: u32 = 1;

/// Something that happened, with its type-specific data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    /// A tenant was created.
    #[serde(rename = "tenant.created")]
    TenantCreated {
        /// Its slug.
        slug: String,
        /// Its display name.
        name: String,
    },
    /// A user was added to a tenant.
    #[serde(rename = "user.created")]
    UserCreated {
        /// The new user.
        user_id: Uuid,
        /// Their e-mail address.
        email: String,
        /// Their role names.
        roles: Vec<String>,
    },
    /// An API key was issued.
    #[serde(rename = "api_key.created")]
    ApiKeyCreated {
        /// The key.
        key_id: Uuid,
        /// Its owner.
        user_id: Uuid,
    },
    /// A client was created.
    #[serde(rename = "client.created")]
    ClientCreated(RecordRef),
    /// A client was changed; `changed` names the fields.
    #[serde(rename = "client.updated")]
    ClientUpdated(RecordRef),
    /// A client was archived (deleted).
    #[serde(rename = "client.archived")]
    ClientArchived(RecordRef),
    /// A client was merged into another (`client_id`); `id` is the merged-away one.
    #[serde(rename = "client.merged")]
    ClientMerged(RecordRef),
    /// A contact was created.
    #[serde(rename = "contact.created")]
    ContactCreated(RecordRef),
    /// A contact was changed (or moved to another client).
    #[serde(rename = "contact.updated")]
    ContactUpdated(RecordRef),
    /// A contact was archived (deleted).
    #[serde(rename = "contact.archived")]
    ContactArchived(RecordRef),
    /// An interaction was logged.
    #[serde(rename = "interaction.created")]
    InteractionCreated(RecordRef),
    /// An interaction was changed.
    #[serde(rename = "interaction.updated")]
    InteractionUpdated(RecordRef),
    /// An interaction was deleted.
    #[serde(rename = "interaction.archived")]
    InteractionArchived(RecordRef),
    /// An asset was created.
    #[serde(rename = "asset.created")]
    AssetCreated(RecordRef),
    /// An asset was changed.
    #[serde(rename = "asset.updated")]
    AssetUpdated(RecordRef),
    /// An asset was archived (deleted).
    #[serde(rename = "asset.archived")]
    AssetArchived(RecordRef),
    /// An asset's warranty ends within the notice window; `changed` is empty.
    #[serde(rename = "asset.warranty_expiring")]
    AssetWarrantyExpiring(RecordRef),
    /// A ticket was opened.
    #[serde(rename = "ticket.created")]
    TicketCreated(TicketEvent),
    /// A ticket's fields changed; `changed` names them.
    #[serde(rename = "ticket.updated")]
    TicketUpdated(TicketEvent),
    /// A ticket moved to another status.
    #[serde(rename = "ticket.status_changed")]
    TicketStatusChanged(TicketEvent),
    /// A ticket got a new assignee (`user_id`).
    #[serde(rename = "ticket.assigned")]
    TicketAssigned(TicketEvent),
    /// A comment was added; `first_response` marks the first public technician reply.
    #[serde(rename = "ticket.comment_added")]
    TicketCommentAdded(TicketEvent),
    /// A notification threshold of an SLA target was crossed.
    #[serde(rename = "ticket.sla_warning")]
    TicketSlaWarning(TicketEvent),
    /// An SLA target was missed.
    #[serde(rename = "ticket.sla_breached")]
    TicketSlaBreached(TicketEvent),
    /// A ticket escalated to `level`.
    #[serde(rename = "ticket.escalated")]
    TicketEscalated(TicketEvent),
    /// Time was logged.
    #[serde(rename = "time_entry.created")]
    TimeEntryCreated(RecordRef),
    /// A time entry changed.
    #[serde(rename = "time_entry.updated")]
    TimeEntryUpdated(RecordRef),
    /// A time entry was deleted.
    #[serde(rename = "time_entry.deleted")]
    TimeEntryDeleted(RecordRef),
    /// A timesheet was submitted for approval.
    #[serde(rename = "timesheet.submitted")]
    TimesheetSubmitted(TimesheetEvent),
    /// A timesheet was approved; its entries are locked.
    #[serde(rename = "timesheet.approved")]
    TimesheetApproved(TimesheetEvent),
    /// A timesheet went back to its user: changes requested, or an approval
    /// reversed (`reversed`).
    #[serde(rename = "timesheet.changes_requested")]
    TimesheetChangesRequested(TimesheetEvent),
    /// A submitted timesheet has waited for a decision longer than the tenant's
    /// reminder delay.
    #[serde(rename = "timesheet.approval_reminder")]
    TimesheetApprovalReminder(TimesheetEvent),
    /// E-mails were queued outside the notification fan-out (a playbook's
    /// `send_email`); the workflow starter starts their delivery.
    #[serde(rename = "email.queued")]
    EmailQueued(EmailQueued),
    /// A free-form event for tests and integrations (`test.ping`).
    #[serde(rename = "test.ping")]
    TestPing {
        /// Any payload.
        payload: serde_json::Value,
    },
}

impl DomainEvent {
    /// The event's type name, e.g. `user.created`; also its stream's suffix.
    pub fn type_name(&self) -> &'static str {
        match self {
            DomainEvent::TenantCreated { .. } => "tenant.created",
            DomainEvent::UserCreated { .. } => "user.created",
            DomainEvent::ApiKeyCreated { .. } => "api_key.created",
            DomainEvent::ClientCreated(_) => "client.created",
            DomainEvent::ClientUpdated(_) => "client.updated",
            DomainEvent::ClientArchived(_) => "client.archived",
            DomainEvent::ClientMerged(_) => "client.merged",
            DomainEvent::ContactCreated(_) => "contact.created",
            DomainEvent::ContactUpdated(_) => "contact.updated",
            DomainEvent::ContactArchived(_) => "contact.archived",
            DomainEvent::InteractionCreated(_) => "interaction.created",
            DomainEvent::InteractionUpdated(_) => "interaction.updated",
            DomainEvent::InteractionArchived(_) => "interaction.archived",
            DomainEvent::AssetCreated(_) => "asset.created",
            DomainEvent::AssetUpdated(_) => "asset.updated",
            DomainEvent::AssetArchived(_) => "asset.archived",
            DomainEvent::AssetWarrantyExpiring(_) => "asset.warranty_expiring",
            DomainEvent::TicketCreated(_) => "ticket.created",
            DomainEvent::TicketUpdated(_) => "ticket.updated",
            DomainEvent::TicketStatusChanged(_) => "ticket.status_changed",
            DomainEvent::TicketAssigned(_) => "ticket.assigned",
            DomainEvent::TicketCommentAdded(_) => "ticket.comment_added",
            DomainEvent::TicketSlaWarning(_) => "ticket.sla_warning",
            DomainEvent::TicketSlaBreached(_) => "ticket.sla_breached",
            DomainEvent::TicketEscalated(_) => "ticket.escalated",
            DomainEvent::TimeEntryCreated(_) => "time_entry.created",
            DomainEvent::TimeEntryUpdated(_) => "time_entry.updated",
            DomainEvent::TimeEntryDeleted(_) => "time_entry.deleted",
            DomainEvent::TimesheetSubmitted(_) => "timesheet.submitted",
            DomainEvent::TimesheetApproved(_) => "timesheet.approved",
            DomainEvent::TimesheetChangesRequested(_) => "timesheet.changes_requested",
            DomainEvent::TimesheetApprovalReminder(_) => "timesheet.approval_reminder",
            DomainEvent::EmailQueued(_) => "email.queued",
            DomainEvent::TestPing { .. } => "test.ping",
        }
    }

    /// Every type name, for consumers that read all streams.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "tenant.created",
        "user.created",
        "api_key.created",
        "client.created",
        "client.updated",
        "client.archived",
        "client.merged",
        "contact.created",
        "contact.updated",
        "contact.archived",
        "interaction.created",
        "interaction.updated",
        "interaction.archived",
        "asset.created",
        "asset.updated",
        "asset.archived",
        "asset.warranty_expiring",
        "ticket.created",
        "ticket.updated",
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.comment_added",
        "ticket.sla_warning",
        "ticket.sla_breached",
        "ticket.escalated",
        "time_entry.created",
        "time_entry.updated",
        "time_entry.deleted",
        "timesheet.submitted",
        "timesheet.approved",
        "timesheet.changes_requested",
        "timesheet.approval_reminder",
        "email.queued",
        "test.ping",
    ];
}

/// E-mails queued in `notification_log` under one batch key, waiting to be sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailQueued {
    /// The rows' batch key.
    pub batch_key: String,
    /// How many rows were queued.
    pub emails: u32,
}

/// Which record an event is about, for the events of business records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordRef {
    /// The record's id.
    pub id: Uuid,
    /// The client it belongs to (for a client, its own id; for a merge, the
    /// surviving client).
    pub client_id: Uuid,
    /// For updates, the names of the fields that changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

impl RecordRef {
    /// A reference without changed fields.
    pub fn new(id: Uuid, client_id: Uuid) -> RecordRef {
        RecordRef {
            id,
            client_id,
            changed: Vec::new(),
        }
    }
}

/// What a ticket event is about; each event fills the fields that concern it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// The ticket.
    pub id: Uuid,
    /// Its client.
    pub client_id: Uuid,
    /// Its number, e.g. `T-000123`.
    pub number: String,
    /// For updates, the fields that changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The status (name) after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Whether that status closes the ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_closed: Option<bool>,
    /// Whether that status pauses the SLA clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pauses_sla: Option<bool>,
    /// A user (the new assignee, the escalation manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<Uuid>,
    /// The comment is the first public technician reply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub first_response: bool,
    /// The SLA target concerned (`response`, `resolution`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// Percent of the target reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    /// Escalation level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
}

/// What a timesheet event is about.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimesheetEvent {
    /// The timesheet.
    pub id: Uuid,
    /// Whose timesheet.
    pub user_id: Uuid,
    /// Which submission of the timesheet (1 for the first).
    pub submission: u32,
    /// Who acted (the approver; the submitter on submit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Uuid>,
    /// Why changes were requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// An approval was taken back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reversed: bool,
}

/// An event with the facts every event carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Unique id (UUIDv7); consumers deduplicate by it.
    pub event_id: Uuid,
    /// The tenant it happened in.
    pub tenant: TenantId,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The envelope's schema version.
    pub version: u32,
    /// What happened.
    #[serde(flatten)]
    pub event: DomainEvent,
}

/// Why a stream entry is not a valid event.
#[derive(Debug, thiserror::Error)]
pub enum EventDecodeError {
    /// Not JSON of the envelope's shape, or an unknown type.
    #[error("malformed event: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A version this build does not understand.
    #[error("unsupported event version {0}")]
    UnsupportedVersion(u32),
}

impl EventEnvelope {
    /// Parses and validates an envelope from its JSON text.
    pub fn decode(json: &str) -> Result<EventEnvelope, EventDecodeError> {
        let envelope: EventEnvelope = serde_json::from_str(json)?;
        if envelope.version != ENVELOPE_VERSION {
            return Err(EventDecodeError::UnsupportedVersion(envelope.version));
        }
        Ok(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            event_id: Uuid::now_v7(),
            tenant: TenantId(Uuid::now_v7()),
            occurred_at: Utc::now(),
            version: ENVELOPE_VERSION,
            event,
        }
    }

    #[test]
    fn envelopes_round_trip_with_their_type_on_the_outside() {
        let original = envelope(DomainEvent::UserCreated {
            user_id: Uuid::now_v7(),
            email: "a@b.com".into(),
            roles: vec!["Admin".into()],
        });
        let json = serde_json::to_string(&original).expect("serialize");
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["type"], "user.created");
        assert_eq!(value["version"], 1);
        assert_eq!(EventEnvelope::decode(&json).expect("decode"), original);
    }

    #[test]
    fn type_names_match_the_serialised_tag() {
        for event in [
            DomainEvent::TenantCreated {
                slug: "a".into(),
                name: "A".into(),
            },
            DomainEvent::ApiKeyCreated {
                key_id: Uuid::nil(),
                user_id: Uuid::nil(),
            },
            DomainEvent::TestPing {
                payload: serde_json::json!(1),
            },
            DomainEvent::EmailQueued(EmailQueued {
                batch_key: "playbook:x".into(),
                emails: 1,
            }),
        ] {
            let value = serde_json::to_value(envelope(event.clone())).expect("json");
            assert_eq!(value["type"], event.type_name());
            assert!(DomainEvent::TYPE_NAMES.contains(&event.type_name()));
        }
    }

    #[test]
    fn malformed_and_future_events_are_rejected() {
        assert!(matches!(
            EventEnvelope::decode("{}"),
            Err(EventDecodeError::Malformed(_))
        ));
        assert!(matches!(
            EventEnvelope::decode(r#"{"type":"nope.never"}"#),
            Err(EventDecodeError::Malformed(_))
        ));
        let mut future = serde_json::to_value(envelope(DomainEvent::TestPing {
            payload: serde_json::json!(null),
        }))
        .expect("json");
        future["version"] = serde_json::json!(2);
        assert!(matches!(
            EventEnvelope::decode(&future.to_string()),
            Err(EventDecodeError::UnsupportedVersion(2))
        ));
    }
}
