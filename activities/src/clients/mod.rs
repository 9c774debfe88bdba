//! Clients: create, change, archive, search and merge, each with its audit row and
//! outbox event in the same transaction.

mod locations;
mod merge;
mod timeline;

pub use locations::{archive_location, create_location, list_locations, update_location, Location};
pub use merge::{merge_clients, MergeSummary};
pub use timeline::{client_timeline, TimelineCursor, TimelineEntry};

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
pub use crate::records::RecordError;
use crate::schema::{clients, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::clients::{
    BillingCycle, ClientDraft, ClientInput, ClientPatch, ClientType, PaymentTerms,
};
use engine::validation::FieldIssue;
use engine::{DomainEvent, RecordRef};
use serde::Serialize;
use uuid::Uuid;

diesel::define_sql_function! {
    /// Lowercases and strips accents, as the indexed `search_key` columns do.
    fn keel_search_key(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A client as stored.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = clients)]
pub struct Client {
    /// Client id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// `company` or `individual`.
    pub client_type: String,
    /// Parent client.
    pub parent_id: Option<Uuid>,
    /// Where invoices go.
    pub billing_email: Option<String>,
    /// ISO 4217 code.
    pub currency: String,
    /// `net_30`, `due_on_receipt`, …
    pub payment_terms: String,
    /// Tax region code.
    pub tax_region: Option<String>,
    /// Exempt from tax.
    pub is_tax_exempt: bool,
    /// Exemption certificate number.
    pub tax_exempt_certificate: Option<String>,
    /// `monthly`, `quarterly`, …
    pub billing_cycle: String,
    /// Day of the month billing periods start (1–28).
    pub billing_anchor_day: i16,
    /// Account manager (a user).
    pub account_manager_id: Option<Uuid>,
    /// SLA policy for the client's tickets.
    pub sla_policy_id: Option<Uuid>,
    /// Free text.
    pub notes: String,
    /// Lowercase tags.
    pub tags: Vec<String>,
    /// Tenant-defined fields.
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// Hidden from pickers, still searchable.
    pub is_inactive: bool,
    /// Set once deleted; archived clients are kept for history.
    pub archived_at: Option<DateTime<Utc>>,
    /// The client this one was merged into.
    pub merged_into: Option<Uuid>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl Client {
    /// The stored client as an input, so a patch can be overlaid and revalidated.
    pub fn to_input(&self) -> ClientInput {
        ClientInput {
            name: Some(self.name.clone()),
            client_type: ClientType::parse(&self.client_type).ok(),
            parent_id: self.parent_id,
            billing_email: self.billing_email.clone(),
            currency: Some(self.currency.clone()),
            payment_terms: PaymentTerms::parse(&self.payment_terms).ok(),
            tax_region: self.tax_region.clone(),
            is_tax_exempt: Some(self.is_tax_exempt),
            tax_exempt_certificate: self.tax_exempt_certificate.clone(),
            billing_cycle: BillingCycle::parse(&self.billing_cycle).ok(),
            billing_anchor_day: Some(self.billing_anchor_day),
            account_manager_id: self.account_manager_id,
            sla_policy_id: self.sla_policy_id,
            notes: Some(self.notes.clone()),
            tags: Some(self.tags.clone()),
            properties: Some(self.properties.clone()),
            is_inactive: Some(self.is_inactive),
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub(crate) struct ClientColumns<'a> {
    name: &'a str,
    client_type: &'a str,
    parent_id: Option<Uuid>,
    billing_email: Option<&'a str>,
    currency: &'a str,
    payment_terms: &'a str,
    tax_region: Option<&'a str>,
    is_tax_exempt: bool,
    tax_exempt_certificate: Option<&'a str>,
    billing_cycle: &'a str,
    billing_anchor_day: i16,
    account_manager_id: Option<Uuid>,
    sla_policy_id: Option<Uuid>,
    notes: &'a str,
    tags: &'a [String],
    properties: &'a serde_json::Value,
    is_inactive: bool,
}

impl<'a> From<&'a ClientDraft> for ClientColumns<'a> {
    fn from(d: &'a ClientDraft) -> Self {
        ClientColumns {
            name: &d.name,
            client_type: d.client_type.as_str(),
            parent_id: d.parent_id,
            billing_email: d.billing_email.as_ref().map(|e| e.as_str()),
            currency: d.currency.code(),
            payment_terms: d.payment_terms.as_str(),
            tax_region: d.tax_region.as_deref(),
            is_tax_exempt: d.is_tax_exempt,
            tax_exempt_certificate: d.tax_exempt_certificate.as_deref(),
            billing_cycle: d.billing_cycle.as_str(),
            billing_anchor_day: d.billing_anchor_day,
            account_manager_id: d.account_manager_id,
            sla_policy_id: d.sla_policy_id,
            notes: &d.notes,
            tags: &d.tags,
            properties: &d.properties,
            is_inactive: d.is_inactive,
        }
    }
}

/// Filters of a client list.
#[derive(Clone, Debug, Default)]
pub struct ClientFilter {
    /// A `LIKE` pattern (see `engine::validation::contains_pattern`) on name and
    /// billing e-mail, case- and accent-insensitive.
    pub search: Option<String>,
    /// Only active (`false`) or inactive (`true`) clients.
    pub is_inactive: Option<bool>,
    /// Only this type.
    pub client_type: Option<ClientType>,
    /// Only clients with this tag.
    pub tag: Option<String>,
    /// Only children of this client.
    pub parent_id: Option<Uuid>,
    /// Only clients of this account manager.
    pub account_manager_id: Option<Uuid>,
    /// Include archived (deleted) clients.
    pub include_archived: bool,
}

/// One page of clients, newest first.
pub async fn list_clients(
    tx: &mut TenantTx,
    filter: &ClientFilter,
    page: PageRequest,
) -> Result<Page<Client>, DbError> {
    let mut query = clients::table
        .select(Client::as_select())
        .order(clients::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(clients::id.lt(after));
    }
    if let Some(pattern) = &filter.search {
        query = query.filter(clients::search_key.like(keel_search_key(pattern.clone())));
    }
    if let Some(inactive) = filter.is_inactive {
        query = query.filter(clients::is_inactive.eq(inactive));
    }
    if let Some(kind) = filter.client_type {
        query = query.filter(clients::client_type.eq(kind.as_str()));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(clients::tags.contains(vec![tag.to_lowercase()]));
    }
    if let Some(parent) = filter.parent_id {
        query = query.filter(clients::parent_id.eq(parent));
    }
    if let Some(manager) = filter.account_manager_id {
        query = query.filter(clients::account_manager_id.eq(manager));
    }
    if !filter.include_archived {
        query = query.filter(clients::archived_at.is_null());
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |c| c.id))
}

/// The client with `id` (archived ones included), if it exists in the tenant.
pub async fn find_client(tx: &mut TenantTx, id: Uuid) -> Result<Option<Client>, DbError> {
    Ok(clients::table
        .find((tx.tenant().0, id))
        .select(Client::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// The client with `id`, locked for update, or `NotFound`.
async fn lock_client(tx: &mut TenantTx, id: Uuid) -> Result<Client, RecordError> {
    clients::table
        .find((tx.tenant().0, id))
        .select(Client::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()?
        .ok_or(RecordError::NotFound("client"))
}

/// An active (not archived) client, for records that point at one: `field` names
/// the pointing field in errors.
pub(crate) async fn require_live_client(
    tx: &mut TenantTx,
    id: Uuid,
    field: &str,
) -> Result<(), RecordError> {
    match find_client(tx, id).await? {
        Some(c) if c.archived_at.is_none() => Ok(()),
        Some(_) => Err(RecordError::field(field, "refers to an archived client")),
        None => Err(RecordError::field(field, "no such client")),
    }
}

/// Checks what validation alone cannot: the parent exists and is not a descendant,
/// the account manager is a user of the tenant.
async fn check_references(
    tx: &mut TenantTx,
    id: Option<Uuid>,
    draft: &ClientDraft,
) -> Result<(), RecordError> {
    let mut issues = Vec::new();
    if let Some(parent) = draft.parent_id {
        if let Err(RecordError::Invalid(more)) = require_live_client(tx, parent, "parent_id").await
        {
            issues.extend(more);
        } else if let Some(id) = id {
            if parent == id || is_descendant(tx, parent, id).await? {
                issues.push(FieldIssue {
                    field: "parent_id".into(),
                    message: "would make the client its own ancestor".into(),
                });
            }
        }
    }
    if let Some(manager) = draft.account_manager_id {
        let exists: bool = diesel::select(diesel::dsl::exists(
            users::table.filter(users::id.eq(manager)),
        ))
        .get_result(tx.conn())
        .await?;
        if !exists {
            issues.push(FieldIssue {
                field: "account_manager_id".into(),
                message: "no such user".into(),
            });
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(RecordError::Invalid(issues))
    }
}

/// Whether `candidate` is `ancestor` or below it in the parent hierarchy.
async fn is_descendant(
    tx: &mut TenantTx,
    candidate: Uuid,
    ancestor: Uuid,
) -> Result<bool, DbError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let found: Found = diesel::sql_query(
        "WITH RECURSIVE up(id, depth) AS (
             SELECT $1::uuid, 0
             UNION
             SELECT c.parent_id, up.depth + 1 FROM clients c JOIN up ON c.id = up.id
              WHERE c.parent_id IS NOT NULL AND up.depth < 100)
         SELECT EXISTS (SELECT 1 FROM up WHERE id = $2) AS found",
    )
    .bind::<diesel::sql_types::Uuid, _>(candidate)
    .bind::<diesel::sql_types::Uuid, _>(ancestor)
    .get_result(tx.conn())
    .await?;
    Ok(found.found)
}

/// Creates a client from a validated draft.
pub async fn create_client(
    tx: &mut TenantTx,
    draft: &ClientDraft,
    actor: Option<Uuid>,
) -> Result<Client, RecordError> {
    check_references(tx, None, draft).await?;
    let client = insert_client(tx, draft).await?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "client.created",
            resource: "client",
            resource_id: Some(client.id),
            details: serde_json::json!({ "name": client.name }),
        },
        DomainEvent::ClientCreated(RecordRef::new(client.id, client.id)),
    )
    .await?;
    Ok(client)
}

/// Inserts without audit or event (the caller records those, e.g. once per import).
pub(crate) async fn insert_client(
    tx: &mut TenantTx,
    draft: &ClientDraft,
) -> Result<Client, DbError> {
    Ok(diesel::insert_into(clients::table)
        .values((
            clients::tenant.eq(tx.tenant().0),
            clients::id.eq(Uuid::now_v7()),
            ClientColumns::from(draft),
        ))
        .returning(Client::as_returning())
        .get_result(tx.conn())
        .await?)
}

/// Applies `patch` to the client with `id`; the result is validated as a whole.
pub async fn update_client(
    tx: &mut TenantTx,
    id: Uuid,
    patch: ClientPatch,
    actor: Option<Uuid>,
) -> Result<Client, RecordError> {
    let before = lock_client(tx, id).await?;
    if before.archived_at.is_some() {
        return Err(RecordError::Conflict("the client is archived".into()));
    }
    let mut input = before.to_input();
    patch.apply_to(&mut input);
    let draft = input.validate()?;
    check_references(tx, Some(id), &draft).await?;
    let after: Client = diesel::update(clients::table.find((tx.tenant().0, id)))
        .set((
            ClientColumns::from(&draft),
            clients::updated_at.eq(Utc::now()),
        ))
        .returning(Client::as_returning())
        .get_result(tx.conn())
        .await?;
    record_update(tx, actor, &before, &after).await?;
    Ok(after)
}

async fn record_update(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    before: &Client,
    after: &Client,
) -> Result<(), DbError> {
    let mut changes = engine::changes::field_changes(&before.snapshot(), &after.snapshot());
    changes.remove("updated_at");
    if changes.is_empty() {
        return Ok(());
    }
    let changed = changes.keys().cloned().collect();
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "client.updated",
            resource: "client",
            resource_id: Some(after.id),
            details: serde_json::json!({ "changes": changes }),
        },
        DomainEvent::ClientUpdated(RecordRef {
            id: after.id,
            client_id: after.id,
            changed,
        }),
    )
    .await
}

/// Archives (soft-deletes) a client. Its contacts, assets and history stay, so
/// invoices and tickets that refer to it keep working; a client with active child
/// clients cannot be archived.
pub async fn archive_client(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    let client = lock_client(tx, id).await?;
    if client.archived_at.is_some() {
        return Ok(());
    }
    let children: i64 = clients::table
        .filter(clients::parent_id.eq(id))
        .filter(clients::archived_at.is_null())
        .count()
        .get_result(tx.conn())
        .await?;
    if children > 0 {
        return Err(RecordError::Conflict(format!(
            "the client has {children} active child client(s); archive or re-parent them first"
        )));
    }
    diesel::update(clients::table.find((tx.tenant().0, id)))
        .set((
            clients::archived_at.eq(Utc::now()),
            clients::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "client.archived",
            resource: "client",
            resource_id: Some(id),
            details: serde_json::json!({ "name": client.name }),
        },
        DomainEvent::ClientArchived(RecordRef::new(id, id)),
    )
    .await?;
    Ok(())
}
