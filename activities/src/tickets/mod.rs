//! Tickets: open, change, list and search, with gap-free numbers, audit rows and
//! outbox events (which drive the SLA workflow).

pub mod comments;
pub mod config;

use crate::audit::{self, AuditEntry};
use crate::clients::{keel_search_key, require_live_client};
use crate::db::{DbError, TenantTx};
use crate::events;
use crate::numbers;
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{contacts, ticket_agents, ticket_details, tickets};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::tickets::{
    itil_priority_level, Origin, ResponseState, TicketDraft, TicketInput, TicketPatch,
};
use engine::validation::FieldIssue;
use engine::{DomainEvent, TicketEvent};
use serde::Serialize;
use uuid::Uuid;

/// A ticket with the names of its board, status and priority.
#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = ticket_details)]
pub struct Ticket {
    /// Id.
    pub id: Uuid,
    /// `T-000123`.
    pub number: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Client.
    pub client_id: Uuid,
    /// Contact.
    pub contact_id: Option<Uuid>,
    /// Board id.
    pub board_id: Uuid,
    /// Board name.
    pub board: String,
    /// Status id.
    pub status_id: Uuid,
    /// Status name.
    pub status: String,
    /// The status closes the ticket.
    pub is_closed: bool,
    /// The status pauses the SLA.
    pub pauses_sla: bool,
    /// Priority id.
    pub priority_id: Uuid,
    /// Priority name.
    pub priority: String,
    /// ITIL level of the priority.
    pub priority_level: i16,
    /// Category.
    pub category: Option<String>,
    /// Subcategory.
    pub subcategory: Option<String>,
    /// Assignee.
    pub assigned_to: Option<Uuid>,
    /// Due.
    pub due_at: Option<DateTime<Utc>>,
    /// Tags.
    pub tags: Vec<String>,
    /// Origin.
    pub origin: String,
    /// Response state.
    pub response_state: Option<String>,
    /// Custom fields.
    pub attributes: serde_json::Value,
    /// ITIL impact.
    pub impact: Option<i16>,
    /// ITIL urgency.
    pub urgency: Option<i16>,
    /// Creator.
    pub created_by: Option<Uuid>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// Closed at.
    pub closed_at: Option<DateTime<Utc>>,
    /// SLA policy in force.
    pub sla_policy_id: Option<Uuid>,
    /// SLA state.
    pub sla_state: String,
    /// SLA start.
    pub sla_started_at: Option<DateTime<Utc>>,
    /// Response due.
    pub response_due_at: Option<DateTime<Utc>>,
    /// First response.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Response met.
    pub response_met: Option<bool>,
    /// Resolution due.
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// Resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Resolution met.
    pub resolution_met: Option<bool>,
    /// Paused since.
    pub sla_paused_at: Option<DateTime<Utc>>,
    /// Business seconds paused.
    pub sla_paused_seconds: i64,
    /// Escalation level 0–3.
    pub escalation_level: i16,
    /// Further agents.
    pub additional_agents: Vec<Uuid>,
}

impl Ticket {
    fn to_input(&self) -> TicketInput {
        TicketInput {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            client_id: Some(self.client_id),
            contact_id: self.contact_id,
            board: Some(self.board.clone()),
            status: Some(self.status.clone()),
            priority: Some(self.priority.clone()),
            category: self.category.clone(),
            subcategory: self.subcategory.clone(),
            assigned_to: self.assigned_to,
            additional_agents: Some(self.additional_agents.clone()),
            due_at: self.due_at,
            tags: Some(self.tags.clone()),
            origin: Origin::parse(&self.origin).ok(),
            response_state: self
                .response_state
                .as_deref()
                .and_then(|s| ResponseState::parse(s).ok()),
            attributes: Some(self.attributes.clone()),
            impact: self.impact,
            urgency: self.urgency,
        }
    }

    fn event(&self) -> TicketEvent {
        TicketEvent {
            id: self.id,
            client_id: self.client_id,
            number: self.number.clone(),
            status: Some(self.status.clone()),
            is_closed: Some(self.is_closed),
            pauses_sla: Some(self.pauses_sla),
            ..TicketEvent::default()
        }
    }
}

