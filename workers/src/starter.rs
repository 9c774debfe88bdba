//! The workflow starter: a consumer group on the event streams that starts the
//! workflows subscribed to each event. Starts use deterministic workflow ids, so a
//! redelivered event finds its run already started and changes nothing.

use activities::events::consumer::EventHandler;
use activities::temporal::Temporal;
use activities::temporal::TemporalError;
use engine::workflows::notification_digest::DigestInput;
use engine::workflows::notification_fan_out::FanOutInput;
use engine::workflows::ticket_sla::{SlaSignal, TicketSlaInput};
use engine::workflows::timesheet_approval::ApprovalInput;
use engine::workflows::warranty_watch::WarrantyWatchInput;
use engine::{DomainEvent, EventEnvelope, TicketEvent};

/// The consumer group name.
pub const GROUP: &str = "workflow-starter";

/// Starts workflows for events.
pub struct WorkflowStarter {
    temporal: Temporal,
    sla_seconds_per_minute: u32,
}

impl WorkflowStarter {
    /// A starter using `temporal`.
    pub fn new(temporal: Temporal, sla_seconds_per_minute: u32) -> Self {
        WorkflowStarter {
            temporal,
            sla_seconds_per_minute,
        }
    }

    /// Makes sure the ticket's SLA workflow runs, then hands it `signal`. A workflow
    /// that ended (closed ticket) is started anew: it reloads the ticket's state.
    async fn to_ticket_sla(
        &self,
        event: &EventEnvelope,
        ticket: &TicketEvent,
        signal: Option<SlaSignal>,
    ) -> Result<(), String> {
        let input = TicketSlaInput {
            tenant: event.tenant,
            ticket_id: ticket.id,
            seconds_per_minute: self.sla_seconds_per_minute,
        };
        self.temporal
            .start_ticket_sla(input.clone())
            .await
            .map_err(|e| e.to_string())?;
        let Some(signal) = signal else { return Ok(()) };
        match self
            .temporal
            .signal_ticket_sla(event.tenant, ticket.id, signal.clone())
            .await
        {
            Err(TemporalError::NotFound) => {
                // It completed between our start and signal: start it again and retry.
                self.temporal
                    .start_ticket_sla(input)
                    .await
                    .map_err(|e| e.to_string())?;
                self.temporal
                    .signal_ticket_sla(event.tenant, ticket.id, signal)
                    .await
                    .map_err(|e| e.to_string())
            }
            other => other.map_err(|e| e.to_string()),
        }
    }
}

impl EventHandler for WorkflowStarter {
    async fn handle(&self, event: &EventEnvelope) -> Result<(), String> {
        self.to_sla_and_others(event).await?;
        self.to_notifications(event).await
    }
}

impl WorkflowStarter {
    /// Starts the notification fan-out of an event that raises a notification, and
    /// a new tenant's daily digest.
    async fn to_notifications(&self, event: &EventEnvelope) -> Result<(), String> {
        if let DomainEvent::TenantCreated { .. } = &event.event {
            self.temporal
                .start_notification_digest(DigestInput::daily(event.tenant))
                .await
                .map_err(|e| e.to_string())?;
        }
        let Some(subtype) = engine::notifications::subtype_of(event) else {
            return Ok(());
        };
        let input = FanOutInput {
            event: event.clone(),
            subtype: subtype.as_str().to_owned(),
        };
        self.temporal
            .start_notification_fan_out(input)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn to_sla_and_others(&self, event: &EventEnvelope) -> Result<(), String> {
        match &event.event {
            // A tenant whose creator died before starting onboarding still gets it.
            DomainEvent::TenantCreated { slug, .. } => self
                .temporal
                .start_onboarding(event.tenant, slug)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            // A tenant with assets gets its daily warranty scan; starting it again
            // answers the running watch.
            DomainEvent::AssetCreated(_) | DomainEvent::AssetUpdated(_) => self
                .temporal
                .start_warranty_watch(WarrantyWatchInput::daily(event.tenant))
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            DomainEvent::TicketCreated(ticket) => self.to_ticket_sla(event, ticket, None).await,
            // The API starts the approval on submit; this start covers an API that
            // died between its commit and its start, and otherwise joins that run.
            DomainEvent::TimesheetSubmitted(sheet) => self
                .temporal
                .start_timesheet_approval(ApprovalInput {
                    tenant: event.tenant,
                    timesheet_id: sheet.id,
                    submission: sheet.submission,
                })
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            DomainEvent::TicketStatusChanged(ticket) => {
                let signal = SlaSignal::StatusChanged {
                    at: event.occurred_at,
                    is_closed: ticket.is_closed.unwrap_or(false),
                    pauses: ticket.pauses_sla.unwrap_or(false),
                };
                self.to_ticket_sla(event, ticket, Some(signal)).await
            }
            DomainEvent::TicketUpdated(ticket) => {
                let at = event.occurred_at;
                let signal = if ticket
                    .changed
                    .iter()
                    .any(|c| c == "board" || c == "client_id")
                {
                    Some(SlaSignal::PolicyChanged { at })
                } else if ticket.changed.iter().any(|c| c == "priority") {
                    Some(SlaSignal::PriorityChanged { at })
                } else {
                    None
                };
                match signal {
                    Some(signal) => self.to_ticket_sla(event, ticket, Some(signal)).await,
                    None => Ok(()),
                }
            }
            DomainEvent::TicketCommentAdded(ticket) if ticket.first_response => {
                let signal = SlaSignal::FirstResponse {
                    at: event.occurred_at,
                };
                self.to_ticket_sla(event, ticket, Some(signal)).await
            }
            // Further subscribers (playbooks) are added here; every other event
            // starts no workflow of this kind.
            _ => Ok(()),
        }
    }
}
