//! Keel workers for tests: in-process (a thread of its own, since the SDK's worker
//! future is not Send) or as a real `keel worker` child process that a test may kill.

use crate::app::TestApp;
use std::process::{Child, Command, Stdio};

/// A worker running in this process on the test's task queues.
pub struct TestWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The worker settings for `app`.
pub fn settings(app: &TestApp) -> workers::WorkerSettings {
    let mut settings = workers::WorkerSettings::new(
        &crate::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        "default",
        &crate::setting("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/"),
        &app.redis_prefix,
    );
    settings.task_queue_prefix = app.task_queue_prefix.clone();
    settings.max_workflow_tasks = 8;
    settings.max_activities = 8;
    settings
}

impl TestWorker {
    /// Starts a worker for `app`.
    pub fn start(app: &TestApp) -> TestWorker {
        let settings = settings(app);
        let db = app.pool.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let outcome = runtime.block_on(workers::run(settings, db, async {
                let _ = stopped.await;
            }));
            if let Err(error) = outcome {
                panic!("test worker failed: {error}");
            }
        });
        TestWorker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the worker and waits until it has drained.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("worker thread");
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The `keel` binary built beside the test binaries.
pub fn keel_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    let keel = debug_dir.join("keel");
    assert!(
        keel.exists(),
        "{} is missing: run `cargo build -p keel` first (./x test does)",
        keel.display()
    );
    keel
}

/// Starts `keel worker` as a child process serving `app`'s database and queues.
pub fn worker_process(app: &TestApp) -> Child {
    Command::new(keel_binary())
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.owner_url)
        .env("KEEL_APP_DATABASE_URL", &app.db.app_url)
        .env(
            "REDIS_URL",
            crate::setting("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/"),
        )
        .env(
            "TEMPORAL_ADDRESS",
            crate::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        )
        .env("KEEL_TASK_QUEUE_PREFIX", &app.task_queue_prefix)
        .env("KEEL_REDIS_PREFIX", &app.redis_prefix)
        .env("KEEL_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start keel worker")
}