/// Filters and order of a ticket list.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    /// Only this client's.
    pub client_id: Option<Uuid>,
    /// Only in this status (name, case-insensitive).
    pub status: Option<String>,
    /// Only of this priority (name).
    pub priority: Option<String>,
    /// Only on this board (name).
    pub board: Option<String>,
    /// Only assigned to this user.
    pub assigned_to: Option<Uuid>,
    /// Only open tickets (any non-closed status).
    pub open_only: bool,
    /// Only open tickets past 75 % of their resolution target or breached.
    pub sla_at_risk: bool,
    /// A `LIKE` pattern on number and title.
    pub search: Option<String>,
    /// Order by resolution due time (soonest first) instead of newest first; pages
    /// by offset then.
    pub by_sla_due: bool,
}

/// One page of tickets.
pub async fn list_tickets(
    tx: &mut TenantTx,
    filter: &TicketFilter,
    page: PageRequest,
    offset: i64,
) -> Result<Page<Ticket>, DbError> {
    let mut query = ticket_details::table
        .select(Ticket::as_select())
        .limit(page.limit + 1)
        .into_boxed();
    if filter.by_sla_due {
        query = query
            .order((
                ticket_details::resolution_due_at.asc().nulls_last(),
                ticket_details::id.desc(),
            ))
            .offset(offset);
    } else {
        query = query.order(ticket_details::id.desc());
        if let Some(after) = page.after {
            query = query.filter(ticket_details::id.lt(after));
        }
    }
    if let Some(client) = filter.client_id {
        query = query.filter(ticket_details::client_id.eq(client));
    }
    if let Some(status) = &filter.status {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(status) = lower(")
                .bind::<diesel::sql_types::Text, _>(status.clone())
                .sql(")"),
        );
    }
    if let Some(priority) = &filter.priority {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(priority) = lower(")
                .bind::<diesel::sql_types::Text, _>(priority.clone())
                .sql(")"),
        );
    }
    if let Some(board) = &filter.board {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(board) = lower(")
                .bind::<diesel::sql_types::Text, _>(board.clone())
                .sql(")"),
        );
    }
    if let Some(user) = filter.assigned_to {
        query = query.filter(ticket_details::assigned_to.eq(user));
    }
    if filter.open_only || filter.sla_at_risk {
        query = query.filter(ticket_details::is_closed.eq(false));
    }
    if filter.sla_at_risk {
        query = query.filter(
            ticket_details::resolution_met.eq(false).or(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "resolution_due_at IS NOT NULL AND now() >= sla_started_at + (resolution_due_at - sla_started_at) * 0.75",
            )),
        );
    }
    if let Some(pattern) = &filter.search {
        query = query.filter(ticket_details::search_key.like(keel_search_key(pattern.clone())));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |t| t.id))
}

