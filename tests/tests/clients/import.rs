use super::{acme, client};
use keel_tests::app::json_with_status;
use keel_tests::worker::keel_binary;
use keel_tests::TestApp;
use serde_json::json;
use std::process::Command;

/// A clients file of `rows` data rows; rows whose line number is in `bad` are
/// broken in three different ways.
fn clients_csv(rows: usize, bad: &[u64]) -> String {
    let mut csv = String::from("name,billing_email,currency,payment_terms,tags\n");
    for i in 0..rows {
        let line = i as u64 + 2;
        let row = match bad.iter().position(|b| *b == line) {
            Some(0) => format!("Client {i},not-an-email,USD,net_30,\n"),
            Some(1) => format!("Client {i},c{i}@example.test,DOLLARS,net_30,\n"),
            Some(_) => format!(",c{i}@example.test,USD,net_30,\n"),
            None => format!("\"Client {i}, Ltd\",c{i}@example.test,USD,net_15,imported;batch\n"),
        };
        csv.push_str(&row);
    }
    csv
}

async fn client_count(app: &TestApp, key: &str) -> usize {
    let mut count = 0;
    let mut path = "/api/v1/clients?limit=200".to_owned();
    loop {
        let page = json_with_status(app.get(key, &path).await, 200).await;
        count += page["data"].as_array().expect("data").len();
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/clients?limit=200&cursor={cursor}"),
            None => return count,
        }
    }
}

