//! End-to-end benchmarks of the durable engine, each next to a bare baseline measured
//! in the same run. Used by `scripts/bench.sh`; prints one line per measurement.
//!
//! `bench-durable workflows N C`: N one-activity workflows at concurrency C through
//! Keel's path (POST /api/v1/self-tests → Temporal → `keel worker` → Postgres, run
//! bookkeeping and exactly-once effects included) and through a bare SDK workflow whose
//! one activity does the same INSERT with a plain pool.
//!
//! `bench-durable events N`: N events from outbox insert through the relay to consumer
//! ACK, next to raw XADD + XREADGROUP/XACK of the same N entries.

use activities::events::consumer::{Consumer, ConsumerSettings, EventHandler};
use activities::events::relay::{Relay, RelaySettings};
use activities::temporal::Temporal;
use activities::Db;
use engine::{DomainEvent, EventEnvelope};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod bare {
    //! The baseline workflow: one activity, one INSERT, nothing else (no run record,
    //! no effect record, no step record).
    use std::sync::Arc;
    use temporalio_macros::{activities, workflow, workflow_methods};
    use temporalio_sdk::activities::{ActivityContext, ActivityError};
    use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult};

    pub struct BareActivities {
        pub db: activities::Db,
    }

    #[activities]
    impl BareActivities {
        #[activity(name = "bench.bare_insert")]
        pub async fn insert(
            self: Arc<Self>,
            _ctx: ActivityContext,
            tenant: engine::TenantId,
        ) -> Result<(), ActivityError> {
            let mut tx = self.db.tenant_tx(tenant).await?;
            activities::self_test::write_mark(&mut tx, "bare", 1).await?;
            tx.commit().await?;
            Ok(())
        }
    }

    #[workflow]
    pub struct BareWorkflow {
        tenant: engine::TenantId,
    }

    #[workflow_methods]
    impl BareWorkflow {
        #[init]
        fn new(_ctx: &WorkflowContextView, tenant: engine::TenantId) -> Self {
            BareWorkflow { tenant }
        }

        #[run(name = "BenchBare")]
        pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
            let tenant = ctx.state(|s| s.tenant);
            let options =
                ActivityOptions::start_to_close_timeout(std::time::Duration::from_secs(30));
            ctx.execute_activity(BareActivities::insert, tenant, options)
                .await?;
            Ok(())
        }
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

fn report(name: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    let rate = count as f64 / elapsed.as_secs_f64();
    let mut line = format!(
        "{name:<38} {count:>6} in {:>6.2}s = {rate:>9.1}/s",
        elapsed.as_secs_f64()
    );
    if !latencies.is_empty() {
        latencies.sort();
        let at = |p: f64| {
            latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)]
                .as_secs_f64()
                * 1000.0
        };
        line.push_str(&format!(
            "   p50 {:>7.1} ms   p99 {:>7.1} ms",
            at(0.50),
            at(0.99)
        ));
    }
    println!("{line}");
}

async fn keel_path(count: usize, concurrency: usize) {
    let base = env("KEEL_URL");
    let key = env("KEEL_KEY");
    let temporal = Arc::new(
        Temporal::connect(&env("TEMPORAL_ADDRESS"), "default", "")
            .await
            .expect("temporal"),
    );
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (base, key, http, temporal, next) = (
            base.clone(),
            key.clone(),
            http.clone(),
            temporal.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let begun = Instant::now();
                let response = http
                    .post(format!("{base}/api/v1/self-tests"))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({"steps": 1}))
                    .send()
                    .await
                    .expect("start");
                assert_eq!(response.status(), 201);
                let body: serde_json::Value = response.json().await.expect("json");
                temporal
                    .self_test_result(body["workflow_id"].as_str().expect("id"))
                    .await
                    .expect("completes");
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("task"));
    }
    report(
        "keel: API → Temporal → worker → PG",
        count,
        started.elapsed(),
        latencies,
    );
}