/// The ticket with `id`.
pub async fn find_ticket(tx: &mut TenantTx, id: Uuid) -> Result<Option<Ticket>, DbError> {
    Ok(ticket_details::table
        .find((tx.tenant().0, id))
        .select(Ticket::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// Names resolved to ids, and the references checked.
struct Resolved {
    board_id: Uuid,
    status_id: Uuid,
    is_closed: bool,
    priority_id: Uuid,
    assigned_to: Option<Uuid>,
}

async fn resolve(
    tx: &mut TenantTx,
    draft: &TicketDraft,
    creating: bool,
) -> Result<Resolved, RecordError> {
    require_live_client(tx, draft.client_id, "client_id").await?;
    let mut issues: Vec<FieldIssue> = Vec::new();
    let mut collect = |r: Result<(), RecordError>| match r {
        Err(RecordError::Invalid(more)) => {
            issues.extend(more);
            Ok(())
        }
        other => other,
    };
    if let Some(contact) = draft.contact_id {
        let owner: Option<Uuid> = contacts::table
            .find((tx.tenant().0, contact))
            .select(contacts::client_id)
            .first(tx.conn())
            .await
            .optional()
            .map_err(DbError::from)?;
        collect(match owner {
            None => Err(RecordError::field("contact_id", "no such contact")),
            Some(o) if o != draft.client_id => Err(RecordError::field(
                "contact_id",
                "belongs to another client",
            )),
            Some(_) => Ok(()),
        })?;
    }
    let board = config::board_named(tx, draft.board.as_deref()).await?;
    let status = config::status_named(tx, draft.status.as_deref()).await?;
    let itil_level = match (board.itil_mode, draft.impact, draft.urgency) {
        (true, Some(impact), Some(urgency)) => Some(
            itil_priority_level(impact, urgency).map_err(|e| RecordError::field("impact", e))?,
        ),
        (true, _, _) if creating && draft.priority.is_none() => {
            return Err(RecordError::field(
                "impact",
                "an ITIL board needs impact and urgency (1-5)",
            ))
        }
        _ => None,
    };
    let priority = config::priority_named(
        tx,
        draft.priority.as_deref(),
        itil_level,
        board.default_priority_id,
    )
    .await?;
    let assigned_to = draft.assigned_to.or(if creating {
        board.default_assignee_id
    } else {
        None
    });
    if let Some(user) = assigned_to {
        collect(config::require_user(tx, user, "assigned_to").await)?;
    }
    for (i, user) in draft.additional_agents.iter().enumerate() {
        collect(config::require_user(tx, *user, &format!("additional_agents[{i}]")).await)?;
    }
    if !issues.is_empty() {
        return Err(RecordError::Invalid(issues));
    }
    Ok(Resolved {
        board_id: board.id,
        status_id: status.id,
        is_closed: status.is_closed,
        priority_id: priority.id,
        assigned_to,
    })
}

/// Opens a ticket with the next number of the tenant's `ticket` sequence.
pub async fn create_ticket(
    tx: &mut TenantTx,
    draft: &TicketDraft,
    actor: Option<Uuid>,
) -> Result<Ticket, RecordError> {
    let resolved = resolve(tx, draft, true).await?;
    let number = numbers::take_next(tx, "ticket")
        .await
        .map_err(|e| match e {
            numbers::NumberError::Db(db) => RecordError::Db(db),
            other => RecordError::Conflict(other.to_string()),
        })?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    diesel::insert_into(tickets::table)
        .values((
            tickets::tenant.eq(tx.tenant().0),
            tickets::id.eq(id),
            tickets::number.eq(&number),
            tickets::created_by.eq(actor),
            tickets::created_at.eq(now),
            tickets::closed_at.eq(resolved.is_closed.then_some(now)),
            columns(draft, &resolved),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    set_agents(tx, id, &draft.additional_agents).await?;
    let ticket = find_ticket(tx, id)
        .await?
        .ok_or(RecordError::NotFound("ticket"))?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "ticket.created",
            resource: "ticket",
            resource_id: Some(id),
            details: serde_json::json!({ "number": number, "title": ticket.title }),
        },
        DomainEvent::TicketCreated(ticket.event()),
    )
    .await?;
    Ok(ticket)
}

#[derive(AsChangeset, Insertable)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
struct TicketColumns<'a> {
    title: &'a str,
    description: &'a str,
    client_id: Uuid,
    contact_id: Option<Uuid>,
    board_id: Uuid,
    status_id: Uuid,
    priority_id: Uuid,
    category: Option<&'a str>,
    subcategory: Option<&'a str>,
    assigned_to: Option<Uuid>,
    due_at: Option<DateTime<Utc>>,
    tags: &'a [String],
    origin: &'a str,
    response_state: Option<&'a str>,
    attributes: &'a serde_json::Value,
    impact: Option<i16>,
    urgency: Option<i16>,
}

fn columns<'a>(d: &'a TicketDraft, r: &Resolved) -> TicketColumns<'a> {
    TicketColumns {
        title: &d.title,
        description: &d.description,
        client_id: d.client_id,
        contact_id: d.contact_id,
        board_id: r.board_id,
        status_id: r.status_id,
        priority_id: r.priority_id,
        category: d.category.as_deref(),
        subcategory: d.subcategory.as_deref(),
        assigned_to: r.assigned_to,
        due_at: d.due_at,
        tags: &d.tags,
        origin: d.origin.as_str(),
        response_state: d.response_state.map(ResponseState::as_str),
        attributes: &d.attributes,
        impact: d.impact,
        urgency: d.urgency,
    }
}

