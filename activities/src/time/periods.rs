//! The tenant's time settings and its time periods. Periods are rows, made on
//! demand from the cadence in force and cut to fit between the periods already
//! made, so changing the cadence never makes two periods overlap (the database
//! refuses overlaps too, with an exclusion constraint).

use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::{time_periods, time_settings};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::time::periods::{Period, PeriodFrequency};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a tenant tracks time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeSettings {
    /// The timesheet cadence, e.g. `{"frequency": "weekly", "week_start": "Mon"}`,
    /// `{"frequency": "bi_weekly", "anchor": "2026-01-05"}`, `{"frequency":
    /// "semi_monthly"}` or `{"frequency": "monthly"}`. A change applies to periods
    /// not made yet; the first of them is shortened to fit.
    #[schema(value_type = Object)]
    pub period: PeriodFrequency,
    /// Whether approvers may approve their own timesheets.
    pub allow_self_approval: bool,
    /// Hours a submitted timesheet waits before its approvers are reminded (1 to 720).
    pub reminder_hours: i32,
}

impl Default for TimeSettings {
    fn default() -> Self {
        TimeSettings {
            period: PeriodFrequency::default(),
            allow_self_approval: false,
            reminder_hours: 24,
        }
    }
}

/// The tenant's settings (defaults until saved).
pub async fn settings(tx: &mut TenantTx) -> Result<TimeSettings, DbError> {
    let stored: Option<(serde_json::Value, bool, i32)> = time_settings::table
        .select((
            time_settings::period,
            time_settings::allow_self_approval,
            time_settings::reminder_hours,
        ))
        .first(tx.conn())
        .await
        .optional()?;
    Ok(match stored {
        Some((period, allow_self_approval, reminder_hours)) => TimeSettings {
            period: serde_json::from_value(period).unwrap_or_default(),
            allow_self_approval,
            reminder_hours,
        },
        None => TimeSettings::default(),
    })
}

/// Saves the settings after checking them.
pub async fn save_settings(
    tx: &mut TenantTx,
    new: &TimeSettings,
    actor: Option<Uuid>,
) -> Result<TimeSettings, RecordError> {
    if !(1..=720).contains(&new.reminder_hours) {
        return Err(RecordError::field(
            "reminder_hours",
            "must be between 1 and 720 hours",
        ));
    }
    let period = serde_json::to_value(new.period).expect("a frequency serializes");
    diesel::insert_into(time_settings::table)
        .values((
            time_settings::tenant.eq(tx.tenant().0),
            time_settings::period.eq(&period),
            time_settings::allow_self_approval.eq(new.allow_self_approval),
            time_settings::reminder_hours.eq(new.reminder_hours),
        ))
        .on_conflict(time_settings::tenant)
        .do_update()
        .set((
            time_settings::period.eq(&period),
            time_settings::allow_self_approval.eq(new.allow_self_approval),
            time_settings::reminder_hours.eq(new.reminder_hours),
            time_settings::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action: "time_settings.updated",
            resource: "time_settings",
            resource_id: None,
            details: serde_json::to_value(new).expect("settings serialize"),
        },
    )
    .await?;
    Ok(settings(tx).await?)
}

fn period_of((start, end): (NaiveDate, NaiveDate)) -> Period {
    Period { start, end }
}

/// The tenant's period containing `date`, made if none exists. Two callers making
/// neighbouring periods at once may cut into each other; the loser of the
/// exclusion constraint inserts nothing and looks again.
pub async fn period_for(tx: &mut TenantTx, date: NaiveDate) -> Result<Period, DbError> {
    let frequency = settings(tx).await?.period;
    for _ in 0..4 {
        let previous: Option<(NaiveDate, NaiveDate)> = time_periods::table
            .filter(time_periods::starts_on.le(date))
            .order(time_periods::starts_on.desc())
            .select((time_periods::starts_on, time_periods::ends_on))
            .first(tx.conn())
            .await
            .optional()?;
        if let Some(found) = previous.map(period_of).filter(|p| p.contains(date)) {
            return Ok(found);
        }
        let next_start: Option<NaiveDate> = time_periods::table
            .filter(time_periods::starts_on.gt(date))
            .order(time_periods::starts_on.asc())
            .select(time_periods::starts_on)
            .first(tx.conn())
            .await
            .optional()?;
        let period = frequency.period_fitting(date, previous.map(|p| p.1), next_start);
        diesel::insert_into(time_periods::table)
            .values((
                time_periods::tenant.eq(tx.tenant().0),
                time_periods::id.eq(Uuid::now_v7()),
                time_periods::starts_on.eq(period.start),
                time_periods::ends_on.eq(period.end),
            ))
            .on_conflict_do_nothing()
            .execute(tx.conn())
            .await?;
    }
    // Only a storm of concurrent makers gets here; a retry of the request succeeds.
    Err(DbError::Unavailable(format!(
        "the time period of {date} is being made by another request"
    )))
}

/// The tenant's periods overlapping `[from, to)`, in order.
pub async fn list_periods(
    tx: &mut TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Period>, DbError> {
    let rows: Vec<(NaiveDate, NaiveDate)> = time_periods::table
        .filter(time_periods::starts_on.lt(to))
        .filter(time_periods::ends_on.gt(from))
        .order(time_periods::starts_on.asc())
        .select((time_periods::starts_on, time_periods::ends_on))
        .limit(500)
        .load(tx.conn())
        .await?;
    Ok(rows.into_iter().map(period_of).collect())
}
