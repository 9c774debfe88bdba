//! Configuration: environment variables over an optional `keel.toml` over defaults.
//! Every setting is documented in README.md. Secrets are never logged: `Debug`
//! redacts URLs' passwords.

use anyhow::{Context, Result};
use serde::Deserialize;
use std::path::PathBuf;

/// Settings as read from `keel.toml` (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    app_database_url: Option<String>,
    app_db_password: Option<String>,
    redis_url: Option<String>,
    redis_prefix: Option<String>,
    temporal_address: Option<String>,
    temporal_namespace: Option<String>,
    temporal_ui_port: Option<u16>,
    temporal_port: Option<u16>,
    pg_port: Option<u16>,
    redis_port: Option<u16>,
    secure_cookies: Option<bool>,
    task_queue_prefix: Option<String>,
    platform_tenant: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    secret_key: Option<String>,
    public_url: Option<String>,
    smtp_port: Option<u16>,
}

/// The resolved configuration.
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Owner connection (migrations). `None`: the cluster `keel up` runs.
    pub database_url: Option<String>,
    pub app_database_url: Option<String>,
    pub app_db_password: Option<String>,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub temporal_address: Option<String>,
    pub temporal_namespace: String,
    pub temporal_ui_port: u16,
    /// Port of the Temporal dev server `keel up` starts.
    pub temporal_port: u16,
    pub pg_port: u16,
    pub redis_port: u16,
    pub secure_cookies: bool,
    /// Prefix of Temporal task queue names (lets several deployments share a namespace).
    pub task_queue_prefix: String,
    /// Slug of the operator's tenant, whose Admins may create tenants through the API.
    pub platform_tenant: Option<String>,
    /// The system SMTP relay (`smtp://host:port`); `None`: the sink `keel up` runs.
    pub smtp_url: Option<String>,
    /// Sender of mail through the system relay.
    pub mail_from: String,
    /// Secret for SMTP passwords at rest and unsubscribe links; `None`: the key file
    /// in the data folder (created on first use).
    pub secret_key: Option<String>,
    /// Base URL of the UI in e-mails; `None`: `http://<listen>`.
    pub public_url: Option<String>,
    /// Port of the local mail sink `keel up` starts.
    pub smtp_port: u16,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_parsed<T: std::str::FromStr>(name: &str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    env(name)
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| anyhow::anyhow!("{name}={v:?} is invalid: {e}"))
        })
        .transpose()
}

impl Config {
    /// Reads `KEEL_CONFIG` (default `./keel.toml`, if present) and the environment.
    pub fn load() -> Result<Config> {
        let path = env("KEEL_CONFIG").map(PathBuf::from);
        let file = match &path {
            Some(path) => read_file(path)?,
            None if std::path::Path::new("keel.toml").exists() => {
                read_file(std::path::Path::new("keel.toml"))?
            }
            None => FileConfig::default(),
        };
        Ok(Config {
            listen: env("KEEL_LISTEN")
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            data_dir: env("KEEL_DATA_DIR")
                .map(PathBuf::from)
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(".keel")),
            database_url: env("DATABASE_URL").or(file.database_url),
            app_database_url: env("KEEL_APP_DATABASE_URL").or(file.app_database_url),
            app_db_password: env("KEEL_APP_DB_PASSWORD").or(file.app_db_password),
            redis_url: env("REDIS_URL").or(file.redis_url),
            redis_prefix: env("KEEL_REDIS_PREFIX")
                .or(file.redis_prefix)
                .unwrap_or_else(|| "keel:".to_owned()),
            temporal_address: env("TEMPORAL_ADDRESS").or(file.temporal_address),
            temporal_namespace: env("TEMPORAL_NAMESPACE")
                .or(file.temporal_namespace)
                .unwrap_or_else(|| "default".to_owned()),
            temporal_ui_port: env_parsed("KEEL_TEMPORAL_UI_PORT")?
                .or(file.temporal_ui_port)
                .unwrap_or(8233),
            temporal_port: env_parsed("KEEL_TEMPORAL_PORT")?
                .or(file.temporal_port)
                .unwrap_or(7233),
            pg_port: env_parsed("KEEL_PG_PORT")?.or(file.pg_port).unwrap_or(5433),
            redis_port: env_parsed("KEEL_REDIS_PORT")?
                .or(file.redis_port)
                .unwrap_or(6380),
            secure_cookies: env_parsed("KEEL_SECURE_COOKIES")?
                .or(file.secure_cookies)
                .unwrap_or(false),
            task_queue_prefix: env("KEEL_TASK_QUEUE_PREFIX")
                .or(file.task_queue_prefix)
                .unwrap_or_default(),
            platform_tenant: env("KEEL_PLATFORM_TENANT").or(file.platform_tenant),
            smtp_url: env("KEEL_SMTP_URL").or(file.smtp_url),
            mail_from: env("KEEL_MAIL_FROM")
                .or(file.mail_from)
                .unwrap_or_else(|| "Keel <keel@localhost>".to_owned()),
            secret_key: env("KEEL_SECRET_KEY").or(file.secret_key),
            public_url: env("KEEL_PUBLIC_URL").or(file.public_url),
            smtp_port: env_parsed("KEEL_SMTP_PORT")?
                .or(file.smtp_port)
                .unwrap_or(2525),
        })
    }

    /// The owner URL: `DATABASE_URL`, or the local cluster `keel up` runs.
    pub fn owner_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("postgres://postgres@127.0.0.1:{}/keel", self.pg_port))
    }

    /// The application role's URL.
    pub fn app_url(&self) -> String {
        self.app_database_url.clone().unwrap_or_else(|| {
            activities::db::app_role_url(&self.owner_url(), self.app_db_password.as_deref())
        })
    }

    pub fn redis_url(&self) -> String {
        self.redis_url
            .clone()
            .unwrap_or_else(|| format!("redis://127.0.0.1:{}/", self.redis_port))
    }

    pub fn temporal_address(&self) -> String {
        self.temporal_address
            .clone()
            .unwrap_or_else(|| format!("127.0.0.1:{}", self.temporal_port))
    }

    /// Settings for the HTTP edge.
    pub fn http_settings(&self) -> admin_ui::HttpSettings {
        let temporal_host = self
            .temporal_address()
            .rsplit_once(':')
            .map_or("127.0.0.1".to_owned(), |(h, _)| h.to_owned());
        admin_ui::HttpSettings {
            temporal_address: self.temporal_address(),
            temporal_ui_url: format!("http://{temporal_host}:{}", self.temporal_ui_port),
            secure_cookies: self.secure_cookies,
            redis_url: self.redis_url(),
            temporal_namespace: self.temporal_namespace.clone(),
            task_queue_prefix: self.task_queue_prefix.clone(),
            platform_tenant: self.platform_tenant.clone(),
            mail: self.mail_config(),
            ..admin_ui::HttpSettings::default()
        }
    }
}

