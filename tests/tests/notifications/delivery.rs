//! Events become e-mails to the right people through the fan-out workflow, the
//! tenant's switches and users' preferences suppress them, the rate limit delays
//! but delivers everything, and an SMTP outage plus a killed worker lose nothing
//! and send nothing twice.

use keel_tests::app::json_with_status;
use keel_tests::smtp::{SmtpSink, SunkMail};
use keel_tests::worker::{worker_process, TestWorker};
use keel_tests::TestApp;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// A tenant whose mail goes to `sink`, with a technician, a board manager and a
/// client contact.
struct Shop {
    admin: String,
    tech: String,
    tech_id: String,
    client_id: String,
    contact_id: String,
}

async fn shop(app: &TestApp, slug: &str, sink: &SmtpSink) -> Shop {
    let fixture = app.tenant(slug).await;
    let admin = fixture.admin_key.clone();
    let tech_id = app
        .user(fixture.tenant, &format!("tech@{slug}.test"), "Technician")
        .await;
    let tech = app.api_key(fixture.tenant, tech_id).await;
    let manager_id = app
        .user(fixture.tenant, &format!("boss@{slug}.test"), "Dispatcher")
        .await;
    json_with_status(
        app.put(
            &admin,
            "/api/v1/smtp-settings",
            &json!({"host": sink.host(), "port": sink.port(), "tls_mode": "none",
                    "from_address": "desk@msp.test", "from_name": "MSP Desk"}),
        )
        .await,
        200,
    )
    .await;
    let boards = json_with_status(app.get(&admin, "/api/v1/boards").await, 200).await;
    let board = boards["data"][0]["id"].as_str().expect("board").to_owned();
    json_with_status(
        app.patch(
            &admin,
            &format!("/api/v1/boards/{board}"),
            &json!({"manager_id": manager_id}),
        )
        .await,
        200,
    )
    .await;
    let client = json_with_status(
        app.post(&admin, "/api/v1/clients", &json!({"name": "Globex"}))
            .await,
        201,
    )
    .await;
    let client_id = client["id"].as_str().expect("id").to_owned();
    let contact = json_with_status(
        app.post(
            &admin,
            "/api/v1/contacts",
            &json!({"client_id": client_id, "full_name": "Hank Scorpio", "email": "hank@globex.test"}),
        )
        .await,
        201,
    )
    .await;
    Shop {
        admin,
        tech,
        tech_id: tech_id.to_string(),
        client_id,
        contact_id: contact["id"].as_str().expect("id").to_owned(),
    }
}

fn addressed_to<'a>(mails: &'a [SunkMail], address: &str) -> Vec<&'a SunkMail> {
    mails
        .iter()
        .filter(|m| m.envelope_to.iter().any(|t| t == address))
        .collect()
}

