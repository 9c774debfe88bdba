//! Invoices and the ledger against real Postgres: a manual invoice taxed and
//! finalized (number, due date, credit soonest-expiring first), immutable after,
//! paid in parts with the surplus kept as credit, negative and voided invoices,
//! and a ledger that reconciles with the documents at every step.

use super::{books, created, error_fields, id};
use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::{json, Value};

async fn reconciles(app: &TestApp, key: &str) {
    let books = json_with_status(app.get(key, "/api/v1/billing/reconciliation").await, 200).await;
    assert_eq!(books["balanced"], true, "{books}");
}

async fn balance(app: &TestApp, key: &str, client: &str) -> (i64, i64) {
    let b = json_with_status(
        app.get(key, &format!("/api/v1/clients/{client}/balance"))
            .await,
        200,
    )
    .await;
    (
        b["balance_cents"].as_i64().expect("balance"),
        b["credit_cents"].as_i64().expect("credit"),
    )
}

#[tokio::test]
async fn a_manual_invoice_is_taxed_finalized_with_credit_paid_and_reconciled() {
    let app = TestApp::spawn().await;
    let b = books(&app, "ledger").await;
    let admin = &b.admin;
    created(
        &app,
        admin,
        "/api/v1/tax-regions",
        json!({"code": "US-NY", "name": "New York"}),
    )
    .await;
    created(
        &app,
        admin,
        "/api/v1/tax-rates",
        json!({"region_code": "US-NY", "starts_on": "2024-01-01", "components": [
            {"name": "State", "percent": "4", "is_compound": false, "sequence": 1},
            {"name": "City", "percent": "4.875", "is_compound": false, "sequence": 2}]}),
    )
    .await;
    let client = id(&created(
        &app,
        admin,
        "/api/v1/clients",
        json!({"name": "Globex", "currency": "USD", "tax_region": "US-NY", "payment_terms": "net_30"}),
    )
    .await);
    // Two credits: the one expiring first is used first.
    let later = created(
        &app,
        admin,
        "/api/v1/credits",
        json!({"client_id": client, "amount_cents": 3000, "reason": "Prepaid"}),
    )
    .await;
    let sooner = created(&app, admin, "/api/v1/credits",
        json!({"client_id": client, "amount_cents": 5000, "expires_on": "2099-01-01", "reason": "Goodwill"})).await;
    assert_eq!(balance(&app, admin, &client).await, (0, 8000));

    let draft = created(
        &app,
        admin,
        "/api/v1/invoices/manual",
        json!({"client_id": client, "invoice_date": "2025-01-31", "lines": [
            {"description": "Onboarding", "quantity": "3", "unit_price_cents": 10000, "tax_category": "services"},
            {"description": "Workstations", "service_id": b.managed, "quantity": "2"},
            {"description": "Cable", "unit_price_cents": 1999}]}),
    )
    .await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["number"], Value::Null);
    assert_eq!(draft["subtotal_cents"], 30000 + 9000 + 1999);
    // 8.875 % of the taxable 39000 is 3461.25: rounded up, split by share.
    assert_eq!(draft["tax_cents"], 3462);
    let taxes: Vec<i64> = draft["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["tax_cents"].as_i64().expect("tax"))
        .collect();
    assert_eq!(
        taxes,
        vec![2663, 799, 0],
        "floor of each share, the rest on the last"
    );
    assert_eq!(draft["total_cents"], 44461);
    assert_eq!(
        draft["lines"][1]["unit_price_cents"], 4500,
        "the catalogue price fills in"
    );
    assert_eq!(draft["lines"][0]["source"]["kind"], "manual");
    let invoice = id(&draft);
    // A draft can change; its totals follow.
    let changed = json_with_status(
        app.patch(
            admin,
            &format!("/api/v1/invoices/{invoice}"),
            &json!({"notes": "Thank you"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["notes"], "Thank you");
    assert_eq!(changed["total_cents"], 44461);

    let finalized = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(finalized["status"], "finalized");
    assert_eq!(finalized["number"], "INV-000001");
    assert_eq!(finalized["due_on"], "2025-03-02", "net_30 from 2025-01-31");
    assert_eq!(finalized["credit_applied_cents"], 8000);
    assert_eq!(finalized["balance_due_cents"], 44461 - 8000);
    assert_eq!(balance(&app, admin, &client).await, (36461, 0));
    reconciles(&app, admin).await;
    let credits = json_with_status(
        app.get(admin, &format!("/api/v1/credits?client_id={client}"))
            .await,
        200,
    )
    .await;
    let left: Vec<(String, i64)> = credits
        .as_array()
        .expect("credits")
        .iter()
        .map(|c| (id(c), c["remaining_cents"].as_i64().expect("remaining")))
        .collect();
    assert!(
        left.contains(&(id(&sooner), 0)) && left.contains(&(id(&later), 0)),
        "{left:?}"
    );

    // Finalized means immutable: a second finalize, an edit, a void of a void.
    let again = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/finalize"),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    assert!(again["detail"]
        .as_str()
        .expect("detail")
        .contains("already finalized"));
    json_with_status(
        app.patch(
            admin,
            &format!("/api/v1/invoices/{invoice}"),
            &json!({"lines": []}),
        )
        .await,
        409,
    )
    .await;

    // Paid in two parts; the surplus of the second becomes credit.
    let part = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/payments"),
            &json!({"amount_cents": 20000, "received_on": "2025-02-10", "reference": "ACH 1"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(part["invoice"]["status"], "finalized");
    assert_eq!(part["invoice"]["balance_due_cents"], 16461);
    assert_eq!(part["credit"], Value::Null);
    let rest = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/payments"),
            &json!({"amount_cents": 20000}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(rest["invoice"]["status"], "paid");
    assert_eq!(rest["credit"]["amount_cents"], 20000 - 16461);
    assert_eq!(balance(&app, admin, &client).await, (0, 3539));
    json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/payments"),
            &json!({"amount_cents": 100}),
        )
        .await,
        409,
    )
    .await;
    reconciles(&app, admin).await;

    // A refund invoice totals below zero: finalizing turns it into credit.
    let refund = id(&created(
        &app,
        admin,
        "/api/v1/invoices/manual",
        json!({"client_id": client, "lines": [
        {"description": "Refund: unused licence", "quantity": "-1", "unit_price_cents": 2000}]}),
    )
    .await);
    let refunded = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{refund}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(refunded["number"], "INV-000002", "numbers have no gaps");
    assert_eq!(refunded["status"], "paid");
    assert_eq!(balance(&app, admin, &client).await, (0, 5539));

    // Voiding a finalized invoice: it is no longer owed and its credit comes back.
    let third = id(&created(
        &app,
        admin,
        "/api/v1/invoices/manual",
        json!({"client_id": client, "lines": [
        {"description": "Project", "unit_price_cents": 10000}]}),
    )
    .await);
    let third_final = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{third}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(third_final["credit_applied_cents"], 5539);
    assert_eq!(balance(&app, admin, &client).await, (10000 - 5539, 0));
    let voided = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{third}/void"),
            &json!({"reason": "Billed twice"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(voided["status"], "void");
    assert_eq!(balance(&app, admin, &client).await, (0, 5539));
    json_with_status(
        app.post(admin, &format!("/api/v1/invoices/{third}/void"), &json!({}))
            .await,
        409,
    )
    .await;
    reconciles(&app, admin).await;
    let ledger = json_with_status(
        app.get(
            admin,
            &format!("/api/v1/clients/{client}/transactions?limit=200"),
        )
        .await,
        200,
    )
    .await;
    let kinds: Vec<&str> = ledger["data"]
        .as_array()
        .expect("data")
        .iter()
        .rev()
        .map(|t| t["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "credit_issued",
            "credit_issued",
            "invoice_finalized",
            "credit_applied",
            "credit_applied",
            "payment",
            "payment",
            "credit_issued",
            "invoice_finalized",
            "credit_issued",
            "invoice_finalized",
            "credit_applied",
            "credit_applied",
            "invoice_voided",
            "credit_issued",
        ]
    );
    let sum: i64 = ledger["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|t| t["amount_cents"].as_i64().expect("amount"))
        .sum();
    assert_eq!(
        sum,
        ledger["data"][0]["balance_after_cents"]
            .as_i64()
            .expect("after")
    );

    // The database refuses what the API would: a finalized invoice's money, the ledger.
    use diesel_async::RunQueryDsl;
    let mut owner = app.db.owner().await;
    let tampered = diesel::sql_query(format!(
        "UPDATE invoices SET subtotal_cents = 1, total_cents = 1 + tax_cents WHERE id = '{invoice}'"
    ))
    .execute(&mut owner)
    .await;
    assert!(
        tampered.is_err(),
        "a finalized invoice's totals must not change"
    );
    let mut app_role = app.db.app_role().await;
    let rewritten = diesel::sql_query("UPDATE transactions SET amount_cents = 0")
        .execute(&mut app_role)
        .await;
    assert!(rewritten.is_err(), "the ledger is append-only");
}

#[tokio::test]
async fn bad_invoice_input_is_refused_with_the_field() {
    let app = TestApp::spawn().await;
    let b = books(&app, "badinvoice").await;
    let admin = &b.admin;
    let none = json_with_status(
        app.post(
            admin,
            "/api/v1/invoices/manual",
            &json!({"client_id": b.client_id, "lines": []}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&none), vec!["lines"]);
    // No price anywhere: an error, never a silent zero.
    let unpriced = json_with_status(
        app.post(
            admin,
            "/api/v1/invoices/manual",
            &json!({"client_id": b.client_id, "lines": [
            {"description": "Backup", "service_id": b.backup, "quantity": "10"}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&unpriced), vec!["lines[0].unit_price_cents"]);
    let bad = json_with_status(
        app.post(
            admin,
            "/api/v1/invoices/manual",
            &json!({"client_id": b.client_id, "currency": "usd!", "lines": [
            {"description": "", "quantity": "0", "unit_price_cents": 5}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        vec!["currency", "lines[0].description", "lines[0].quantity"]
    );
    let draft = id(&created(
        &app,
        admin,
        "/api/v1/invoices/manual",
        json!({"client_id": b.client_id, "lines": [
        {"description": "Hardware", "unit_price_cents": 5000}]}),
    )
    .await);
    json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{draft}/payments"),
            &json!({"amount_cents": 5000}),
        )
        .await,
        409,
    )
    .await;
    let zero = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{draft}/payments"),
            &json!({"amount_cents": 0}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&zero), vec!["amount_cents"]);
    json_with_status(
        app.post(
            admin,
            "/api/v1/invoices/00000000-0000-7000-8000-000000000000/finalize",
            &json!({}),
        )
        .await,
        404,
    )
    .await;
    let credit = json_with_status(
        app.post(
            admin,
            "/api/v1/credits",
            &json!({"client_id": b.client_id, "amount_cents": -1}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&credit), vec!["amount_cents", "reason"]);
    json_with_status(app.get(admin, "/api/v1/invoices?status=open").await, 422).await;
    // A technician sees no invoices.
    json_with_status(app.get(&b.tech, "/api/v1/invoices").await, 403).await;
    // A draft's typed lines can be replaced and are priced again.
    let changed = json_with_status(
        app.patch(
            admin,
            &format!("/api/v1/invoices/{draft}"),
            &json!({"lines": [
            {"description": "Hardware", "unit_price_cents": 5000, "quantity": "2"}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["total_cents"], 10000);
    assert_eq!(changed["lines"].as_array().expect("lines").len(), 1);
}
