//! Contacts of clients: create, change (including moving to another client),
//! archive and search. The primary e-mail is unique among live contacts of a tenant.

use crate::audit::{self, AuditEntry};
use crate::clients::{keel_search_key, require_live_client};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::contacts;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::contacts::{ContactDraft, ContactEmail, ContactInput, ContactPatch, ContactPhone};
use engine::{DomainEvent, RecordRef};
use serde::Serialize;
use uuid::Uuid;

/// A contact as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = contacts)]
pub struct Contact {
    /// Contact id.
    pub id: Uuid,
    /// The client the contact belongs to.
    pub client_id: Uuid,
    /// Full name.
    pub full_name: String,
    /// Job title or role.
    pub role: String,
    /// The primary e-mail address.
    pub email: Option<String>,
    /// The primary phone number.
    pub phone: Option<String>,
    /// Every address, `[{kind, address, is_primary}]`.
    #[schema(value_type = Vec<ContactEmail>)]
    pub emails: serde_json::Value,
    /// Every number, `[{kind, number, is_primary}]`.
    #[schema(value_type = Vec<ContactPhone>)]
    pub phones: serde_json::Value,
    /// Free text.
    pub notes: String,
    /// Kept for history, not offered in pickers.
    pub is_inactive: bool,
    /// Set once deleted.
    pub archived_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    /// The stored contact as an input (lists only: `email`/`phone` are shorthands
    /// a patch may set).
    pub fn to_input(&self) -> ContactInput {
        ContactInput {
            client_id: Some(self.client_id),
            full_name: Some(self.full_name.clone()),
            role: Some(self.role.clone()),
            email: None,
            phone: None,
            emails: serde_json::from_value(self.emails.clone()).ok(),
            phones: serde_json::from_value(self.phones.clone()).ok(),
            notes: Some(self.notes.clone()),
            is_inactive: Some(self.is_inactive),
        }
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
pub(crate) struct ContactColumns<'a> {
    client_id: Uuid,
    full_name: &'a str,
    role: &'a str,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    emails: serde_json::Value,
    phones: serde_json::Value,
    notes: &'a str,
    is_inactive: bool,
}

impl<'a> From<&'a ContactDraft> for ContactColumns<'a> {
    fn from(d: &'a ContactDraft) -> Self {
        ContactColumns {
            client_id: d.client_id,
            full_name: &d.full_name,
            role: &d.role,
            email: d.primary_email(),
            phone: d.primary_phone(),
            emails: serde_json::to_value(&d.emails).unwrap_or_default(),
            phones: serde_json::to_value(&d.phones).unwrap_or_default(),
            notes: &d.notes,
            is_inactive: d.is_inactive,
        }
    }
}

/// Filters of a contact list.
#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    /// Only this client's contacts.
    pub client_id: Option<Uuid>,
    /// A `LIKE` pattern on name, primary e-mail and role.
    pub search: Option<String>,
    /// Only active (`false`) or inactive (`true`) contacts.
    pub is_inactive: Option<bool>,
    /// Include archived contacts.
    pub include_archived: bool,
}

/// One page of contacts, newest first.
pub async fn list_contacts(
    tx: &mut TenantTx,
    filter: &ContactFilter,
    page: PageRequest,
) -> Result<Page<Contact>, DbError> {
    let mut query = contacts::table
        .select(Contact::as_select())
        .order(contacts::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(contacts::id.lt(after));
    }
    if let Some(client) = filter.client_id {
        query = query.filter(contacts::client_id.eq(client));
    }
    if let Some(pattern) = &filter.search {
        query = query.filter(contacts::search_key.like(keel_search_key(pattern.clone())));
    }
    if let Some(inactive) = filter.is_inactive {
        query = query.filter(contacts::is_inactive.eq(inactive));
    }
    if !filter.include_archived {
        query = query.filter(contacts::archived_at.is_null());
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |c| c.id))
}

