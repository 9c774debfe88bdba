use activities::events::consumer::{Consumer, ConsumerSettings, EventHandler};
use activities::events::relay::{Relay, RelaySettings};
use activities::events::{emit, stream_name};
use engine::{DomainEvent, EventEnvelope};
use keel_tests::{setting, TestApp};
use redis::AsyncCommands;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// Records every handled event id.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<Uuid>>>);

impl EventHandler for Recorder {
    async fn handle(&self, event: &EventEnvelope) -> Result<(), String> {
        self.0.lock().expect("lock").push(event.event_id);
        Ok(())
    }
}

impl Recorder {
    pub fn ids(&self) -> Vec<Uuid> {
        self.0.lock().expect("lock").clone()
    }
}

pub async fn redis() -> redis::aio::ConnectionManager {
    activities::ratelimit::connect(&setting("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/"))
        .await
        .expect("redis")
}

pub fn ping() -> DomainEvent {
    DomainEvent::TestPing {
        payload: serde_json::json!({"n": 1}),
    }
}

fn relay(app: &TestApp) -> Relay {
    let redis_url = setting("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/");
    Relay::new(
        app.pool.clone(),
        RelaySettings::new(&redis_url, &app.redis_prefix),
    )
}

fn settings(app: &TestApp, group: &str, consumer: &str) -> ConsumerSettings {
    ConsumerSettings {
        event_types: vec!["test.ping".into(), "user.created".into()],
        block: Duration::from_millis(50),
        ..ConsumerSettings::new(&app.redis_prefix, group, consumer)
    }
}

async fn emit_pings(app: &TestApp, tenant: engine::TenantId, count: usize) -> Vec<Uuid> {
    let mut tx = app.pool.tenant_tx(tenant).await.expect("tx");
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.push(emit(&mut tx, ping()).await.expect("emit").event_id);
    }
    tx.commit().await.expect("commit");
    ids
}

#[tokio::test]
async fn committed_events_reach_a_consumer_once_and_rolled_back_ones_never() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let committed = emit_pings(&app, t.tenant, 5).await;
    let mut tx = app.pool.tenant_tx(t.tenant).await.expect("tx");
    let rolled_back = emit(&mut tx, ping()).await.expect("emit").event_id;
    tx.rollback().await.expect("rollback");

    let mut relay = relay(&app);
    let published = relay.publish_once().await.expect("publish");
    assert!(
        published >= 5,
        "the 5 pings plus the fixture's own events, got {published}"
    );
    assert_eq!(
        relay.publish_once().await.expect("again"),
        0,
        "published rows are not published again"
    );
    assert_eq!(relay.backlog().await.expect("backlog"), 0);

    let recorder = Recorder::default();
    let consumer = Consumer::join(redis().await, settings(&app, "g1", "c1"), recorder.clone())
        .await
        .expect("join");
    consumer.poll_once().await.expect("poll");
    let handled = recorder.ids();
    for id in &committed {
        assert_eq!(handled.iter().filter(|h| *h == id).count(), 1);
    }
    assert!(!handled.contains(&rolled_back));
    // The user.created event of the fixture's admin arrived on its own stream.
    assert_eq!(handled.len(), committed.len() + 1);
    app.stop().await;
}

