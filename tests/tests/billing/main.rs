//! Billing's reference data against real Postgres: the catalogue with prices per
//! currency, tax regions with rates that never overlap, and contracts refused for
//! mixed currencies, a missing price, overlapping lines or a mismatched service.

mod documents;
mod invoices;
mod runs;

use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::{json, Value};

struct Books {
    tenant: engine::TenantId,
    admin: String,
    tech: String,
    client_id: String,
    support: String,
    managed: String,
    backup: String,
}

async fn created(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    json_with_status(app.post(key, path, &body).await, 201).await
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

async fn books(app: &TestApp, slug: &str) -> Books {
    let fixture = app.tenant(slug).await;
    let admin = fixture.admin_key.clone();
    let tech_id = app
        .user(fixture.tenant, &format!("tech@{slug}.test"), "Technician")
        .await;
    let tech = app.api_key(fixture.tenant, tech_id).await;
    let client = created(
        app,
        &admin,
        "/api/v1/clients",
        json!({"name": "Initech", "currency": "USD"}),
    )
    .await;
    let support = created(
        app,
        &admin,
        "/api/v1/services",
        json!({"name": "Remote support", "kind": "hourly", "rate_cents": 12500, "currency": "USD",
               "prices": [{"currency": "EUR", "rate_cents": 11500}], "tax_category": "services"}),
    )
    .await;
    let managed = created(
        app,
        &admin,
        "/api/v1/services",
        json!({"name": "Managed workstation", "kind": "fixed", "unit": "device", "rate_cents": 4500, "tax_category": "services"}),
    )
    .await;
    let backup = created(
        app,
        &admin,
        "/api/v1/services",
        json!({"name": "Backup storage", "kind": "usage", "unit": "GB"}),
    )
    .await;
    Books {
        tenant: fixture.tenant,
        admin,
        tech,
        client_id: id(&client),
        support: id(&support),
        managed: id(&managed),
        backup: id(&backup),
    }
}

fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_catalogue_prices_services_per_currency_and_refuses_bad_ones() {
    let app = TestApp::spawn().await;
    let b = books(&app, "catalogue").await;
    let support = json_with_status(
        app.get(&b.admin, &format!("/api/v1/services/{}", b.support))
            .await,
        200,
    )
    .await;
    assert_eq!(support["kind"], "hourly");
    assert_eq!(support["unit"], "hour");
    assert_eq!(support["rate_cents"], 12500);
    assert_eq!(support["currency"], "USD");
    assert_eq!(
        support["prices"][1],
        json!({"currency": "EUR", "rate_cents": 11500})
    );
    let backup = json_with_status(
        app.get(&b.admin, &format!("/api/v1/services/{}", b.backup))
            .await,
        200,
    )
    .await;
    assert_eq!(
        backup["rate_cents"],
        Value::Null,
        "an unpriced service has no rate"
    );
    assert_eq!(backup["tax_category"], Value::Null);

    let duplicate = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/services",
            &json!({"name": "remote SUPPORT", "kind": "hourly"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&duplicate), vec!["name"]);
    let bad = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/services",
            &json!({"name": "X", "kind": "hourly", "rate_cents": -5, "currency": "ZZZ"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["currency"]);
    let negative = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/services",
            &json!({"name": "X", "kind": "hourly", "rate_cents": -5}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&negative), vec!["rate_cents"]);
    json_with_status(
        app.post(
            &b.admin,
            "/api/v1/services",
            &json!({"name": "X", "kind": "subscription"}),
        )
        .await,
        422,
    )
    .await;
    // A technician neither reads nor changes billing.
    json_with_status(app.get(&b.tech, "/api/v1/services").await, 403).await;
    json_with_status(
        app.post(
            &b.tech,
            "/api/v1/services",
            &json!({"name": "Y", "kind": "fixed"}),
        )
        .await,
        403,
    )
    .await;
    let listed =
        json_with_status(app.get(&b.admin, "/api/v1/services?kind=fixed").await, 200).await;
    let names: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Managed workstation"]);
    // Time may name a service now that there is a catalogue, but only a real one.
    let entry = json!({"client_id": b.client_id, "work_date": "2026-11-24", "minutes": 30,
                       "service_id": "00000000-0000-7000-8000-000000000000"});
    let refused = json_with_status(
        app.post(&b.admin, "/api/v1/time-entries", &entry).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["service_id"]);
    let entry = json!({"client_id": b.client_id, "work_date": "2026-11-24", "minutes": 30, "service_id": b.support});
    let logged = json_with_status(
        app.post(&b.admin, "/api/v1/time-entries", &entry).await,
        201,
    )
    .await;
    assert_eq!(logged["service_id"], b.support.as_str());
}

#[tokio::test]
async fn a_region_has_one_rate_in_force_per_day() {
    let app = TestApp::spawn().await;
    let b = books(&app, "taxes").await;
    created(
        &app,
        &b.admin,
        "/api/v1/tax-regions",
        json!({"code": "US-NY", "name": "New York"}),
    )
    .await;
    json_with_status(
        app.post(
            &b.admin,
            "/api/v1/tax-regions",
            &json!({"code": "US-NY", "name": "Again"}),
        )
        .await,
        422,
    )
    .await;
    let old = created(
        &app,
        &b.admin,
        "/api/v1/tax-rates",
        json!({"region_code": "US-NY", "percent": "8", "starts_on": "2024-01-01", "ends_on": "2025-07-01"}),
    )
    .await;
    assert_eq!(old["percent"], "8");
    let overlapping = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/tax-rates",
            &json!({"region_code": "US-NY", "percent": "9", "starts_on": "2025-06-01"}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        overlapping["detail"]
            .as_str()
            .expect("detail")
            .contains("2024-01-01"),
        "{overlapping}"
    );
    let new = created(
        &app,
        &b.admin,
        "/api/v1/tax-rates",
        json!({"region_code": "US-NY", "starts_on": "2025-07-01", "components": [
            {"name": "State", "percent": "4", "is_compound": false, "sequence": 1},
            {"name": "City", "percent": "4.875", "is_compound": false, "sequence": 2}]}),
    )
    .await;
    assert_eq!(new["percent"], "8.875");
    let unknown = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/tax-rates",
            &json!({"region_code": "XX", "percent": "5", "starts_on": "2025-01-01"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&unknown), vec!["region_code"]);
    let bad = json_with_status(
        app.post(&b.admin, "/api/v1/tax-rates",
                 &json!({"region_code": "US-NY", "percent": "101", "starts_on": "2026-01-01", "ends_on": "2025-01-01"})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["ends_on", "percent"]);
    let rates = json_with_status(
        app.get(&b.admin, "/api/v1/tax-rates?region_code=US-NY")
            .await,
        200,
    )
    .await;
    let starts: Vec<&str> = rates
        .as_array()
        .expect("rates")
        .iter()
        .filter_map(|r| r["starts_on"].as_str())
        .collect();
    assert_eq!(starts, vec!["2024-01-01", "2025-07-01"]);
}

#[tokio::test]
async fn contracts_refuse_mixed_currencies_missing_prices_and_double_billing() {
    let app = TestApp::spawn().await;
    let b = books(&app, "contracts").await;
    let hourly = |service: &str| json!({"kind": "hourly", "service_id": service, "minimum_billable_minutes": 15, "round_up_to_minutes": 6});
    let contract = created(
        &app,
        &b.admin,
        "/api/v1/contracts",
        json!({"client_id": b.client_id, "name": "Managed services", "starts_on": "2026-01-01", "anchor_day": 1,
               "lines": [
                   hourly(&b.support),
                   {"kind": "fixed", "service_id": b.managed, "quantity": "25", "enable_proration": true},
                   {"kind": "usage", "service_id": b.backup, "minimum_quantity": "50",
                    "tiers": [{"from_quantity": "0", "to_quantity": "100", "rate_cents": 30},
                              {"from_quantity": "100", "to_quantity": null, "rate_cents": 20}]}]}),
    )
    .await;
    assert_eq!(
        contract["currency"], "USD",
        "the client's currency by default"
    );
    assert_eq!(contract["billing_frequency"], "monthly");
    let lines = contract["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["billing_timing"], "arrears");
    assert_eq!(lines[1]["billing_timing"], "advance");
    assert_eq!(lines[1]["quantity"], "25");
    let got = json_with_status(
        app.get(&b.admin, &format!("/api/v1/contracts/{}", id(&contract)))
            .await,
        200,
    )
    .await;
    assert_eq!(got, contract);

    // Another currency while the USD contract runs.
    let eur = json_with_status(
        app.post(&b.admin, "/api/v1/contracts",
                 &json!({"client_id": b.client_id, "currency": "EUR", "starts_on": "2026-06-01",
                         "lines": [{"kind": "hourly", "service_id": b.support, "rate_cents": 9000}]})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&eur), vec!["currency"]);
    // The same service over overlapping dates.
    let twice = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/contracts",
            &json!({"client_id": b.client_id, "starts_on": "2026-03-01", "ends_on": "2026-04-01",
                         "lines": [hourly(&b.support)]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&twice), vec!["lines"]);
    // A price missing in the contract's currency is an error, never a zero.
    let other = created(
        &app,
        &b.admin,
        "/api/v1/clients",
        json!({"name": "Globex", "currency": "CHF"}),
    )
    .await;
    let unpriced = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/contracts",
            &json!({"client_id": id(&other), "starts_on": "2026-01-01",
                         "lines": [hourly(&b.support), {"kind": "usage", "service_id": b.backup}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        error_fields(&unpriced),
        vec!["lines[0].rate_cents", "lines[1].rate_cents"]
    );
    assert!(
        unpriced["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("no price in CHF"),
        "{unpriced}"
    );
    // A service of the wrong kind, and terms that do not apply to the line.
    let mismatched = json_with_status(
        app.post(&b.admin, "/api/v1/contracts",
                 &json!({"client_id": id(&other), "starts_on": "2026-01-01",
                         "lines": [{"kind": "hourly", "service_id": b.managed, "rate_cents": 1000}]})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&mismatched), vec!["lines[0].service_id"]);
    let wrong_terms = json_with_status(
        app.post(&b.admin, "/api/v1/contracts",
                 &json!({"client_id": id(&other), "starts_on": "2026-01-01",
                         "lines": [{"kind": "fixed", "service_id": b.managed, "rate_cents": 1000, "overtime_rate_cents": 5}]})).await,
        422,
    )
    .await;
    assert_eq!(
        error_fields(&wrong_terms),
        vec!["lines[0].overtime_rate_cents"]
    );
    // With its own rate it is accepted; nothing was written by the refusals.
    created(
        &app,
        &b.admin,
        "/api/v1/contracts",
        json!({"client_id": id(&other), "starts_on": "2026-01-01",
               "lines": [{"kind": "hourly", "service_id": b.support, "rate_cents": 14000}]}),
    )
    .await;
    let all = json_with_status(app.get(&b.admin, "/api/v1/contracts").await, 200).await;
    assert_eq!(all["data"].as_array().expect("data").len(), 2);
    let theirs = json_with_status(
        app.get(
            &b.admin,
            &format!("/api/v1/contracts?client_id={}", b.client_id),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(theirs["data"].as_array().expect("data").len(), 1);

    // Another tenant sees none of it.
    let stranger = app.tenant("strangers").await;
    json_with_status(
        app.get(
            &stranger.admin_key,
            &format!("/api/v1/contracts/{}", id(&contract)),
        )
        .await,
        404,
    )
    .await;
    json_with_status(
        app.get(
            &stranger.admin_key,
            &format!("/api/v1/services/{}", b.support),
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn usage_is_recorded_exactly_for_usage_services_only() {
    let app = TestApp::spawn().await;
    let b = books(&app, "usage").await;
    let record = created(
        &app,
        &b.admin,
        "/api/v1/usage-records",
        json!({"client_id": b.client_id, "service_id": b.backup, "quantity": "12.345678", "recorded_on": "2026-11-30", "note": "meter 7"}),
    )
    .await;
    assert_eq!(
        record["quantity"], "12.345678",
        "exact, as a decimal string"
    );
    assert_eq!(record["invoice_id"], Value::Null);
    created(
        &app,
        &b.admin,
        "/api/v1/usage-records",
        json!({"client_id": b.client_id, "service_id": b.backup, "quantity": "0.5", "recorded_on": "2026-12-01"}),
    )
    .await;
    let hourly = json_with_status(
        app.post(&b.admin, "/api/v1/usage-records",
                 &json!({"client_id": b.client_id, "service_id": b.support, "quantity": "1", "recorded_on": "2026-11-30"})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&hourly), vec!["service_id"]);
    let bad = json_with_status(
        app.post(
            &b.admin,
            "/api/v1/usage-records",
            &json!({"client_id": b.client_id, "service_id": b.backup, "quantity": "-2"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["quantity", "recorded_on"]);
    let november = json_with_status(
        app.get(
            &b.admin,
            &format!(
                "/api/v1/usage-records?client_id={}&from=2026-11-01&to=2026-12-01",
                b.client_id
            ),
        )
        .await,
        200,
    )
    .await;
    let quantities: Vec<&str> = november["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|r| r["quantity"].as_str())
        .collect();
    assert_eq!(quantities, vec!["12.345678"]);
    json_with_status(app.get(&b.tech, "/api/v1/usage-records").await, 403).await;
}

#[tokio::test]
async fn a_service_changes_but_keeps_the_prices_running_contracts_bill_at() {
    let app = TestApp::spawn().await;
    let b = books(&app, "service-edits").await;
    let path = format!("/api/v1/services/{}", b.support);
    created(
        &app,
        &b.admin,
        "/api/v1/contracts",
        json!({"client_id": b.client_id, "starts_on": "2026-01-01", "lines": [{"kind": "hourly", "service_id": b.support}]}),
    )
    .await;
    // The contract bills USD at the catalogue price: the USD price must stay.
    let refused = json_with_status(
        app.patch(
            &b.admin,
            &path,
            &json!({"prices": [{"currency": "EUR", "rate_cents": 11500}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["prices"]);
    let changed = json_with_status(
        app.patch(
            &b.admin,
            &path,
            &json!({"name": "Remote support (business hours)", "tax_category": null,
                                          "prices": [{"currency": "USD", "rate_cents": 13000}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["rate_cents"], 13000);
    assert_eq!(changed["tax_category"], Value::Null);
    assert_eq!(changed["kind"], "hourly", "the kind never changes");
    assert_eq!(changed["prices"].as_array().expect("prices").len(), 1);
    let archived = json_with_status(
        app.patch(&b.admin, &path, &json!({"is_archived": true}))
            .await,
        200,
    )
    .await;
    assert_eq!(archived["is_archived"], true);
    assert_eq!(
        archived["name"], "Remote support (business hours)",
        "untouched keys stay"
    );
    let kind = json_with_status(
        app.patch(&b.admin, &path, &json!({"kind": "fixed"})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&kind), vec!["kind"]);
    json_with_status(
        app.patch(&b.tech, &path, &json!({"name": "Mine"})).await,
        403,
    )
    .await;
    let dates = json_with_status(
        app.get(&b.admin, "/api/v1/usage-records?from=0900-01-01")
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&dates), vec!["from"]);
}

#[tokio::test]
async fn usage_csv_imports_all_rows_or_none_and_needs_the_billing_permission() {
    let app = TestApp::spawn().await;
    let b = books(&app, "usage-import").await;
    let finance_id = app
        .user(b.tenant, "finance@usage-import.test", "Finance")
        .await;
    let finance = app.api_key(b.tenant, finance_id).await;
    let good = format!(
        "client_name,service_name,service_id,quantity,recorded_on,note\n\
         initech,backup storage,,12.5,2026-11-03,meter 7\n\
         Initech,,{backup},0.000001,2026-11-04,\n\
         Initech,Backup storage,,12.5,2026-11-03,meter 7\n",
        backup = b.backup
    );
    let bad = format!(
        "{good}Nobody Ltd,Backup storage,,1,2026-11-05,\n\
         Initech,Remote support,,2,2026-11-05,\n\
         Initech,Backup storage,,1e3,2026-11-05,\n\
         Initech,Tape vault,,1,2026-11-05,\n"
    );

    let refused = json_with_status(
        app.post_csv(&finance, "/api/v1/imports/usage", bad).await,
        422,
    )
    .await;
    let invalid: Vec<(u64, &str)> = refused["invalid"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|i| (i["line"].as_u64().unwrap(), i["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        invalid,
        vec![
            (5, "client_name"),
            (6, "service_name"),
            (7, "quantity"),
            (8, "service_name")
        ]
    );
    assert_eq!(refused["imported"], 0);
    assert!(refused["invalid"][1]["message"]
        .as_str()
        .unwrap()
        .contains("hourly service"));
    let listed = |key: String| {
        let app = &app;
        async move {
            let page = json_with_status(app.get(&key, "/api/v1/usage-records").await, 200).await;
            let mut quantities: Vec<String> = page["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["recorded_on"].as_str().unwrap(),
                        r["quantity"].as_str().unwrap()
                    )
                })
                .collect();
            quantities.sort();
            quantities
        }
    };
    assert!(
        listed(finance.clone()).await.is_empty(),
        "a refused file writes nothing"
    );

    json_with_status(
        app.post_csv(&b.tech, "/api/v1/imports/usage", good.clone())
            .await,
        403,
    )
    .await;
    json_with_status(
        app.post_csv(&finance, "/api/v1/imports/clients", "name\nAcme\n".into())
            .await,
        403,
    )
    .await;

    let report = json_with_status(
        app.post_csv(&finance, "/api/v1/imports/usage", good).await,
        200,
    )
    .await;
    assert_eq!(
        (report["kind"].as_str(), report["imported"].as_u64()),
        (Some("usage"), Some(3))
    );
    assert_eq!(
        listed(finance.clone()).await,
        vec![
            "2026-11-03 12.500000",
            "2026-11-03 12.500000",
            "2026-11-04 0.000001"
        ],
        "a repeated reading is a second reading"
    );
    let audit = json_with_status(app.get(&b.admin, "/api/v1/audit-log?limit=200").await, 200).await;
    let lines: Vec<u64> = audit["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|e| e["action"] == "usage.recorded")
        .filter_map(|e| e["details"]["import_line"].as_u64())
        .collect();
    assert_eq!(lines.len(), 3, "one audit entry per imported row: {audit}");
}
