//! Time entries and timesheets against real Postgres: validation, overlaps flagged
//! not refused, timesheets per period, locked entries, who sees whose time.

mod approval;

use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::{json, Value};

struct Office {
    admin: String,
    tech: String,
    tech_id: String,
    other_tech: String,
    client_id: String,
}

async fn office(app: &TestApp, slug: &str) -> Office {
    let fixture = app.tenant(slug).await;
    let tech_id = app
        .user(fixture.tenant, &format!("tech@{slug}.test"), "Technician")
        .await;
    let tech = app.api_key(fixture.tenant, tech_id).await;
    let other_id = app
        .user(fixture.tenant, &format!("other@{slug}.test"), "Technician")
        .await;
    let other_tech = app.api_key(fixture.tenant, other_id).await;
    let client = json_with_status(
        app.post(
            &fixture.admin_key,
            "/api/v1/clients",
            &json!({"name": "Initech"}),
        )
        .await,
        201,
    )
    .await;
    Office {
        admin: fixture.admin_key.clone(),
        tech,
        tech_id: tech_id.to_string(),
        other_tech,
        client_id: client["id"].as_str().expect("id").to_owned(),
    }
}

async fn log(app: &TestApp, key: &str, body: Value) -> Value {
    json_with_status(app.post(key, "/api/v1/time-entries", &body).await, 201).await
}

async fn entry(app: &TestApp, key: &str, id: &str) -> Value {
    json_with_status(
        app.get(key, &format!("/api/v1/time-entries/{id}")).await,
        200,
    )
    .await
}

