//! Billing runs end to end: API → Temporal → worker → Postgres. A run over a
//! seeded tenant drafts the expected invoices (prorated advance fees, approved
//! time in arrears with the entries named), holds a client with unapproved time,
//! writes nothing the second time, and a worker killed mid-run resumes without a
//! second invoice for any client and window.

use super::{created, id};
use diesel_async::RunQueryDsl;
use keel_tests::app::json_with_status;
use keel_tests::worker::{worker_process, TestWorker};
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

struct Shop {
    tenant: engine::TenantId,
    admin: String,
    managed: String,
    support: String,
}

async fn shop(app: &TestApp, slug: &str) -> Shop {
    let fixture = app.tenant(slug).await;
    let admin = fixture.admin_key.clone();
    let managed = id(&created(app, &admin, "/api/v1/services",
        json!({"name": "Managed workstation", "kind": "fixed", "unit": "device", "rate_cents": 4500})).await);
    let support = id(&created(
        app,
        &admin,
        "/api/v1/services",
        json!({"name": "Remote support", "kind": "hourly", "rate_cents": 12500}),
    )
    .await);
    Shop {
        tenant: fixture.tenant,
        admin,
        managed,
        support,
    }
}

async fn client(app: &TestApp, key: &str, name: &str) -> String {
    id(&created(
        app,
        key,
        "/api/v1/clients",
        json!({"name": name, "currency": "USD"}),
    )
    .await)
}

async fn contract(app: &TestApp, key: &str, body: Value) -> String {
    id(&created(app, key, "/api/v1/contracts", body).await)
}

async fn log(
    app: &TestApp,
    key: &str,
    client: &str,
    service: &str,
    day: &str,
    minutes: i64,
) -> String {
    id(&created(
        app,
        key,
        "/api/v1/time-entries",
        json!({"client_id": client, "service_id": service, "work_date": day, "minutes": minutes}),
    )
    .await)
}

/// Seeding shortcut: approval itself is tested with its workflow in `time`; here
/// the entries only need to be approved.
async fn approve_all(app: &TestApp, client: &str) {
    let mut owner = app.db.owner().await;
    diesel::sql_query(format!(
        "UPDATE time_entries SET approval_status = 'APPROVED' WHERE client_id = '{client}'"
    ))
    .execute(&mut owner)
    .await
    .expect("approve");
}

/// Starts a run and waits for it to complete; answers its result.
async fn run_billing(app: &TestApp, key: &str, body: Value) -> Value {
    let started = json_with_status(app.post(key, "/api/v1/billing-runs", &body).await, 202).await;
    let run_id = started["run_id"].as_str().expect("run id").to_owned();
    assert!(started["workflow_id"]
        .as_str()
        .expect("workflow id")
        .contains(":billing_cycle:"));
    finished(app, key, &run_id, Duration::from_secs(120)).await
}

async fn finished(app: &TestApp, key: &str, run_id: &str, limit: Duration) -> Value {
    let run = keel_tests::eventually(limit, || async {
        let run = json_with_status(
            app.get(key, &format!("/api/v1/workflow-runs/{run_id}"))
                .await,
            200,
        )
        .await;
        (run["status"] != "running").then_some(run)
    })
    .await
    .expect("the billing run finished");
    assert_eq!(run["status"], "completed", "{run}");
    run["result"].clone()
}

async fn invoices_of(app: &TestApp, key: &str, client: &str) -> Vec<Value> {
    let list = json_with_status(
        app.get(
            key,
            &format!("/api/v1/invoices?client_id={client}&limit=200"),
        )
        .await,
        200,
    )
    .await;
    let mut invoices = list["data"].as_array().expect("data").clone();
    invoices.sort_by_key(|i| i["period_start"].as_str().unwrap_or_default().to_owned());
    invoices
}

