//! Schema migrations, embedded in the binary. They run as the database owner (the
//! `DATABASE_URL` role), never as the application role.

use diesel::migration::MigrationVersion;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The owner could not connect.
    #[error("cannot connect to the database as its owner: {0}")]
    Connect(String),
    /// A migration failed to apply or revert.
    #[error("migration failed: {0}")]
    Migration(String),
}

type Wrapped = AsyncConnectionWrapper<AsyncPgConnection>;

async fn with_owner_connection<T: Send + 'static>(
    owner_url: &str,
    work: impl FnOnce(&mut Wrapped) -> Result<T, MigrateError> + Send + 'static,
) -> Result<T, MigrateError> {
    let url = owner_url.to_owned();
    // The harness is synchronous; the wrapper drives the async connection on a
    // blocking thread so the runtime is never stalled.
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn =
            Wrapped::establish(&url).map_err(|e| MigrateError::Connect(e.to_string()))?;
        work(&mut conn)
    })
    .await
    .map_err(|e| MigrateError::Migration(e.to_string()))?
}

/// Applies every pending migration; answers the versions applied.
pub async fn run_pending(owner_url: &str) -> Result<Vec<String>, MigrateError> {
    with_owner_connection(owner_url, |conn| {
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| MigrateError::Migration(e.to_string()))?;
        Ok(applied.iter().map(MigrationVersion::to_string).collect())
    })
    .await
}

/// Reverts every applied migration, newest first (used by the up-down-up test).
pub async fn revert_all(owner_url: &str) -> Result<Vec<String>, MigrateError> {
    with_owner_connection(owner_url, |conn| {
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map_err(|e| MigrateError::Migration(e.to_string()))?;
        Ok(reverted.iter().map(MigrationVersion::to_string).collect())
    })
    .await
}

/// A fingerprint of the embedded migrations' SQL (computed by `build.rs`), so test
/// harnesses can tell whether a migrated template database is current.
pub fn fingerprint() -> &'static str {
    env!("KEEL_MIGRATIONS_FINGERPRINT")
}

/// Sets the application role's password (for servers that do not trust local
/// connections). Runs as the owner.
pub async fn set_app_role_password(owner_url: &str, password: &str) -> Result<(), MigrateError> {
    use diesel::RunQueryDsl;
    let escaped = password.replace('\'', "''");
    with_owner_connection(owner_url, move |conn| {
        diesel::sql_query(format!("ALTER ROLE keel_app PASSWORD '{escaped}'"))
            .execute(conn)
            .map(drop)
            .map_err(|e| MigrateError::Migration(e.to_string()))
    })
    .await
}

/// Creates database `name` on the server of `server_url` (connecting to its
/// `postgres` database) unless it exists. Answers true when it was created.
pub async fn ensure_database(server_url: &str, name: &str) -> Result<bool, MigrateError> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(MigrateError::Migration(format!(
            "unsafe database name {name:?}"
        )));
    }
    let name = name.to_owned();
    with_owner_connection(&server_database_url(server_url, "postgres"), move |conn| {
        let exists = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found",
        )
        .bind::<Text, _>(&name)
        .get_result::<Found>(conn)
        .map_err(|e| MigrateError::Migration(e.to_string()))?;
        if exists.found {
            return Ok(false);
        }
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(conn)
            .map_err(|e| MigrateError::Migration(e.to_string()))?;
        Ok(true)
    })
    .await
}

/// `url` with its database name replaced by `database`.
pub fn server_database_url(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

/// The database name in `url`.
pub fn database_name(url: &str) -> Option<String> {
    let base = url.split('?').next()?;
    let after_scheme = &base[base.find("://")? + 3..];
    let name = &after_scheme[after_scheme.find('/')? + 1..];
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_rewritten() {
        assert_eq!(
            server_database_url("postgres://u@h:1/keel?x=1", "postgres"),
            "postgres://u@h:1/postgres?x=1"
        );
        assert_eq!(
            server_database_url("postgres://u@h:1", "t"),
            "postgres://u@h:1/t"
        );
        assert_eq!(
            database_name("postgres://u@h:1/keel?x=1").as_deref(),
            Some("keel")
        );
        assert_eq!(database_name("postgres://u@h:1"), None);
    }
}
