//! Keel's side effects: Diesel queries on PostgreSQL and Redis. Every query that
//! touches tenant data takes a [`db::TenantTx`], so it runs under row-level security
//! for exactly one tenant.

pub mod access;
pub mod assets;
pub mod audit;
pub mod billing;
pub mod clients;
pub mod contacts;
pub mod credentials;
pub mod db;
pub mod durable;
pub mod effects;
pub mod events;
pub mod idempotency;
pub mod imports;
pub mod interactions;
pub mod migrate;
pub mod notifications;
pub mod numbers;
pub mod pagination;
pub mod playbooks;
pub mod ratelimit;
pub mod records;
pub mod runs;
pub mod schema;
pub mod self_test;
pub mod sla;
pub mod temporal;
pub mod tenants;
pub mod tickets;
pub mod time;
pub mod users;

pub use db::{Db, DbError, TenantTx};
