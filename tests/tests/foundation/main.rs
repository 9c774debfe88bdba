//! Foundation behaviour against real Postgres, Redis and Temporal.

mod auth;
mod health;
mod idempotency;
mod input;
mod migrations;
mod numbers;
mod tenancy;
