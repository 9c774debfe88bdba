//! Billing's stored records: the service catalogue, tax regions and rates, and
//! contracts. The rules live in `engine::billing`; here is what needs the
//! database (names unique in the tenant, prices per currency, a client's other
//! contracts).

pub mod catalogue;
pub mod contracts;
pub mod cycle;
pub mod document;
pub mod invoices;
pub mod ledger;
pub mod reports;
pub mod tax;
pub mod usage;

/// A stored JSON document read back; one that no longer reads is an error, never
/// a silently emptied line.
pub(crate) fn stored<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, crate::db::DbError> {
    serde_json::from_value(value).map_err(|e| {
        crate::db::DbError::Query(diesel::result::Error::DeserializationError(Box::new(e)))
    })
}
