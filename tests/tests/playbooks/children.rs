//! `start_playbook` and `disable_user` on the real stack: a parent run gets its
//! child's result, a child that is not waited for outlives its parent, a dry run
//! starts nothing, runs nest at most five deep; a playbook deactivates a user (who
//! can then no longer call the API) but never the user it runs as.

use super::{ended, playbook, start};
use keel_tests::app::json_with_status;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

/// The tenant's playbook runs whose workflow id starts with `prefix`.
async fn runs_with_prefix(app: &TestApp, key: &str, prefix: &str) -> Vec<Value> {
    let page = json_with_status(
        app.get(key, "/api/v1/workflow-runs?kind=playbook_run&limit=100")
            .await,
        200,
    )
    .await;
    page["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            r["workflow_id"]
                .as_str()
                .is_some_and(|id| id.starts_with(prefix))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parent_run_starts_children_waits_for_their_results_and_nests_at_most_five_deep() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-children").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    playbook(&app, key, "Doubler", "#{ doubled: input.n * 2 }").await;

    // With wait: the parent's answer carries the child's result.
    let parent_source = r#"
        let child = start_playbook(#{ playbook: "Doubler", input: #{ n: 21 }, wait: true });
        #{ doubled: child.result.doubled, child: child.workflow_id }
    "#;
    let parent = playbook(&app, key, "Parent", parent_source).await;
    let run_id = start(&app, key, &parent, json!({})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["result"]["result"]["doubled"], 42, "{run}");
    let child_id = run["result"]["result"]["child"].as_str().expect("child id");
    assert_eq!(
        child_id,
        format!("{}-child-001", run["workflow_id"].as_str().expect("wf id"))
    );
    let children = runs_with_prefix(&app, key, child_id).await;
    assert_eq!(children.len(), 1, "one child run is recorded: {children:?}");
    assert_eq!(children[0]["status"], "completed");

    // Without wait: the parent ends at once and the child finishes on its own.
    let slow = playbook(&app, key, "Slow", r#"sleep(2); "slept""#).await;
    let fire_and_forget = r#"start_playbook(#{ playbook: input.child }).workflow_id"#;
    let launcher = playbook(&app, key, "Launcher", fire_and_forget).await;
    let run_id = start(&app, key, &launcher, json!({"input": {"child": slow}})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    let child_id = run["result"]["result"]
        .as_str()
        .expect("child id")
        .to_owned();
    let child = keel_tests::eventually(Duration::from_secs(60), || async {
        let found = runs_with_prefix(&app, key, &child_id).await;
        found.into_iter().find(|r| r["status"] == "completed")
    })
    .await
    .expect("the child outlives its parent and completes");
    let child = ended(&app, key, child["run_id"].as_str().expect("run id")).await;
    assert_eq!(child["result"]["result"], "slept", "{child}");

    // A dry run records the call, answers its fixture and starts nothing.
    let fixture = json!({"workflow_id": "(dry run)", "result": {"doubled": 4}});
    let body = json!({"dry_run": true, "fixtures": {"start_playbook": fixture}});
    let run_id = start(&app, key, &parent, body).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["result"]["result"]["doubled"], 4, "{run}");
    let prefix = format!("{}-child", run["workflow_id"].as_str().expect("wf id"));
    assert!(runs_with_prefix(&app, key, &prefix).await.is_empty());

    // A playbook that starts itself stops at the depth limit, and the failure
    // travels up to the first run.
    let recursive = r#"start_playbook(#{ playbook: "Recursive", wait: true }).result"#;
    let recursive = playbook(&app, key, "Recursive", recursive).await;
    let run_id = start(&app, key, &recursive, json!({})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let nested = runs_with_prefix(&app, key, run["workflow_id"].as_str().expect("id")).await;
    assert_eq!(
        nested.len(),
        5,
        "the first run and four children: {nested:?}"
    );

    // An unknown or disabled playbook is refused with its name.
    let source = r#"start_playbook(#{ playbook: "Nope" })"#;
    let missing = playbook(&app, key, "Starts a missing one", source).await;
    let run = ended(&app, key, &start(&app, key, &missing, json!({})).await).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no playbook \"Nope\""),
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_playbook_deactivates_a_user_but_not_the_user_it_runs_as() {
    let app = TestApp::spawn().await;
    let t = app.tenant("pb-disable-user").await;
    let key = &t.admin_key;
    let _worker = TestWorker::start(&app);
    let leaver = app
        .user(t.tenant, "leaver@pb-disable-user.example.com", "Technician")
        .await;
    let leaver_key = app.api_key(t.tenant, leaver).await;
    json_with_status(app.get(&leaver_key, "/api/v1/tickets").await, 200).await;

    let id = playbook(
        &app,
        key,
        "Offboard",
        "disable_user(#{ user_id: input.user_id })",
    )
    .await;
    let run_id = start(&app, key, &id, json!({"input": {"user_id": leaver}})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["result"]["result"]["is_active"], false, "{run}");
    let user = json_with_status(app.get(key, &format!("/api/v1/users/{leaver}")).await, 200).await;
    assert_eq!(user["is_active"], false, "{user}");
    // The key was cached by the API a moment ago; the worker announced the
    // deactivation, so the very next request is refused rather than served from
    // the cache until its TTL passes.
    let status = app.get(&leaver_key, "/api/v1/tickets").await.status();
    assert_eq!(
        status, 401,
        "a deactivated user's key stops working at once"
    );

    // The run's own user stays active.
    let run_id = start(&app, key, &id, json!({"input": {"user_id": t.admin_id}})).await;
    let run = ended(&app, key, &run_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("runs as"),
        "{run}"
    );
    json_with_status(app.get(key, "/api/v1/tickets").await, 200).await;

    // The same through the API: reactivation works, deactivating oneself is a 409.
    let path = format!("/api/v1/users/{leaver}");
    let user = json_with_status(
        app.patch(key, &path, &json!({"is_active": true})).await,
        200,
    )
    .await;
    assert_eq!(user["is_active"], true, "{user}");
    json_with_status(app.get(&leaver_key, "/api/v1/tickets").await, 200).await;
    let own = format!("/api/v1/users/{}", t.admin_id);
    let conflict = app.patch(key, &own, &json!({"is_active": false})).await;
    assert_eq!(conflict.status(), 409);
}