/// Waits until the fan-out runs of the tenant have all finished and there are `n`.
async fn fan_outs_done(app: &TestApp, key: &str, n: usize) {
    keel_tests::eventually(Duration::from_secs(60), || async {
        let runs = json_with_status(
            app.get(
                key,
                "/api/v1/workflow-runs?kind=notification_fan_out&limit=200",
            )
            .await,
            200,
        )
        .await;
        let runs = runs["data"].as_array().expect("data").clone();
        (runs.len() >= n && runs.iter().all(|r| r["status"] == "completed")).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{n} fan-out runs did not complete"));
}

#[tokio::test]
async fn a_new_ticket_mails_the_assignee_board_manager_and_contact_in_text_and_html() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await.expect("sink");
    let shop = shop(&app, "mail-right", &sink).await;
    let _worker = TestWorker::start(&app);
    let ticket = json_with_status(
        app.post(
            &shop.admin,
            "/api/v1/tickets",
            &json!({"client_id": shop.client_id, "contact_id": shop.contact_id,
                    "title": "Printer <b>on fire</b>", "assigned_to": shop.tech_id}),
        )
        .await,
        201,
    )
    .await;
    let number = ticket["number"].as_str().expect("number");
    let id = ticket["id"].as_str().expect("id");
    let mails = sink
        .wait_for(3, Duration::from_secs(60))
        .await
        .expect("three e-mails");
    assert_eq!(
        mails.len(),
        3,
        "exactly three recipients: {:?}",
        mails.iter().map(|m| &m.envelope_to).collect::<Vec<_>>()
    );
    for address in [
        "tech@mail-right.test",
        "boss@mail-right.test",
        "hank@globex.test",
    ] {
        let to = addressed_to(&mails, address);
        assert_eq!(to.len(), 1, "{address} gets one e-mail");
        let mail = to[0];
        assert!(mail.subject.contains(number), "{}", mail.subject);
        assert!(mail.from.contains("desk@msp.test"));
        let text = mail.text_body.as_deref().expect("a text/plain part");
        let html = mail.html_body.as_deref().expect("a text/html part");
        assert!(
            text.contains("Printer <b>on fire</b>"),
            "text is not escaped: {text}"
        );
        assert!(
            html.contains("Printer &lt;b&gt;on fire&lt;&#x2f;b&gt;"),
            "html is escaped: {html}"
        );
        assert!(text.contains(&format!("http://keel.test/tickets/{id}")));
        // The ticket's thread root (the MIME parser reads ids without brackets).
        let thread = format!("ticket-{id}@msp.test");
        assert_eq!(mail.in_reply_to.as_deref(), Some(thread.as_str()));
        assert_eq!(mail.references, vec![thread]);
        assert!(mail
            .message_id
            .as_deref()
            .is_some_and(|m| m.ends_with("@msp.test")));
        if address == "hank@globex.test" {
            assert_eq!(
                mail.list_unsubscribe, None,
                "contacts have no Keel preferences"
            );
        } else {
            let unsubscribe = mail.list_unsubscribe.as_deref().expect("List-Unsubscribe");
            assert!(unsubscribe.starts_with("<http://keel.test/notifications/unsubscribe?token="));
            assert_eq!(
                mail.list_unsubscribe_post.as_deref(),
                Some("List-Unsubscribe=One-Click")
            );
        }
    }
    // The log holds one sent row per e-mail with the server's answer.
    let log = keel_tests::eventually(Duration::from_secs(20), || async {
        let log = json_with_status(
            app.get(&shop.admin, "/api/v1/notification-log?status=sent")
                .await,
            200,
        )
        .await;
        let rows = log["data"].as_array().expect("data").clone();
        (rows.len() == 3).then_some(rows)
    })
    .await
    .expect("three sent rows");
    assert!(log.iter().all(|r| r["smtp_response"]
        .as_str()
        .is_some_and(|s| s.starts_with("250"))));
    // The technician's bell shows it; reading it clears the count.
    let inbox = json_with_status(
        app.get(&shop.tech, "/api/v1/notifications?unread=true")
            .await,
        200,
    )
    .await;
    let items = inbox["data"].as_array().expect("data");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["subtype"], "ticket_created");
    let unread = json_with_status(
        app.get(&shop.tech, "/api/v1/notifications/unread-count")
            .await,
        200,
    )
    .await;
    assert_eq!(unread["unread"], 1);
    let n = items[0]["id"].as_str().expect("id");
    json_with_status(
        app.post(
            &shop.tech,
            &format!("/api/v1/notifications/{n}/read"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let unread = json_with_status(
        app.get(&shop.tech, "/api/v1/notifications/unread-count")
            .await,
        200,
    )
    .await;
    assert_eq!(unread["unread"], 0);
    app.stop().await;
}

#[tokio::test]
async fn switches_and_preferences_suppress_mail() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await.expect("sink");
    let shop = shop(&app, "mail-off", &sink).await;
    let _worker = TestWorker::start(&app);
    let open = |title: &str| {
        json!({"client_id": shop.client_id, "contact_id": shop.contact_id, "title": title,
               "assigned_to": shop.tech_id})
    };
    // The tenant switches the subtype off: nobody hears of new tickets.
    json_with_status(
        app.patch(
            &shop.admin,
            "/api/v1/notification-settings",
            &json!({"subtypes": {"ticket_created": false}}),
        )
        .await,
        200,
    )
    .await;
    json_with_status(
        app.post(&shop.admin, "/api/v1/tickets", &open("one")).await,
        201,
    )
    .await;
    fan_outs_done(&app, &shop.admin, 1).await;
    assert_eq!(sink.messages().expect("messages").len(), 0);
    // The whole category off beats the subtype switched back on.
    json_with_status(
        app.patch(
            &shop.admin,
            "/api/v1/notification-settings",
            &json!({"subtypes": {"ticket_created": true}, "categories": {"tickets": false}}),
        )
        .await,
        200,
    )
    .await;
    json_with_status(
        app.post(&shop.admin, "/api/v1/tickets", &open("two")).await,
        201,
    )
    .await;
    fan_outs_done(&app, &shop.admin, 2).await;
    assert_eq!(sink.messages().expect("messages").len(), 0);
    // Back on; the technician turns the subtype off for themselves, the manager
    // redirects theirs: the contact and the override address get mail.
    json_with_status(
        app.patch(
            &shop.admin,
            "/api/v1/notification-settings",
            &json!({"categories": {"tickets": true}}),
        )
        .await,
        200,
    )
    .await;
    json_with_status(
        app.put(
            &shop.tech,
            "/api/v1/notification-preferences/ticket_created",
            &json!({"enabled": false}),
        )
        .await,
        200,
    )
    .await;
    let bad = app
        .put(
            &shop.tech,
            "/api/v1/notification-preferences/ticket_created",
            &json!({"enabled": true, "delivery": "weekly"}),
        )
        .await;
    let problem = json_with_status(bad, 422).await;
    assert_eq!(problem["errors"][0]["field"], "delivery");
    json_with_status(
        app.post(&shop.admin, "/api/v1/tickets", &open("three"))
            .await,
        201,
    )
    .await;
    let mails = sink
        .wait_for(2, Duration::from_secs(60))
        .await
        .expect("two e-mails");
    fan_outs_done(&app, &shop.admin, 3).await;
    let mails = if mails.len() < 2 {
        sink.messages().expect("messages")
    } else {
        mails
    };
    let to: HashSet<String> = mails.iter().flat_map(|m| m.envelope_to.clone()).collect();
    assert_eq!(
        to,
        HashSet::from([
            "boss@mail-off.test".to_owned(),
            "hank@globex.test".to_owned()
        ]),
        "the technician opted out"
    );
    // The technician still has the in-app notice of the third ticket.
    let inbox = json_with_status(app.get(&shop.tech, "/api/v1/notifications").await, 200).await;
    assert_eq!(inbox["data"].as_array().expect("data").len(), 1);
    app.stop().await;
}

/// Leaves comments as the only thing that mails anyone (new tickets off, the board
/// without a manager), under a limit of `rate_limit` e-mails per minute (0 = none).
async fn only_comments_mail(app: &TestApp, shop: &Shop, rate_limit: u32) {
    let boards = json_with_status(app.get(&shop.admin, "/api/v1/boards").await, 200).await;
    let board = boards["data"][0]["id"].as_str().expect("board");
    let path = format!("/api/v1/boards/{board}");
    json_with_status(
        app.patch(&shop.admin, &path, &json!({"manager_id": null}))
            .await,
        200,
    )
    .await;
    let settings =
        json!({"rate_limit_per_minute": rate_limit, "subtypes": {"ticket_created": false}});
    json_with_status(
        app.patch(&shop.admin, "/api/v1/notification-settings", &settings)
            .await,
        200,
    )
    .await;
}

/// Posts `n` public comments on a ticket whose only other party is the contact:
/// `n` events, `n` e-mails.
async fn comments(app: &TestApp, shop: &Shop, n: usize) -> String {
    let ticket = json_with_status(
        app.post(
            &shop.tech,
            "/api/v1/tickets",
            &json!({"client_id": shop.client_id, "contact_id": shop.contact_id, "title": "Chatty"}),
        )
        .await,
        201,
    )
    .await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    for i in 0..n {
        json_with_status(
            app.post(
                &shop.tech,
                &format!("/api/v1/tickets/{id}/comments"),
                &json!({"body": format!("update {i}")}),
            )
            .await,
            201,
        )
        .await;
    }
    id
}

#[tokio::test]
async fn the_rate_limit_delays_mail_but_delivers_all_of_it_in_turn() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await.expect("sink");
    let shop = shop(&app, "mail-rate", &sink).await;
    only_comments_mail(&app, &shop, 60).await;
    let _worker = TestWorker::start(&app);
    comments(&app, &shop, 200).await;
    let mails = sink
        .wait_for(200, Duration::from_secs(120))
        .await
        .expect("200 e-mails");
    let ids: HashSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(mails.len(), 200);
    assert_eq!(ids.len(), 200, "no e-mail twice");
    // 60 per window (6 s in tests) with a burst of 6: in no window did more than
    // 66 go out, and the last went out no earlier than its turn.
    let window = chrono::Duration::seconds(keel_tests::app::TEST_RATE_WINDOW_SECONDS as i64);
    let mut times: Vec<_> = mails.iter().map(|m| m.received_at).collect();
    times.sort();
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= window {
            start += 1;
        }
        assert!(
            end - start < 66,
            "{} e-mails within one window",
            end - start + 1
        );
    }
    let interval_ms = window.num_milliseconds() / 60;
    let spread = (times[199] - times[0]).num_milliseconds();
    assert!(
        spread >= (200 - 6 - 1) * interval_ms - 250,
        "200 e-mails in {spread} ms"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_smtp_outage_and_a_killed_worker_lose_nothing_and_send_nothing_twice() {
    let app = TestApp::spawn().await;
    let mut sink = SmtpSink::start().await.expect("sink");
    let shop = shop(&app, "mail-down", &sink).await;
    only_comments_mail(&app, &shop, 0).await;
    let mut worker = worker_process(&app);
    comments(&app, &shop, 60).await;
    // The server goes down while the worker is sending; the worker's batch keeps
    // failing and retrying, and it is killed in the middle of that batch.
    sink.wait_for(5, Duration::from_secs(60))
        .await
        .expect("sending started");
    sink.stop().await.expect("stop sink");
    keel_tests::eventually(Duration::from_secs(60), || async {
        let log = json_with_status(
            app.get(&shop.admin, "/api/v1/notification-log?status=queued")
                .await,
            200,
        )
        .await;
        log["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|r| r["last_error"].is_string())
            .then_some(())
    })
    .await
    .expect("a queued e-mail records the outage");
    worker.signal_and_wait(libc::SIGKILL);
    let _second = worker_process(&app);
    sink.restart().await.expect("restart sink");
    let mails = match sink.wait_for(60, Duration::from_secs(120)).await {
        Ok(mails) => mails,
        Err(e) => {
            let log = json_with_status(
                app.get(&shop.admin, "/api/v1/notification-log?limit=200")
                    .await,
                200,
            )
            .await;
            let unsent: Vec<&Value> = log["data"]
                .as_array()
                .expect("data")
                .iter()
                .filter(|r| r["status"] != "sent")
                .collect();
            let runs = json_with_status(
                app.get(
                    &shop.admin,
                    "/api/v1/workflow-runs?kind=notification_fan_out&limit=200",
                )
                .await,
                200,
            )
            .await;
            let open: Vec<&Value> = runs["data"]
                .as_array()
                .expect("data")
                .iter()
                .filter(|r| r["status"] != "completed")
                .collect();
            panic!("{e}; rows not sent: {unsent:?}; {} logged rows; fan-outs not completed: {open:?} of {}", log["data"].as_array().expect("data").len(), runs["data"].as_array().expect("data").len());
        }
    };
    keel_tests::eventually(Duration::from_secs(30), || async {
        let log = json_with_status(
            app.get(
                &shop.admin,
                "/api/v1/notification-log?status=sent&limit=200",
            )
            .await,
            200,
        )
        .await;
        (log["data"].as_array().expect("data").len() == 60).then_some(())
    })
    .await
    .expect("every row marked sent");
    let ids: HashSet<_> = sink
        .messages()
        .expect("messages")
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(ids.len(), 60, "every e-mail arrived");
    assert_eq!(
        sink.messages().expect("messages").len(),
        60,
        "none twice (got {})",
        mails.len()
    );
    app.stop().await;
}

#[tokio::test]
async fn templates_with_errors_are_rejected_with_line_and_reason() {
    let app = TestApp::spawn().await;
    let fixture = app.tenant("mail-tpl").await;
    let key = &fixture.admin_key;
    let template = json_with_status(
        app.get(key, "/api/v1/notification-templates/ticket_closed")
            .await,
        200,
    )
    .await;
    assert_eq!(template["source"], "system");
    assert!(template["variables"]
        .as_array()
        .expect("vars")
        .iter()
        .any(|v| v["path"] == "ticket.number"));
    let broken = json!({"subject": "{{ ticket.number }}", "text_body": "ok",
                        "html_body": "<p>fine</p>\n<p>{% if ticket.title %}open\n"});
    let problem = json_with_status(
        app.put(key, "/api/v1/notification-templates/ticket_closed", &broken)
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "html_body");
    let message = problem["errors"][0]["message"].as_str().expect("message");
    assert!(message.starts_with("line "), "{message}");
    let unknown = json!({"subject": "{{ ticket.number }}", "text_body": "Hi\n{{ invoice.total }}", "html_body": "<p>x</p>"});
    let problem = json_with_status(
        app.put(
            key,
            "/api/v1/notification-templates/ticket_closed",
            &unknown,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "text_body");
    let message = problem["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.starts_with("line 2:") && message.contains("invoice.total"),
        "{message}"
    );
    let good = json!({"subject": "Done: {{ ticket.number }}", "text_body": "Closed {{ ticket.title }}",
                      "html_body": "<p>Closed {{ ticket.title }}</p>"});
    let saved = json_with_status(
        app.put(key, "/api/v1/notification-templates/ticket_closed", &good)
            .await,
        200,
    )
    .await;
    assert_eq!(saved["source"], "tenant");
    let preview = json_with_status(
        app.post(
            key,
            "/api/v1/notification-templates/ticket_closed/preview",
            &good,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(preview["subject"], "Done: T-000123");
    assert!(preview["html"]
        .as_str()
        .expect("html")
        .contains("<p>Closed Printer offline on 3rd floor</p>"));
    assert_eq!(
        app.delete(key, "/api/v1/notification-templates/ticket_closed")
            .await
            .status(),
        204
    );
    let again = json_with_status(
        app.get(key, "/api/v1/notification-templates/ticket_closed")
            .await,
        200,
    )
    .await;
    assert_eq!(again["source"], "system");
    assert_eq!(
        app.get(key, "/api/v1/notification-templates/no_such")
            .await
            .status(),
        404
    );
    // SMTP settings: validated, the password never shown.
    let problem = json_with_status(
        app.put(
            key,
            "/api/v1/smtp-settings",
            &json!({"host": "", "port": 0, "tls_mode": "none", "from_address": "nope"}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<Value> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        vec![json!("host"), json!("port"), json!("from_address")]
    );
    let saved = json_with_status(
        app.put(
            key,
            "/api/v1/smtp-settings",
            &json!({"host": "smtp.msp.test", "port": 587, "tls_mode": "starttls",
                 "username": "desk", "password": "s3cret", "from_address": "desk@msp.test"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(saved["has_password"], true);
    assert!(!saved.to_string().contains("s3cret"));
    app.stop().await;
}

#[tokio::test]
async fn digest_subscribers_get_one_daily_digest_instead_of_each_email() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await.expect("sink");
    let shop = shop(&app, "mail-digest", &sink).await;
    let _worker = TestWorker::start(&app);
    json_with_status(
        app.put(
            &shop.tech,
            "/api/v1/notification-preferences/ticket_created",
            &json!({"enabled": true, "delivery": "digest"}),
        )
        .await,
        200,
    )
    .await;
    for title in ["First of the day", "Second of the day"] {
        json_with_status(
            app.post(
                &shop.admin,
                "/api/v1/tickets",
                &json!({"client_id": shop.client_id, "title": title, "assigned_to": shop.tech_id}),
            )
            .await,
            201,
        )
        .await;
    }
    fan_outs_done(&app, &shop.admin, 2).await;
    // The manager got each e-mail at once; the technician's are held.
    let mails = sink.messages().expect("messages");
    assert_eq!(addressed_to(&mails, "boss@mail-digest.test").len(), 2);
    assert!(addressed_to(&mails, "tech@mail-digest.test").is_empty());
    let held = json_with_status(
        app.get(&shop.admin, "/api/v1/notification-log?status=held")
            .await,
        200,
    )
    .await;
    assert_eq!(held["data"].as_array().expect("data").len(), 2);
    // The digest, on demand (the daily run does the same at the digest hour).
    json_with_status(
        app.post(&shop.admin, "/api/v1/notification-digests", &json!({}))
            .await,
        201,
    )
    .await;
    let mails = sink
        .wait_for(3, Duration::from_secs(60))
        .await
        .expect("the digest");
    let digests = addressed_to(&mails, "tech@mail-digest.test");
    assert_eq!(digests.len(), 1, "one digest for both");
    let digest = digests[0];
    assert_eq!(digest.subject, "Your Keel digest: 2 notifications");
    let text = digest.text_body.as_deref().expect("text part");
    assert!(
        text.contains("First of the day") && text.contains("Second of the day"),
        "{text}"
    );
    assert!(digest
        .html_body
        .as_deref()
        .expect("html part")
        .contains("<li>"));
    let digested = json_with_status(
        app.get(&shop.admin, "/api/v1/notification-log?status=digested")
            .await,
        200,
    )
    .await;
    assert_eq!(digested["data"].as_array().expect("data").len(), 2);
    // A second digest has nothing left to send.
    json_with_status(
        app.post(&shop.admin, "/api/v1/notification-digests", &json!({}))
            .await,
        201,
    )
    .await;
    keel_tests::eventually(Duration::from_secs(30), || async {
        let runs = json_with_status(
            app.get(
                &shop.admin,
                "/api/v1/workflow-runs?kind=notification_digest&limit=200",
            )
            .await,
            200,
        )
        .await;
        let done = runs["data"]
            .as_array()?
            .iter()
            .filter(|r| r["status"] == "completed")
            .count();
        (done >= 2).then_some(())
    })
    .await
    .expect("both digests ran");
    assert_eq!(
        addressed_to(&sink.messages().expect("messages"), "tech@mail-digest.test").len(),
        1
    );
    app.stop().await;
}
