//! One database per test, cloned from a migrated template.

use activities::migrate;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// A database of its own for one test; dropped when the value is dropped.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// URL as the owner (superuser), for migrations and catalogue checks.
    pub owner_url: String,
    /// URL as the application role `keel_app`.
    pub app_url: String,
    server_url: String,
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

impl TestDb {
    /// Creates a fresh, fully migrated database.
    pub async fn new() -> TestDb {
        let template = ensure_template(&server_url()).await;
        TestDb::create(&format!("TEMPLATE {template}")).await
    }

    /// A database with no migrations applied (for the migration round-trip test).
    pub async fn empty() -> TestDb {
        TestDb::create("").await
    }

    async fn create(options: &str) -> TestDb {
        let server_url = server_url();
        let name = format!("keel_test_{}", uuid::Uuid::now_v7().simple());
        connect(&server_url)
            .await
            .batch_execute(&format!("CREATE DATABASE {name} {options}"))
            .await
            .expect("create the test database");
        let owner_url = migrate::server_database_url(&server_url, &name);
        let app_url = activities::db::app_role_url(&owner_url, None);
        TestDb {
            name,
            owner_url,
            app_url,
            server_url,
        }
    }

    /// An owner connection to this database.
    pub async fn owner(&self) -> AsyncPgConnection {
        connect(&self.owner_url).await
    }

    /// An application-role connection to this database.
    pub async fn app_role(&self) -> AsyncPgConnection {
        connect(&self.app_url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a thread with its own runtime avoids
        // blocking it, and joining makes sure the database is gone before exit.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = AsyncPgConnection::establish(&server_url).await {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

fn server_url() -> String {
    crate::setting(
        "KEEL_TEST_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
}

async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// Builds `keel_template_<fingerprint>` once per migration set, under an advisory
/// lock so parallel test processes do not race.
async fn ensure_template(server_url: &str) -> String {
    let template = format!("keel_template_{}", migrate::fingerprint());
    let mut admin = connect(server_url).await;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(0x6b65_656c_i64)
        .execute(&mut admin)
        .await
        .expect("lock");
    let exists: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(&template)
            .get_result(&mut admin)
            .await
            .expect("look up the template");
    if !exists.exists {
        let building = format!("{template}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("drop stale build");
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .expect("create template");
        migrate::run_pending(&migrate::server_database_url(server_url, &building))
            .await
            .expect("migrate the template");
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("publish template");
        drop_stale_templates(&mut admin, &template).await;
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(0x6b65_656c_i64)
        .execute(&mut admin)
        .await
        .expect("unlock");
    template
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// Templates of older migration sets are dropped when a new one is built.
async fn drop_stale_templates(admin: &mut AsyncPgConnection, current: &str) {
    let stale: Vec<Name> = diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'keel\\_template\\_%' AND datname <> $1")
        .bind::<Text, _>(current)
        .load(admin)
        .await
        .unwrap_or_default();
    for name in stale {
        let _ = admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                name.datname
            ))
            .await;
    }
}
