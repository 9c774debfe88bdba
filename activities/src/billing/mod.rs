//! Billing's stored records: the service catalogue, tax regions and rates, and
//! contracts. The rules live in `engine::billing`; here is what needs the
//! database (names unique in the tenant, prices per currency, a client's other
//! contracts).

pub mod catalogue;
pub mod contracts;
pub mod tax;
pub mod usage;
