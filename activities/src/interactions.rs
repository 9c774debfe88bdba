//! Interactions logged against clients, and the tenant's interaction kinds.

use crate::audit::{self, AuditEntry};
use crate::clients::require_live_client;
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{contacts, interaction_kinds, interactions, tickets, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::interactions::{self as rules, InteractionDraft, InteractionInput, InteractionPatch};
use engine::validation::FieldIssue;
use engine::{DomainEvent, RecordRef};
use serde::Serialize;
use uuid::Uuid;

/// An interaction as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = interactions)]
pub struct Interaction {
    /// Interaction id.
    pub id: Uuid,
    /// The client.
    pub client_id: Uuid,
    /// The contact, if any.
    pub contact_id: Option<Uuid>,
    /// The ticket, if any.
    pub ticket_id: Option<Uuid>,
    /// `call`, `email`, `meeting`, `note` or a tenant kind.
    pub kind: String,
    /// One-line summary.
    pub subject: String,
    /// What was said or done.
    pub notes: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Length in minutes.
    pub duration_minutes: Option<i32>,
    /// Who had it.
    pub user_id: Option<Uuid>,
    /// Set once deleted.
    pub archived_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl Interaction {
    fn to_input(&self) -> InteractionInput {
        InteractionInput {
            client_id: Some(self.client_id),
            contact_id: self.contact_id,
            ticket_id: self.ticket_id,
            kind: Some(self.kind.clone()),
            subject: Some(self.subject.clone()),
            notes: Some(self.notes.clone()),
            occurred_at: Some(self.occurred_at),
            duration_minutes: self.duration_minutes,
            user_id: self.user_id,
        }
    }
}

/// An interaction kind (built-in or the tenant's).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InteractionKind {
    /// The key used in `kind`.
    pub key: String,
    /// Display label.
    pub label: String,
    /// Shipped with Keel (cannot be removed).
    pub is_builtin: bool,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = interactions, treat_none_as_null = true)]
struct InteractionColumns<'a> {
    client_id: Uuid,
    contact_id: Option<Uuid>,
    ticket_id: Option<Uuid>,
    kind: &'a str,
    subject: &'a str,
    notes: &'a str,
    occurred_at: DateTime<Utc>,
    duration_minutes: Option<i32>,
    user_id: Option<Uuid>,
}

impl<'a> From<&'a InteractionDraft> for InteractionColumns<'a> {
    fn from(d: &'a InteractionDraft) -> Self {
        InteractionColumns {
            client_id: d.client_id,
            contact_id: d.contact_id,
            ticket_id: d.ticket_id,
            kind: &d.kind,
            subject: &d.subject,
            notes: &d.notes,
            occurred_at: d.occurred_at,
            duration_minutes: d.duration_minutes,
            user_id: d.user_id,
        }
    }
}

/// Filters of an interaction list.
#[derive(Clone, Debug, Default)]
pub struct InteractionFilter {
    /// Only this client's.
    pub client_id: Option<Uuid>,
    /// Only with this contact.
    pub contact_id: Option<Uuid>,
    /// Only of this kind.
    pub kind: Option<String>,
}

/// One page of live interactions, newest first.
pub async fn list_interactions(
    tx: &mut TenantTx,
    filter: &InteractionFilter,
    page: PageRequest,
) -> Result<Page<Interaction>, DbError> {
    let mut query = interactions::table
        .select(Interaction::as_select())
        .filter(interactions::archived_at.is_null())
        .order(interactions::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(interactions::id.lt(after));
    }
    if let Some(client) = filter.client_id {
        query = query.filter(interactions::client_id.eq(client));
    }
    if let Some(contact) = filter.contact_id {
        query = query.filter(interactions::contact_id.eq(contact));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(interactions::kind.eq(kind));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |i| i.id))
}

