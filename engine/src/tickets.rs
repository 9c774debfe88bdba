//! Tickets: the rules for their fields, origins and the ITIL priority matrix.

use crate::clients::text_enum;
use crate::validation::{self, input_and_patch, FieldIssue, Issues};
use chrono::{DateTime, Utc};
use uuid::Uuid;

text_enum! {
    /// Where a ticket came from.
    Origin, "origin" {
        /// Created in the admin UI.
        Ui = "ui",
        /// Created through the REST API (the default for API calls).
        Api = "api",
        /// Created from an inbound e-mail.
        Email = "email",
        /// Created by a playbook.
        Playbook = "playbook",
    }
}

text_enum! {
    /// Who the ticket waits for.
    ResponseState, "response state" {
        /// The client must answer.
        AwaitingClient = "awaiting_client",
        /// The MSP must act.
        AwaitingInternal = "awaiting_internal",
    }
}

/// The ITIL priority level (1 Critical … 5 Planning) for impact × urgency, each
/// 1 (highest) to 5 (lowest).
pub fn itil_priority_level(impact: i16, urgency: i16) -> Result<i16, String> {
    const MATRIX: [[i16; 5]; 5] = [
        [1, 2, 2, 3, 3],
        [2, 2, 3, 3, 4],
        [2, 3, 3, 4, 4],
        [3, 3, 4, 4, 5],
        [3, 4, 4, 5, 5],
    ];
    let index = |value: i16, name: &str| {
        usize::try_from(value - 1)
            .ok()
            .filter(|i| *i < 5)
            .ok_or_else(|| format!("{name} must be between 1 and 5"))
    };
    Ok(MATRIX[index(impact, "impact")?][index(urgency, "urgency")?])
}

input_and_patch! {
    /// A ticket as submitted.
    TicketInput,
    /// A partial change to a ticket; a new `status` goes through the SLA workflow.
    TicketPatch {
        /// 1–300 characters. Required.
        title: String,
        /// The problem, in detail.
        description: String,
        /// The client. Required.
        client_id: Uuid,
        /// A contact of that client.
        contact_id: Uuid,
        /// Board name (default: the tenant's default board).
        board: String,
        /// Status name (default: the default status, "Open").
        status: String,
        /// Priority name (default: the board's, else "Medium"). On an ITIL board it is
        /// derived from `impact` × `urgency` instead.
        priority: String,
        /// Category.
        category: String,
        /// Subcategory.
        subcategory: String,
        /// The technician working it (a user of the tenant).
        assigned_to: Uuid,
        /// Further agents.
        additional_agents: Vec<Uuid>,
        /// When it is due (independent of the SLA).
        due_at: DateTime<Utc>,
        /// Up to 50 tags, lowercased.
        tags: Vec<String>,
        /// `ui`, `api` (default), `email` or `playbook`.
        origin: Origin,
        /// `awaiting_client` or `awaiting_internal`.
        response_state: ResponseState,
        /// Custom fields: a JSON object.
        attributes: serde_json::Value,
        /// ITIL impact, 1 (highest) to 5.
        impact: i16,
        /// ITIL urgency, 1 (highest) to 5.
        urgency: i16,
    }
}

/// A validated ticket, with names still to resolve.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketDraft {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Client.
    pub client_id: Uuid,
    /// Contact.
    pub contact_id: Option<Uuid>,
    /// Board name.
    pub board: Option<String>,
    /// Status name.
    pub status: Option<String>,
    /// Priority name.
    pub priority: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Subcategory.
    pub subcategory: Option<String>,
    /// Assignee.
    pub assigned_to: Option<Uuid>,
    /// Further agents, without duplicates.
    pub additional_agents: Vec<Uuid>,
    /// Due.
    pub due_at: Option<DateTime<Utc>>,
    /// Tags.
    pub tags: Vec<String>,
    /// Origin.
    pub origin: Origin,
    /// Response state.
    pub response_state: Option<ResponseState>,
    /// Custom fields.
    pub attributes: serde_json::Value,
    /// ITIL impact.
    pub impact: Option<i16>,
    /// ITIL urgency.
    pub urgency: Option<i16>,
}

impl TicketInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<TicketDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let title = issues.check(
            "title",
            validation::required_text(self.title.as_deref(), 300),
        );
        let description = issues.check(
            "description",
            validation::notes_text(self.description.as_deref(), 50_000),
        );
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        let mut name = |field: &str, value: &Option<String>| {
            issues
                .check(field, validation::optional_text(value.as_deref(), 100))
                .flatten()
        };
        let board = name("board", &self.board);
        let status = name("status", &self.status);
        let priority = name("priority", &self.priority);
        let category = name("category", &self.category);
        let subcategory = name("subcategory", &self.subcategory);
        for (field, value) in [("impact", self.impact), ("urgency", self.urgency)] {
            if value.is_some_and(|v| !(1..=5).contains(&v)) {
                issues.add(field, "must be between 1 and 5");
            }
        }
        let tags = issues.check(
            "tags",
            validation::tags(self.tags.as_deref().unwrap_or(&[])),
        );
        let attributes = issues.check(
            "attributes",
            crate::clients::properties(self.attributes.as_ref().unwrap_or(&serde_json::json!({}))),
        );
        let mut agents = self.additional_agents.clone().unwrap_or_default();
        agents.sort();
        agents.dedup();
        if agents.len() > 20 {
            issues.add("additional_agents", "must list at most 20 users");
        }
        issues.finish(|| TicketDraft {
            title: title.unwrap_or_default(),
            description: description.unwrap_or_default(),
            client_id: self.client_id.unwrap_or_default(),
            contact_id: self.contact_id,
            board,
            status,
            priority,
            category,
            subcategory,
            assigned_to: self.assigned_to,
            additional_agents: agents,
            due_at: self.due_at,
            tags: tags.unwrap_or_default(),
            origin: self.origin.unwrap_or(Origin::Api),
            response_state: self.response_state,
            attributes: attributes.unwrap_or_default(),
            impact: self.impact,
            urgency: self.urgency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_itil_matrix_matches_the_reference_rows() {
        let rows: Vec<Vec<i16>> = (1..=5)
            .map(|impact| {
                (1..=5)
                    .map(|urgency| itil_priority_level(impact, urgency).unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                vec![1, 2, 2, 3, 3],
                vec![2, 2, 3, 3, 4],
                vec![2, 3, 3, 4, 4],
                vec![3, 3, 4, 4, 5],
                vec![3, 4, 4, 5, 5]
            ]
        );
        assert!(itil_priority_level(0, 3).is_err());
        assert!(itil_priority_level(3, 6).is_err());
    }

    #[test]
    fn a_ticket_needs_a_title_and_a_client() {
        let issues = TicketInput::default().validate().unwrap_err();
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["title", "client_id"]);
        let issues = TicketInput {
            title: Some("Printer".into()),
            client_id: Some(Uuid::nil()),
            impact: Some(9),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(issues[0].field, "impact");
    }
}