#[tokio::test]
async fn overlapping_entries_are_flagged_not_refused_and_unflagged_when_resolved() {
    let app = TestApp::spawn().await;
    let o = office(&app, "time-overlap").await;
    let first = log(&app, &o.tech, json!({"client_id": o.client_id,
        "started_at": "2026-11-24T09:00:00Z", "ended_at": "2026-11-24T11:15:00Z", "notes": "Server patching"})).await;
    assert_eq!(first["minutes"], 135);
    assert_eq!(first["billable_minutes"], 135);
    assert_eq!(first["work_date"], "2026-11-24");
    assert_eq!(first["overlaps"], false);
    let second = log(
        &app,
        &o.tech,
        json!({"client_id": o.client_id,
        "started_at": "2026-11-24T11:00:00Z", "minutes": 30, "billable": false}),
    )
    .await;
    assert_eq!(second["ended_at"], "2026-11-24T11:30:00Z");
    assert_eq!(second["billable_minutes"], 0);
    assert_eq!(second["overlaps"], true);
    let first_id = first["id"].as_str().expect("id");
    let second_id = second["id"].as_str().expect("id");
    assert_eq!(
        entry(&app, &o.tech, first_id).await["overlaps"],
        true,
        "both sides are flagged"
    );
    // Touching is not overlapping; another user's time never overlaps mine.
    let touching = log(
        &app,
        &o.tech,
        json!({"client_id": o.client_id,
        "started_at": "2026-11-24T11:30:00Z", "minutes": 15}),
    )
    .await;
    assert_eq!(touching["overlaps"], false);
    let theirs = log(
        &app,
        &o.other_tech,
        json!({"client_id": o.client_id,
        "started_at": "2026-11-24T09:30:00Z", "minutes": 60}),
    )
    .await;
    assert_eq!(theirs["overlaps"], false);
    // Moving the second entry away clears both flags.
    let moved = json_with_status(
        app.patch(
            &o.tech,
            &format!("/api/v1/time-entries/{second_id}"),
            &json!({"started_at": "2026-11-24T13:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        moved["ended_at"], "2026-11-24T13:30:00Z",
        "the duration is kept"
    );
    assert_eq!(moved["overlaps"], false);
    assert_eq!(entry(&app, &o.tech, first_id).await["overlaps"], false);
    // The week's timesheet (weekly from Monday by default) totals it all.
    let sheet = json_with_status(
        app.get(&o.tech, "/api/v1/timesheets?date=2026-11-29").await,
        200,
    )
    .await;
    assert_eq!(sheet["period_start"], "2026-11-23");
    assert_eq!(sheet["period_end"], "2026-11-30");
    assert_eq!(sheet["status"], "DRAFT");
    assert_eq!(sheet["total_minutes"], 135 + 30 + 15);
    assert_eq!(sheet["billable_minutes"], 135 + 15);
    assert_eq!(first["timesheet_id"], sheet["id"]);
    // Deleting is a soft delete: gone from the list, 404 afterwards.
    assert_eq!(
        app.delete(&o.tech, &format!("/api/v1/time-entries/{first_id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.get(&o.tech, &format!("/api/v1/time-entries/{first_id}"))
            .await
            .status(),
        404
    );
    let mine = json_with_status(app.get(&o.tech, "/api/v1/time-entries").await, 200).await;
    assert_eq!(mine["data"].as_array().expect("data").len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn bad_entries_get_every_field_error_and_write_nothing() {
    let app = TestApp::spawn().await;
    let o = office(&app, "time-bad").await;
    let problem = json_with_status(
        app.post(&o.tech, "/api/v1/time-entries", &json!({
            "started_at": "2026-11-24T10:00:00Z", "ended_at": "2026-11-24T09:00:00Z", "billable_minutes": -5})).await,
        422,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["client_id", "ended_at", "billable_minutes"]);
    let problem = json_with_status(
        app.post(&o.tech, "/api/v1/time-entries", &json!({"client_id": o.client_id, "work_date": "2026-11-24", "minutes": 90, "billable_minutes": 120})).await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "billable_minutes");
    let unknown = uuid::Uuid::now_v7();
    let problem = json_with_status(
        app.post(
            &o.tech,
            "/api/v1/time-entries",
            &json!({"ticket_id": unknown, "work_date": "2026-11-24", "minutes": 30}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "ticket_id");
    let none = json_with_status(app.get(&o.tech, "/api/v1/time-entries").await, 200).await;
    assert!(none["data"].as_array().expect("data").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_ticket_gives_the_client_and_a_wrong_client_is_refused() {
    let app = TestApp::spawn().await;
    let o = office(&app, "time-ticket").await;
    let ticket = json_with_status(
        app.post(
            &o.admin,
            "/api/v1/tickets",
            &json!({"client_id": o.client_id, "title": "Fix the fax"}),
        )
        .await,
        201,
    )
    .await;
    let logged = log(
        &app,
        &o.tech,
        json!({"ticket_id": ticket["id"], "work_date": "2026-11-25", "minutes": 45}),
    )
    .await;
    assert_eq!(logged["client_id"], o.client_id.as_str());
    let other = json_with_status(
        app.post(&o.admin, "/api/v1/clients", &json!({"name": "Other"}))
            .await,
        201,
    )
    .await;
    let problem = json_with_status(
        app.post(&o.tech, "/api/v1/time-entries",
                 &json!({"ticket_id": ticket["id"], "client_id": other["id"], "work_date": "2026-11-25", "minutes": 45})).await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "client_id");
    app.stop().await;
}

#[tokio::test]
async fn entries_of_a_submitted_timesheet_are_locked() {
    let app = TestApp::spawn().await;
    let o = office(&app, "time-locked").await;
    let logged = log(
        &app,
        &o.tech,
        json!({"client_id": o.client_id, "work_date": "2026-11-24", "minutes": 60}),
    )
    .await;
    let sheet = logged["timesheet_id"].as_str().expect("sheet").to_owned();
    // Submission arrives with the approval workflow; set the state directly here.
    let mut owner = app.db.owner().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE timesheets SET status = 'SUBMITTED' WHERE id = '{sheet}'"
        )),
        &mut owner,
    )
    .await
    .expect("submit");
    let id = logged["id"].as_str().expect("id");
    let conflict = json_with_status(
        app.patch(
            &o.tech,
            &format!("/api/v1/time-entries/{id}"),
            &json!({"minutes": 30}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        conflict["detail"]
            .as_str()
            .expect("detail")
            .contains("locked"),
        "{conflict}"
    );
    assert_eq!(
        app.delete(&o.tech, &format!("/api/v1/time-entries/{id}"))
            .await
            .status(),
        409
    );
    assert_eq!(
        app.post(
            &o.tech,
            "/api/v1/time-entries",
            &json!({"client_id": o.client_id, "work_date": "2026-11-26", "minutes": 10})
        )
        .await
        .status(),
        409,
        "a new entry in that week is refused too"
    );
    // Another week is open.
    log(
        &app,
        &o.tech,
        json!({"client_id": o.client_id, "work_date": "2026-12-01", "minutes": 10}),
    )
    .await;
    assert_eq!(entry(&app, &o.tech, id).await["minutes"], 60, "unchanged");
    app.stop().await;
}

#[tokio::test]
async fn only_approvers_see_others_time_and_other_tenants_see_nothing() {
    let app = TestApp::spawn().await;
    let o = office(&app, "time-access").await;
    let logged = log(
        &app,
        &o.tech,
        json!({"client_id": o.client_id, "work_date": "2026-11-24", "minutes": 60}),
    )
    .await;
    let id = logged["id"].as_str().expect("id");
    assert_eq!(
        app.get(&o.other_tech, &format!("/api/v1/time-entries/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(
            &o.other_tech,
            &format!("/api/v1/time-entries?user_id={}", o.tech_id)
        )
        .await
        .status(),
        403
    );
    let theirs = json_with_status(
        app.get(
            &o.admin,
            &format!("/api/v1/time-entries?user_id={}", o.tech_id),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(theirs["data"].as_array().expect("data").len(), 1);
    let sheet = json_with_status(
        app.get(
            &o.admin,
            &format!("/api/v1/timesheets?user_id={}&date=2026-11-24", o.tech_id),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sheet["total_minutes"], 60);
    let stranger = app.tenant("time-stranger").await;
    assert_eq!(
        app.get(&stranger.admin_key, &format!("/api/v1/time-entries/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.patch(
            &stranger.admin_key,
            &format!("/api/v1/time-entries/{id}"),
            &json!({"minutes": 1})
        )
        .await
        .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn finance_approvers_see_sheets_without_logging_time_themselves() {
    let app = TestApp::spawn().await;
    let fixture = app.tenant("finance-sees").await;
    let tech_id = app
        .user(fixture.tenant, "tech@finance-sees.test", "Technician")
        .await;
    let tech = app.api_key(fixture.tenant, tech_id).await;
    let finance_id = app
        .user(fixture.tenant, "finance@finance-sees.test", "Finance")
        .await;
    let finance = app.api_key(fixture.tenant, finance_id).await;
    let client = json_with_status(
        app.post(
            &fixture.admin_key,
            "/api/v1/clients",
            &json!({"name": "Initech"}),
        )
        .await,
        201,
    )
    .await;
    let entry = log(
        &app,
        &tech,
        json!({"client_id": client["id"], "work_date": "2026-11-24", "minutes": 60}),
    )
    .await;
    let sheet = entry["timesheet_id"].as_str().expect("sheet");
    json_with_status(
        app.post(
            &tech,
            &format!("/api/v1/timesheets/{sheet}/submit"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let seen = json_with_status(
        app.get(&finance, &format!("/api/v1/timesheets/{sheet}"))
            .await,
        200,
    )
    .await;
    assert_eq!(seen["status"], "SUBMITTED");
    let queue = json_with_status(
        app.get(&finance, "/api/v1/timesheets/approvals?status=SUBMITTED")
            .await,
        200,
    )
    .await;
    assert!(queue["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|s| s["id"] == sheet));
    // Finance logs no time of its own, and another tenant sees nothing.
    json_with_status(app.get(&finance, "/api/v1/time-entries").await, 403).await;
    let stranger = app.tenant("finance-sees-not").await;
    json_with_status(
        app.get(&stranger.admin_key, &format!("/api/v1/timesheets/{sheet}"))
            .await,
        404,
    )
    .await;
}
