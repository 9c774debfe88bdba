//! A tenant's playbook limits: how many runs may run at once and how many may
//! start in a day. A start over a limit is refused with the reason, so one
//! runaway trigger cannot flood the workers, and its author can see why.

use super::record;
use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::{playbook_limits, workflow_runs};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::validation::Issues;
use engine::workflows::WorkflowKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The limits of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunLimits {
    /// Runs that may be running at once (1 to 10,000).
    pub max_concurrent_runs: i32,
    /// Runs that may start in any 24 hours (1 to 1,000,000).
    pub max_runs_per_day: i32,
}

/// What a tenant that set nothing may do.
pub const DEFAULT_LIMITS: RunLimits = RunLimits {
    max_concurrent_runs: 25,
    max_runs_per_day: 2000,
};

/// Why a run may not start now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitReached {
    /// Too many running.
    #[error(
        "{running} playbook runs are running, the tenant's limit is {limit}: \
         wait for some to finish or raise max_concurrent_runs"
    )]
    Concurrent {
        /// Running now.
        running: i64,
        /// The limit.
        limit: i32,
    },
    /// Too many started today.
    #[error(
        "{started} playbook runs started in the last 24 hours, the tenant's limit is {limit}: \
         raise max_runs_per_day or wait"
    )]
    Daily {
        /// Started in the last 24 hours.
        started: i64,
        /// The limit.
        limit: i32,
    },
}

/// The tenant's limits (the defaults when it set none).
pub async fn limits(tx: &mut TenantTx) -> Result<RunLimits, DbError> {
    let stored: Option<(i32, i32)> = playbook_limits::table
        .select((
            playbook_limits::max_concurrent_runs,
            playbook_limits::max_runs_per_day,
        ))
        .first(tx.conn())
        .await
        .optional()?;
    Ok(
        stored.map_or(DEFAULT_LIMITS, |(concurrent, daily)| RunLimits {
            max_concurrent_runs: concurrent,
            max_runs_per_day: daily,
        }),
    )
}

/// Sets the tenant's limits, audited.
pub async fn set_limits(
    tx: &mut TenantTx,
    limits: RunLimits,
    actor: Option<Uuid>,
) -> Result<RunLimits, RecordError> {
    let mut issues = Issues::default();
    if !(1..=10_000).contains(&limits.max_concurrent_runs) {
        issues.add("max_concurrent_runs", "must be between 1 and 10000");
    }
    if !(1..=1_000_000).contains(&limits.max_runs_per_day) {
        issues.add("max_runs_per_day", "must be between 1 and 1000000");
    }
    issues.finish(|| ()).map_err(RecordError::Invalid)?;
    let tenant = tx.tenant().0;
    diesel::insert_into(playbook_limits::table)
        .values((
            playbook_limits::tenant.eq(tenant),
            playbook_limits::max_concurrent_runs.eq(limits.max_concurrent_runs),
            playbook_limits::max_runs_per_day.eq(limits.max_runs_per_day),
        ))
        .on_conflict(playbook_limits::tenant)
        .do_update()
        .set((
            playbook_limits::max_concurrent_runs.eq(limits.max_concurrent_runs),
            playbook_limits::max_runs_per_day.eq(limits.max_runs_per_day),
            playbook_limits::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await?;
    let details = serde_json::to_value(limits).unwrap_or_default();
    record(tx, actor, "playbook.limits_changed", tenant, details).await?;
    Ok(limits)
}

/// How much of its limits a tenant uses now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunUsage {
    /// Playbook runs running now.
    pub running: i64,
    /// Playbook runs started in the last 24 hours.
    pub started_last_day: i64,
}

impl RunUsage {
    /// Whether one more run may start under `limits`: the concurrent limit is
    /// named first, as it is the one that frees up soonest.
    pub fn check(self, limits: RunLimits) -> Result<(), LimitReached> {
        if self.running >= i64::from(limits.max_concurrent_runs) {
            return Err(LimitReached::Concurrent {
                running: self.running,
                limit: limits.max_concurrent_runs,
            });
        }
        if self.started_last_day >= i64::from(limits.max_runs_per_day) {
            return Err(LimitReached::Daily {
                started: self.started_last_day,
                limit: limits.max_runs_per_day,
            });
        }
        Ok(())
    }
}

/// The tenant's playbook runs running now and started in the last 24 hours (two
/// counts over `workflow_runs`, the table the runs pages read).
pub async fn usage(tx: &mut TenantTx) -> Result<RunUsage, DbError> {
    let kind = WorkflowKind::PlaybookRun.name();
    let running: i64 = workflow_runs::table
        .filter(workflow_runs::kind.eq(kind))
        .filter(workflow_runs::status.eq("running"))
        .count()
        .get_result(tx.conn())
        .await?;
    let started_last_day: i64 = workflow_runs::table
        .filter(workflow_runs::kind.eq(kind))
        .filter(workflow_runs::started_at.gt(Utc::now() - Duration::hours(24)))
        .count()
        .get_result(tx.conn())
        .await?;
    Ok(RunUsage {
        running,
        started_last_day,
    })
}

/// Whether one more run may start now.
pub async fn check_can_start(tx: &mut TenantTx) -> Result<Result<(), LimitReached>, DbError> {
    let limits = limits(tx).await?;
    Ok(usage(tx).await?.check(limits))
}

/// Audits a start refused by a limit or by the manifest on the playbook, so its
/// author sees why an event, a schedule or a webhook started nothing.
pub async fn record_refusal(
    tx: &mut TenantTx,
    playbook: Uuid,
    trigger: &str,
    reason: &impl std::fmt::Display,
) -> Result<(), DbError> {
    let details = serde_json::json!({"trigger": trigger, "reason": reason.to_string()});
    record(tx, None, "playbook.run_refused", playbook, details).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_refused_at_either_limit_naming_it() {
        let limits = RunLimits {
            max_concurrent_runs: 2,
            max_runs_per_day: 10,
        };
        let usage = |running, started_last_day| RunUsage {
            running,
            started_last_day,
        };
        let cases = [
            ("idle", usage(0, 0), Ok(())),
            ("below both", usage(1, 9), Ok(())),
            (
                "at the concurrent limit",
                usage(2, 3),
                Err(LimitReached::Concurrent {
                    running: 2,
                    limit: 2,
                }),
            ),
            (
                "at the daily limit",
                usage(0, 10),
                Err(LimitReached::Daily {
                    started: 10,
                    limit: 10,
                }),
            ),
            (
                "at both: the concurrent one is named",
                usage(5, 50),
                Err(LimitReached::Concurrent {
                    running: 5,
                    limit: 2,
                }),
            ),
        ];
        for (name, usage, expected) in cases {
            assert_eq!(usage.check(limits), expected, "{name}");
        }
        let reason = usage(0, 10).check(limits).expect_err("refused").to_string();
        assert!(reason.contains("max_runs_per_day"), "{reason}");
    }
}