async fn bare_path(count: usize, concurrency: usize) {
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
    use temporalio_sdk::{Runtime, Worker, WorkerOptions};
    let temporal = Temporal::connect(&env("TEMPORAL_ADDRESS"), "default", "")
        .await
        .expect("temporal");
    let client = temporal.client().clone();
    let tenant =
        engine::TenantId(uuid::Uuid::parse_str(&env("BENCH_TENANT")).expect("tenant uuid"));
    let queue = format!("bench-bare-{}", uuid::Uuid::now_v7().simple());
    let runtime = Runtime::from_current_tokio(Default::default()).expect("runtime");
    let options = WorkerOptions::new(queue.clone())
        .register_workflow::<bare::BareWorkflow>()
        .expect("register")
        .register_activities(bare::BareActivities {
            db: Db::connect(&env("KEEL_APP_DATABASE_URL"), 16).expect("pool"),
        })
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), options).expect("worker");
    let stop = worker.shutdown_handle();
    let next = Arc::new(AtomicUsize::new(0));
    let drive = async {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, next, queue) = (client.clone(), next.clone(), queue.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return latencies;
                    }
                    let begun = Instant::now();
                    let id = format!("bench-bare-{}-{n}", uuid::Uuid::now_v7().simple());
                    let handle = client
                        .start_workflow(
                            bare::BareWorkflow::run,
                            tenant,
                            WorkflowStartOptions::new(queue.clone(), id).build(),
                        )
                        .await
                        .expect("start");
                    handle
                        .get_result(WorkflowGetResultOptions::default())
                        .await
                        .expect("completes");
                    latencies.push(begun.elapsed());
                }
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("task"));
        }
        report(
            "bare SDK workflow, same INSERT",
            count,
            started.elapsed(),
            latencies,
        );
        stop();
    };
    let (outcome, ()) = tokio::join!(worker.run(), drive);
    outcome.expect("bare worker");
}

struct Counter(Arc<AtomicUsize>);

impl EventHandler for Counter {
    async fn handle(&self, _event: &EventEnvelope) -> Result<(), String> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

async fn events(count: usize) {
    let db = Db::connect(&env("KEEL_APP_DATABASE_URL"), 8).expect("pool");
    let redis_url = env("REDIS_URL");
    let tenant =
        engine::TenantId(uuid::Uuid::parse_str(&env("BENCH_TENANT")).expect("tenant uuid"));
    let prefix = format!("bench:{}:", uuid::Uuid::now_v7().simple());
    let handled = Arc::new(AtomicUsize::new(0));
    let redis = activities::ratelimit::connect(&redis_url)
        .await
        .expect("redis");
    let settings = ConsumerSettings {
        event_types: vec!["test.ping".into()],
        batch: 500,
        block: Duration::from_millis(20),
        ..ConsumerSettings::new(&prefix, "bench", "c1")
    };
    let consumer = Consumer::join(redis.clone(), settings, Counter(handled.clone()))
        .await
        .expect("join");
    let mut relay = Relay::new(db.clone(), RelaySettings::new(&redis_url, &prefix));
    relay.publish_once().await.expect("drain earlier events");

    let started = Instant::now();
    for chunk in 0..count.div_ceil(100) {
        let mut tx = db.tenant_tx(tenant).await.expect("tx");
        for _ in 0..100.min(count - chunk * 100) {
            activities::events::emit(
                &mut tx,
                DomainEvent::TestPing {
                    payload: serde_json::json!({"n": chunk}),
                },
            )
            .await
            .expect("emit");
        }
        tx.commit().await.expect("commit");
    }
    while handled.load(Ordering::Relaxed) < count {
        relay.publish_once().await.expect("relay");
        consumer.poll_once().await.expect("consume");
    }
    report(
        "keel: outbox → relay → stream → ACK",
        count,
        started.elapsed(),
        Vec::new(),
    );

    let mut conn = redis.clone();
    let stream = format!("{prefix}raw");
    let _: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("g")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await;
    let payload =
        serde_json::json!({"type": "test.ping", "data": {"payload": {"n": 1}}}).to_string();
    let started = Instant::now();
    for chunk in 0..count.div_ceil(100) {
        let mut pipe = redis::pipe();
        for _ in 0..100.min(count - chunk * 100) {
            pipe.cmd("XADD")
                .arg(&stream)
                .arg("*")
                .arg("envelope")
                .arg(&payload)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await.expect("xadd");
    }
    let mut acked = 0;
    while acked < count {
        let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg("c")
            .arg("COUNT")
            .arg(500)
            .arg("STREAMS")
            .arg(&stream)
            .arg(">")
            .query_async(&mut conn)
            .await
            .expect("read");
        let ids: Vec<String> = reply
            .keys
            .iter()
            .flat_map(|k| k.ids.iter().map(|i| i.id.clone()))
            .collect();
        if !ids.is_empty() {
            let _: i64 = redis::cmd("XACK")
                .arg(&stream)
                .arg("g")
                .arg(&ids)
                .query_async(&mut conn)
                .await
                .expect("ack");
        }
        acked += ids.len();
    }
    report(
        "raw: XADD + XREADGROUP/XACK",
        count,
        started.elapsed(),
        Vec::new(),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.get(1).map(String::as_str) {
        Some("workflows") => {
            let (count, concurrency) = (number(2, 200), number(3, 50));
            keel_path(count, concurrency).await;
            bare_path(count, concurrency).await;
        }
        Some("events") => events(number(2, 20_000)).await,
        _ => eprintln!("usage: bench-durable workflows [N] [C] | events [N]"),
    }
}
