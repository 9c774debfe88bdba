//! The workflow starter: a consumer group on the event streams that starts the
//! workflows subscribed to each event. Starts use deterministic workflow ids, so a
//! redelivered event finds its run already started and changes nothing.

use activities::events::consumer::EventHandler;
use activities::temporal::Temporal;
use engine::workflows::warranty_watch::WarrantyWatchInput;
use engine::{DomainEvent, EventEnvelope};

/// The consumer group name.
pub const GROUP: &str = "workflow-starter";

/// Starts workflows for events.
pub struct WorkflowStarter {
    temporal: Temporal,
}

impl WorkflowStarter {
    /// A starter using `temporal`.
    pub fn new(temporal: Temporal) -> Self {
        WorkflowStarter { temporal }
    }
}

impl EventHandler for WorkflowStarter {
    async fn handle(&self, event: &EventEnvelope) -> Result<(), String> {
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
            // Further subscribers (SLA on ticket.created, playbooks) are added here;
            // every other event starts no workflow.
            _ => Ok(()),
        }
    }
}
