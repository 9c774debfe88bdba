//! Login throttling in Redis, shared by every `keel serve` process: after
//! `max_failures` wrong passwords for one account, further attempts are refused
//! until the window expires. A success clears the count.

use redis::aio::ConnectionManager;
use std::time::Duration;

/// Why the limiter could not answer.
#[derive(Debug, thiserror::Error)]
#[error("redis unavailable: {0}")]
pub struct RedisError(#[from] redis::RedisError);

/// Connects to Redis; the manager reconnects by itself after outages.
pub async fn connect(redis_url: &str) -> Result<ConnectionManager, RedisError> {
    let client = redis::Client::open(redis_url)?;
    Ok(ConnectionManager::new(client).await?)
}

/// Counts failed logins per account.
#[derive(Clone)]
pub struct LoginLimiter {
    redis: ConnectionManager,
    prefix: String,
    max_failures: u32,
    window: Duration,
}

impl LoginLimiter {
    /// A limiter allowing `max_failures` wrong passwords per `window`; keys start with
    /// `prefix` so several installations (or tests) can share one Redis.
    pub fn new(
        redis: ConnectionManager,
        prefix: &str,
        max_failures: u32,
        window: Duration,
    ) -> Self {
        LoginLimiter {
            redis,
            prefix: prefix.to_owned(),
            max_failures,
            window,
        }
    }

    fn key(&self, account: &str) -> String {
        format!("{}login-failures:{account}", self.prefix)
    }

    /// `Some(retry_after)` when `account` is locked out now.
    pub async fn locked_for(&self, account: &str) -> Result<Option<Duration>, RedisError> {
        let mut redis = self.redis.clone();
        let key = self.key(account);
        let (failures, ttl): (Option<u32>, i64) = redis::pipe()
            .get(&key)
            .ttl(&key)
            .query_async(&mut redis)
            .await?;
        let locked = failures.unwrap_or(0) >= self.max_failures;
        Ok(locked.then(|| Duration::from_secs(u64::try_from(ttl).unwrap_or(1).max(1))))
    }

    /// Records one wrong password for `account`.
    pub async fn record_failure(&self, account: &str) -> Result<(), RedisError> {
        let mut redis = self.redis.clone();
        let key = self.key(account);
        let window = i64::try_from(self.window.as_secs()).unwrap_or(900);
        // EXPIRE NX keeps the window fixed from the first failure.
        redis::pipe()
            .incr(&key, 1)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window)
            .arg("NX")
            .query_async::<()>(&mut redis)
            .await?;
        Ok(())
    }

    /// Clears the failures of `account` after a successful login.
    pub async fn clear(&self, account: &str) -> Result<(), RedisError> {
        let mut redis = self.redis.clone();
        redis::cmd("DEL")
            .arg(self.key(account))
            .query_async::<()>(&mut redis)
            .await?;
        Ok(())
    }
}

/// `PING`s Redis, for readiness checks.
pub async fn ping(redis: &ConnectionManager) -> Result<(), RedisError> {
    let mut redis = redis.clone();
    redis::cmd("PING").query_async::<String>(&mut redis).await?;
    Ok(())
}
