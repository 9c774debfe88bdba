//! Tickets and their SLA workflow against real Postgres, Redis and Temporal.

mod api;
mod sla;

use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::{json, Value};

/// A client of the tenant; answers its id.
pub async fn client(app: &TestApp, key: &str) -> String {
    json_with_status(
        app.post(key, "/api/v1/clients", &json!({"name": "Acme"}))
            .await,
        201,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Opens a ticket; answers its JSON.
pub async fn ticket(app: &TestApp, key: &str, body: Value) -> Value {
    json_with_status(app.post(key, "/api/v1/tickets", &body).await, 201).await
}

/// The field names of a 422 problem.
pub async fn invalid_fields(response: reqwest::Response) -> Vec<String> {
    let problem = json_with_status(response, 422).await;
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}
