//! The end-to-end test harness: every test gets its own database, created from a
//! migrated template (`keel_template_<migrations fingerprint>`), and its own Redis
//! key prefix, so tests run in parallel against real services without sharing state.
//!
//! Services come from the environment (`./x test` starts private ones and sets these):
//! `KEEL_TEST_DATABASE_URL` (an owner/superuser URL on the server, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `KEEL_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379/`), `KEEL_TEST_TEMPORAL_ADDRESS` (default `127.0.0.1:7233`).

pub mod app;
pub mod browser;
pub mod database;
pub mod smtp;
pub mod worker;

pub use app::{TenantFixture, TestApp};
pub use database::TestDb;

/// Reads a test setting with a default.
pub fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Polls `probe` until it answers `Some` or `limit` passes; for waiting on work
/// that completes asynchronously, never a fixed sleep.
pub async fn eventually<T, F, Fut>(limit: std::time::Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
