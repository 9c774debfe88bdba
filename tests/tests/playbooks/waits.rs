//! `wait_for_event`: a run waits durably for the next domain event its filter
//! accepts, is woken by that event only, and gets `()` when the timeout passes
//! first; either way its wait is removed.

use super::{comments_of, created, ended, reached, start};
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::json;

const WAIT_FOR_STATUS: &str = r#"
    let id = input.ticket_id;
    let changed = wait_for_event("ticket.status_changed", `event.data.id == "${id}"`, "1h");
    add_comment(#{ ticket_id: id, body: `Now ${changed.data.status}` });
    changed.data.status
"#;

async fn open_waits(app: &TestApp, tenant: engine::TenantId) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut tx = app.pool.tenant_tx(tenant).await.expect("tx");
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM playbook_event_waits")
        .get_result(tx.conn())
        .await
        .expect("count");
    tx.commit().await.expect("commit");
    count.n
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_waits_for_the_event_its_filter_accepts_or_times_out() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-waits").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let client = created(&app, key, "/api/v1/clients", json!({"name": "Acme"})).await;
    let ticket = |title: &str| json!({"title": title, "client_id": client["id"]});
    let watched = created(&app, key, "/api/v1/tickets", ticket("Watched")).await;
    let other = created(&app, key, "/api/v1/tickets", ticket("Other")).await;

    let body = json!({"name": "Wait for status", "source": WAIT_FOR_STATUS});
    let saved = created(&app, key, "/api/v1/playbooks", body).await;
    let playbook = saved["id"].as_str().expect("id");
    let run_id = start(
        &app,
        key,
        playbook,
        json!({"input": {"ticket_id": watched["id"]}}),
    )
    .await;
    reached(&app, key, &run_id, "001-wait_for_event").await;
    assert_eq!(open_waits(&app, t.tenant).await, 1);

    // Another ticket's change does not wake the run; the watched ticket's does.
    let status = |id: &serde_json::Value| format!("/api/v1/tickets/{}", id.as_str().expect("id"));
    let patch = json!({"status": "Waiting on customer"});
    json_with_status(app.patch(key, &status(&other["id"]), &patch).await, 200).await;
    json_with_status(app.patch(key, &status(&watched["id"]), &patch).await, 200).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["result"]["result"], "Waiting on customer", "{run}");
    assert_eq!(
        comments_of(&app, key, &watched).await,
        vec!["Now Waiting on customer".to_owned()]
    );
    assert!(comments_of(&app, key, &other).await.is_empty());
    assert_eq!(open_waits(&app, t.tenant).await, 0, "the wait is removed");

    // No event within the timeout: the script gets () and goes on.
    let source = r#"
        let e = wait_for_event("client.created", (), 1);
        if e == () { "timed out" } else { "woken" }
    "#;
    let body = json!({"name": "Times out", "source": source});
    let saved = created(&app, key, "/api/v1/playbooks", body).await;
    let run_id = start(&app, key, saved["id"].as_str().expect("id"), json!({})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["result"]["result"], "timed out", "{run}");
    assert_eq!(open_waits(&app, t.tenant).await, 0);

    // A type that is not an event, or a filter that does not compile, fails the
    // run with the line and the reason.
    for (source, expected) in [
        (r#"wait_for_event("ticket.exploded")"#, "not an event type"),
        (
            r#"wait_for_event("ticket.created", "event.data ==")"#,
            "filter 1:",
        ),
    ] {
        let body = json!({"name": format!("Bad {expected}"), "source": source});
        let saved = created(&app, key, "/api/v1/playbooks", body).await;
        let run_id = start(&app, key, saved["id"].as_str().expect("id"), json!({})).await;
        let run = ended(&app, key, &run_id).await;
        assert_eq!(run["status"], "failed", "{run}");
        let error = run["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected) && error.starts_with("1:"), "{run}");
    }
}
