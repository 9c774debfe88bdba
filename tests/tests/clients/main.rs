//! Clients, contacts, interactions and assets through the REST API, against real
//! Postgres and Redis.

mod assets;
mod clients;
mod contacts;
mod import;
mod interactions;

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::{json, Value};

/// Creates a client and answers its JSON.
pub async fn client(app: &TestApp, key: &str, body: Value) -> Value {
    json_with_status(app.post(key, "/api/v1/clients", &body).await, 201).await
}

/// The field names of a 422 problem.
pub async fn invalid_fields(response: reqwest::Response) -> Vec<String> {
    let problem = json_with_status(response, 422).await;
    assert_eq!(problem["type"], "/problems/validation", "{problem}");
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

/// The `id`s of a list page.
pub fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Outbox events of `event_type` about record `id`.
pub async fn events_about(app: &TestApp, event_type: &str, id: &str) -> i64 {
    let mut owner = app.db.owner().await;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM outbox WHERE event_type = $1 AND envelope->'data'->>'id' = $2",
    )
    .bind::<Text, _>(event_type)
    .bind::<Text, _>(id)
    .get_result(&mut owner)
    .await
    .expect("count events");
    row.count
}

/// Audit rows with `action` about record `id`.
pub async fn audits_about(app: &TestApp, action: &str, id: &str) -> i64 {
    let mut owner = app.db.owner().await;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM audit_log WHERE action = $1 AND resource_id::text = $2",
    )
    .bind::<Text, _>(action)
    .bind::<Text, _>(id)
    .get_result(&mut owner)
    .await
    .expect("count audit");
    row.count
}

/// A minimal valid client body.
pub fn acme() -> Value {
    json!({"name": "Acme Corp", "billing_email": "billing@acme.test", "currency": "USD"})
}
