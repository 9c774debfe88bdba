//! NotificationDigest: once a day, per tenant, collects the notifications users
//! chose to receive as a digest into one e-mail each and sends them through the same
//! rate-limited batches as the fan-out.
//!
//! Workflow id `<tenant>:notification_digest:<tenant>` for the daily run (started
//! when the tenant is created or a user first picks digest delivery; starting it
//! again is harmless) and `<tenant>:notification_digest:now-<uuid>` for a digest sent
//! on demand. The daily run sleeps on a durable timer until the digest hour and
//! continues as new after each digest, so its history stays short.

use super::contracts::{CollectDigest, CollectDigestActivity};
use super::notification_fan_out::{deliver, Delivered};
use super::{database_write_options, run_record, WorkflowKind};
use crate::TenantId;
use chrono::{DateTime, Duration as Span, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ApplicationFailure, ContinueAsNewOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

/// The hour (UTC) daily digests go out, by default.
pub const DEFAULT_DIGEST_HOUR_UTC: u32 = 7;

/// What to digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestInput {
    /// The tenant.
    pub tenant: TenantId,
    /// Hour of the day (UTC, 0–23) the daily digest goes out.
    pub hour_utc: u32,
    /// Send one digest now and stop, instead of every day.
    pub once: bool,
}

impl DigestInput {
    /// The daily digest of `tenant` at the default hour.
    pub fn daily(tenant: TenantId) -> Self {
        DigestInput {
            tenant,
            hour_utc: DEFAULT_DIGEST_HOUR_UTC,
            once: false,
        }
    }
}

/// The next moment after `now` at `hour_utc:00` UTC.
pub fn next_digest_at(now: DateTime<Utc>, hour_utc: u32) -> DateTime<Utc> {
    let at = NaiveTime::from_hms_opt(hour_utc.min(23), 0, 0).expect("hour is clamped");
    let today = now.date_naive().and_time(at).and_utc();
    if today > now {
        today
    } else {
        today + Span::days(1)
    }
}

/// The digest workflow.
#[workflow]
pub struct NotificationDigest {
    input: DigestInput,
}

#[workflow_methods]
impl NotificationDigest {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: DigestInput) -> Self {
        NotificationDigest { input }
    }

    /// Waits for the digest hour (unless `once`), collects, sends, and goes on.
    #[run(name = "NotificationDigest")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Delivered> {
        let input = ctx.state(|s| s.input.clone());
        if !input.once {
            let now = workflow_now(ctx)?;
            let wait = (next_digest_at(now, input.hour_utc) - now)
                .to_std()
                .unwrap_or(Duration::ZERO);
            ctx.timer(wait).await;
        }
        let now = workflow_now(ctx)?;
        run_record::open(ctx, input.tenant, WorkflowKind::NotificationDigest, &input).await?;
        let collect = CollectDigest {
            step: run_record::step_ref(ctx, input.tenant, "collect"),
            up_to: now,
        };
        let outcome = match ctx
            .execute_activity(CollectDigestActivity, collect, database_write_options())
            .await
        {
            Ok(plan) => deliver(ctx, input.tenant, plan).await,
            Err(e) => Err(format!("collecting the digest failed: {e}")),
        };
        if input.once {
            return run_record::close(ctx, input.tenant, outcome).await;
        }
        // A failed digest is recorded; the daily run goes on to tomorrow's.
        let _ = run_record::close(ctx, input.tenant, outcome).await;
        match ctx.continue_as_new(input, ContinueAsNewOptions::default()) {
            Err(termination) => Err(termination),
            Ok(never) => match never {},
        }
    }
}

fn workflow_now(ctx: &WorkflowContext<NotificationDigest>) -> WorkflowResult<DateTime<Utc>> {
    ctx.workflow_time()
        .map(DateTime::<Utc>::from)
        .ok_or_else(|| ApplicationFailure::non_retryable("no workflow time").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_digest_is_today_before_the_hour_and_tomorrow_after_it() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            next_digest_at(at("2026-11-29T06:59:59Z"), 7),
            at("2026-11-29T07:00:00Z")
        );
        assert_eq!(
            next_digest_at(at("2026-11-29T07:00:00Z"), 7),
            at("2026-11-30T07:00:00Z")
        );
        assert_eq!(
            next_digest_at(at("2026-12-31T23:30:00Z"), 7),
            at("2027-01-01T07:00:00Z")
        );
        assert_eq!(
            next_digest_at(at("2026-11-29T10:00:00Z"), 99),
            at("2026-11-29T23:00:00Z")
        );
    }
}
