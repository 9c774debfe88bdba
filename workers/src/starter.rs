//! The workflow starter: a consumer group on the event streams that starts the
//! workflows subscribed to each event. Starts use deterministic workflow ids, so a
//! redelivered event finds its run already started and changes nothing.

use activities::events::consumer::EventHandler;
use activities::playbooks::limits;
use activities::playbooks::{self, event_waits, manifest, Subscriber};
use activities::temporal::Temporal;
use activities::temporal::TemporalError;
use activities::Db;
use dsl::workflow::{PlaybookEventDelivery, PlaybookRunInput};
use engine::workflows::notification_digest::DigestInput;
use engine::workflows::notification_fan_out::FanOutInput;
use engine::workflows::outbound_email::OutboundEmailInput;
use engine::workflows::ticket_sla::{SlaSignal, TicketSlaInput};
use engine::workflows::timesheet_approval::ApprovalInput;
use engine::workflows::warranty_watch::WarrantyWatchInput;
use engine::{DomainEvent, EventEnvelope, TicketEvent};
use uuid::Uuid;

/// The consumer group name.
pub const GROUP: &str = "workflow-starter";

/// Starts workflows for events.
pub struct WorkflowStarter {
    temporal: Temporal,
    db: Db,
    sla_seconds_per_minute: u32,
}

impl WorkflowStarter {
    /// A starter using `temporal`, reading playbook triggers from `db`.
    pub fn new(temporal: Temporal, db: Db, sla_seconds_per_minute: u32) -> Self {
        WorkflowStarter {
            temporal,
            db,
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
        self.to_notifications(event).await?;
        self.to_playbooks(event).await
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
        if let DomainEvent::EmailQueued(queued) = &event.event {
            let input = OutboundEmailInput {
                tenant: event.tenant,
                event_id: event.event_id,
                batch_key: queued.batch_key.clone(),
                emails: queued.emails,
            };
            return self
                .temporal
                .start_outbound_email(input)
                .await
                .map(drop)
                .map_err(|e| e.to_string());
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
            // Every other event starts no workflow of this kind.
            _ => Ok(()),
        }
    }
}

impl WorkflowStarter {
    /// Starts one run of each enabled playbook triggered by the event whose filter
    /// accepts it, as the playbook's author, with the envelope as `input.event`.
    /// A filter that fails to evaluate starts nothing (it is logged): retrying the
    /// event would fail the same way.
    async fn to_playbooks(&self, event: &EventEnvelope) -> Result<(), String> {
        let event_type = event.event.type_name();
        let mut tx = self
            .db
            .tenant_tx(event.tenant)
            .await
            .map_err(|e| e.to_string())?;
        let subscribers = playbooks::event_subscribers(&mut tx, event_type)
            .await
            .map_err(|e| e.to_string())?;
        let waits = event_waits::waits_for(&mut tx, event_type)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        if subscribers.is_empty() && waits.is_empty() {
            return Ok(());
        }
        let envelope = serde_json::to_value(event).map_err(|e| e.to_string())?;
        for wait in waits {
            self.to_waiting_run(event, &envelope, wait).await?;
        }
        for subscriber in subscribers {
            match dsl::triggers::accepts(subscriber.filter.as_deref(), &envelope) {
                Ok(true) => self.start_playbook(event, &envelope, subscriber).await?,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(playbook = %subscriber.id, %error, "trigger filter failed")
                }
            }
        }
        Ok(())
    }

    async fn start_playbook(
        &self,
        event: &EventEnvelope,
        envelope: &serde_json::Value,
        subscriber: Subscriber,
    ) -> Result<(), String> {
        let trigger = format!("event:{}", event.event.type_name());
        // A playbook nobody authored (created by a system key) acts as no user.
        let Some(run_as) = subscriber.run_as else {
            tracing::warn!(playbook = %subscriber.id, "an event playbook without an author");
            return Ok(());
        };
        let given = serde_json::json!({ "event": envelope });
        let admitted = match self
            .admitted(event, &subscriber, &trigger, run_as, &given)
            .await?
        {
            Ok(input) => input,
            Err(reason) => {
                tracing::warn!(playbook = %subscriber.id, %reason, "playbook run refused");
                return Ok(());
            }
        };
        let input = PlaybookRunInput {
            tenant: event.tenant,
            playbook_id: subscriber.id,
            version: subscriber.version,
            source: subscriber.source,
            input: admitted,
            dry_run: false,
            fixtures: Default::default(),
            run_as,
            trigger,
            depth: 0,
            continuation: None,
        };
        self.temporal
            .start_playbook_run_for_event(input, event.event_id)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Signals the event to a run in `wait_for_event` whose filter accepts it. A
    /// run that no longer exists (terminated while waiting) loses its wait.
    async fn to_waiting_run(
        &self,
        event: &EventEnvelope,
        envelope: &serde_json::Value,
        wait: event_waits::EventWait,
    ) -> Result<(), String> {
        match dsl::triggers::accepts(wait.filter.as_deref(), envelope) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(error) => {
                tracing::warn!(workflow_id = %wait.workflow_id, %error, "wait filter failed");
                return Ok(());
            }
        }
        let delivery = PlaybookEventDelivery {
            wait: u32::try_from(wait.wait).unwrap_or_default(),
            event: envelope.clone(),
        };
        match self
            .temporal
            .signal_playbook_event(&wait.workflow_id, delivery)
            .await
        {
            Ok(()) => Ok(()),
            Err(TemporalError::NotFound) => {
                let mut tx = self
                    .db
                    .tenant_tx(event.tenant)
                    .await
                    .map_err(|e| e.to_string())?;
                event_waits::close_wait(&mut tx, &wait.workflow_id, wait.wait)
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())
            }
            Err(other) => Err(other.to_string()),
        }
    }

    /// The input the version's manifest admits for the author (defaults filled
    /// in) within the tenant's limits, or why not; a refusal is audited on the
    /// playbook, so its author sees why the event started nothing.
    async fn admitted(
        &self,
        event: &EventEnvelope,
        subscriber: &Subscriber,
        trigger: &str,
        run_as: Uuid,
        given: &serde_json::Value,
    ) -> Result<Result<serde_json::Value, String>, String> {
        let checked = async {
            let mut tx = self.db.tenant_tx(event.tenant).await?;
            let (id, version) = (subscriber.id, subscriber.version);
            let admitted = match manifest::admit(&mut tx, id, version, run_as, given).await? {
                Ok(input) => limits::check_can_start(&mut tx)
                    .await?
                    .map(|()| input)
                    .map_err(|reached| reached.to_string()),
                Err(refused) => Err(refused.to_string()),
            };
            if let Err(reason) = &admitted {
                limits::record_refusal(&mut tx, id, trigger, reason).await?;
            }
            tx.commit().await?;
            Ok::<_, activities::DbError>(admitted)
        };
        checked.await.map_err(|e| e.to_string())
    }
}
