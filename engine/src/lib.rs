//! Keel's domain core: identifiers, validated input types and the access-control
//! catalogue. Pure and deterministic: no database, no HTTP, no clock, no I/O, so
//! workflow code may depend on everything here. The workflows themselves live here
//! too (`workflows`): they are deterministic, and every side effect they cause goes
//! through an activity whose contract is declared beside them.

pub mod assets;
pub mod billing;
pub mod changes;
pub mod clients;
pub mod contacts;
pub mod events;
pub mod identity;
pub mod import;
pub mod interactions;
pub mod notifications;
pub mod rbac;
pub mod sla;
pub mod tenancy;
pub mod tickets;
pub mod time;
pub mod validation;
pub mod workflows;

pub use events::{DomainEvent, EmailQueued, EventEnvelope, RecordRef, TicketEvent, TimesheetEvent};
pub use identity::{Email, EmailError};
pub use rbac::{Permission, ShippedRole, SHIPPED_ROLES};
pub use tenancy::{Slug, SlugError, TenantId};
