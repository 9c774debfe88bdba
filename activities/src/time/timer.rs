//! One start/stop timer per user, kept in the database so it survives a browser
//! restart or a second device; stopping it logs a time entry.

use super::TimeEntry;
use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::time_timers;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::time::entries::{EntryDraft, TimeEntryInput};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A running timer.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = time_timers)]
pub struct Timer {
    /// Whose.
    pub user_id: Uuid,
    /// Since when.
    pub started_at: DateTime<Utc>,
    /// The client worked for (or the ticket's).
    pub client_id: Option<Uuid>,
    /// The ticket worked on.
    pub ticket_id: Option<Uuid>,
    /// Catalogue service.
    pub service_id: Option<Uuid>,
    /// What is being done.
    pub notes: String,
}

/// What to time.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTimer {
    /// The client (required unless a ticket is given).
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// The ticket.
    #[serde(default)]
    pub ticket_id: Option<Uuid>,
    /// Catalogue service.
    #[serde(default)]
    pub service_id: Option<Uuid>,
    /// What is being done.
    #[serde(default)]
    pub notes: Option<String>,
}

/// How to log the timed work.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopTimer {
    /// Replaces the timer's notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// `false` logs the time as non-billable.
    #[serde(default)]
    pub billable: Option<bool>,
}

/// The user's running timer, if any.
pub async fn current(tx: &mut TenantTx, user: Uuid) -> Result<Option<Timer>, DbError> {
    Ok(time_timers::table
        .find((tx.tenant().0, user))
        .select(Timer::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// Starts the user's timer; one already running is a conflict.
pub async fn start(tx: &mut TenantTx, user: Uuid, input: StartTimer) -> Result<Timer, RecordError> {
    if let Some(running) = current(tx, user).await? {
        return Err(RecordError::Conflict(format!(
            "a timer is already running since {}; stop or discard it first",
            running.started_at.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let notes = input.notes.unwrap_or_default().trim().to_owned();
    // The entry rules check the target now, so a timer never runs for nothing.
    let probe = EntryDraft {
        client_id: input.client_id,
        ticket_id: input.ticket_id,
        work_date: Utc::now().date_naive(),
        started_at: None,
        ended_at: None,
        minutes: 1,
        billable_minutes: 1,
        service_id: input.service_id,
        notes: notes.clone(),
    };
    if input.client_id.is_none() && input.ticket_id.is_none() {
        return Err(RecordError::field(
            "client_id",
            "is required unless a ticket_id is given",
        ));
    }
    if notes.chars().count() > engine::time::entries::MAX_NOTES {
        return Err(RecordError::field(
            "notes",
            "must be at most 10000 characters",
        ));
    }
    let client = super::resolve_client(tx, &probe).await?;
    diesel::insert_into(time_timers::table)
        .values((
            time_timers::tenant.eq(tx.tenant().0),
            time_timers::user_id.eq(user),
            time_timers::started_at.eq(Utc::now()),
            time_timers::client_id.eq(client),
            time_timers::ticket_id.eq(input.ticket_id),
            time_timers::service_id.eq(input.service_id),
            time_timers::notes.eq(&notes),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    Ok(current(tx, user).await?.expect("just started"))
}

/// Stops the user's timer and logs its time (whole minutes, rounded up, at least
/// one); the timer is gone only if the entry was logged.
pub async fn stop(
    tx: &mut TenantTx,
    user: Uuid,
    input: StopTimer,
    actor: Option<Uuid>,
) -> Result<TimeEntry, RecordError> {
    let timer = current(tx, user)
        .await?
        .ok_or(RecordError::NotFound("running timer"))?;
    let seconds = (Utc::now() - timer.started_at).num_seconds().max(1);
    let minutes = i32::try_from((seconds + 59) / 60).unwrap_or(i32::MAX);
    let entry = TimeEntryInput {
        client_id: timer.client_id,
        ticket_id: timer.ticket_id,
        started_at: Some(timer.started_at),
        minutes: Some(minutes),
        billable: input.billable,
        service_id: timer.service_id,
        notes: input.notes.or(Some(timer.notes)),
        ..TimeEntryInput::default()
    };
    let logged = super::create_entry(tx, user, entry, actor).await?;
    discard(tx, user).await?;
    Ok(logged)
}

/// Throws the running timer away without logging; false when none ran.
pub async fn discard(tx: &mut TenantTx, user: Uuid) -> Result<bool, DbError> {
    let deleted = diesel::delete(time_timers::table.find((tx.tenant().0, user)))
        .execute(tx.conn())
        .await?;
    Ok(deleted > 0)
}
