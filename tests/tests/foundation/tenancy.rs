use diesel::sql_types::{Bool, Text};
use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use keel_tests::app::json_with_status;
use keel_tests::TestApp;

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    table_name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// Every table with a `tenant` column, read from the catalogue so new tables are
/// covered without touching this test.
async fn tenant_tables(app: &TestApp) -> Vec<String> {
    let mut owner = app.db.owner().await;
    let rows: Vec<TableName> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
          WHERE c.table_schema = 'public' AND c.column_name = 'tenant' AND t.table_type IN ('BASE TABLE', 'VIEW')
          ORDER BY 1",
    )
    .load(&mut owner)
    .await
    .expect("catalogue");
    rows.into_iter().map(|r| r.table_name).collect()
}

#[tokio::test]
async fn app_role_without_a_tenant_sees_no_rows_in_any_tenant_table() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let _b = app.tenant("tenant-b").await;
    // Give every table at least one row per tenant where the flow writes one.
    json_with_status(
        app.post(
            &a.admin_key,
            "/api/v1/api-keys",
            &serde_json::json!({"name": "x"}),
        )
        .await,
        201,
    )
    .await;

    let tables = tenant_tables(&app).await;
    assert!(
        tables.len() >= 9,
        "expected the tenant tables, found {tables:?}"
    );
    let mut owner = app.db.owner().await;
    let mut app_role = app.db.app_role().await;
    for table in &tables {
        let sql = format!("SELECT count(*) AS count FROM {table}");
        let as_owner: Count = diesel::sql_query(&sql)
            .get_result(&mut owner)
            .await
            .expect("owner count");
        let as_app: Count = diesel::sql_query(&sql)
            .get_result(&mut app_role)
            .await
            .expect("app count");
        assert_eq!(
            as_app.count, 0,
            "{table}: the app role saw rows without app.tenant"
        );
        if [
            "users",
            "roles",
            "role_permissions",
            "role_assignments",
            "api_keys",
            "audit_log",
            "number_sequences",
        ]
        .contains(&table.as_str())
        {
            assert!(
                as_owner.count > 0,
                "{table} should hold fixture rows, so the zero above means something"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn every_tenant_table_forces_row_level_security() {
    let app = TestApp::spawn().await;
    let tables = tenant_tables(&app).await;
    let mut owner = app.db.owner().await;
    #[derive(QueryableByName)]
    struct Rls {
        #[diesel(sql_type = Bool)]
        relrowsecurity: bool,
        #[diesel(sql_type = Bool)]
        relforcerowsecurity: bool,
        #[diesel(sql_type = Bool)]
        is_view: bool,
        #[diesel(sql_type = Bool)]
        security_invoker: bool,
    }
    for table in tables {
        let rls: Rls = diesel::sql_query(
            "SELECT relrowsecurity, relforcerowsecurity, relkind = 'v' AS is_view,
                    coalesce('security_invoker=true' = ANY (reloptions), false) AS security_invoker
               FROM pg_class WHERE oid = $1::regclass",
        )
        .bind::<Text, _>(&table)
        .get_result(&mut owner)
        .await
        .expect("pg_class");
        if rls.is_view {
            assert!(
                rls.security_invoker,
                "view {table} must be security_invoker so RLS applies to the caller"
            );
        } else {
            assert!(
                rls.relrowsecurity && rls.relforcerowsecurity,
                "{table} must enable and force RLS"
            );
        }
    }
    #[derive(QueryableByName)]
    struct Role {
        #[diesel(sql_type = Bool)]
        rolsuper: bool,
        #[diesel(sql_type = Bool)]
        rolbypassrls: bool,
        #[diesel(sql_type = Bool)]
        owns_tables: bool,
    }
    let role: Role = diesel::sql_query(
        "SELECT rolsuper, rolbypassrls,
                EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'keel_app') AS owns_tables
           FROM pg_roles WHERE rolname = 'keel_app'",
    )
    .get_result(&mut owner)
    .await
    .expect("role");
    assert!(
        !role.rolsuper && !role.rolbypassrls && !role.owns_tables,
        "keel_app must not be able to bypass RLS"
    );
    app.stop().await;
}

#[tokio::test]
async fn app_role_cannot_switch_off_row_level_security() {
    let app = TestApp::spawn().await;
    let mut app_role = app.db.app_role().await;
    let attempts = [
        "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
        "SET row_security = off; SELECT * FROM users",
        "DROP POLICY tenant_isolation ON users",
    ];
    for sql in attempts {
        let outcome = app_role.batch_execute(sql).await;
        assert!(outcome.is_err(), "{sql} must fail for the app role");
    }
    app.stop().await;
}

#[tokio::test]
async fn one_tenants_key_cannot_read_or_change_another_tenants_rows() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;
    let b_user = app
        .user(b.tenant, "tech@tenant-b.example.com", "Technician")
        .await;
    let b_key_id = json_with_status(
        app.post(
            &b.admin_key,
            "/api/v1/api-keys",
            &serde_json::json!({"name": "b"}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // Reads of B's ids with A's key answer 404, exactly like ids that do not exist.
    for path in [
        format!("/api/v1/users/{b_user}"),
        format!("/api/v1/users/{}", b.admin_id),
    ] {
        let problem = json_with_status(app.get(&a.admin_key, &path).await, 404).await;
        assert_eq!(problem["type"], "/problems/not-found");
    }
    // Changes too: revoking B's key with A's key is a 404 and leaves it working.
    let response = app
        .http
        .delete(app.url(&format!("/api/v1/api-keys/{b_key_id}")))
        .bearer_auth(&a.admin_key)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 404);
    json_with_status(app.get(&b.admin_key, "/api/v1/users").await, 200).await;
    // Lists show only the caller's tenant.
    let listed = json_with_status(app.get(&a.admin_key, "/api/v1/users").await, 200).await;
    let emails: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, [a.admin_email.as_str()]);
    // A key whose tenant part is rewritten to B's no longer matches anything.
    let forged = a.admin_key.replace(&a.tenant.simple(), &b.tenant.simple());
    assert_eq!(app.get(&forged, "/api/v1/users").await.status(), 401);
    app.stop().await;
}
