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
    // SLA targets in tests are seconds, not minutes.
    settings.sla_seconds_per_minute = 1;
    // A one-hour timesheet reminder fires after two seconds.
    settings.timesheet_seconds_per_hour = 2;
    settings.mail = crate::app::test_mail_config();
    settings
}

impl TestWorker {
    /// Starts a worker for `app`.
    pub fn start(app: &TestApp) -> TestWorker {
        let settings = settings(app);
        let app_url = app.db.app_url.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            // A pool of its own: connections live on the runtime that opened them, and
            // the test's runtime is blocked while it waits for this worker to stop.
            let db = activities::Db::connect(&app_url, 8).expect("worker pool");
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
pub fn worker_process(app: &TestApp) -> WorkerProcess {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(keel_binary());
    // SAFETY: prctl in the child before exec; it only asks the kernel to kill the
    // worker if the test process dies, so no worker outlives an aborted test.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = command
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
        .env("KEEL_SLA_SECONDS_PER_MINUTE", "1")
        .env("KEEL_TIMESHEET_SECONDS_PER_HOUR", "2")
        .env("KEEL_SECRET_KEY", crate::app::TEST_SECRET)
        .env(
            "KEEL_MAIL_RATE_WINDOW_SECONDS",
            crate::app::TEST_RATE_WINDOW_SECONDS.to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start keel worker");
    WorkerProcess(child)
}

/// A `keel worker` child process, killed when dropped.
pub struct WorkerProcess(pub Child);

impl WorkerProcess {
    /// Sends `signal` and waits for the process to exit.
    pub fn signal_and_wait(&mut self, signal: i32) {
        // SAFETY: kill(2) on our own child; no memory is touched.
        unsafe { libc::kill(self.0.id() as i32, signal) };
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
