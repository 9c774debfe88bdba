//! End-to-end figure for a billing run: 10,000 clients with 3 contract lines
//! each (fixed, hourly, usage) and 300,000 approved time entries, billed through
//! Keel's path (API → Temporal → worker batches → Postgres), next to the
//! set-based SQL floor measured in the same run: one statement set that
//! aggregates the same time and usage and inserts the same number of invoices
//! and lines (rolled back). Used by `scripts/bench.sh`.
//!
//! Environment: `DATABASE_URL` (owner), `KEEL_URL`, `KEEL_KEY` and `BENCH_TENANT`
//! of a tenant of its own; optional `BENCH_CLIENTS` (10000),
//! `BENCH_ENTRIES_PER_CLIENT` (30), `BENCH_BATCH_SIZE` (250).

use diesel::sql_types::{BigInt, Double, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(diesel::QueryableByName)]
struct StepTimes {
    #[diesel(sql_type = BigInt)]
    steps: i64,
    #[diesel(sql_type = Double)]
    seconds: f64,
    #[diesel(sql_type = Double)]
    slowest: f64,
}

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None).await
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

/// The catalogue and one contract made through the API; the other clients are
/// copies of it made in SQL (seeding 300,000 entries through HTTP would measure
/// the seeding).
async fn seed(
    api: &Api,
    db: &mut AsyncPgConnection,
    tenant: Uuid,
    clients: usize,
    per_client: usize,
) {
    let managed = id(&api
        .post(
            "/api/v1/services",
            json!({"name": "Bench managed", "kind": "fixed", "rate_cents": 4500}),
        )
        .await);
    let support = id(&api
        .post(
            "/api/v1/services",
            json!({"name": "Bench support", "kind": "hourly", "rate_cents": 12500}),
        )
        .await);
    let backup = id(&api
        .post(
            "/api/v1/services",
            json!({"name": "Bench backup", "kind": "usage", "unit": "GB", "rate_cents": 25}),
        )
        .await);
    let template = id(&api
        .post(
            "/api/v1/clients",
            json!({"name": "Bench billed 0", "currency": "USD"}),
        )
        .await);
    let contract = id(&api
        .post(
            "/api/v1/contracts",
            json!({"client_id": template, "starts_on": "2026-01-01", "lines": [
        {"kind": "fixed", "service_id": managed, "quantity": "5", "billing_timing": "arrears"},
        {"kind": "hourly", "service_id": support},
        {"kind": "usage", "service_id": backup}]}),
        )
        .await);
    let started = Instant::now();
    let script = format!(
        "BEGIN;
         CREATE TEMP TABLE bench_clients AS
           SELECT gen_random_uuid() AS id, gen_random_uuid() AS contract_id, i
           FROM generate_series(1, {copies}) AS i;
         INSERT INTO clients (tenant, id, name, currency)
           SELECT '{tenant}', id, 'Bench billed ' || i, 'USD' FROM bench_clients;
         INSERT INTO contracts (tenant, id, client_id, name, currency, starts_on, ends_on, billing_frequency, anchor)
           SELECT c.tenant, b.contract_id, b.id, c.name, c.currency, c.starts_on, c.ends_on, c.billing_frequency, c.anchor
           FROM bench_clients b, contracts c WHERE c.id = '{contract}';
         INSERT INTO contract_lines (tenant, id, contract_id, position, kind, service_id, billing_timing, rate_cents, terms)
           SELECT l.tenant, gen_random_uuid(), b.contract_id, l.position, l.kind, l.service_id, l.billing_timing, l.rate_cents, l.terms
           FROM bench_clients b, contract_lines l WHERE l.contract_id = '{contract}';
         INSERT INTO bench_clients VALUES ('{template}', '{contract}', 0);
         INSERT INTO timesheets (tenant, id, user_id, period_start, period_end, status)
           SELECT '{tenant}', gen_random_uuid(), id, '2026-01-01', '2026-02-01', 'APPROVED'
           FROM users WHERE tenant = '{tenant}' LIMIT 1;
         INSERT INTO time_entries (tenant, id, user_id, timesheet_id, client_id, work_date, minutes,
                                   billable_minutes, service_id, approval_status)
           SELECT '{tenant}', gen_random_uuid(), t.user_id, t.id, b.id, date '2026-01-01' + (n % 28),
                  45, 45, '{support}', 'APPROVED'
           FROM bench_clients b, generate_series(1, {per_client}) AS n, timesheets t WHERE t.tenant = '{tenant}';
         INSERT INTO usage_records (tenant, id, client_id, service_id, quantity, recorded_on)
           SELECT '{tenant}', gen_random_uuid(), b.id, '{backup}', 100, '2026-01-15' FROM bench_clients b;
         COMMIT;
         ANALYZE clients; ANALYZE contracts; ANALYZE contract_lines; ANALYZE time_entries; ANALYZE usage_records;",
        copies = clients - 1,
    );
    db.batch_execute(&script).await.expect("seed");
    let entries: Count =
        diesel::sql_query("SELECT count(*) AS count FROM time_entries WHERE tenant = $1")
            .bind::<SqlUuid, _>(tenant)
            .get_result(db)
            .await
            .expect("count");
    println!(
        "seeded {clients} clients with 3 contract lines each and {} approved time entries in {:.1}s",
        entries.count,
        started.elapsed().as_secs_f64()
    );
}

