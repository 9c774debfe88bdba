//! E-mail and in-app notifications: the catalogue of categories and subtypes, which
//! events raise which subtypes, who receives them ([`recipients`]), and the
//! templates that word them ([`templates`]). Pure: the fan-out workflow and its
//! activities do the sending.

pub mod recipients;
pub mod templates;

use crate::clients::text_enum;
use crate::{DomainEvent, EventEnvelope};

text_enum! {
    /// A group of subtypes a tenant can switch off at once.
    Category, "notification category" {
        /// Ticket life cycle and SLA.
        Tickets = "tickets",
        /// Invoices and payments.
        Invoices = "invoices",
        /// Projects, tasks and milestones.
        Projects = "projects",
        /// Time sheets.
        Time = "time",
    }
}

text_enum! {
    /// One kind of notification; tenants switch it off, users set preferences on it.
    Subtype, "notification subtype" {
        /// A ticket was opened.
        TicketCreated = "ticket_created",
        /// A ticket's fields changed.
        TicketUpdated = "ticket_updated",
        /// A ticket got a new assignee.
        TicketAssigned = "ticket_assigned",
        /// A comment was added to a ticket.
        TicketCommentAdded = "ticket_comment_added",
        /// An SLA target is close to being missed.
        TicketSlaWarning = "ticket_sla_warning",
        /// An SLA target was missed.
        TicketSlaBreach = "ticket_sla_breach",
        /// A ticket was escalated.
        TicketEscalated = "ticket_escalated",
        /// A ticket was closed.
        TicketClosed = "ticket_closed",
        /// A draft invoice was generated.
        InvoiceGenerated = "invoice_generated",
        /// An invoice was finalized.
        InvoiceFinalized = "invoice_finalized",
        /// A payment was received.
        InvoicePaymentReceived = "invoice_payment_received",
        /// An invoice is overdue.
        InvoiceOverdue = "invoice_overdue",
        /// A project was created.
        ProjectCreated = "project_created",
        /// A project task was assigned.
        ProjectTaskAssigned = "project_task_assigned",
        /// A project milestone was completed.
        ProjectMilestoneCompleted = "project_milestone_completed",
        /// A timesheet was submitted for approval.
        TimesheetSubmitted = "timesheet_submitted",
        /// A submitted timesheet still waits for a decision after the reminder delay.
        TimesheetApprovalReminder = "timesheet_approval_reminder",
        /// A timesheet was approved.
        TimesheetApproved = "timesheet_approved",
        /// A timesheet was sent back for changes.
        TimesheetRejected = "timesheet_rejected",
    }
}

impl Subtype {
    /// The category the subtype belongs to.
    pub fn category(self) -> Category {
        use Subtype::*;
        match self {
            TicketCreated | TicketUpdated | TicketAssigned | TicketCommentAdded
            | TicketSlaWarning | TicketSlaBreach | TicketEscalated | TicketClosed => {
                Category::Tickets
            }
            InvoiceGenerated | InvoiceFinalized | InvoicePaymentReceived | InvoiceOverdue => {
                Category::Invoices
            }
            ProjectCreated | ProjectTaskAssigned | ProjectMilestoneCompleted => Category::Projects,
            TimesheetSubmitted
            | TimesheetApprovalReminder
            | TimesheetApproved
            | TimesheetRejected => Category::Time,
        }
    }

    /// A human label, e.g. "SLA breach".
    pub fn label(self) -> &'static str {
        use Subtype::*;
        match self {
            TicketCreated => "Ticket created",
            TicketUpdated => "Ticket updated",
            TicketAssigned => "Ticket assigned",
            TicketCommentAdded => "Comment added",
            TicketSlaWarning => "SLA warning",
            TicketSlaBreach => "SLA breach",
            TicketEscalated => "Ticket escalated",
            TicketClosed => "Ticket closed",
            InvoiceGenerated => "Invoice generated",
            InvoiceFinalized => "Invoice finalized",
            InvoicePaymentReceived => "Payment received",
            InvoiceOverdue => "Invoice overdue",
            ProjectCreated => "Project created",
            ProjectTaskAssigned => "Task assigned",
            ProjectMilestoneCompleted => "Milestone completed",
            TimesheetSubmitted => "Timesheet submitted",
            TimesheetApprovalReminder => "Timesheet approval reminder",
            TimesheetApproved => "Timesheet approved",
            TimesheetRejected => "Timesheet changes requested",
        }
    }

    /// The subtypes of `category`, in catalogue order.
    pub fn of(category: Category) -> impl Iterator<Item = Subtype> {
        Subtype::ALL
            .iter()
            .copied()
            .filter(move |s| s.category() == category)
    }
}

