//! Connections and the one door to tenant data.
//!
//! The pool connects as `keel_app`, a role that is neither superuser nor table owner,
//! so row-level security always applies. Tenant rows are reachable only through
//! [`Db::tenant_tx`], which opens a transaction and sets `app.tenant` for it alone.

use diesel::sql_types::Text;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{
    AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection, TransactionManager,
};
use engine::TenantId;

/// A pooled connection as the application role.
pub type PooledConn = Object<AsyncPgConnection>;
type Tm = <AsyncPgConnection as AsyncConnection>::TransactionManager;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool (database down, pool exhausted).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A query failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl DbError {
    /// True when the error is a unique-constraint violation (a duplicate).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// The application's connection pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<AsyncPgConnection>,
}

impl Db {
    /// Builds a pool of at most `max_size` connections to `app_url` (the application
    /// role's URL). Connections are opened lazily.
    pub fn connect(app_url: &str, max_size: usize) -> Result<Db, DbError> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(app_url);
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .wait_timeout(Some(std::time::Duration::from_secs(5)))
            .create_timeout(Some(std::time::Duration::from_secs(5)))
            .runtime(deadpool_runtime())
            .build()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(Db { pool })
    }

    async fn conn(&self) -> Result<PooledConn, DbError> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Opens a transaction scoped to `tenant`: RLS shows and accepts only its rows.
    /// Commit with [`TenantTx::commit`]; dropping the transaction rolls it back (the
    /// connection, still inside a transaction, is discarded by the pool).
    pub async fn tenant_tx(&self, tenant: TenantId) -> Result<TenantTx, DbError> {
        let mut conn = self.conn().await?;
        // BEGIN and the tenant setting travel as one simple-protocol batch: one round
        // trip instead of three. The id is a formatted UUID, so inlining it is safe.
        conn.batch_execute(&format!(
            "BEGIN; SELECT set_config('app.tenant', '{}', true)",
            tenant.0
        ))
        .await?;
        mark_in_transaction(&mut conn)?;
        Ok(TenantTx { conn, tenant })
    }

    /// Runs `statements` in one transaction of `tenant`, sent with the BEGIN, the
    /// tenant setting and the COMMIT as a single round trip. For hot paths whose
    /// statements are built from trusted values only (UUIDs, [`quote_literal`]).
    pub async fn tenant_batch(&self, tenant: TenantId, statements: &str) -> Result<(), DbError> {
        let mut conn = self.conn().await?;
        let outcome = conn
            .batch_execute(&format!(
                "BEGIN; SELECT set_config('app.tenant', '{}', true); {statements}; COMMIT",
                tenant.0
            ))
            .await;
        if outcome.is_err() {
            // Never hand the pool a connection inside a failed transaction.
            let _ = conn.batch_execute("ROLLBACK").await;
        }
        Ok(outcome?)
    }

    /// A transaction with no tenant set, for the few platform queries that must run
    /// before a tenant is known (tenant lookup by slug, tenant creation). RLS still
    /// applies: tenant-owned tables answer zero rows here.
    pub async fn platform_tx(&self) -> Result<TenantTx, DbError> {
        let mut conn = self.conn().await?;
        Tm::begin_transaction(&mut *conn).await?;
        Ok(TenantTx {
            conn,
            tenant: TenantId(uuid::Uuid::nil()),
        })
    }

    /// Runs `SELECT 1`, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }
}

/// Tells the transaction manager about a BEGIN it did not issue itself, so commit
/// and rollback work and the pool discards the connection if it is dropped mid-way.
fn mark_in_transaction(conn: &mut AsyncPgConnection) -> Result<(), DbError> {
    use diesel::connection::{TransactionDepthChange, TransactionManagerStatus};
    match Tm::transaction_manager_status_mut(conn) {
        TransactionManagerStatus::Valid(status) => {
            status.change_transaction_depth(TransactionDepthChange::IncreaseDepth)?;
            Ok(())
        }
        TransactionManagerStatus::InError => Err(DbError::Query(
            diesel::result::Error::BrokenTransactionManager,
        )),
    }
}

fn deadpool_runtime() -> deadpool::Runtime {
    deadpool::Runtime::Tokio1
}

/// An open transaction bound to one tenant.
pub struct TenantTx {
    conn: PooledConn,
    tenant: TenantId,
}

impl TenantTx {
    /// The connection, for the query functions of this crate.
    pub fn conn(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }

    /// The tenant this transaction is scoped to.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Sets the tenant of a platform transaction once it is known (tenant creation).
    pub async fn enter_tenant(&mut self, tenant: TenantId) -> Result<(), DbError> {
        diesel::sql_query("SELECT set_config('app.tenant', $1, true)")
            .bind::<Text, _>(tenant.0.to_string())
            .execute(&mut *self.conn)
            .await?;
        self.tenant = tenant;
        Ok(())
    }

    /// Commits the transaction.
    pub async fn commit(mut self) -> Result<(), DbError> {
        Tm::commit_transaction(&mut *self.conn).await?;
        Ok(())
    }

    /// Rolls the transaction back and returns the connection to the pool.
    pub async fn rollback(mut self) -> Result<(), DbError> {
        Tm::rollback_transaction(&mut *self.conn).await?;
        Ok(())
    }
}

/// `text` as a SQL string literal (standard-conforming strings: only quotes are
/// doubled; NUL, which Postgres text cannot hold, is dropped).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\0', "").replace('\'', "''"))
}

#[cfg(test)]
mod quoting_tests {
    #[test]
    fn quotes_are_doubled_and_nul_dropped() {
        assert_eq!(super::quote_literal("250 it's ok\0"), "'250 it''s ok'");
        assert_eq!(super::quote_literal("a\\b"), "'a\\b'");
    }
}

/// The URL of the application role on the same server and database as `owner_url`:
/// the user part is replaced by `keel_app` (with `password` when given).
pub fn app_role_url(owner_url: &str, password: Option<&str>) -> String {
    let (scheme, rest) = owner_url
        .split_once("://")
        .unwrap_or(("postgres", owner_url));
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
    match password {
        Some(pw) => format!("{scheme}://keel_app:{pw}@{host_and_path}"),
        None => format!("{scheme}://keel_app@{host_and_path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::app_role_url;

    #[test]
    fn app_role_url_swaps_the_user() {
        assert_eq!(
            app_role_url(
                "postgres://postgres:pw@127.0.0.1:5432/keel?sslmode=disable",
                None
            ),
            "postgres://keel_app@127.0.0.1:5432/keel?sslmode=disable"
        );
        assert_eq!(
            app_role_url("postgresql://127.0.0.1/keel", Some("s3")),
            "postgresql://keel_app:s3@127.0.0.1/keel"
        );
    }
}
