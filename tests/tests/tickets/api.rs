use super::{client, invalid_fields, ticket};
use keel_tests::app::json_with_status;
use keel_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_ticket_gets_a_number_defaults_and_moves_through_statuses() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key).await;
    let created = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Printer jams", "tags": ["Hardware"]}),
    )
    .await;
    assert_eq!(created["number"], "T-000001");
    assert_eq!(created["status"], "Open");
    assert_eq!(created["priority"], "Medium");
    assert_eq!(created["board"], "Service desk");
    assert_eq!(created["origin"], "api");
    assert_eq!(created["tags"], json!(["hardware"]));
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/tickets/{id}");

    let moved = json_with_status(
        app.patch(&t.admin_key, &path, &json!({"status": "in progress"}))
            .await,
        200,
    )
    .await;
    assert_eq!(moved["status"], "In progress");
    let closed = json_with_status(
        app.patch(&t.admin_key, &path, &json!({"status": "Closed"}))
            .await,
        200,
    )
    .await;
    assert_eq!(closed["is_closed"], true);
    assert!(closed["closed_at"].is_string());
    let again = json_with_status(
        app.patch(&t.admin_key, &path, &json!({"status": "Closed"}))
            .await,
        409,
    )
    .await;
    assert!(
        again["detail"]
            .as_str()
            .expect("detail")
            .contains("already Closed"),
        "{again}"
    );
    let reopened = json_with_status(
        app.patch(&t.admin_key, &path, &json!({"status": "Open"}))
            .await,
        200,
    )
    .await;
    assert_eq!(reopened["closed_at"], json!(null));

    let fields = invalid_fields(
        app.patch(&t.admin_key, &path, &json!({"status": "Nonexistent"}))
            .await,
    )
    .await;
    assert_eq!(fields, vec!["status"]);
    let fields = invalid_fields(
        app.patch(&t.admin_key, &path, &json!({"priority": "Urgent!!"}))
            .await,
    )
    .await;
    assert_eq!(fields, vec!["priority"]);

    let second = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "VPN down", "priority": "High"}),
    )
    .await;
    assert_eq!(second["number"], "T-000002");
    let high = json_with_status(
        app.get(&t.admin_key, "/api/v1/tickets?priority=high").await,
        200,
    )
    .await;
    assert_eq!(high["data"].as_array().expect("data").len(), 1);
    let found = json_with_status(app.get(&t.admin_key, "/api/v1/tickets?q=vpn").await, 200).await;
    assert_eq!(found["data"][0]["number"], "T-000002");
    app.stop().await;
}

#[tokio::test]
async fn assignment_contacts_and_tenants_are_checked() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let client_id = client(&app, &t.admin_key).await;
    let other_client = client(&app, &other.admin_key).await;
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/tickets",
            &json!({"client_id": client_id, "title": "X", "assigned_to": other.admin_id}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["assigned_to"], "a user of another tenant");
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/tickets",
            &json!({"client_id": other_client, "title": "X"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["client_id"], "a client of another tenant");
    let tech = app
        .user(t.tenant, "tech@acme.example.com", "Technician")
        .await;
    let assigned = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "X", "assigned_to": tech}),
    )
    .await;
    assert_eq!(assigned["assigned_to"], json!(tech));
    let id = assigned["id"].as_str().expect("id");
    assert_eq!(
        app.get(&other.admin_key, &format!("/api/v1/tickets/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.patch(
            &other.admin_key,
            &format!("/api/v1/tickets/{id}"),
            &json!({"title": "Y"})
        )
        .await
        .status(),
        404
    );
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/tickets",
            &json!({"client_id": client_id}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["title"]);
    app.stop().await;
}

#[tokio::test]
async fn an_itil_board_derives_priority_from_impact_and_urgency() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key).await;
    let boards = json_with_status(app.get(&t.admin_key, "/api/v1/boards").await, 200).await;
    let board = boards["data"][0]["id"].as_str().expect("board").to_owned();
    json_with_status(
        app.patch(
            &t.admin_key,
            &format!("/api/v1/boards/{board}"),
            &json!({"itil_mode": true}),
        )
        .await,
        200,
    )
    .await;
    let critical = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Outage", "impact": 1, "urgency": 1}),
    )
    .await;
    assert_eq!(critical["priority"], "Critical");
    let low = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Cosmetic", "impact": 4, "urgency": 3}),
    )
    .await;
    assert_eq!(low["priority"], "Low");
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/tickets",
            &json!({"client_id": client_id, "title": "X", "impact": 6, "urgency": 1}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["impact"]);
    app.stop().await;
}

