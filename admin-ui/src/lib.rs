//! Keel's HTTP edge: the REST API under `/api/v1`, the server-rendered admin UI,
//! health, readiness and metrics. Reads and writes go through `activities`; this
//! crate holds no SQL.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod observe;
pub mod principal_cache;
pub mod ui;

use activities::ratelimit::LoginLimiter;
use activities::Db;
use axum::Router;
use std::sync::Arc;

/// Settings of the HTTP edge.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// `host:port` of the Temporal frontend, checked by `/readyz`.
    pub temporal_address: String,
    /// Base URL of the Temporal web UI, for links from run pages.
    pub temporal_ui_url: String,
    /// Whether cookies get the `Secure` attribute (set when served over HTTPS).
    pub secure_cookies: bool,
    /// How long a UI session lasts.
    pub session_ttl: chrono::Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Redis URL, for cross-process cache invalidation.
    pub redis_url: String,
    /// How long an authenticated API key stays cached (zero disables the cache).
    pub principal_cache_ttl: std::time::Duration,
    /// Temporal namespace.
    pub temporal_namespace: String,
    /// Prefix of Temporal task queue names.
    pub task_queue_prefix: String,
    /// Slug of the operator's tenant, whose Admins may create tenants via the API.
    pub platform_tenant: Option<String>,
    /// Outgoing mail (test e-mails, unsubscribe links, template previews).
    pub mail: activities::notifications::mail::MailConfig,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            temporal_address: "127.0.0.1:7233".to_owned(),
            temporal_ui_url: "http://127.0.0.1:8233".to_owned(),
            secure_cookies: false,
            session_ttl: chrono::Duration::hours(12),
            max_body_bytes: 1024 * 1024,
            redis_url: "redis://127.0.0.1:6379/".to_owned(),
            principal_cache_ttl: std::time::Duration::from_secs(5),
            temporal_namespace: "default".to_owned(),
            task_queue_prefix: String::new(),
            platform_tenant: None,
            mail: activities::notifications::mail::MailConfig {
                default_smtp_url: None,
                default_from: "Keel <keel@localhost>".to_owned(),
                secret_key: Vec::new(),
                public_url: "http://127.0.0.1:8080".to_owned(),
                rate_window: std::time::Duration::from_secs(60),
            },
        }
    }
}

/// Everything a handler may use, cloned per request (all fields are cheap handles).
#[derive(Clone)]
pub struct AppState {
    /// The application-role connection pool.
    pub db: Db,
    /// Redis, for readiness.
    pub redis: redis::aio::ConnectionManager,
    /// Failed-login throttle.
    pub login_limiter: LoginLimiter,
    /// Settings.
    pub settings: Arc<HttpSettings>,
    /// Page templates.
    pub templates: Arc<minijinja::Environment<'static>>,
    /// Renders `/metrics`.
    pub metrics: observe::MetricsHandle,
    /// Recently authenticated API keys.
    pub principals: Arc<principal_cache::PrincipalCache>,
    /// Redis key prefix.
    pub redis_prefix: String,
    temporal: Arc<tokio::sync::OnceCell<activities::temporal::Temporal>>,
}

impl AppState {
    /// The Temporal client, connected on first use (503 while Temporal is down).
    pub async fn temporal(&self) -> Result<&activities::temporal::Temporal, error::ApiError> {
        let settings = &self.settings;
        self.temporal
            .get_or_try_init(|| {
                activities::temporal::Temporal::connect(
                    &settings.temporal_address,
                    &settings.temporal_namespace,
                    &settings.task_queue_prefix,
                )
            })
            .await
            .map_err(error::ApiError::unavailable)
    }

    /// Credentials or roles changed: forget cached principals here and everywhere.
    pub async fn credentials_changed(&self) {
        self.principals.clear();
        let mut redis = self.redis.clone();
        activities::credentials::announce_credentials_changed(&mut redis, &self.redis_prefix).await;
    }

    /// Assembles the state; installs the process-wide metrics recorder once.
    pub fn new(
        db: Db,
        redis: redis::aio::ConnectionManager,
        redis_prefix: &str,
        settings: HttpSettings,
    ) -> Self {
        let login_limiter = LoginLimiter::new(
            redis.clone(),
            redis_prefix,
            5,
            std::time::Duration::from_secs(15 * 60),
        );
        AppState {
            db,
            redis,
            login_limiter,
            principals: principal_cache::PrincipalCache::new(settings.principal_cache_ttl),
            redis_prefix: redis_prefix.to_owned(),
            temporal: Arc::new(tokio::sync::OnceCell::new()),
            settings: Arc::new(settings),
            templates: Arc::new(ui::templates()),
            metrics: observe::metrics_handle(),
        }
    }
}

/// The whole application: API, UI, health and metrics, with logging and limits.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    Router::new()
        .merge(api::router(state.clone()))
        .merge(ui::router(state.clone()))
        .merge(health::router())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(extract::BodyLimit(max_body)))
        .layer(axum::middleware::from_fn(observe::record_metrics))
        .layer(observe::trace_layer())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            observe::panic_response,
        ))
        .layer(observe::propagate_request_id())
        .layer(observe::set_request_id())
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = tokio::spawn(principal_cache::follow_invalidations(
        state.settings.redis_url.clone(),
        activities::credentials::invalidation_channel(&state.redis_prefix),
        state.principals.clone(),
    ));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    follower.abort();
    served
}
