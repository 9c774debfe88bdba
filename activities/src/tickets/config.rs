//! A tenant's ticket settings: statuses, priorities and boards.

use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::{boards, ticket_priorities, ticket_statuses, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use uuid::Uuid;

/// A ticket status.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ticket_statuses)]
pub struct Status {
    /// Id.
    pub id: Uuid,
    /// Name, e.g. "Waiting on customer".
    pub name: String,
    /// Tickets in this status are closed.
    pub is_closed: bool,
    /// New tickets get this status.
    pub is_default: bool,
    /// The SLA clock stops while a ticket is in this status.
    pub pauses_sla: bool,
    /// Display order.
    pub sort_order: i32,
}

/// A ticket priority.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ticket_priorities)]
pub struct Priority {
    /// Id.
    pub id: Uuid,
    /// Name, e.g. "High".
    pub name: String,
    /// The ITIL level it stands for: 1 Critical … 5 Planning.
    pub level: i16,
    /// New tickets get this priority unless the board says otherwise.
    pub is_default: bool,
    /// Display order.
    pub sort_order: i32,
}

/// A board (queue) of tickets.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = boards)]
pub struct Board {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Tickets without a board go here.
    pub is_default: bool,
    /// Priority derives from impact × urgency.
    pub itil_mode: bool,
    /// Priority of new tickets.
    pub default_priority_id: Option<Uuid>,
    /// Assignee of new tickets.
    pub default_assignee_id: Option<Uuid>,
    /// The board's SLA policy (a client's own policy wins).
    pub sla_policy_id: Option<Uuid>,
    /// Escalation manager per level: `{"1": user id, …}`.
    #[schema(value_type = Object)]
    pub escalation_managers: serde_json::Value,
    /// Hears of new tickets and SLA trouble on the board.
    pub manager_id: Option<Uuid>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// Creates the tenant's default statuses, priorities and board (idempotent);
/// answers how many rows were created.
pub async fn seed_defaults(tx: &mut TenantTx) -> Result<u64, DbError> {
    #[derive(QueryableByName)]
    struct Seeded {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        inserted: i32,
    }
    let seeded: Seeded =
        diesel::sql_query("SELECT keel_seed_ticket_defaults(keel_current_tenant()) AS inserted")
            .get_result(tx.conn())
            .await?;
    Ok(u64::try_from(seeded.inserted).unwrap_or(0))
}

/// The statuses in display order.
pub async fn list_statuses(tx: &mut TenantTx) -> Result<Vec<Status>, DbError> {
    Ok(ticket_statuses::table
        .select(Status::as_select())
        .order((ticket_statuses::sort_order, ticket_statuses::name))
        .load(tx.conn())
        .await?)
}

/// The priorities in display order.
pub async fn list_priorities(tx: &mut TenantTx) -> Result<Vec<Priority>, DbError> {
    Ok(ticket_priorities::table
        .select(Priority::as_select())
        .order((ticket_priorities::sort_order, ticket_priorities::name))
        .load(tx.conn())
        .await?)
}

/// The boards by name.
pub async fn list_boards(tx: &mut TenantTx) -> Result<Vec<Board>, DbError> {
    Ok(boards::table
        .select(Board::as_select())
        .order(boards::name)
        .load(tx.conn())
        .await?)
}

/// The status named `name` (case-insensitive), or the default one.
pub async fn status_named(tx: &mut TenantTx, name: Option<&str>) -> Result<Status, RecordError> {
    let statuses = list_statuses(tx).await?;
    pick(statuses, name, |s| &s.name, |s| s.is_default, "status")
}

/// The priority named `name`, or the one with ITIL `level`, or `fallback`, or the
/// default one.
pub async fn priority_named(
    tx: &mut TenantTx,
    name: Option<&str>,
    level: Option<i16>,
    fallback: Option<Uuid>,
) -> Result<Priority, RecordError> {
    let priorities = list_priorities(tx).await?;
    if let Some(level) = level {
        if let Some(p) = priorities.iter().find(|p| p.level == level) {
            return Ok(p.clone());
        }
    }
    if name.is_none() {
        if let Some(p) = fallback.and_then(|id| priorities.iter().find(|p| p.id == id)) {
            return Ok(p.clone());
        }
    }
    pick(priorities, name, |p| &p.name, |p| p.is_default, "priority")
}

/// The board named `name`, or the default one.
pub async fn board_named(tx: &mut TenantTx, name: Option<&str>) -> Result<Board, RecordError> {
    let boards = list_boards(tx).await?;
    pick(boards, name, |b| &b.name, |b| b.is_default, "board")
}

fn pick<T>(
    items: Vec<T>,
    name: Option<&str>,
    name_of: impl Fn(&T) -> &String,
    is_default: impl Fn(&T) -> bool,
    field: &'static str,
) -> Result<T, RecordError> {
    let known = || {
        items
            .iter()
            .map(|i| name_of(i).clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => {
            let message = format!("unknown {field} {name:?}; known: {}", known());
            items
                .into_iter()
                .find(|i| name_of(i).eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| RecordError::field(field, message))
        }
        None => {
            let message = format!("the tenant has no default {field}");
            items
                .into_iter()
                .find(|i| is_default(i))
                .ok_or_else(|| RecordError::field(field, message))
        }
    }
}

/// A change to a board.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardPatch {
    /// Priority derives from impact × urgency.
    pub itil_mode: Option<bool>,
    /// Default priority name (`null` clears).
    #[serde(default, deserialize_with = "engine::validation::patch_field")]
    #[schema(value_type = Option<String>)]
    pub default_priority: Option<Option<String>>,
    /// Default assignee (`null` clears).
    #[serde(default, deserialize_with = "engine::validation::patch_field")]
    #[schema(value_type = Option<Uuid>)]
    pub default_assignee_id: Option<Option<Uuid>>,
    /// SLA policy (`null` clears).
    #[serde(default, deserialize_with = "engine::validation::patch_field")]
    #[schema(value_type = Option<Uuid>)]
    pub sla_policy_id: Option<Option<Uuid>>,
    /// Escalation managers by level 1–3: `{"1": user id}`; replaces the whole map.
    #[schema(value_type = Option<Object>)]
    pub escalation_managers: Option<std::collections::BTreeMap<String, Uuid>>,
    /// The board's manager, notified of new tickets and SLA trouble (`null` clears).
    #[serde(default, deserialize_with = "engine::validation::patch_field")]
    #[schema(value_type = Option<Uuid>)]
    pub manager_id: Option<Option<Uuid>>,
}

/// Changes a board's settings.
pub async fn update_board(
    tx: &mut TenantTx,
    id: Uuid,
    patch: BoardPatch,
    actor: Option<Uuid>,
) -> Result<Board, RecordError> {
    let mut board: Board = boards::table
        .find((tx.tenant().0, id))
        .select(Board::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("board"))?;
    if let Some(itil) = patch.itil_mode {
        board.itil_mode = itil;
    }
    if let Some(priority) = patch.default_priority {
        board.default_priority_id = match priority {
            Some(name) => Some(
                priority_named(tx, Some(&name), None, None)
                    .await
                    .map_err(|_| {
                        RecordError::field("default_priority", format!("unknown priority {name:?}"))
                    })?
                    .id,
            ),
            None => None,
        };
    }
    if let Some(assignee) = patch.default_assignee_id {
        if let Some(user) = assignee {
            require_user(tx, user, "default_assignee_id").await?;
        }
        board.default_assignee_id = assignee;
    }
    if let Some(policy) = patch.sla_policy_id {
        if let Some(policy) = policy {
            crate::sla::find_policy(tx, policy)
                .await?
                .ok_or_else(|| RecordError::field("sla_policy_id", "no such SLA policy"))?;
        }
        board.sla_policy_id = policy;
    }
    if let Some(managers) = patch.escalation_managers {
        for (level, user) in &managers {
            if !matches!(level.as_str(), "1" | "2" | "3") {
                return Err(RecordError::field(
                    "escalation_managers",
                    "levels are \"1\", \"2\" and \"3\"",
                ));
            }
            require_user(tx, *user, &format!("escalation_managers.{level}")).await?;
        }
        board.escalation_managers = serde_json::to_value(managers).unwrap_or_default();
    }
    if let Some(manager) = patch.manager_id {
        if let Some(user) = manager {
            require_user(tx, user, "manager_id").await?;
        }
        board.manager_id = manager;
    }
    let board: Board = diesel::update(boards::table.find((tx.tenant().0, id)))
        .set((
            boards::itil_mode.eq(board.itil_mode),
            boards::default_priority_id.eq(board.default_priority_id),
            boards::default_assignee_id.eq(board.default_assignee_id),
            boards::sla_policy_id.eq(board.sla_policy_id),
            boards::escalation_managers.eq(&board.escalation_managers),
            boards::manager_id.eq(board.manager_id),
            boards::updated_at.eq(Utc::now()),
        ))
        .returning(Board::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action: "board.updated",
            resource: "board",
            resource_id: Some(id),
            details: serde_json::to_value(&board).unwrap_or_default(),
        },
    )
    .await?;
    Ok(board)
}

/// A user of the tenant, or a field error naming `field`.
pub(crate) async fn require_user(
    tx: &mut TenantTx,
    user: Uuid,
    field: &str,
) -> Result<(), RecordError> {
    let active: Option<bool> = users::table
        .find((tx.tenant().0, user))
        .select(users::is_active)
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?;
    match active {
        Some(true) => Ok(()),
        Some(false) => Err(RecordError::field(field, "is a deactivated user")),
        None => Err(RecordError::field(field, "no such user in this tenant")),
    }
}

/// Adds a status (names are unique, case-insensitively). A new default takes the flag
/// from the previous one.
pub async fn create_status(
    tx: &mut TenantTx,
    name: &str,
    is_closed: bool,
    pauses_sla: bool,
    is_default: bool,
    actor: Option<Uuid>,
) -> Result<Status, RecordError> {
    if is_default && is_closed {
        return Err(RecordError::field(
            "is_default",
            "new tickets cannot start closed",
        ));
    }
    if is_default {
        diesel::update(ticket_statuses::table.filter(ticket_statuses::is_default))
            .set(ticket_statuses::is_default.eq(false))
            .execute(tx.conn())
            .await
            .map_err(DbError::from)?;
    }
    let order: Option<i32> = ticket_statuses::table
        .select(diesel::dsl::max(ticket_statuses::sort_order))
        .first(tx.conn())
        .await
        .map_err(DbError::from)?;
    let status: Status = diesel::insert_into(ticket_statuses::table)
        .values((
            ticket_statuses::tenant.eq(tx.tenant().0),
            ticket_statuses::id.eq(Uuid::now_v7()),
            ticket_statuses::name.eq(name),
            ticket_statuses::is_closed.eq(is_closed),
            ticket_statuses::pauses_sla.eq(pauses_sla),
            ticket_statuses::is_default.eq(is_default),
            ticket_statuses::sort_order.eq(order.unwrap_or(0) + 1),
        ))
        .returning(Status::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| taken(e, "a status"))?;
    record_setting(tx, actor, "ticket_status.created", status.id, name).await?;
    Ok(status)
}

/// Adds a priority standing for ITIL `level` (1–5).
pub async fn create_priority(
    tx: &mut TenantTx,
    name: &str,
    level: i16,
    actor: Option<Uuid>,
) -> Result<Priority, RecordError> {
    if !(1..=5).contains(&level) {
        return Err(RecordError::field("level", "must be between 1 and 5"));
    }
    let priority: Priority = diesel::insert_into(ticket_priorities::table)
        .values((
            ticket_priorities::tenant.eq(tx.tenant().0),
            ticket_priorities::id.eq(Uuid::now_v7()),
            ticket_priorities::name.eq(name),
            ticket_priorities::level.eq(level),
            ticket_priorities::sort_order.eq(i32::from(level) * 10),
        ))
        .returning(Priority::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| taken(e, "a priority"))?;
    record_setting(tx, actor, "ticket_priority.created", priority.id, name).await?;
    Ok(priority)
}

/// Adds a board; configure it with [`update_board`].
pub async fn create_board(
    tx: &mut TenantTx,
    name: &str,
    actor: Option<Uuid>,
) -> Result<Board, RecordError> {
    let board: Board = diesel::insert_into(boards::table)
        .values((
            boards::tenant.eq(tx.tenant().0),
            boards::id.eq(Uuid::now_v7()),
            boards::name.eq(name),
        ))
        .returning(Board::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| taken(e, "a board"))?;
    record_setting(tx, actor, "board.created", board.id, name).await?;
    Ok(board)
}

fn taken(error: diesel::result::Error, what: &str) -> RecordError {
    match DbError::from(error) {
        e if e.is_unique_violation() => {
            RecordError::field("name", format!("{what} with this name exists"))
        }
        e => RecordError::Db(e),
    }
}

async fn record_setting(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    id: Uuid,
    name: &str,
) -> Result<(), DbError> {
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action,
            resource: action.split('.').next().unwrap_or("ticket_setting"),
            resource_id: Some(id),
            details: serde_json::json!({ "name": name }),
        },
    )
    .await
}
