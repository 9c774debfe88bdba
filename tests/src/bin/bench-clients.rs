//! End-to-end figures for clients and contacts (issue: search over 100,000 clients
//! and 300,000 contacts, deep cursor pagination, CSV import). Used by
//! `scripts/bench.sh`; prints one line per measurement.
//!
//! Environment: `DATABASE_URL` (owner, for seeding), `KEEL_URL`, `KEEL_KEY`,
//! `BENCH_TENANT` (tenant id), optional `BENCH_CLIENTS` (default 100000).

use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use std::time::{Duration, Instant};
use uuid::Uuid;

const FIRST: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Zürich",
    "Müller",
    "Crème",
    "Nordic",
    "Pacific",
    "Summit",
    "Harbor",
    "Orchid",
    "Granite",
    "Maple",
    "Cedar",
    "Falcon",
    "Beacon",
];
const SECOND: &[&str] = &[
    "Dental",
    "Legal",
    "Logistics",
    "Bakery",
    "Clinic",
    "Partners",
    "Holdings",
    "Labs",
    "Studio",
    "Foods",
    "Motors",
    "Realty",
    "Systems",
    "Capital",
    "Pharmacy",
    "Architects",
];
const GIVEN: &[&str] = &[
    "Ann", "Bob", "Chloé", "Dana", "Émile", "Farah", "Greg", "Hana", "Ivan", "Jules", "Kai",
    "Lena", "Marco", "Nina", "Omar", "Pia",
];

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

#[tokio::main]
async fn main() {
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tenant = Uuid::parse_str(&env("BENCH_TENANT")).expect("BENCH_TENANT is a uuid");
    let base = env("KEEL_URL");
    let key = env("KEEL_KEY");
    let http = reqwest::Client::new();

    let seeded = Instant::now();
    seed(&env("DATABASE_URL"), tenant, clients).await;
    println!(
        "seeded {clients} clients and {} contacts in {:.1}s",
        clients * 3,
        seeded.elapsed().as_secs_f64()
    );

    let prefixes = [
        "acm", "glo", "den", "leg", "zur", "mul", "cre", "sum", "lab", "cli", "har", "fal",
    ];
    let base_url = base.as_str();
    let search = |resource: &'static str| {
        prefixes
            .iter()
            .cycle()
            .take(240)
            .map(move |p| format!("{base_url}/api/v1/{resource}?q={p}"))
            .collect::<Vec<_>>()
    };
    report(
        "GET /clients?q=<3 letters>",
        &measure(&http, &key, search("clients"), 4).await,
    );
    report(
        "GET /contacts?q=<3 letters>",
        &measure(&http, &key, search("contacts"), 4).await,
    );

    let (first, deep) = paginate(&http, &key, &base, 1000).await;
    report("GET /clients pages 1-10", &first);
    report("GET /clients pages 991-1000", &deep);

    import(&http, &key, &base, 10_000).await;
}

