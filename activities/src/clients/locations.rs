//! A client's sites. One may be the default and one the billing address; setting
//! either flag on a location clears it on the others.

use super::{lock_client, RecordError};
use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::schema::client_locations;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::clients::{LocationDraft, LocationInput, LocationPatch};
use engine::{DomainEvent, RecordRef};
use serde::Serialize;
use uuid::Uuid;

/// Most locations a client may have.
pub const MAX_LOCATIONS: i64 = 500;

/// A client location as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = client_locations)]
pub struct Location {
    /// Location id.
    pub id: Uuid,
    /// Owning client.
    pub client_id: Uuid,
    /// Name, e.g. "Head office".
    pub name: String,
    /// Street address.
    pub address_line1: String,
    /// Suite, floor.
    pub address_line2: String,
    /// City.
    pub city: String,
    /// State or province.
    pub region: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166 alpha-2.
    pub country: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// The client's default location.
    pub is_default: bool,
    /// The billing address.
    pub is_billing: bool,
    /// Set once deleted.
    pub archived_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl Location {
    fn to_input(&self) -> LocationInput {
        LocationInput {
            name: Some(self.name.clone()),
            address_line1: Some(self.address_line1.clone()),
            address_line2: Some(self.address_line2.clone()),
            city: Some(self.city.clone()),
            region: Some(self.region.clone()),
            postal_code: Some(self.postal_code.clone()),
            country: self.country.clone(),
            phone: self.phone.clone(),
            is_default: Some(self.is_default),
            is_billing: Some(self.is_billing),
        }
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = client_locations, treat_none_as_null = true)]
struct LocationColumns<'a> {
    name: &'a str,
    address_line1: &'a str,
    address_line2: &'a str,
    city: &'a str,
    region: &'a str,
    postal_code: &'a str,
    country: Option<&'a str>,
    phone: Option<&'a str>,
    is_default: bool,
    is_billing: bool,
}

impl<'a> From<&'a LocationDraft> for LocationColumns<'a> {
    fn from(d: &'a LocationDraft) -> Self {
        LocationColumns {
            name: &d.name,
            address_line1: &d.address_line1,
            address_line2: &d.address_line2,
            city: &d.city,
            region: &d.region,
            postal_code: &d.postal_code,
            country: d.country.as_deref(),
            phone: d.phone.as_deref(),
            is_default: d.is_default,
            is_billing: d.is_billing,
        }
    }
}

/// The client's live locations, default first.
pub async fn list_locations(tx: &mut TenantTx, client_id: Uuid) -> Result<Vec<Location>, DbError> {
    Ok(client_locations::table
        .filter(client_locations::client_id.eq(client_id))
        .filter(client_locations::archived_at.is_null())
        .select(Location::as_select())
        .order((client_locations::is_default.desc(), client_locations::name))
        .limit(MAX_LOCATIONS)
        .load(tx.conn())
        .await?)
}

/// Adds a location; the client's first location becomes its default.
pub async fn create_location(
    tx: &mut TenantTx,
    client_id: Uuid,
    input: &LocationInput,
    actor: Option<Uuid>,
) -> Result<Location, RecordError> {
    let client = lock_client(tx, client_id).await?;
    if client.archived_at.is_some() {
        return Err(RecordError::Conflict("the client is archived".into()));
    }
    let mut draft = input.validate()?;
    let existing = list_locations(tx, client_id).await?;
    if existing.len() as i64 >= MAX_LOCATIONS {
        return Err(RecordError::Conflict(format!(
            "a client has at most {MAX_LOCATIONS} locations"
        )));
    }
    draft.is_default |= existing.is_empty();
    clear_flags(tx, client_id, None, &draft).await?;
    let location: Location = diesel::insert_into(client_locations::table)
        .values((
            client_locations::tenant.eq(tx.tenant().0),
            client_locations::id.eq(Uuid::now_v7()),
            client_locations::client_id.eq(client_id),
            LocationColumns::from(&draft),
        ))
        .returning(Location::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    record(tx, actor, "client_location.created", &location).await?;
    Ok(location)
}

/// Changes a location of the client.
pub async fn update_location(
    tx: &mut TenantTx,
    client_id: Uuid,
    location_id: Uuid,
    patch: LocationPatch,
    actor: Option<Uuid>,
) -> Result<Location, RecordError> {
    lock_client(tx, client_id).await?;
    let before = find_live(tx, client_id, location_id).await?;
    let mut input = before.to_input();
    patch.apply_to(&mut input);
    let draft = input.validate()?;
    clear_flags(tx, client_id, Some(location_id), &draft).await?;
    let location: Location =
        diesel::update(client_locations::table.find((tx.tenant().0, location_id)))
            .set((
                LocationColumns::from(&draft),
                client_locations::updated_at.eq(Utc::now()),
            ))
            .returning(Location::as_returning())
            .get_result(tx.conn())
            .await
            .map_err(DbError::from)?;
    record(tx, actor, "client_location.updated", &location).await?;
    Ok(location)
}

/// Archives a location; assets placed there keep the reference for history.
pub async fn archive_location(
    tx: &mut TenantTx,
    client_id: Uuid,
    location_id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    lock_client(tx, client_id).await?;
    let location = find_live(tx, client_id, location_id).await?;
    diesel::update(client_locations::table.find((tx.tenant().0, location_id)))
        .set((
            client_locations::archived_at.eq(Utc::now()),
            client_locations::is_default.eq(false),
            client_locations::is_billing.eq(false),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    record(tx, actor, "client_location.archived", &location).await?;
    Ok(())
}

/// A live location of the client, or `NotFound` (also for another client's).
pub(crate) async fn find_live(
    tx: &mut TenantTx,
    client_id: Uuid,
    location_id: Uuid,
) -> Result<Location, RecordError> {
    client_locations::table
        .find((tx.tenant().0, location_id))
        .filter(client_locations::client_id.eq(client_id))
        .filter(client_locations::archived_at.is_null())
        .select(Location::as_select())
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("location"))
}

async fn clear_flags(
    tx: &mut TenantTx,
    client_id: Uuid,
    except: Option<Uuid>,
    draft: &LocationDraft,
) -> Result<(), DbError> {
    let others = client_locations::table
        .filter(client_locations::client_id.eq(client_id))
        .filter(client_locations::id.ne(except.unwrap_or_default()));
    if draft.is_default {
        diesel::update(others)
            .set(client_locations::is_default.eq(false))
            .execute(tx.conn())
            .await?;
    }
    if draft.is_billing {
        diesel::update(others)
            .set(client_locations::is_billing.eq(false))
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

async fn record(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    location: &Location,
) -> Result<(), DbError> {
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action,
            resource: "client_location",
            resource_id: Some(location.id),
            details: serde_json::json!({ "client_id": location.client_id, "name": location.name }),
        },
        DomainEvent::ClientUpdated(RecordRef {
            id: location.client_id,
            client_id: location.client_id,
            changed: vec!["locations".into()],
        }),
    )
    .await
}
