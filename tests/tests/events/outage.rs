use crate::bus::{ping, Recorder};
use activities::events::consumer::{Consumer, ConsumerSettings};
use activities::events::emit;
use activities::events::relay::{Relay, RelaySettings};
use keel_tests::TestApp;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use uuid::Uuid;

/// A real redis-server of the test's own, so the test may stop and restart it.
struct PrivateRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start(port: u16, dir: &std::path::Path) -> PrivateRedis {
        let mut redis = PrivateRedis {
            port,
            dir: dir.to_owned(),
            child: None,
        };
        redis.restart();
        redis
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM lets Redis finish its append-only file.
            // SAFETY: kill(2) on our own child; no memory is touched.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test]
async fn events_written_while_redis_is_down_are_delivered_exactly_once_after_it_returns() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let dir = std::env::temp_dir().join(format!("keel-redis-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut redis = PrivateRedis::start(free_port(), &dir);

    let settings = RelaySettings {
        idle_poll: Duration::from_millis(20),
        ..RelaySettings::new(&redis.url(), &app.redis_prefix)
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(Relay::new(app.pool.clone(), settings).run(async {
        let _ = stopped.await;
    }));

    let mut expected = Vec::new();
    let write = |count: usize| {
        let pool = app.pool.clone();
        let tenant = t.tenant;
        async move {
            let mut ids = Vec::new();
            for _ in 0..count {
                let mut tx = pool.tenant_tx(tenant).await.expect("tx");
                ids.push(emit(&mut tx, ping()).await.expect("emit").event_id);
                tx.commit().await.expect("commit");
            }
            ids
        }
    };
    expected.extend(write(5).await);
    let drained = keel_tests::eventually(Duration::from_secs(10), || async {
        let relay = Relay::new(
            app.pool.clone(),
            RelaySettings::new(&redis.url(), &app.redis_prefix),
        );
        (relay.backlog().await.ok() == Some(0)).then_some(())
    })
    .await;
    assert!(drained.is_some(), "the relay published while Redis was up");

    redis.stop();
    expected.extend(write(20).await);
    // The relay keeps failing; the rows wait in the outbox.
    let probe = Relay::new(
        app.pool.clone(),
        RelaySettings::new(&redis.url(), &app.redis_prefix),
    );
    assert!(probe.backlog().await.expect("backlog") >= 20);

    redis.restart();
    let recorder = Recorder::default();
    let client = activities::ratelimit::connect(&redis.url())
        .await
        .expect("redis back");
    let settings = ConsumerSettings {
        event_types: vec!["test.ping".into()],
        block: Duration::from_millis(50),
        ..ConsumerSettings::new(&app.redis_prefix, "g", "c")
    };
    let consumer = Consumer::join(client, settings, recorder.clone())
        .await
        .expect("join");
    let delivered = keel_tests::eventually(Duration::from_secs(30), || async {
        consumer.poll_once().await.ok()?;
        let handled = recorder.ids();
        expected
            .iter()
            .all(|id| handled.contains(id))
            .then_some(handled)
    })
    .await
    .expect("every event arrives after Redis returns");
    for id in &expected {
        assert_eq!(
            delivered.iter().filter(|h| *h == id).count(),
            1,
            "{id} handled once"
        );
    }
    let _ = stop.send(());
    relay.await.expect("relay stops");
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}