fn totals(invoices: &[Value]) -> Vec<(String, i64)> {
    invoices
        .iter()
        .map(|i| {
            (
                i["period_start"].as_str().expect("period").to_owned(),
                i["total_cents"].as_i64().expect("total"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_run_drafts_the_expected_invoices_holds_unapproved_time_and_never_bills_twice() {
    let app = TestApp::spawn().await;
    let s = shop(&app, "billrun").await;
    let admin = &s.admin;
    let _worker = TestWorker::start(&app);
    // Starts mid-January: January's advance fee is prorated (17 of 31 days).
    let acme = client(&app, admin, "Acme").await;
    contract(
        &app,
        admin,
        json!({"client_id": acme, "starts_on": "2026-01-15", "lines": [
        {"kind": "fixed", "service_id": s.managed, "quantity": "2", "enable_proration": true},
        {"kind": "hourly", "service_id": s.support}]}),
    )
    .await;
    let jan = log(&app, admin, &acme, &s.support, "2026-01-20", 90).await;
    let feb = log(&app, admin, &acme, &s.support, "2026-02-05", 135).await;
    approve_all(&app, &acme).await;
    let beta = client(&app, admin, "Beta").await;
    contract(
        &app,
        admin,
        json!({"client_id": beta, "starts_on": "2026-01-01", "lines": [
        {"kind": "fixed", "service_id": s.managed}],
        // 10 % off the invoices dated in January and February.
        "discounts": [{"description": "Loyalty", "percent": "10", "line": 0,
                       "starts_on": "2026-01-01", "ends_on": "2026-03-01"}]}),
    )
    .await;
    let bad = json_with_status(
        app.post(
            admin,
            "/api/v1/contracts",
            &json!({"client_id": beta, "starts_on": "2027-01-01",
            "lines": [{"kind": "hourly", "service_id": s.support}],
            "discounts": [{"description": "Odd", "percent": "120", "line": 3}]}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["discounts[0].percent", "discounts[0].line"]);
    // Gamma's January time is not approved: its January invoice waits.
    let gamma = client(&app, admin, "Gamma").await;
    contract(
        &app,
        admin,
        json!({"client_id": gamma, "starts_on": "2026-01-01", "lines": [
        {"kind": "hourly", "service_id": s.support, "rate_cents": 10000}]}),
    )
    .await;
    log(&app, admin, &gamma, &s.support, "2026-01-21", 60).await;
    // The first contract gave the tenant its daily billing and credit-expiry schedules.
    let temporal = activities::temporal::Temporal::connect(
        &keel_tests::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        "default",
        &app.task_queue_prefix,
    )
    .await
    .expect("temporal");
    assert_eq!(
        temporal
            .billing_schedules(s.tenant)
            .await
            .expect("schedules"),
        vec!["BillingCycle", "CreditExpiry"]
    );

    let first = run_billing(&app, admin, json!({"period_end": "2026-03-01"})).await;
    assert_eq!(first["clients_total"], 3);
    assert_eq!(first["clients_done"], 3);
    assert_eq!(first["invoices"], 6);
    assert_eq!(first["held"], 1);
    assert_eq!(first["held_clients"][0]["client_id"], gamma.as_str());
    assert_eq!(first["held_clients"][0]["period_start"], "2026-01-01");
    assert_eq!(first["held_clients"][0]["unapproved_entries"], 1);

    let acme_invoices = invoices_of(&app, admin, &acme).await;
    assert_eq!(
        totals(&acme_invoices),
        vec![
            // December's window bills January ahead: 2 × 45.00 × 17/31.
            ("2025-12-01".to_owned(), 4935),
            // January's window: its time (1.5 h × 125.00) and February ahead.
            ("2026-01-01".to_owned(), 18750 + 9000),
            // February's: 2.25 h exactly, and March ahead.
            ("2026-02-01".to_owned(), 28125 + 9000),
        ]
    );
    let prorated = &acme_invoices[0]["lines"][0];
    assert_eq!(prorated["source"]["covered_days"], 17);
    assert_eq!(prorated["source"]["period_days"], 31);
    assert_eq!(
        prorated["service_period"],
        json!({"start": "2026-01-01", "end": "2026-02-01"})
    );
    let time_line = acme_invoices[1]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["source"]["kind"] == "time")
        .expect("a time line")
        .clone();
    assert_eq!(time_line["source"]["entry_ids"], json!([jan]));
    assert_eq!(time_line["quantity"], "1.5");
    let feb_line = acme_invoices[2]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["source"]["kind"] == "time")
        .expect("a time line")
        .clone();
    assert_eq!(feb_line["source"]["entry_ids"], json!([feb]));
    assert!(acme_invoices
        .iter()
        .all(|i| i["status"] == "draft" && i["origin"] == "billing_run"));
    // Invoices dated 1 January and 1 February get the discount; 1 March's not.
    let beta_invoices = invoices_of(&app, admin, &beta).await;
    assert_eq!(
        totals(&beta_invoices),
        vec![
            ("2025-12-01".to_owned(), 4050),
            ("2026-01-01".to_owned(), 4050),
            ("2026-02-01".to_owned(), 4500),
        ]
    );
    assert_eq!(beta_invoices[0]["discount_cents"], 450);
    assert_eq!(beta_invoices[0]["lines"][1]["source"]["kind"], "discount");
    assert!(invoices_of(&app, admin, &gamma).await.is_empty());

    // The same run again: nothing new; Gamma is still held.
    let second = run_billing(&app, admin, json!({"period_end": "2026-03-01"})).await;
    assert_eq!(second["invoices"], 0);
    assert_eq!(second["held"], 1);
    assert_eq!(invoices_of(&app, admin, &acme).await.len(), 3);

    // Approved, Gamma's time is billed by the next run, once.
    approve_all(&app, &gamma).await;
    let third = run_billing(
        &app,
        admin,
        json!({"period_end": "2026-03-01", "client_ids": [gamma]}),
    )
    .await;
    assert_eq!(third["clients_total"], 1);
    assert_eq!(third["invoices"], 1);
    assert_eq!(
        totals(&invoices_of(&app, admin, &gamma).await),
        vec![("2026-01-01".to_owned(), 10000)]
    );

    // Voiding a run's draft returns its window and time to billing.
    let voided = acme_invoices[2]["id"].as_str().expect("id");
    json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{voided}/void"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let rebilled = run_billing(
        &app,
        admin,
        json!({"period_end": "2026-03-01", "client_ids": [acme]}),
    )
    .await;
    assert_eq!(rebilled["invoices"], 1);
    let live: Vec<Value> = invoices_of(&app, admin, &acme)
        .await
        .into_iter()
        .filter(|i| i["status"] != "void")
        .collect();
    assert_eq!(totals(&live)[2], ("2026-02-01".to_owned(), 28125 + 9000));

    // Finalizing a run's draft writes the ledger; the books reconcile.
    let first_id = acme_invoices[0]["id"].as_str().expect("id");
    json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{first_id}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let books = json_with_status(app.get(admin, "/api/v1/billing/reconciliation").await, 200).await;
    assert_eq!(books["balanced"], true, "{books}");

    let bad = json_with_status(
        app.post(
            admin,
            "/api/v1/billing-runs",
            &json!({"period_end": "1800-01-01"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "period_end");
    json_with_status(
        app.post(admin, "/api/v1/billing-runs", &json!({"batch_size": 0}))
            .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn killing_the_worker_mid_run_yields_one_invoice_per_client_and_window() {
    let app = TestApp::spawn().await;
    let s = shop(&app, "billkill").await;
    let admin = &s.admin;
    let mut clients = Vec::new();
    for n in 0..30 {
        let c = client(&app, admin, &format!("Client {n:02}")).await;
        contract(
            &app,
            admin,
            json!({"client_id": c, "starts_on": "2026-01-01", "lines": [
            {"kind": "fixed", "service_id": s.managed}]}),
        )
        .await;
        clients.push(c);
    }
    let mut worker = worker_process(&app);
    let started = json_with_status(
        app.post(
            admin,
            "/api/v1/billing-runs",
            &json!({"period_end": "2026-03-01", "batch_size": 1}),
        )
        .await,
        202,
    )
    .await;
    let run_id = started["run_id"].as_str().expect("run id").to_owned();
    // Kill the worker once some batches are done and others are not.
    let progress = keel_tests::eventually(Duration::from_secs(120), || async {
        let run = json_with_status(
            app.get(admin, &format!("/api/v1/workflow-runs/{run_id}"))
                .await,
            200,
        )
        .await;
        let done = run["result"]["clients_done"].as_u64().unwrap_or(0);
        (done >= 3).then_some(run)
    })
    .await
    .expect("the run made progress");
    worker.signal_and_wait(libc::SIGKILL);
    assert_eq!(progress["status"], "running", "the worker died mid-run");
    let done_at_kill = progress["result"]["clients_done"].as_u64().expect("done");
    assert!(done_at_kill < 30, "killed before the end: {done_at_kill}");
    let _worker = worker_process(&app);
    let result = finished(&app, admin, &run_id, Duration::from_secs(180)).await;
    assert_eq!(result["clients_done"], 30);
    assert_eq!(
        result["invoices"], 90,
        "three windows for each of 30 clients"
    );
    let mut per_client: HashMap<String, Vec<String>> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/invoices?limit=200&cursor={c}"),
            None => "/api/v1/invoices?limit=200".to_owned(),
        };
        let page = json_with_status(app.get(admin, &path).await, 200).await;
        for invoice in page["data"].as_array().expect("data") {
            per_client
                .entry(invoice["client_id"].as_str().expect("client").to_owned())
                .or_default()
                .push(invoice["period_start"].as_str().expect("period").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(per_client.len(), 30);
    for (client, mut windows) in per_client {
        windows.sort();
        assert_eq!(
            windows,
            vec!["2025-12-01", "2026-01-01", "2026-02-01"],
            "client {client}"
        );
    }
}