#[tokio::test]
async fn a_hundred_parallel_tickets_get_a_hundred_gap_free_numbers() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key).await;
    let creates = (0..100).map(|i| {
        let app = &app;
        let key = &t.admin_key;
        let client_id = &client_id;
        async move {
            let response = app
                .post(
                    key,
                    "/api/v1/tickets",
                    &json!({"client_id": client_id, "title": format!("Ticket {i}")}),
                )
                .await;
            json_with_status(response, 201).await["number"]
                .as_str()
                .expect("number")
                .to_owned()
        }
    });
    let mut numbers = futures::future::join_all(creates).await;
    numbers.sort();
    let expected: Vec<String> = (1..=100).map(|n| format!("T-{n:06}")).collect();
    assert_eq!(numbers, expected);
    app.stop().await;
}

#[tokio::test]
async fn comments_record_the_first_response_and_keep_edit_history() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key).await;
    let created = ticket(
        &app,
        &t.admin_key,
        json!({"client_id": client_id, "title": "Email"}),
    )
    .await;
    let path = format!(
        "/api/v1/tickets/{}/comments",
        created["id"].as_str().expect("id")
    );
    let internal = json_with_status(
        app.post(
            &t.admin_key,
            &path,
            &json!({"body": "Checking logs", "internal": true}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(internal["internal"], true);
    json_with_status(
        app.post(&t.admin_key, &path, &json!({"body": "We are on it"}))
            .await,
        201,
    )
    .await;
    let edited = json_with_status(
        app.patch(
            &t.admin_key,
            &format!("{path}/{}", internal["id"].as_str().expect("id")),
            &json!({"body": "Checked logs"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["body"], "Checked logs");
    let list = json_with_status(app.get(&t.admin_key, &path).await, 200).await;
    assert_eq!(list["data"].as_array().expect("data").len(), 2);
    assert_eq!(
        app.post(&t.admin_key, &path, &json!({"body": "  "}))
            .await
            .status(),
        422
    );

    let mut owner = app.db.owner().await;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Flag {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        first: bool,
    }
    let flags: Vec<Flag> = diesel::sql_query(
        "SELECT (envelope->'data'->>'first_response')::bool IS TRUE AS first FROM outbox WHERE event_type = 'ticket.comment_added' ORDER BY id",
    )
    .load(&mut owner)
    .await
    .expect("events");
    let firsts: Vec<bool> = flags.into_iter().map(|f| f.first).collect();
    assert_eq!(
        firsts,
        vec![false, true],
        "the first public reply is the first response"
    );
    app.stop().await;
}

#[tokio::test]
async fn tenants_add_their_own_statuses_priorities_and_boards() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let status = json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/ticket-statuses",
            &json!({"name": "Waiting on vendor", "pauses_sla": true}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(status["pauses_sla"], true);
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/ticket-statuses",
            &json!({"name": "waiting on VENDOR"}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["name"], "names are unique ignoring case");
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/ticket-statuses",
            &json!({"name": "Done", "is_closed": true, "is_default": true}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["is_default"]);
    json_with_status(
        app.post(
            &t.admin_key,
            "/api/v1/ticket-priorities",
            &json!({"name": "Emergency", "level": 1}),
        )
        .await,
        201,
    )
    .await;
    let fields = invalid_fields(
        app.post(
            &t.admin_key,
            "/api/v1/ticket-priorities",
            &json!({"name": "Whenever", "level": 9}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["level"]);
    json_with_status(
        app.post(&t.admin_key, "/api/v1/boards", &json!({"name": "Projects"}))
            .await,
        201,
    )
    .await;
    let client_id = client(&app, &t.admin_key).await;
    let created = ticket(&app, &t.admin_key, json!({"client_id": client_id, "title": "Vendor RMA", "board": "projects", "priority": "Emergency", "status": "Waiting on vendor"})).await;
    assert_eq!(created["board"], "Projects");
    assert_eq!(created["priority"], "Emergency");
    assert_eq!(created["status"], "Waiting on vendor");
    let statuses =
        json_with_status(app.get(&t.admin_key, "/api/v1/ticket-statuses").await, 200).await;
    assert_eq!(statuses["data"].as_array().expect("data").len(), 6);
    app.stop().await;
}

#[tokio::test]
async fn ticket_numbers_take_a_new_prefix_and_padding_without_gaps() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let client_id = client(&app, &t.admin_key).await;
    assert_eq!(
        ticket(
            &app,
            &t.admin_key,
            json!({"client_id": client_id, "title": "A"})
        )
        .await["number"],
        "T-000001"
    );
    let numbering = json_with_status(
        app.patch(
            &t.admin_key,
            "/api/v1/ticket-numbering",
            &json!({"prefix": "HD-", "padding": 4}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(numbering["next_value"], 2);
    assert_eq!(
        ticket(
            &app,
            &t.admin_key,
            json!({"client_id": client_id, "title": "B"})
        )
        .await["number"],
        "HD-0002"
    );
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            "/api/v1/ticket-numbering",
            &json!({"prefix": "no spaces", "padding": 0}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["prefix"]);
    let fields = invalid_fields(
        app.patch(
            &t.admin_key,
            "/api/v1/ticket-numbering",
            &json!({"padding": 13}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, vec!["padding"]);
    app.stop().await;
}
