//! SLA policies and business hours, and the SLA activities of the TicketSla workflow:
//! reading a ticket's plan, writing its SLA columns, firing milestones.

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::events;
use crate::records::RecordError;
use crate::schema::{
    boards, business_hours, clients, sla_audit_log, sla_policies, ticket_agents, tickets,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::sla::policy::{BusinessHoursInput, DayWindow, PolicyDraft, Target};
use engine::sla::{Measure, Milestone, Schedule};
use engine::workflows::contracts::{FireMilestone, RecordSlaState, SlaPlan};
use engine::{DomainEvent, TicketEvent};
use serde::Serialize;
use uuid::Uuid;

/// A business-hours schedule as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = business_hours)]
pub struct BusinessHours {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// IANA timezone.
    pub timezone: String,
    /// Open around the clock.
    pub is_24x7: bool,
    /// `[{weekday: 1..7, start: "HH:MM", end: "HH:MM"}]`.
    #[schema(value_type = Vec<DayWindow>)]
    pub days: serde_json::Value,
    /// One-off closed dates.
    pub holidays: Vec<NaiveDate>,
    /// Yearly closed days, `MM-DD`.
    pub yearly_holidays: Vec<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl BusinessHours {
    /// The schedule the calculator runs on.
    pub fn schedule(&self) -> Option<Schedule> {
        BusinessHoursInput {
            name: Some(self.name.clone()),
            timezone: Some(self.timezone.clone()),
            is_24x7: Some(self.is_24x7),
            days: serde_json::from_value(self.days.clone()).ok(),
            holidays: Some(self.holidays.clone()),
            yearly_holidays: Some(self.yearly_holidays.clone()),
        }
        .validate()
        .ok()
        .map(|(_, schedule)| schedule)
    }
}

/// Stores a validated schedule.
pub async fn create_business_hours(
    tx: &mut TenantTx,
    input: &BusinessHoursInput,
    actor: Option<Uuid>,
) -> Result<BusinessHours, RecordError> {
    let (name, _) = input.validate()?;
    let row: BusinessHours = diesel::insert_into(business_hours::table)
        .values((
            business_hours::tenant.eq(tx.tenant().0),
            business_hours::id.eq(Uuid::now_v7()),
            business_hours::name.eq(&name),
            business_hours::timezone.eq(input.timezone.as_deref().unwrap_or_default().trim()),
            business_hours::is_24x7.eq(input.is_24x7.unwrap_or(false)),
            business_hours::days
                .eq(serde_json::to_value(input.days.clone().unwrap_or_default())
                    .unwrap_or_default()),
            business_hours::holidays.eq(input.holidays.clone().unwrap_or_default()),
            business_hours::yearly_holidays.eq(input.yearly_holidays.clone().unwrap_or_default()),
        ))
        .returning(BusinessHours::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            e if e.is_unique_violation() => {
                RecordError::field("name", "another schedule has this name")
            }
            e => RecordError::Db(e),
        })?;
    record_setting(tx, actor, "business_hours.created", row.id, &row.name).await?;
    Ok(row)
}

/// Every schedule, by name.
pub async fn list_business_hours(tx: &mut TenantTx) -> Result<Vec<BusinessHours>, DbError> {
    Ok(business_hours::table
        .select(BusinessHours::as_select())
        .order(business_hours::name)
        .load(tx.conn())
        .await?)
}

/// An SLA policy as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = sla_policies)]
pub struct SlaPolicy {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The schedule; none for around the clock.
    pub business_hours_id: Option<Uuid>,
    /// The tenant default.
    pub is_default: bool,
    /// `[{priority, response_minutes, resolution_minutes, is_24x7}]`.
    #[schema(value_type = Vec<Target>)]
    pub targets: serde_json::Value,
    /// Notification thresholds, percent.
    pub notify_percents: Vec<i32>,
    /// Escalation thresholds for levels 1–3, percent.
    pub escalation_percents: Vec<i32>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl SlaPolicy {
    fn target_for(&self, priority: &str) -> Option<Target> {
        let targets: Vec<Target> = serde_json::from_value(self.targets.clone()).unwrap_or_default();
        targets
            .into_iter()
            .find(|t| t.priority.eq_ignore_ascii_case(priority))
    }
}

/// Stores a validated policy; target priorities must exist, the schedule too. A new
/// default replaces the previous one.
pub async fn create_policy(
    tx: &mut TenantTx,
    draft: &PolicyDraft,
    actor: Option<Uuid>,
) -> Result<SlaPolicy, RecordError> {
    let priorities = crate::tickets::config::list_priorities(tx).await?;
    for (i, target) in draft.targets.iter().enumerate() {
        if !priorities
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(&target.priority))
        {
            return Err(RecordError::field(
                &format!("targets[{i}].priority"),
                format!("unknown priority {:?}", target.priority),
            ));
        }
    }
    if let Some(hours) = draft.business_hours_id {
        let exists: bool = diesel::select(diesel::dsl::exists(
            business_hours::table.filter(business_hours::id.eq(hours)),
        ))
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
        if !exists {
            return Err(RecordError::field(
                "business_hours_id",
                "no such business-hours schedule",
            ));
        }
    }
    if draft.is_default {
        diesel::update(sla_policies::table.filter(sla_policies::is_default))
            .set(sla_policies::is_default.eq(false))
            .execute(tx.conn())
            .await
            .map_err(DbError::from)?;
    }
    let percents = |v: &[u32]| {
        v.iter()
            .map(|p| i32::try_from(*p).unwrap_or(i32::MAX))
            .collect::<Vec<_>>()
    };
    let row: SlaPolicy = diesel::insert_into(sla_policies::table)
        .values((
            sla_policies::tenant.eq(tx.tenant().0),
            sla_policies::id.eq(Uuid::now_v7()),
            sla_policies::name.eq(&draft.name),
            sla_policies::business_hours_id.eq(draft.business_hours_id),
            sla_policies::is_default.eq(draft.is_default),
            sla_policies::targets.eq(serde_json::to_value(&draft.targets).unwrap_or_default()),
            sla_policies::notify_percents.eq(percents(&draft.notify_percents)),
            sla_policies::escalation_percents.eq(percents(&draft.escalation_percents)),
        ))
        .returning(SlaPolicy::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| match DbError::from(e) {
            e if e.is_unique_violation() => {
                RecordError::field("name", "another policy has this name")
            }
            e => RecordError::Db(e),
        })?;
    record_setting(tx, actor, "sla_policy.created", row.id, &row.name).await?;
    Ok(row)
}

/// Every policy, by name.
pub async fn list_policies(tx: &mut TenantTx) -> Result<Vec<SlaPolicy>, DbError> {
    Ok(sla_policies::table
        .select(SlaPolicy::as_select())
        .order(sla_policies::name)
        .load(tx.conn())
        .await?)
}

/// The policy with `id`.
pub async fn find_policy(tx: &mut TenantTx, id: Uuid) -> Result<Option<SlaPolicy>, DbError> {
    Ok(sla_policies::table
        .find((tx.tenant().0, id))
        .select(SlaPolicy::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

async fn record_setting(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    id: Uuid,
    name: &str,
) -> Result<(), DbError> {
    audit::record(
        tx,
        AuditEntry {
            actor,
            action,
            resource: action.split('.').next().unwrap_or("sla"),
            resource_id: Some(id),
            details: serde_json::json!({ "name": name }),
        },
    )
    .await
}

/// The policy in force for a ticket: the client's, else the board's, else the
/// tenant default.
async fn policy_for(
    tx: &mut TenantTx,
    client_id: Uuid,
    board_id: Uuid,
) -> Result<Option<SlaPolicy>, DbError> {
    let client_policy: Option<Uuid> = clients::table
        .find((tx.tenant().0, client_id))
        .select(clients::sla_policy_id)
        .first(tx.conn())
        .await
        .optional()?
        .flatten();
    let board_policy: Option<Uuid> = boards::table
        .find((tx.tenant().0, board_id))
        .select(boards::sla_policy_id)
        .first(tx.conn())
        .await
        .optional()?
        .flatten();
    if let Some(id) = client_policy.or(board_policy) {
        return find_policy(tx, id).await;
    }
    Ok(sla_policies::table
        .filter(sla_policies::is_default)
        .select(SlaPolicy::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// What the SLA workflow needs to (re)build a ticket's clock.
pub async fn load_plan(tx: &mut TenantTx, ticket_id: Uuid) -> Result<SlaPlan, DbError> {
    let ticket = crate::tickets::find_ticket(tx, ticket_id).await?;
    let Some(ticket) = ticket else {
        return Ok(SlaPlan {
            found: false,
            created_at: Utc::now(),
            policy_id: None,
            priority: String::new(),
            response_minutes: None,
            resolution_minutes: None,
            notify_percents: Vec::new(),
            escalation_percents: Vec::new(),
            schedule: Schedule::always_open(),
            is_closed: true,
            pauses: false,
            first_response_at: None,
            resolved_at: None,
            paused_seconds: 0,
            paused_since: None,
            fired: Vec::new(),
        });
    };
    let policy = policy_for(tx, ticket.client_id, ticket.board_id).await?;
    let target = policy.as_ref().and_then(|p| p.target_for(&ticket.priority));
    let schedule = match (&policy, &target) {
        (Some(p), Some(t)) if !t.is_24x7 => match p.business_hours_id {
            Some(hours) => business_hours::table
                .find((tx.tenant().0, hours))
                .select(BusinessHours::as_select())
                .first(tx.conn())
                .await
                .optional()?
                .and_then(|h| h.schedule())
                .unwrap_or_else(Schedule::always_open),
            None => Schedule::always_open(),
        },
        _ => Schedule::always_open(),
    };
    let fired: Vec<String> = sla_audit_log::table
        .filter(sla_audit_log::ticket_id.eq(ticket_id))
        .filter(sla_audit_log::dedup_key.like("milestone:%"))
        .select(sla_audit_log::dedup_key)
        .load::<String>(tx.conn())
        .await?
        .into_iter()
        .filter_map(|k| k.strip_prefix("milestone:").map(str::to_owned))
        .collect();
    let unsigned = |v: &[i32]| {
        v.iter()
            .filter_map(|p| u32::try_from(*p).ok())
            .collect::<Vec<_>>()
    };
    Ok(SlaPlan {
        found: true,
        created_at: ticket.created_at,
        policy_id: policy.as_ref().map(|p| p.id),
        priority: ticket.priority.clone(),
        response_minutes: target.as_ref().and_then(|t| t.response_minutes),
        resolution_minutes: target.as_ref().and_then(|t| t.resolution_minutes),
        notify_percents: policy
            .as_ref()
            .map(|p| unsigned(&p.notify_percents))
            .unwrap_or_default(),
        escalation_percents: policy
            .as_ref()
            .map(|p| unsigned(&p.escalation_percents))
            .unwrap_or_default(),
        schedule,
        is_closed: ticket.is_closed,
        pauses: ticket.pauses_sla,
        first_response_at: ticket.first_response_at,
        resolved_at: ticket.resolved_at,
        paused_seconds: ticket.sla_paused_seconds,
        paused_since: ticket.sla_paused_at,
        fired,
    })
}

/// Writes the SLA columns and, when asked, one `sla_audit_log` entry.
pub async fn record_state(tx: &mut TenantTx, state: &RecordSlaState) -> Result<(), DbError> {
    diesel::update(tickets::table.find((tx.tenant().0, state.ticket_id)))
        .set((
            tickets::sla_state.eq(&state.state),
            tickets::sla_policy_id.eq(state.policy_id),
            tickets::sla_started_at.eq(state.started_at),
            tickets::response_due_at.eq(state.response_due_at),
            tickets::first_response_at.eq(state.first_response_at),
            tickets::response_met.eq(state.response_met),
            tickets::resolution_due_at.eq(state.resolution_due_at),
            tickets::resolved_at.eq(state.resolved_at),
            tickets::resolution_met.eq(state.resolution_met),
            tickets::sla_paused_at.eq(state.paused_since),
            tickets::sla_paused_seconds.eq(state.paused_seconds),
        ))
        .execute(tx.conn())
        .await?;
    if let Some(event) = &state.audit_event {
        audit_sla(
            tx,
            state.ticket_id,
            event,
            state.audit_details.clone(),
            &state.step.idempotency_key(),
        )
        .await?;
    }
    Ok(())
}

/// Records an `sla_audit_log` entry once per `dedup_key`; answers whether it was new.
async fn audit_sla(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    event: &str,
    details: serde_json::Value,
    dedup_key: &str,
) -> Result<bool, DbError> {
    let inserted = diesel::insert_into(sla_audit_log::table)
        .values((
            sla_audit_log::tenant.eq(tx.tenant().0),
            sla_audit_log::id.eq(Uuid::now_v7()),
            sla_audit_log::ticket_id.eq(ticket_id),
            sla_audit_log::event.eq(event),
            sla_audit_log::details.eq(details),
            sla_audit_log::dedup_key.eq(dedup_key),
        ))
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    Ok(inserted > 0)
}

/// Fires a milestone once: warning and breach events, breached targets marked,
/// escalations applied.
pub async fn fire_milestone(tx: &mut TenantTx, fire: &FireMilestone) -> Result<(), DbError> {
    let Some(ticket) = crate::tickets::find_ticket(tx, fire.ticket_id).await? else {
        return Ok(());
    };
    let key = format!("milestone:{}", fire.milestone.key());
    let mut base = TicketEvent {
        id: ticket.id,
        client_id: ticket.client_id,
        number: ticket.number.clone(),
        ..TicketEvent::default()
    };
    match fire.milestone {
        Milestone::Threshold { measure, percent } => {
            let event = if percent == 100 {
                "sla_breach"
            } else {
                "threshold_warning"
            };
            let details = serde_json::json!({ "measure": measure.name(), "percent": percent, "due_at": fire.due_at });
            if !audit_sla(tx, ticket.id, event, details, &key).await? {
                return Ok(());
            }
            base.measure = Some(measure.name().to_owned());
            base.percent = Some(percent);
            if percent == 100 {
                mark_breached(tx, ticket.id, measure).await?;
                events::emit(tx, DomainEvent::TicketSlaBreached(base)).await?;
            } else {
                events::emit(tx, DomainEvent::TicketSlaWarning(base)).await?;
            }
        }
        Milestone::Escalation { level, percent } => {
            let details =
                serde_json::json!({ "level": level, "percent": percent, "due_at": fire.due_at });
            if !audit_sla(tx, ticket.id, "escalated", details, &key).await? {
                return Ok(());
            }
            if let Some(manager) = escalate(tx, ticket.id, ticket.board_id, level).await? {
                base.user_id = manager;
                base.level = Some(level);
                events::emit(tx, DomainEvent::TicketEscalated(base)).await?;
            }
        }
    }
    Ok(())
}

async fn mark_breached(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    measure: Measure,
) -> Result<(), DbError> {
    let target = tickets::table.find((tx.tenant().0, ticket_id));
    match measure {
        Measure::Response => {
            diesel::update(target.filter(tickets::first_response_at.is_null()))
                .set(tickets::response_met.eq(false))
                .execute(tx.conn())
                .await?
        }
        Measure::Resolution => {
            diesel::update(target.filter(tickets::resolved_at.is_null()))
                .set(tickets::resolution_met.eq(false))
                .execute(tx.conn())
                .await?
        }
    };
    Ok(())
}

/// Raises the ticket to `level` (never to the same or a lower one) and adds the
/// board's manager for that level; answers `Some(manager)` when the level rose.
async fn escalate(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    board_id: Uuid,
    level: u8,
) -> Result<Option<Option<Uuid>>, DbError> {
    let raised = diesel::update(
        tickets::table
            .find((tx.tenant().0, ticket_id))
            .filter(tickets::escalation_level.lt(i16::from(level))),
    )
    .set(tickets::escalation_level.eq(i16::from(level)))
    .execute(tx.conn())
    .await?;
    if raised == 0 {
        return Ok(None);
    }
    let managers: serde_json::Value = boards::table
        .find((tx.tenant().0, board_id))
        .select(boards::escalation_managers)
        .first(tx.conn())
        .await?;
    let manager = managers
        .get(level.to_string())
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::try_parse(s).ok());
    if let Some(user) = manager {
        diesel::insert_into(ticket_agents::table)
            .values((
                ticket_agents::tenant.eq(tx.tenant().0),
                ticket_agents::ticket_id.eq(ticket_id),
                ticket_agents::user_id.eq(user),
                ticket_agents::role.eq("escalation_manager"),
            ))
            .on_conflict_do_nothing()
            .execute(tx.conn())
            .await?;
    }
    Ok(Some(manager))
}

/// One entry of a ticket's SLA history.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = sla_audit_log)]
pub struct SlaAuditEntry {
    /// Entry id.
    pub id: Uuid,
    /// `sla_started`, `sla_paused`, `threshold_warning`, `escalated`, `sla_breach`, …
    pub event: String,
    /// Facts of the transition.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// When it was recorded.
    pub occurred_at: DateTime<Utc>,
}

/// A ticket's SLA history, oldest first.
pub async fn sla_history(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> Result<Vec<SlaAuditEntry>, DbError> {
    Ok(sla_audit_log::table
        .filter(sla_audit_log::ticket_id.eq(ticket_id))
        .select(SlaAuditEntry::as_select())
        .order(sla_audit_log::id)
        .limit(1000)
        .load(tx.conn())
        .await?)
}