/// The floor: the same aggregation and the same inserts as set-based SQL, in
/// one transaction that is rolled back so Keel's run finds the data untouched.
async fn floor(db: &mut AsyncPgConnection, tenant: Uuid) -> Duration {
    let script = format!(
        "BEGIN;
         CREATE TEMP TABLE floor_invoices ON COMMIT DROP AS
           SELECT c.client_id, gen_random_uuid() AS invoice_id,
                  coalesce(t.minutes, 0) AS minutes, coalesce(u.quantity, 0) AS quantity
           FROM (SELECT DISTINCT client_id FROM contracts WHERE tenant = '{tenant}') c
           LEFT JOIN (SELECT client_id, sum(billable_minutes) AS minutes FROM time_entries
                      WHERE tenant = '{tenant}' AND approval_status = 'APPROVED' AND invoice_id IS NULL
                        AND deleted_at IS NULL AND work_date < '2026-02-01' GROUP BY client_id) t USING (client_id)
           LEFT JOIN (SELECT client_id, sum(quantity) AS quantity FROM usage_records
                      WHERE tenant = '{tenant}' AND invoice_id IS NULL AND recorded_on < '2026-02-01'
                      GROUP BY client_id) u USING (client_id);
         INSERT INTO invoices (tenant, id, client_id, origin, currency, invoice_date, period_start, period_end,
                               subtotal_cents, tax_cents, total_cents)
           SELECT '{tenant}', invoice_id, client_id, 'billing_run', 'USD', '2026-02-01', '2026-01-01', '2026-02-01',
                  22500 + minutes * 12500 / 60 + round(quantity * 25)::bigint, 0,
                  22500 + minutes * 12500 / 60 + round(quantity * 25)::bigint
           FROM floor_invoices;
         INSERT INTO invoice_lines (tenant, id, invoice_id, position, description, service_id, quantity,
                                    unit_price_cents, amount_cents, tax_cents, service_start, service_end, source)
           SELECT '{tenant}', gen_random_uuid(), invoice_id, k, 'line ' || k, NULL, 1,
                  CASE k WHEN 0 THEN 22500 WHEN 1 THEN minutes * 12500 / 60 ELSE round(quantity * 25)::bigint END,
                  CASE k WHEN 0 THEN 22500 WHEN 1 THEN minutes * 12500 / 60 ELSE round(quantity * 25)::bigint END,
                  0, '2026-01-01', '2026-02-01', '{{\"kind\": \"manual\"}}'
           FROM floor_invoices, generate_series(0, 2) AS k;
         UPDATE time_entries t SET invoice_id = f.invoice_id FROM floor_invoices f
           WHERE t.client_id = f.client_id AND t.tenant = '{tenant}' AND t.invoice_id IS NULL;
         UPDATE usage_records u SET invoice_id = f.invoice_id FROM floor_invoices f
           WHERE u.client_id = f.client_id AND u.tenant = '{tenant}' AND u.invoice_id IS NULL;
         ROLLBACK;"
    );
    let started = Instant::now();
    db.batch_execute(&script).await.expect("floor");
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let clients = number("BENCH_CLIENTS", 10_000);
    let per_client = number("BENCH_ENTRIES_PER_CLIENT", 30);
    let batch = number("BENCH_BATCH_SIZE", 250);
    let tenant = Uuid::parse_str(&env("BENCH_TENANT")).expect("tenant id");
    let api = Api {
        http: reqwest::Client::new(),
        base: env("KEEL_URL"),
        key: env("KEEL_KEY"),
    };
    let mut db = AsyncPgConnection::establish(&env("DATABASE_URL"))
        .await
        .expect("db");
    seed(&api, &mut db, tenant, clients, per_client).await;
    // Warm the caches the same way for both.
    floor(&mut db, tenant).await;
    let floor_time = floor(&mut db, tenant).await;
    println!(
        "SQL floor: {clients} invoices and {} lines from {} entries in {:.2}s",
        clients * 3,
        clients * per_client,
        floor_time.as_secs_f64()
    );

    let started = Instant::now();
    let run = api
        .post(
            "/api/v1/billing-runs",
            json!({"period_end": "2026-02-01", "batch_size": batch}),
        )
        .await;
    let run_id = run["run_id"].as_str().expect("run id").to_owned();
    let result = loop {
        let run = api.get(&format!("/api/v1/workflow-runs/{run_id}")).await;
        match run["status"].as_str() {
            Some("running") => tokio::time::sleep(Duration::from_millis(200)).await,
            Some("completed") => break run["result"].clone(),
            other => panic!("billing run ended {other:?}: {run}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "billing run still running after an hour"
        );
    };
    let keel_time = started.elapsed();
    assert_eq!(
        result["invoices"].as_u64(),
        Some(clients as u64),
        "{result}"
    );
    let lines: Count =
        diesel::sql_query("SELECT count(*) AS count FROM invoice_lines WHERE tenant = $1")
            .bind::<SqlUuid, _>(tenant)
            .get_result(&mut db)
            .await
            .expect("lines");
    let steps: StepTimes = diesel::sql_query(
        "SELECT count(*) AS steps,
                coalesce(extract(epoch FROM sum(closed_at - started_at)), 0)::float8 AS seconds,
                coalesce(extract(epoch FROM max(closed_at - started_at)), 0)::float8 AS slowest
         FROM workflow_run_steps WHERE run_id = $1 AND name LIKE 'bill_clients.%' AND status = 'completed'",
    )
    .bind::<SqlUuid, _>(Uuid::parse_str(&run_id).expect("run uuid"))
    .get_result(&mut db)
    .await
    .expect("steps");
    println!(
        "Keel billing run: {clients} clients, {} invoices, {} lines in {:.2}s end to end ({:.0} clients/s) = {:.1}x the SQL floor",
        result["invoices"], lines.count, keel_time.as_secs_f64(),
        clients as f64 / keel_time.as_secs_f64(),
        keel_time.as_secs_f64() / floor_time.as_secs_f64()
    );
    println!(
        "  where the time goes: {} batch activities of {batch} clients took {:.2}s together (slowest {:.2}s); the other {:.2}s are Temporal scheduling, the plan step and polling",
        steps.steps, steps.seconds, steps.slowest, (keel_time.as_secs_f64() - steps.seconds).max(0.0)
    );
}