async fn set_agents(tx: &mut TenantTx, ticket_id: Uuid, agents: &[Uuid]) -> Result<(), DbError> {
    diesel::delete(
        ticket_agents::table
            .filter(ticket_agents::ticket_id.eq(ticket_id))
            .filter(ticket_agents::role.eq("agent"))
            .filter(ticket_agents::user_id.ne_all(agents)),
    )
    .execute(tx.conn())
    .await?;
    let rows: Vec<_> = agents
        .iter()
        .map(|user| {
            (
                ticket_agents::tenant.eq(tx.tenant().0),
                ticket_agents::ticket_id.eq(ticket_id),
                ticket_agents::user_id.eq(*user),
            )
        })
        .collect();
    diesel::insert_into(ticket_agents::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Changes a ticket. Closing a closed ticket is a conflict; a status change, a new
/// assignee and other changes each emit their event.
pub async fn update_ticket(
    tx: &mut TenantTx,
    id: Uuid,
    patch: TicketPatch,
    actor: Option<Uuid>,
) -> Result<Ticket, RecordError> {
    tickets::table
        .find((tx.tenant().0, id))
        .select(tickets::id)
        .for_update()
        .first::<Uuid>(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("ticket"))?;
    let before = find_ticket(tx, id)
        .await?
        .ok_or(RecordError::NotFound("ticket"))?;
    let status_requested = patch.status.clone().flatten().is_some();
    let mut input = before.to_input();
    patch.apply_to(&mut input);
    let draft = input.validate()?;
    let resolved = resolve(tx, &draft, false).await?;
    // Moving between closed statuses (Resolved → Closed) is fine; closing a ticket
    // again into the status it already has is not.
    if status_requested && before.is_closed && resolved.status_id == before.status_id {
        return Err(RecordError::Conflict(format!(
            "ticket {} is already {}",
            before.number, before.status
        )));
    }
    let now = Utc::now();
    let closed_at = match (before.is_closed, resolved.is_closed) {
        (false, true) => Some(now),
        (true, true) => before.closed_at,
        _ => None,
    };
    diesel::update(tickets::table.find((tx.tenant().0, id)))
        .set((
            columns(&draft, &resolved),
            tickets::updated_at.eq(now),
            tickets::closed_at.eq(closed_at),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    set_agents(tx, id, &draft.additional_agents).await?;
    let after = find_ticket(tx, id)
        .await?
        .ok_or(RecordError::NotFound("ticket"))?;
    record_changes(tx, actor, &before, &after).await?;
    Ok(after)
}

async fn record_changes(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    before: &Ticket,
    after: &Ticket,
) -> Result<(), DbError> {
    let snapshot = |t: &Ticket| {
        let mut v = serde_json::to_value(t).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            for volatile in [
                "updated_at",
                "closed_at",
                "status_id",
                "priority_id",
                "board_id",
                "is_closed",
                "pauses_sla",
                "priority_level",
            ] {
                map.remove(volatile);
            }
        }
        v
    };
    let changes = engine::changes::field_changes(&snapshot(before), &snapshot(after));
    if changes.is_empty() {
        return Ok(());
    }
    let changed: Vec<String> = changes.keys().cloned().collect();
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "ticket.updated",
            resource: "ticket",
            resource_id: Some(after.id),
            details: serde_json::json!({ "changes": changes }),
        },
    )
    .await?;
    if before.status_id != after.status_id {
        events::emit(tx, DomainEvent::TicketStatusChanged(after.event())).await?;
    }
    if before.assigned_to != after.assigned_to {
        let mut event = after.event();
        event.user_id = after.assigned_to;
        events::emit(tx, DomainEvent::TicketAssigned(event)).await?;
    }
    let others: Vec<String> = changed.into_iter().filter(|c| c != "status").collect();
    if !others.is_empty() {
        let mut event = after.event();
        event.changed = others;
        events::emit(tx, DomainEvent::TicketUpdated(event)).await?;
    }
    Ok(())
}