#[tokio::test]
async fn an_event_published_twice_is_handled_once_per_group_and_once_by_each_group() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let ids = emit_pings(&app, t.tenant, 3).await;
    let mut relay = relay(&app);
    relay.publish_once().await.expect("publish");
    // Simulate a relay that crashed after XADD and before marking: publish a copy.
    let mut conn = redis().await;
    let stream = stream_name(&app.redis_prefix, "test.ping");
    let entries: redis::streams::StreamRangeReply = conn.xrange_all(&stream).await.expect("range");
    let first = &entries.ids[0];
    let envelope: String = first.get("envelope").expect("envelope");
    let _: String = conn
        .xadd(
            &stream,
            "*",
            &[("event_id", ids[0].to_string()), ("envelope", envelope)],
        )
        .await
        .expect("dup");

    let a = Recorder::default();
    let b = Recorder::default();
    let group_a = Consumer::join(redis().await, settings(&app, "ga", "c1"), a.clone())
        .await
        .expect("join");
    let group_b = Consumer::join(redis().await, settings(&app, "gb", "c1"), b.clone())
        .await
        .expect("join");
    let outcome = group_a.poll_once().await.expect("poll");
    group_b.poll_once().await.expect("poll");
    assert_eq!(outcome.duplicates, 1);
    for recorder in [&a, &b] {
        let handled = recorder.ids();
        for id in &ids {
            assert_eq!(handled.iter().filter(|h| *h == id).count(), 1, "{id}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn entries_read_by_a_dead_consumer_are_reclaimed_by_another() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let ids = emit_pings(&app, t.tenant, 4).await;
    let mut relay = relay(&app);
    relay.publish_once().await.expect("publish");

    // Consumer "doomed" reads everything and dies before acknowledging anything.
    let never = Recorder::default();
    let doomed = Consumer::join(redis().await, settings(&app, "g", "doomed"), FailingHandler)
        .await
        .expect("join");
    let outcome = doomed.poll_once().await.expect("poll");
    assert!(outcome.failed >= 4);
    drop(doomed);
    drop(never);

    // A survivor with a short idle threshold reclaims and handles them.
    let survivor = Recorder::default();
    let mut config = settings(&app, "g", "survivor");
    config.claim_idle = Duration::from_millis(200);
    let consumer = Consumer::join(redis().await, config, survivor.clone())
        .await
        .expect("join");
    let all_handled = keel_tests::eventually(Duration::from_secs(10), || async {
        consumer.poll_once().await.expect("poll");
        let handled = survivor.ids();
        ids.iter().all(|id| handled.contains(id)).then_some(())
    })
    .await;
    assert!(
        all_handled.is_some(),
        "the survivor never handled the dead consumer's entries"
    );
    let mut conn = redis().await;
    let pending: redis::streams::StreamPendingReply = conn
        .xpending(stream_name(&app.redis_prefix, "test.ping"), "g")
        .await
        .expect("pending");
    assert_eq!(pending.count(), 0, "everything is acknowledged");
    app.stop().await;
}

/// A consumer that reads and then "crashes": its handler never succeeds.
struct FailingHandler;

impl EventHandler for FailingHandler {
    async fn handle(&self, _event: &EventEnvelope) -> Result<(), String> {
        Err("crashed before acknowledging".into())
    }
}

#[tokio::test]
async fn malformed_entries_go_to_the_dead_letter_stream_and_do_not_stop_the_consumer() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let mut conn = redis().await;
    let stream = stream_name(&app.redis_prefix, "test.ping");
    let _: String = conn
        .xadd(&stream, "*", &[("envelope", "{not json")])
        .await
        .expect("xadd");
    let _: String = conn
        .xadd(&stream, "*", &[("something", "else")])
        .await
        .expect("xadd");
    let ids = emit_pings(&app, t.tenant, 1).await;
    let mut relay = relay(&app);
    relay.publish_once().await.expect("publish");

    let recorder = Recorder::default();
    let consumer = Consumer::join(redis().await, settings(&app, "g", "c"), recorder.clone())
        .await
        .expect("join");
    let outcome = consumer.poll_once().await.expect("poll");
    assert_eq!(outcome.dead_lettered, 2);
    assert!(recorder.ids().contains(&ids[0]));
    let dead: redis::streams::StreamRangeReply = conn
        .xrange_all(activities::events::dead_letter_stream(&app.redis_prefix))
        .await
        .expect("dlq");
    assert_eq!(dead.ids.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn several_relays_at_once_publish_each_event_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let ids = emit_pings(&app, t.tenant, 300).await;
    let redis_url = setting("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/");
    let mut relays = Vec::new();
    for _ in 0..3 {
        let settings = RelaySettings {
            batch: 20,
            ..RelaySettings::new(&redis_url, &app.redis_prefix)
        };
        let mut relay = Relay::new(app.pool.clone(), settings);
        relays.push(tokio::spawn(async move {
            let mut published = 0;
            loop {
                match relay.publish_once().await.expect("publish") {
                    0 => return published,
                    n => published += n,
                }
            }
        }));
    }
    let mut total = 0;
    for relay in relays {
        total += relay.await.expect("relay task");
    }
    let mut conn = redis().await;
    let entries: redis::streams::StreamRangeReply = conn
        .xrange_all(stream_name(&app.redis_prefix, "test.ping"))
        .await
        .expect("range");
    let mut published: Vec<String> = entries
        .ids
        .iter()
        .filter_map(|e| e.get::<String>("event_id"))
        .collect();
    published.sort();
    published.dedup();
    assert_eq!(entries.ids.len(), ids.len(), "no event was published twice");
    assert_eq!(published.len(), ids.len());
    assert!(total >= ids.len());
    app.stop().await;
}

#[tokio::test]
async fn an_event_whose_handler_keeps_failing_goes_to_the_dead_letter_stream() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    emit_pings(&app, t.tenant, 1).await;
    relay(&app).publish_once().await.expect("publish");
    let mut config = settings(&app, "g", "c");
    config.event_types = vec!["test.ping".into()];
    config.claim_idle = Duration::from_millis(50);
    config.max_deliveries = 3;
    let consumer = Consumer::join(redis().await, config, FailingHandler)
        .await
        .expect("join");
    let dead = keel_tests::eventually(Duration::from_secs(10), || async {
        let outcome = consumer.poll_once().await.expect("poll");
        (outcome.dead_lettered == 1).then_some(())
    })
    .await;
    assert!(dead.is_some(), "the poison event was never dead-lettered");
    let mut conn = redis().await;
    let letters: redis::streams::StreamRangeReply = conn
        .xrange_all(activities::events::dead_letter_stream(&app.redis_prefix))
        .await
        .expect("dlq");
    let reason: String = letters.ids[0].get("reason").expect("reason");
    assert!(reason.starts_with("handler failed 3 times"), "{reason}");
    let pending: redis::streams::StreamPendingReply = conn
        .xpending(stream_name(&app.redis_prefix, "test.ping"), "g")
        .await
        .expect("pending");
    assert_eq!(pending.count(), 0);
    app.stop().await;
}