fn read_file(path: &std::path::Path) -> Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration in {}", path.display()))
}

/// A URL with its password replaced by `***`, for logs.
pub fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, rest)), Some((_, host))) => {
            let user = rest
                .split('@')
                .next()
                .unwrap_or("")
                .split(':')
                .next()
                .unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

impl Config {
    /// Settings for `keel worker`.
    pub fn worker_settings(&self) -> workers::WorkerSettings {
        let mut settings = workers::WorkerSettings::new(
            &self.temporal_address(),
            &self.temporal_namespace,
            &self.redis_url(),
            &self.redis_prefix,
        );
        settings.task_queue_prefix = self.task_queue_prefix.clone();
        settings.mail = self.mail_config();
        if let Some(seconds) = std::env::var("KEEL_SLA_SECONDS_PER_MINUTE")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|s| (1..=60).contains(s))
        {
            settings.sla_seconds_per_minute = seconds;
        }
        if let Some(seconds) = std::env::var("KEEL_TIMESHEET_SECONDS_PER_HOUR")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|s| (1..=3600).contains(s))
        {
            settings.timesheet_seconds_per_hour = seconds;
        }
        settings
    }
}

impl Config {
    /// The system relay: `KEEL_SMTP_URL`, or the sink `keel up` runs.
    pub fn smtp_url(&self) -> String {
        self.smtp_url
            .clone()
            .unwrap_or_else(|| format!("smtp://127.0.0.1:{}", self.smtp_port))
    }

    /// Mail settings shared by `keel serve` and `keel worker`.
    pub fn mail_config(&self) -> activities::notifications::mail::MailConfig {
        activities::notifications::mail::MailConfig {
            default_smtp_url: Some(self.smtp_url()),
            default_from: self.mail_from.clone(),
            secret_key: self.secret_key_bytes(),
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.listen)),
            // A testing knob like KEEL_SLA_SECONDS_PER_MINUTE: shrinks the minute of
            // the e-mail rate limit so rate tests finish in seconds.
            rate_window: std::time::Duration::from_secs(
                std::env::var("KEEL_MAIL_RATE_WINDOW_SECONDS")
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|s| (1..=60).contains(s))
                    .unwrap_or(60),
            ),
        }
    }

    /// `KEEL_SECRET_KEY`, or the key file in the data folder, created with 32 random
    /// bytes on first use so every process of this installation shares it.
    fn secret_key_bytes(&self) -> Vec<u8> {
        if let Some(key) = &self.secret_key {
            return key.as_bytes().to_vec();
        }
        let path = self.data_dir.join("secret.key");
        if let Ok(key) = std::fs::read_to_string(&path) {
            if !key.trim().is_empty() {
                return key.trim().as_bytes().to_vec();
            }
        }
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        let key = hex::encode(bytes);
        let _ = std::fs::create_dir_all(&self.data_dir);
        if let Err(e) = write_secret(&path, &key) {
            tracing::warn!(path = %path.display(), error = %e, "cannot store the secret key; set KEEL_SECRET_KEY");
        }
        std::fs::read_to_string(&path)
            .map(|k| k.trim().as_bytes().to_vec())
            .unwrap_or_else(|_| key.into_bytes())
    }
}

/// Writes a new secret readable by its owner only, never replacing one another
/// process wrote first.
fn write_secret(path: &std::path::Path, key: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key.as_bytes())
}