#[tokio::test]
async fn ten_thousand_rows_with_three_bad_ones_import_nothing_or_only_the_valid_rows() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let bad = [2_u64, 5_000, 10_001];
    let csv = clients_csv(10_000, &bad);

    let refused = json_with_status(
        app.post_csv(&t.admin_key, "/api/v1/imports/clients", csv.clone())
            .await,
        422,
    )
    .await;
    let lines: Vec<u64> = refused["invalid"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|i| i["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, bad.to_vec());
    let fields: Vec<&str> = refused["invalid"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|i| i["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["billing_email", "currency", "name"]);
    assert_eq!(refused["rows"], 10_000);
    assert_eq!(refused["imported"], 0);
    assert_eq!(
        client_count(&app, &t.admin_key).await,
        0,
        "nothing was imported"
    );

    let report = json_with_status(
        app.post_csv(
            &t.admin_key,
            "/api/v1/imports/clients?skip_invalid=true",
            csv,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(report["imported"], 9_997);
    assert_eq!(report["invalid"].as_array().expect("invalid").len(), 3);
    assert_eq!(client_count(&app, &t.admin_key).await, 9_997);
    assert_eq!(
        imported_records(&app, "client.created").await,
        (9_997, 9_997)
    );
    let one = json_with_status(
        app.get(&t.admin_key, "/api/v1/clients?q=client%2042,%20ltd")
            .await,
        200,
    )
    .await;
    assert_eq!(one["data"][0]["name"], "Client 42, Ltd");
    assert_eq!(one["data"][0]["payment_terms"], "net_15");
    assert_eq!(one["data"][0]["tags"], json!(["imported", "batch"]));
    app.stop().await;
}

#[tokio::test]
async fn contacts_and_assets_resolve_clients_and_locations_by_name() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let acme_id = client(&app, &t.admin_key, acme()).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    client(&app, &t.admin_key, json!({"name": "Twin"})).await;
    client(&app, &t.admin_key, json!({"name": "twin"})).await;
    json_with_status(
        app.post(
            &t.admin_key,
            &format!("/api/v1/clients/{acme_id}/locations"),
            &json!({"name": "HQ"}),
        )
        .await,
        201,
    )
    .await;
    json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/contacts",
            &json!({"client_id": acme_id, "full_name": "Existing", "email": "taken@acme.test"}),
        )
        .await,
        201,
    )
    .await;

    let contacts = "client_name,full_name,email,phone\n\
                    ACME CORP,Ann,ann@acme.test,+1 555 0100\n\
                    Nobody Inc,Bob,bob@acme.test,\n\
                    Twin,Cid,cid@acme.test,\n\
                    Acme Corp,Dup,TAKEN@acme.test,\n\
                    Acme Corp,Eve,ann@acme.test,\n";
    let refused = json_with_status(
        app.post_csv(&t.admin_key, "/api/v1/imports/contacts", contacts.into())
            .await,
        422,
    )
    .await;
    let issues: Vec<(u64, String)> = refused["invalid"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().expect("line"),
                i["field"].as_str().expect("field").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        issues,
        vec![
            (3, "client_name".into()),
            (4, "client_name".into()),
            (5, "email".into()),
            (6, "email".into())
        ]
    );

    let assets = "client_name,location_name,asset_tag,name,kind,warranty_expires_on\n\
                  Acme Corp,hq,WS-1,Front desk,workstation,2027-01-01\n\
                  Acme Corp,Basement,WS-2,Back office,workstation,\n\
                  Acme Corp,,WS-3,Toaster,toaster,\n\
                  Acme Corp,,ws-1,Copy,workstation,\n\
                  Acme Corp,,WS-4,Printer,printer,31/12/2027\n";
    let refused = json_with_status(
        app.post_csv(&t.admin_key, "/api/v1/imports/assets", assets.into())
            .await,
        422,
    )
    .await;
    let issues: Vec<(u64, String)> = refused["invalid"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().expect("line"),
                i["field"].as_str().expect("field").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        issues,
        vec![
            (3, "location_name".into()),
            (4, "kind".into()),
            (5, "asset_tag".into()),
            (6, "warranty_expires_on".into())
        ]
    );
    let report = json_with_status(
        app.post_csv(
            &t.admin_key,
            "/api/v1/imports/assets?skip_invalid=true",
            assets.into(),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(report["imported"], 1);
    let listed = json_with_status(
        app.get(&t.admin_key, &format!("/api/v1/assets?client_id={acme_id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(listed["data"][0]["asset_tag"], "WS-1");
    assert!(listed["data"][0]["location_id"].is_string());

    let unknown = json_with_status(
        app.post_csv(
            &t.admin_key,
            "/api/v1/imports/clients",
            "name,colour\nA,red\n".into(),
        )
        .await,
        400,
    )
    .await;
    assert!(unknown["detail"]
        .as_str()
        .expect("detail")
        .contains("colour"));
    assert_eq!(
        app.post_csv(&t.admin_key, "/api/v1/imports/tickets", "x\n".into())
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn the_cli_names_each_bad_line_and_imports_nothing_unless_asked() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let dir = std::env::temp_dir().join(format!("keel-import-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("clients.csv");
    std::fs::write(&file, clients_csv(50, &[3, 7, 51])).expect("write");
    let run = |skip: bool| {
        let mut command = Command::new(keel_binary());
        command
            .args(["import", "clients"])
            .arg(&file)
            .args(["--tenant", &t.slug])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.db.owner_url)
            .env("KEEL_APP_DATABASE_URL", &app.db.app_url)
            .env("KEEL_LOG", "warn");
        if skip {
            command.arg("--skip-invalid");
        }
        command.output().expect("run keel import")
    };
    let refused = run(false);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for line in [":3: billing_email:", ":7: currency:", ":51: name:"] {
        assert!(stderr.contains(line), "{line} missing from: {stderr}");
    }
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    let imported = run(true);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(String::from_utf8_lossy(&imported.stdout).contains("imported 47 of 50 rows"));
    assert_eq!(client_count(&app, &t.admin_key).await, 47);
    std::fs::remove_dir_all(&dir).ok();
    app.stop().await;
}

/// (audit rows with an `import_line`, outbox events) for imported records.
async fn imported_records(app: &TestApp, action: &str) -> (i64, i64) {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        audits: i64,
        #[diesel(sql_type = BigInt)]
        events: i64,
    }
    let mut owner = app.db.owner().await;
    let counts: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM audit_log WHERE action = $1 AND details ? 'import_line') AS audits,
                (SELECT count(*) FROM outbox WHERE event_type = $1) AS events",
    )
    .bind::<Text, _>(action)
    .get_result(&mut owner)
    .await
    .expect("counts");
    (counts.audits, counts.events)
}