/// Inserts `clients` clients and three contacts each, in batches through `unnest`.
async fn seed(owner_url: &str, tenant: Uuid, clients: usize) {
    let mut conn = AsyncPgConnection::establish(owner_url)
        .await
        .expect("owner connection");
    const BATCH: usize = 5_000;
    for start in (0..clients).step_by(BATCH) {
        let end = (start + BATCH).min(clients);
        let ids: Vec<Uuid> = (start..end).map(|_| Uuid::now_v7()).collect();
        let names: Vec<String> = (start..end)
            .map(|i| {
                format!(
                    "{} {} {i}",
                    FIRST[i % FIRST.len()],
                    SECOND[(i / FIRST.len()) % SECOND.len()]
                )
            })
            .collect();
        let emails: Vec<String> = (start..end)
            .map(|i| format!("billing{i}@client{i}.example"))
            .collect();
        diesel::sql_query(
            "INSERT INTO clients (tenant, id, name, billing_email, currency)
             SELECT $1, id, name, email, 'USD' FROM unnest($2::uuid[], $3::text[], $4::text[]) AS t(id, name, email)",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&names)
        .bind::<Array<Text>, _>(&emails)
        .execute(&mut conn)
        .await
        .expect("seed clients");
        let mut contact_ids = Vec::with_capacity(ids.len() * 3);
        let mut owners = Vec::with_capacity(ids.len() * 3);
        let mut full_names = Vec::with_capacity(ids.len() * 3);
        let mut addresses = Vec::with_capacity(ids.len() * 3);
        for (offset, client) in ids.iter().enumerate() {
            for n in 0..3 {
                let i = (start + offset) * 3 + n;
                contact_ids.push(Uuid::now_v7());
                owners.push(*client);
                full_names.push(format!(
                    "{} {}",
                    GIVEN[i % GIVEN.len()],
                    FIRST[(i / 7) % FIRST.len()]
                ));
                addresses.push(format!("person{i}@client{}.example", start + offset));
            }
        }
        diesel::sql_query(
            "INSERT INTO contacts (tenant, id, client_id, full_name, email, emails)
             SELECT $1, id, client, name, email,
                    jsonb_build_array(jsonb_build_object('kind', 'work', 'address', email, 'is_primary', true))
               FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[]) AS t(id, client, name, email)",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(&contact_ids)
        .bind::<Array<SqlUuid>, _>(&owners)
        .bind::<Array<Text>, _>(&full_names)
        .bind::<Array<Text>, _>(&addresses)
        .execute(&mut conn)
        .await
        .expect("seed contacts");
    }
    conn.batch_execute("ANALYZE clients; ANALYZE contacts;")
        .await
        .expect("analyze");
}

/// Latencies of GETs of `urls`, `concurrency` at a time.
async fn measure(
    http: &reqwest::Client,
    key: &str,
    urls: Vec<String>,
    concurrency: usize,
) -> Vec<Duration> {
    use futures::StreamExt;
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(urls)
        .map(|url| async move {
            let t = Instant::now();
            let response = http
                .get(&url)
                .bearer_auth(key)
                .send()
                .await
                .expect("request");
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.bytes().await.expect("body");
            t.elapsed()
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "  ({} requests at concurrency {concurrency}: {:.0} req/s)",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(name: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    println!(
        "{name:<32} p50 {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&sorted, 0.50).as_secs_f64() * 1e3,
        percentile(&sorted, 0.99).as_secs_f64() * 1e3
    );
}

/// Walks `pages` pages of 50 by cursor; answers the latencies of the first and last ten.
async fn paginate(
    http: &reqwest::Client,
    key: &str,
    base: &str,
    pages: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut latencies = Vec::with_capacity(pages);
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let url = match &cursor {
            Some(c) => format!("{base}/api/v1/clients?limit=50&cursor={c}"),
            None => format!("{base}/api/v1/clients?limit=50"),
        };
        let t = Instant::now();
        let page: serde_json::Value = http
            .get(&url)
            .bearer_auth(key)
            .send()
            .await
            .expect("page")
            .json()
            .await
            .expect("json");
        latencies.push(t.elapsed());
        assert_eq!(
            page["data"].as_array().map(Vec::len),
            Some(50),
            "a full page"
        );
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    (latencies[..10].to_vec(), latencies[pages - 10..].to_vec())
}

async fn import(http: &reqwest::Client, key: &str, base: &str, rows: usize) {
    let mut csv = String::from("name,billing_email,currency,payment_terms,tags\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Imported {i} GmbH,ap{i}@imported.example,EUR,net_15,imported;bench\n"
        ));
    }
    let t = Instant::now();
    let response = http
        .post(format!("{base}/api/v1/imports/clients"))
        .bearer_auth(key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("import");
    let status = response.status();
    let report: serde_json::Value = response.json().await.expect("report");
    let elapsed = t.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], rows);
    println!(
        "CSV import of {rows} clients: {elapsed:.2}s, {:.0} rows/s (validation, audit rows and outbox events included)",
        rows as f64 / elapsed
    );
}
