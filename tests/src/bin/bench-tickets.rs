//! End-to-end figures for tickets and their SLA workflows: tickets created per second
//! through the API, how fast the worker starts their TicketSla workflows (the
//! Temporal backlog must drain), and the worker's memory with all of them asleep.
//! Used by `scripts/bench.sh`.
//!
//! Environment: `DATABASE_URL` (owner, to watch the SLA columns), `KEEL_URL`,
//! `KEEL_KEY`, `BENCH_TENANT`, `BENCH_WORKER_PID`, optional `BENCH_TICKETS` (10000)
//! and `BENCH_CONCURRENCY` (50).

use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
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

#[tokio::main]
async fn main() {
    let tickets = number("BENCH_TICKETS", 10_000);
    let concurrency = number("BENCH_CONCURRENCY", 50);
    let base = env("KEEL_URL");
    let key = env("KEEL_KEY");
    let tenant = Uuid::parse_str(&env("BENCH_TENANT")).expect("tenant id");
    let http = reqwest::Client::new();

    // A day-long resolution target: every workflow goes to sleep on its timer.
    let policy = serde_json::json!({"name": "Bench", "is_default": true,
        "targets": [{"priority": "Medium", "response_minutes": 240, "resolution_minutes": 1440}]});
    let created = http
        .post(format!("{base}/api/v1/sla-policies"))
        .bearer_auth(&key)
        .json(&policy)
        .send()
        .await
        .expect("policy");
    assert!(
        created.status().is_success() || created.status() == 422,
        "policy: {}",
        created.status()
    );
    let client: serde_json::Value = http
        .post(format!("{base}/api/v1/clients"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "Bench ticket client"}))
        .send()
        .await
        .expect("client")
        .json()
        .await
        .expect("client json");
    let client_id = client["id"].as_str().expect("client id").to_owned();

    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..tickets)
        .map(|i| {
            let http = &http;
            let key = &key;
            let base = &base;
            let client_id = &client_id;
            async move {
                let t = Instant::now();
                let response = http
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(key)
                    .json(&serde_json::json!({"client_id": client_id, "title": format!("Bench ticket {i}")}))
                    .send()
                    .await
                    .expect("ticket");
                assert_eq!(response.status(), 201, "ticket {i}");
                response.bytes().await.expect("body");
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let created_in = started.elapsed();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "POST /tickets x{tickets} at concurrency {concurrency}: {:.0} tickets/s, p50 {:.1} ms, p99 {:.1} ms",
        tickets as f64 / created_in.as_secs_f64(),
        p(0.5),
        p(0.99)
    );

    let mut db = AsyncPgConnection::establish(&env("DATABASE_URL"))
        .await
        .expect("db");
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let running: Count = diesel::sql_query(
            "SELECT count(*) AS count FROM tickets WHERE tenant = $1 AND sla_state <> 'pending'",
        )
        .bind::<SqlUuid, _>(tenant)
        .get_result(&mut db)
        .await
        .expect("count");
        if running.count as usize >= tickets {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {tickets} SLA workflows started",
            running.count
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let drained = started.elapsed();
    println!(
        "SLA workflows running for all {tickets} tickets after {:.1}s: {:.0} workflows/s end to end (event → starter → Temporal → worker → SLA columns)",
        drained.as_secs_f64(),
        tickets as f64 / drained.as_secs_f64()
    );
    if let Ok(pid) = std::env::var("BENCH_WORKER_PID") {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS"))
            .unwrap_or("VmRSS: ?")
            .to_owned();
        println!("worker with {tickets} sleeping SLA workflows (sticky cache 1000): {rss}");
    }
}