/// The contact with `id` (archived included), if it exists in the tenant.
pub async fn find_contact(tx: &mut TenantTx, id: Uuid) -> Result<Option<Contact>, DbError> {
    Ok(contacts::table
        .find((tx.tenant().0, id))
        .select(Contact::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// Creates a contact.
pub async fn create_contact(
    tx: &mut TenantTx,
    draft: &ContactDraft,
    actor: Option<Uuid>,
) -> Result<Contact, RecordError> {
    require_live_client(tx, draft.client_id, "client_id").await?;
    let contact = insert_contact(tx, draft).await?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "contact.created",
            resource: "contact",
            resource_id: Some(contact.id),
            details: serde_json::json!({ "client_id": contact.client_id, "email": contact.email }),
        },
        DomainEvent::ContactCreated(RecordRef::new(contact.id, contact.client_id)),
    )
    .await?;
    Ok(contact)
}

/// Inserts without audit or event; a taken primary e-mail is a field error.
pub(crate) async fn insert_contact(
    tx: &mut TenantTx,
    draft: &ContactDraft,
) -> Result<Contact, RecordError> {
    diesel::insert_into(contacts::table)
        .values((
            contacts::tenant.eq(tx.tenant().0),
            contacts::id.eq(Uuid::now_v7()),
            ContactColumns::from(draft),
        ))
        .returning(Contact::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| email_taken(e, draft))
}

fn email_taken(error: diesel::result::Error, draft: &ContactDraft) -> RecordError {
    match DbError::from(error) {
        e if e.is_unique_violation() => RecordError::field(
            "email",
            format!(
                "{} is already the primary e-mail of another contact",
                draft.primary_email().unwrap_or_default()
            ),
        ),
        e => RecordError::Db(e),
    }
}

/// Applies `patch`; a new `client_id` moves the contact to that client.
pub async fn update_contact(
    tx: &mut TenantTx,
    id: Uuid,
    patch: ContactPatch,
    actor: Option<Uuid>,
) -> Result<Contact, RecordError> {
    let before = lock_contact(tx, id).await?;
    if before.archived_at.is_some() {
        return Err(RecordError::Conflict("the contact is archived".into()));
    }
    let mut input = before.to_input();
    patch.apply_to(&mut input);
    let draft = input.validate()?;
    if draft.client_id != before.client_id {
        require_live_client(tx, draft.client_id, "client_id").await?;
    }
    let after: Contact = diesel::update(contacts::table.find((tx.tenant().0, id)))
        .set((
            ContactColumns::from(&draft),
            contacts::updated_at.eq(Utc::now()),
        ))
        .returning(Contact::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(|e| email_taken(e, &draft))?;
    let before_json = serde_json::to_value(&before).unwrap_or_default();
    let after_json = serde_json::to_value(&after).unwrap_or_default();
    let mut changes = engine::changes::field_changes(&before_json, &after_json);
    changes.remove("updated_at");
    if !changes.is_empty() {
        let action = if changes.contains_key("client_id") {
            "contact.moved"
        } else {
            "contact.updated"
        };
        audit::record_with_event(
            tx,
            AuditEntry {
                actor,
                action,
                resource: "contact",
                resource_id: Some(id),
                details: serde_json::json!({ "changes": changes }),
            },
            DomainEvent::ContactUpdated(RecordRef {
                id,
                client_id: after.client_id,
                changed: changes.keys().cloned().collect(),
            }),
        )
        .await?;
    }
    Ok(after)
}

/// Archives a contact (again: a no-op); its primary e-mail becomes free for a new contact.
pub async fn archive_contact(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    let contact = lock_contact(tx, id).await?;
    if contact.archived_at.is_some() {
        return Ok(());
    }
    diesel::update(contacts::table.find((tx.tenant().0, id)))
        .set((
            contacts::archived_at.eq(Utc::now()),
            contacts::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action: "contact.archived",
            resource: "contact",
            resource_id: Some(id),
            details: serde_json::json!({ "client_id": contact.client_id, "email": contact.email }),
        },
        DomainEvent::ContactArchived(RecordRef::new(id, contact.client_id)),
    )
    .await?;
    Ok(())
}

async fn lock_contact(tx: &mut TenantTx, id: Uuid) -> Result<Contact, RecordError> {
    contacts::table
        .find((tx.tenant().0, id))
        .select(Contact::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("contact"))
}
