//! The per-tenant e-mail rate limit, shared by every worker through Redis: a GCRA
//! schedule (one e-mail every `window / limit`, with a burst of a tenth of the
//! limit). A caller takes the slots free now; when none is, it reserves the next
//! one and is told how long to wait for it, so waiting senders queue up in order
//! instead of polling, and mail over the limit is delayed, never dropped.

use redis::aio::ConnectionManager;
use std::time::Duration;

/// KEYS[1] = schedule key; ARGV = interval ms, burst ms, wanted.
/// Returns {granted, wait_ms}: `granted` slots usable after `wait_ms`.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local free = math.floor((now + burst - tat) / interval) + 1
if free > wanted then free = wanted end
local wait = 0
if free < 1 then
  free = 1
  wait = tat - burst - now
  if wait < 1 then wait = 1 end
end
tat = tat + free * interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now + burst + 1000))
return {free, wait}
";

/// Slots given by the limiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// How many e-mails may be sent.
    pub slots: u32,
    /// After how long.
    pub wait: Duration,
}

/// The limiter of one deployment.
#[derive(Clone)]
pub struct MailRateLimiter {
    redis: ConnectionManager,
    prefix: String,
    window: Duration,
}

impl MailRateLimiter {
    /// A limiter over `window` (a minute in production), keys under `prefix`.
    pub fn new(redis: ConnectionManager, prefix: &str, window: Duration) -> Self {
        MailRateLimiter {
            redis,
            prefix: prefix.to_owned(),
            window,
        }
    }

    /// Takes up to `wanted` slots of `tenant`'s limit of `per_window` e-mails per
    /// window (0 = unlimited).
    pub async fn take(
        &self,
        tenant: uuid::Uuid,
        per_window: u32,
        wanted: u32,
    ) -> Result<Grant, redis::RedisError> {
        if per_window == 0 || wanted == 0 {
            return Ok(Grant {
                slots: wanted,
                wait: Duration::ZERO,
            });
        }
        let window_ms = self.window.as_millis().max(1) as f64;
        let interval = window_ms / f64::from(per_window);
        let burst = interval * f64::from((per_window / 10).saturating_sub(1));
        let key = format!("{}mailrate:{tenant}", self.prefix);
        let (slots, wait): (i64, i64) = redis::Script::new(SCRIPT)
            .key(key)
            .arg(interval)
            .arg(burst)
            .arg(wanted)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(Grant {
            slots: u32::try_from(slots).unwrap_or(1),
            wait: Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
        })
    }
}
