//! A running Keel HTTP server on a random port, on its own database.

use crate::database::TestDb;
use activities::credentials::{hash_password, issue_api_key};
use activities::{tenants, users, Db};
use engine::{Email, Slug, TenantId};
use std::net::SocketAddr;
use uuid::Uuid;

/// A tenant with an Admin user and that user's API key.
pub struct TenantFixture {
    /// The tenant.
    pub tenant: TenantId,
    /// Its slug.
    pub slug: String,
    /// The Admin user.
    pub admin_id: Uuid,
    /// The Admin's e-mail.
    pub admin_email: String,
    /// An API key of the Admin.
    pub admin_key: String,
}

/// The application under test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// Pool as the application role, for fixtures.
    pub pool: Db,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The Redis key prefix this app uses.
    pub redis_prefix: String,
    /// The Temporal task-queue prefix of this test, so its workers take only its tasks.
    pub task_queue_prefix: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The database (declared last: dropped after the server stops).
    pub db: TestDb,
}

/// The password every fixture user gets.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Starts the app on a fresh database.
    pub async fn spawn() -> TestApp {
        let db = TestDb::new().await;
        let pool = Db::connect(&db.app_url, 8).expect("pool");
        let redis_url = crate::setting("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/");
        let redis = activities::ratelimit::connect(&redis_url)
            .await
            .expect("redis");
        let unique = Uuid::now_v7().simple().to_string();
        let redis_prefix = format!("keel-test:{unique}:");
        let task_queue_prefix = format!("test-{unique}-");
        let settings = admin_ui::HttpSettings {
            temporal_address: crate::setting("KEEL_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            max_body_bytes: 64 * 1024,
            redis_url: redis_url.clone(),
            task_queue_prefix: task_queue_prefix.clone(),
            platform_tenant: Some("platform".to_owned()),
            mail: test_mail_config(),
            ..admin_ui::HttpSettings::default()
        };
        let state = admin_ui::AppState::new(pool.clone(), redis, &redis_prefix, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(admin_ui::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            base: format!("http://{addr}"),
            addr,
            pool,
            http,
            redis_prefix,
            task_queue_prefix,
            stop: Some(stop),
            server: Some(server),
            db,
        }
    }

    /// Starts another server on the same database and Redis prefix, as a second
    /// `keel serve` process would be; answers its base URL. It stops with the test.
    pub async fn sibling(&self) -> String {
        let redis_url = crate::setting("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/");
        let redis = activities::ratelimit::connect(&redis_url)
            .await
            .expect("redis");
        let settings = admin_ui::HttpSettings {
            redis_url,
            ..admin_ui::HttpSettings::default()
        };
        let state = admin_ui::AppState::new(self.pool.clone(), redis, &self.redis_prefix, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(admin_ui::serve(listener, state, std::future::pending()));
        format!("http://{addr}")
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a tenant with an Admin and an API key for the Admin.
    pub async fn tenant(&self, slug: &str) -> TenantFixture {
        let tenant = tenants::create_tenant(
            &self.pool,
            &Slug::parse(slug).expect("slug"),
            &format!("{slug} MSP"),
        )
        .await
        .expect("create tenant");
        let admin_email = format!("admin@{slug}.example.com");
        let admin_id = self.user(tenant.tenant_id(), &admin_email, "Admin").await;
        let admin_key = self.api_key(tenant.tenant_id(), admin_id).await;
        TenantFixture {
            tenant: tenant.tenant_id(),
            slug: slug.to_owned(),
            admin_id,
            admin_email,
            admin_key,
        }
    }

    /// Creates a user with one role and the fixture password.
    pub async fn user(&self, tenant: TenantId, email: &str, role: &str) -> Uuid {
        let email = Email::parse(email).expect("email");
        let mut tx = self.pool.tenant_tx(tenant).await.expect("tx");
        let roles = [role.to_owned()];
        let new = users::NewUser {
            email: &email,
            full_name: "Test User",
            password_hash: Some(hash_password(PASSWORD)),
            roles: &roles,
        };
        let user = users::create_user(&mut tx, new, None)
            .await
            .expect("create user");
        tx.commit().await.expect("commit");
        user.id
    }

    /// Issues an API key for a user.
    pub async fn api_key(&self, tenant: TenantId, user: Uuid) -> String {
        let mut tx = self.pool.tenant_tx(tenant).await.expect("tx");
        let (_, key) = issue_api_key(&mut tx, user, "test")
            .await
            .expect("issue key");
        tx.commit().await.expect("commit");
        key
    }

    /// A GET with a bearer key.
    pub async fn get(&self, key: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("request")
    }

    /// A POST of a JSON body with a bearer key.
    pub async fn post(&self, key: &str, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// A PATCH of a JSON body with a bearer key.
    pub async fn patch(
        &self,
        key: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// A PUT of a JSON body with a bearer key.
    pub async fn put(&self, key: &str, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .put(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// A DELETE with a bearer key.
    pub async fn delete(&self, key: &str, path: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("request")
    }

    /// A POST of a CSV body with a bearer key.
    pub async fn post_csv(&self, key: &str, path: &str, csv: String) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(key)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server and waits for it; fails the test if the server failed.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads a response as JSON, asserting its status.
pub async fn json_with_status(response: reqwest::Response, status: u16) -> serde_json::Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// The secret key of test installations (API and workers must agree on it).
pub const TEST_SECRET: &str = "keel-test-secret";
/// The rate-limit window in tests: a tenth of a minute, so a limit of 60 e-mails
/// "per minute" means 60 per 6 seconds and rate tests finish quickly.
pub const TEST_RATE_WINDOW_SECONDS: u64 = 6;

/// Mail settings of tests: no system relay (tests give tenants SMTP settings that
/// point at their own sink), the test secret, the short rate window.
pub fn test_mail_config() -> activities::notifications::mail::MailConfig {
    activities::notifications::mail::MailConfig {
        default_smtp_url: None,
        default_from: "Keel <keel@localhost>".to_owned(),
        secret_key: TEST_SECRET.as_bytes().to_vec(),
        public_url: "http://keel.test".to_owned(),
        rate_window: std::time::Duration::from_secs(TEST_RATE_WINDOW_SECONDS),
    }
}
