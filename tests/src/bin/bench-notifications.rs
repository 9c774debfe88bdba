//! End-to-end figures for notifications: one event fanned out to many recipients
//! (rate limit off) through the NotificationFanOut workflow to a local SMTP sink,
//! next to a bare lettre loop sending the same messages to the same sink in the
//! same run. Used by `scripts/bench.sh`.
//!
//! Environment: `DATABASE_URL` (owner, to add the recipients and watch the log),
//! `KEEL_URL`, `KEEL_KEY`, `BENCH_TENANT`, `BENCH_SMTP_PORT`, optional
//! `BENCH_RECIPIENTS` (10000).

use diesel::sql_types::{BigInt, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    recipient_email: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    text_body: String,
    #[diesel(sql_type = Text)]
    html_body: String,
}

async fn count(db: &mut AsyncPgConnection, sql: &str, tenant: Uuid) -> i64 {
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant)
        .get_result::<Count>(db)
        .await
        .expect("count")
        .count
}

async fn api(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let response = http
        .request(method, &url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

#[tokio::main]
async fn main() {
    let recipients: i32 = std::env::var("BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let base = env("KEEL_URL");
    let key = env("KEEL_KEY");
    let tenant = Uuid::parse_str(&env("BENCH_TENANT")).expect("tenant id");
    let smtp_port: u16 = env("BENCH_SMTP_PORT").parse().expect("port");
    let http = reqwest::Client::new();
    use reqwest::Method;

    api(&http, Method::PUT, format!("{base}/api/v1/smtp-settings"), &key,
        serde_json::json!({"host": "127.0.0.1", "port": smtp_port, "tls_mode": "none", "from_address": "desk@bench.example.com"})).await;
    api(
        &http,
        Method::PATCH,
        format!("{base}/api/v1/notification-settings"),
        &key,
        serde_json::json!({"rate_limit_per_minute": 0}),
    )
    .await;
    let client = api(
        &http,
        Method::POST,
        format!("{base}/api/v1/clients"),
        &key,
        serde_json::json!({"name": "Bench notification client"}),
    )
    .await;
    let ticket = api(
        &http,
        Method::POST,
        format!("{base}/api/v1/tickets"),
        &key,
        serde_json::json!({"client_id": client["id"], "title": "Everyone watches this"}),
    )
    .await;
    let ticket_id = Uuid::parse_str(ticket["id"].as_str().expect("ticket id")).expect("uuid");

    // The recipients: users watching the ticket, added in bulk (creating them one by
    // one through the API would hash 10,000 passwords).
    let mut db = AsyncPgConnection::establish(&env("DATABASE_URL"))
        .await
        .expect("db");
    diesel::sql_query(
        "INSERT INTO users (tenant, id, email, full_name, is_active)
         SELECT $1, gen_random_uuid(), 'watcher' || n || '@bench.example.com', 'Watcher ' || n, true
           FROM generate_series(1, $2) n",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Integer, _>(recipients)
    .execute(&mut db)
    .await
    .expect("users");
    diesel::sql_query(
        "INSERT INTO ticket_agents (tenant, ticket_id, user_id, role)
         SELECT tenant, $2, id, 'agent' FROM users WHERE tenant = $1 AND email LIKE 'watcher%@bench.example.com'",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(ticket_id)
    .execute(&mut db)
    .await
    .expect("watchers");

    let started = Instant::now();
    api(
        &http,
        Method::POST,
        format!("{base}/api/v1/tickets/{ticket_id}/comments"),
        &key,
        serde_json::json!({"body": "A note for all watchers"}),
    )
    .await;
    let want = i64::from(recipients);
    let planned_sql = "SELECT count(*) AS count FROM notification_log WHERE tenant = $1 AND template_key = 'ticket_comment_added'";
    let sent_sql = "SELECT count(*) AS count FROM notification_log WHERE tenant = $1 AND template_key = 'ticket_comment_added' AND status = 'sent'";
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut planned_at = None;
    loop {
        if planned_at.is_none() && count(&mut db, planned_sql, tenant).await >= want {
            planned_at = Some(started.elapsed());
        }
        if count(&mut db, sent_sql, tenant).await >= want {
            break;
        }
        assert!(Instant::now() < deadline, "fan-out did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let keel = started.elapsed();
    let planned = planned_at.unwrap_or(keel);
    println!(
        "keel fan-out of 1 event to {recipients} recipients: {:.0} e-mails/s end to end ({:.1} s; planned and rendered in {:.1} s, sent in {:.1} s = {:.0} e-mails/s)",
        f64::from(recipients) / keel.as_secs_f64(),
        keel.as_secs_f64(),
        planned.as_secs_f64(),
        (keel - planned).as_secs_f64(),
        f64::from(recipients) / (keel - planned).as_secs_f64()
    );

    // The baseline: the same rendered messages, sent by a bare pooled lettre loop
    // with the same concurrency (8) to the same sink.
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT recipient_email, subject, text_body, html_body FROM notification_log
          WHERE tenant = $1 AND template_key = 'ticket_comment_added'",
    )
    .bind::<SqlUuid, _>(tenant)
    .load(&mut db)
    .await
    .expect("rows");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp_port)
        .build();
    let from: Mailbox = "desk@bench.example.com".parse().expect("from");
    let started = Instant::now();
    let sent = futures::stream::iter(rows)
        .map(|row| {
            let transport = transport.clone();
            let from = from.clone();
            async move {
                let message = Message::builder()
                    .from(from)
                    .to(row.recipient_email.parse().expect("to"))
                    .subject(row.subject)
                    .message_id(Some(format!(
                        "<{}@bench.example.com>",
                        Uuid::now_v7().simple()
                    )))
                    .multipart(MultiPart::alternative_plain_html(
                        row.text_body,
                        row.html_body,
                    ))
                    .expect("message");
                transport.send(message).await.is_ok()
            }
        })
        .buffer_unordered(8)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    let bare = started.elapsed();
    let bare_rate = sent as f64 / bare.as_secs_f64();
    let keel_rate = f64::from(recipients) / (keel - planned).as_secs_f64();
    println!(
        "bare lettre loop, same {sent} messages, concurrency 8: {bare_rate:.0} e-mails/s ({:.1} s) -> keel's sending at {:.0}% of it",
        bare.as_secs_f64(),
        100.0 * keel_rate / bare_rate
    );
}