impl Category {
    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Category::Tickets => "Tickets",
            Category::Invoices => "Invoices",
            Category::Projects => "Projects",
            Category::Time => "Time",
        }
    }
}

text_enum! {
    /// When a user receives e-mail of a subtype.
    Delivery, "delivery" {
        /// One e-mail per notification, right away.
        Immediate = "immediate",
        /// Collected into one e-mail a day.
        Digest = "digest",
    }
}

/// The notification subtype an event raises, if any. A ticket update that only
/// changed status or assignee raises nothing here: its own status or assignment
/// event carries the news.
pub fn subtype_of(envelope: &EventEnvelope) -> Option<Subtype> {
    match &envelope.event {
        DomainEvent::TicketCreated(_) => Some(Subtype::TicketCreated),
        DomainEvent::TicketUpdated(t) => t
            .changed
            .iter()
            .any(|c| c != "status" && c != "assigned_to")
            .then_some(Subtype::TicketUpdated),
        DomainEvent::TicketAssigned(t) => t.user_id.map(|_| Subtype::TicketAssigned),
        DomainEvent::TicketStatusChanged(t) => {
            (t.is_closed == Some(true)).then_some(Subtype::TicketClosed)
        }
        DomainEvent::TicketCommentAdded(_) => Some(Subtype::TicketCommentAdded),
        DomainEvent::TicketSlaWarning(_) => Some(Subtype::TicketSlaWarning),
        DomainEvent::TicketSlaBreached(_) => Some(Subtype::TicketSlaBreach),
        DomainEvent::TicketEscalated(_) => Some(Subtype::TicketEscalated),
        DomainEvent::TimesheetSubmitted(_) => Some(Subtype::TimesheetSubmitted),
        DomainEvent::TimesheetApprovalReminder(_) => Some(Subtype::TimesheetApprovalReminder),
        DomainEvent::TimesheetApproved(_) => Some(Subtype::TimesheetApproved),
        DomainEvent::TimesheetChangesRequested(_) => Some(Subtype::TimesheetRejected),
        _ => None,
    }
}

/// The default e-mails per minute a tenant may send.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TenantId, TicketEvent};

    fn envelope(event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            event_id: uuid::Uuid::now_v7(),
            tenant: TenantId(uuid::Uuid::now_v7()),
            occurred_at: chrono::Utc::now(),
            version: 1,
            event,
        }
    }

    #[test]
    fn every_subtype_has_a_category_and_every_category_subtypes() {
        for category in Category::ALL {
            assert!(Subtype::of(*category).count() >= 3, "{category:?}");
        }
        assert_eq!(Subtype::of(Category::Tickets).count(), 8);
        assert_eq!(
            Subtype::parse("ticket_sla_breach"),
            Ok(Subtype::TicketSlaBreach)
        );
        assert!(Subtype::parse("nope").is_err());
    }

    #[test]
    fn ticket_events_map_to_subtypes() {
        let t = TicketEvent::default();
        let closed = TicketEvent {
            is_closed: Some(true),
            ..t.clone()
        };
        let open = TicketEvent {
            is_closed: Some(false),
            ..t.clone()
        };
        let status_only = TicketEvent {
            changed: vec!["status".into(), "assigned_to".into()],
            ..t.clone()
        };
        let title = TicketEvent {
            changed: vec!["title".into()],
            ..t.clone()
        };
        let cases = [
            (
                DomainEvent::TicketCreated(t.clone()),
                Some(Subtype::TicketCreated),
            ),
            (
                DomainEvent::TicketStatusChanged(closed),
                Some(Subtype::TicketClosed),
            ),
            (DomainEvent::TicketStatusChanged(open), None),
            (DomainEvent::TicketUpdated(status_only), None),
            (
                DomainEvent::TicketUpdated(title),
                Some(Subtype::TicketUpdated),
            ),
            (DomainEvent::TicketAssigned(t.clone()), None),
            (
                DomainEvent::TicketSlaBreached(t),
                Some(Subtype::TicketSlaBreach),
            ),
        ];
        for (event, want) in cases {
            assert_eq!(subtype_of(&envelope(event.clone())), want, "{event:?}");
        }
    }
}
