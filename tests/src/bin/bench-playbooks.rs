//! The Rhai interpreter's overhead, measured in one run: a 10-action playbook
//! (`kv_increment` ten times) as a `PlaybookRun` next to the same ten calls written
//! as a native Rust workflow. Both run on one worker inside this process, on one
//! task queue, with the same run bookkeeping and the same `playbooks.action`
//! activity against the same database, so the difference is the interpreter (and
//! its replay of the script at each workflow task). Rounds alternate to spread
//! drift. Used by `scripts/bench.sh`; needs `TEMPORAL_ADDRESS`,
//! `KEEL_APP_DATABASE_URL`, `BENCH_TENANT` and `BENCH_USER` (a user holding
//! `playbook:run`).
//!
//! `bench-playbooks [N] [C] [ROUNDS]`: N runs of each at concurrency C, ROUNDS times.

use activities::durable::{PlaybookSteps, RunRecorder};
use activities::temporal::Temporal;
use activities::Db;
use dsl::workflow::{PlaybookRun, PlaybookRunInput};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// The playbook: ten actions in a loop.
const TEN_ACTIONS: &str = r#"
    let n = 0;
    for i in 0..10 { n = kv_increment(#{ key: `counter-${i}` }); }
    n
"#;

mod native {
    //! The same ten calls, written against the SDK.
    use dsl::workflow::PlaybookRunInput;
    use engine::workflows::contracts::{PlaybookAction, PlaybookActionActivity};
    use engine::workflows::{database_write_options, run_record, WorkflowKind};
    use temporalio_macros::{workflow, workflow_methods};
    use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};

    #[workflow]
    pub struct NativeTen {
        input: PlaybookRunInput,
    }

    #[workflow_methods]
    impl NativeTen {
        #[init]
        fn new(_ctx: &WorkflowContextView, input: PlaybookRunInput) -> Self {
            NativeTen { input }
        }

        #[run(name = "BenchNativeTen")]
        pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<serde_json::Value> {
            let input = ctx.state(|s| s.input.clone());
            run_record::open(ctx, input.tenant, WorkflowKind::PlaybookRun, &input).await?;
            let mut last = serde_json::Value::Null;
            for i in 0..10 {
                let call = PlaybookAction {
                    step: run_record::step_ref(ctx, input.tenant, &format!("{:03}-kv", i + 1)),
                    action: "kv_increment".into(),
                    args: serde_json::json!({ "key": format!("counter-{i}") }),
                    run_as: input.run_as,
                    dry_run: false,
                    fixture: None,
                };
                last = ctx
                    .execute_activity(PlaybookActionActivity, call, database_write_options())
                    .await?;
            }
            run_record::close(ctx, input.tenant, Ok::<_, String>(last)).await
        }
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

/// Throughput and the median latency (ms), printed on one line.
fn report(name: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> f64 {
    latencies.sort();
    let at = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{name:<34} {count:>5} in {:>6.2}s = {rate:>7.1} runs/s   p50 {:>7.1} ms   p99 {:>7.1} ms",
        elapsed.as_secs_f64(),
        at(0.50),
        at(0.99)
    );
    at(0.50)
}

#[derive(Clone, Copy)]
enum Flavour {
    Rhai,
    Native,
}

async fn one(client: &Client, queue: &str, flavour: Flavour, input: PlaybookRunInput) {
    let id = format!("bench-pb-{}", uuid::Uuid::now_v7().simple());
    let options = WorkflowStartOptions::new(queue.to_owned(), id).build();
    match flavour {
        Flavour::Rhai => {
            let handle = client
                .start_workflow(PlaybookRun::run, input, options)
                .await
                .expect("start");
            let result = handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .expect("completes");
            assert_eq!(result.steps, 10);
        }
        Flavour::Native => {
            let handle = client
                .start_workflow(native::NativeTen::run, input, options)
                .await
                .expect("start");
            handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .expect("completes");
        }
    }
}

async fn measure(
    client: &Client,
    queue: &str,
    flavour: Flavour,
    input: &PlaybookRunInput,
    count: usize,
    concurrency: usize,
) -> (Duration, Vec<Duration>) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, queue, input, next) = (
            client.clone(),
            queue.to_owned(),
            input.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let begun = Instant::now();
                one(&client, &queue, flavour, input.clone()).await;
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("task"));
    }
    (started.elapsed(), latencies)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (count, concurrency, rounds) = (number(1, 100), number(2, 10), number(3, 2));
    let temporal = Temporal::connect(&env("TEMPORAL_ADDRESS"), "default", "")
        .await
        .expect("temporal");
    let client = temporal.client().clone();
    let db = Db::connect(&env("KEEL_APP_DATABASE_URL"), 16).expect("pool");
    let tenant = engine::TenantId(env("BENCH_TENANT").parse().expect("tenant uuid"));
    let run_as: uuid::Uuid = env("BENCH_USER").parse().expect("user uuid");
    let queue = format!("bench-playbooks-{}", uuid::Uuid::now_v7().simple());
    let runtime = Runtime::from_current_tokio(Default::default()).expect("runtime");
    let options = WorkerOptions::new(queue.clone())
        .register_workflow::<PlaybookRun>()
        .expect("register")
        .register_workflow::<native::NativeTen>()
        .expect("register")
        .register_activities(RunRecorder { db: db.clone() })
        .register_activities(PlaybookSteps {
            db,
            credentials: None,
        })
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), options).expect("worker");
    let stop = worker.shutdown_handle();
    let input = PlaybookRunInput {
        tenant,
        playbook_id: uuid::Uuid::now_v7(),
        version: 1,
        source: TEN_ACTIONS.into(),
        input: serde_json::json!({}),
        dry_run: false,
        fixtures: Default::default(),
        run_as,
        trigger: "bench".into(),
        depth: 0,
        continuation: None,
    };
    let drive = async {
        // One of each first: the worker's caches and the pool warm up unmeasured.
        measure(&client, &queue, Flavour::Native, &input, 2, 1).await;
        measure(&client, &queue, Flavour::Rhai, &input, 2, 1).await;
        let (mut native_p50, mut rhai_p50) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            let (elapsed, latencies) =
                measure(&client, &queue, Flavour::Native, &input, count, concurrency).await;
            let name = format!("native Rust workflow, round {round}");
            native_p50.push(report(&name, count, elapsed, latencies));
            let (elapsed, latencies) =
                measure(&client, &queue, Flavour::Rhai, &input, count, concurrency).await;
            let name = format!("Rhai playbook, round {round}");
            rhai_p50.push(report(&name, count, elapsed, latencies));
        }
        let native: f64 = native_p50.iter().sum::<f64>() / native_p50.len() as f64;
        let rhai: f64 = rhai_p50.iter().sum::<f64>() / rhai_p50.len() as f64;
        println!(
            "interpreter overhead on the median run latency: {:+.1} % ({rhai:.1} ms vs {native:.1} ms)",
            (rhai / native - 1.0) * 100.0
        );
        stop();
    };
    let (outcome, ()) = tokio::join!(worker.run(), drive);
    outcome.expect("bench worker");
}