/// The interaction with `id` (deleted ones included).
pub async fn find_interaction(tx: &mut TenantTx, id: Uuid) -> Result<Option<Interaction>, DbError> {
    Ok(interactions::table
        .find((tx.tenant().0, id))
        .select(Interaction::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// Checks the links: a live client, a contact of that client, a known kind, a user
/// of the tenant, a ticket that exists.
async fn check_references(tx: &mut TenantTx, draft: &InteractionDraft) -> Result<(), RecordError> {
    require_live_client(tx, draft.client_id, "client_id").await?;
    let mut issues = Vec::new();
    let mut issue = |field: &str, message: &str| {
        issues.push(FieldIssue {
            field: field.into(),
            message: message.into(),
        })
    };
    if let Some(contact) = draft.contact_id {
        let owner: Option<Uuid> = contacts::table
            .find((tx.tenant().0, contact))
            .select(contacts::client_id)
            .first(tx.conn())
            .await
            .optional()
            .map_err(DbError::from)?;
        match owner {
            None => issue("contact_id", "no such contact"),
            Some(owner) if owner != draft.client_id => {
                issue("contact_id", "belongs to another client")
            }
            Some(_) => {}
        }
    }
    if let Some(ticket) = draft.ticket_id {
        let owner: Option<Uuid> = tickets::table
            .find((tx.tenant().0, ticket))
            .select(tickets::client_id)
            .first(tx.conn())
            .await
            .optional()
            .map_err(DbError::from)?;
        match owner {
            None => issue("ticket_id", "no such ticket"),
            Some(owner) if owner != draft.client_id => {
                issue("ticket_id", "belongs to another client")
            }
            Some(_) => {}
        }
    }
    if !kind_exists(tx, &draft.kind).await? {
        issue("kind", "is not a built-in or tenant interaction kind");
    }
    if let Some(user) = draft.user_id {
        let exists: bool =
            diesel::select(diesel::dsl::exists(users::table.filter(users::id.eq(user))))
                .get_result(tx.conn())
                .await
                .map_err(DbError::from)?;
        if !exists {
            issue("user_id", "no such user");
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(RecordError::Invalid(issues))
    }
}

async fn kind_exists(tx: &mut TenantTx, key: &str) -> Result<bool, DbError> {
    if rules::is_builtin_kind(key) {
        return Ok(true);
    }
    Ok(diesel::select(diesel::dsl::exists(
        interaction_kinds::table.filter(interaction_kinds::key.eq(key)),
    ))
    .get_result(tx.conn())
    .await?)
}

/// Logs an interaction.
pub async fn create_interaction(
    tx: &mut TenantTx,
    draft: &InteractionDraft,
    actor: Option<Uuid>,
) -> Result<Interaction, RecordError> {
    check_references(tx, draft).await?;
    let interaction: Interaction = diesel::insert_into(interactions::table)
        .values((
            interactions::tenant.eq(tx.tenant().0),
            interactions::id.eq(Uuid::now_v7()),
            InteractionColumns::from(draft),
        ))
        .returning(Interaction::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    record(
        tx,
        actor,
        "interaction.created",
        &interaction,
        serde_json::json!({ "kind": interaction.kind }),
        DomainEvent::InteractionCreated(RecordRef::new(interaction.id, interaction.client_id)),
    )
    .await?;
    Ok(interaction)
}

/// Changes an interaction.
pub async fn update_interaction(
    tx: &mut TenantTx,
    id: Uuid,
    patch: InteractionPatch,
    now: DateTime<Utc>,
    actor: Option<Uuid>,
) -> Result<Interaction, RecordError> {
    let before = lock_interaction(tx, id).await?;
    if before.archived_at.is_some() {
        return Err(RecordError::Conflict("the interaction is deleted".into()));
    }
    let mut input = before.to_input();
    patch.apply_to(&mut input);
    let draft = input.validate(now)?;
    check_references(tx, &draft).await?;
    let after: Interaction = diesel::update(interactions::table.find((tx.tenant().0, id)))
        .set((
            InteractionColumns::from(&draft),
            interactions::updated_at.eq(Utc::now()),
        ))
        .returning(Interaction::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    let mut changes = engine::changes::field_changes(
        &serde_json::to_value(&before).unwrap_or_default(),
        &serde_json::to_value(&after).unwrap_or_default(),
    );
    changes.remove("updated_at");
    if !changes.is_empty() {
        let changed = changes.keys().cloned().collect();
        record(
            tx,
            actor,
            "interaction.updated",
            &after,
            serde_json::json!({ "changes": changes }),
            DomainEvent::InteractionUpdated(RecordRef {
                id,
                client_id: after.client_id,
                changed,
            }),
        )
        .await?;
    }
    Ok(after)
}

/// Deletes (archives) an interaction; deleting again is a no-op.
pub async fn archive_interaction(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    let interaction = lock_interaction(tx, id).await?;
    if interaction.archived_at.is_some() {
        return Ok(());
    }
    diesel::update(interactions::table.find((tx.tenant().0, id)))
        .set(interactions::archived_at.eq(Utc::now()))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    record(
        tx,
        actor,
        "interaction.archived",
        &interaction,
        serde_json::json!({ "kind": interaction.kind }),
        DomainEvent::InteractionArchived(RecordRef::new(id, interaction.client_id)),
    )
    .await?;
    Ok(())
}

async fn lock_interaction(tx: &mut TenantTx, id: Uuid) -> Result<Interaction, RecordError> {
    interactions::table
        .find((tx.tenant().0, id))
        .select(Interaction::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("interaction"))
}

async fn record(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    interaction: &Interaction,
    details: serde_json::Value,
    event: DomainEvent,
) -> Result<(), DbError> {
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action,
            resource: "interaction",
            resource_id: Some(interaction.id),
            details,
        },
        event,
    )
    .await
}

/// The built-in kinds followed by the tenant's, by label.
pub async fn list_kinds(tx: &mut TenantTx) -> Result<Vec<InteractionKind>, DbError> {
    let custom: Vec<(String, String)> = interaction_kinds::table
        .select((interaction_kinds::key, interaction_kinds::label))
        .order(interaction_kinds::label)
        .load(tx.conn())
        .await?;
    let builtin = rules::BUILTIN_KINDS.iter().map(|(k, l)| InteractionKind {
        key: (*k).into(),
        label: (*l).into(),
        is_builtin: true,
    });
    Ok(builtin
        .chain(custom.into_iter().map(|(key, label)| InteractionKind {
            key,
            label,
            is_builtin: false,
        }))
        .collect())
}

/// Adds a tenant interaction kind.
pub async fn create_kind(
    tx: &mut TenantTx,
    key: &str,
    label: &str,
    actor: Option<Uuid>,
) -> Result<InteractionKind, RecordError> {
    if kind_exists(tx, key).await? {
        return Err(RecordError::Conflict(format!(
            "an interaction kind {key:?} already exists"
        )));
    }
    diesel::insert_into(interaction_kinds::table)
        .values((
            interaction_kinds::tenant.eq(tx.tenant().0),
            interaction_kinds::key.eq(key),
            interaction_kinds::label.eq(label),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "interaction_kind.created",
            resource: "interaction_kind",
            resource_id: None,
            details: serde_json::json!({ "key": key, "label": label }),
        },
    )
    .await?;
    Ok(InteractionKind {
        key: key.into(),
        label: label.into(),
        is_builtin: false,
    })
}
