//! Time entries and timesheets: each entry belongs to its user's timesheet of the
//! period containing its day (created as a draft on first use); entries of a
//! submitted or approved timesheet are locked; overlapping entries of one user on
//! one day are flagged, not refused.

pub mod approval;
pub mod periods;
pub mod timer;

use crate::audit::{self, AuditEntry};
use crate::clients::require_live_client;
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{time_entries, timesheets};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::time::entries::{EntryDraft, TimeEntryInput};
use engine::time::timesheets::{overlapping, TimesheetStatus};
use engine::{DomainEvent, RecordRef};
use serde::Serialize;
use uuid::Uuid;

/// A time entry.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = time_entries)]
pub struct TimeEntry {
    /// Id.
    pub id: Uuid,
    /// Whose time.
    pub user_id: Uuid,
    /// The timesheet it belongs to.
    pub timesheet_id: Uuid,
    /// The client.
    pub client_id: Uuid,
    /// The ticket, if any.
    pub ticket_id: Option<Uuid>,
    /// The day worked.
    pub work_date: NaiveDate,
    /// Start, if recorded.
    pub started_at: Option<DateTime<Utc>>,
    /// End, if recorded.
    pub ended_at: Option<DateTime<Utc>>,
    /// Duration in minutes.
    pub minutes: i32,
    /// Minutes to bill (0 = non-billable).
    pub billable_minutes: i32,
    /// Catalogue service.
    pub service_id: Option<Uuid>,
    /// What was done.
    pub notes: String,
    /// Overlaps another entry of the same user (flagged, not refused).
    #[serde(rename = "overlaps")]
    pub overlapping: bool,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// The timesheet's status when the entry was last locked or unlocked; only
    /// `APPROVED` billable minutes are billed.
    pub approval_status: String,
}

/// A timesheet: one user's time in one period.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = timesheets)]
pub struct Timesheet {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub user_id: Uuid,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// The day after its last day.
    pub period_end: NaiveDate,
    /// `DRAFT`, `SUBMITTED`, `APPROVED` or `CHANGES_REQUESTED`.
    pub status: String,
    /// Submitted at.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Approved or sent back at.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided.
    pub decided_by: Option<Uuid>,
    /// Why it was sent back.
    pub reason: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// How many times it was submitted; each submission has its approval workflow.
    pub submission: i32,
}

/// `user`'s timesheet of the period containing `date`, created as a draft if none
/// exists (concurrent callers get the same one). The period after it is made
/// ahead of time, so next week's sheet never waits on a cadence decision.
pub async fn timesheet_for(
    tx: &mut TenantTx,
    user: Uuid,
    date: NaiveDate,
) -> Result<Timesheet, DbError> {
    let period = periods::period_for(tx, date).await?;
    periods::period_for(tx, period.end).await?;
    diesel::insert_into(timesheets::table)
        .values((
            timesheets::tenant.eq(tx.tenant().0),
            timesheets::id.eq(Uuid::now_v7()),
            timesheets::user_id.eq(user),
            timesheets::period_start.eq(period.start),
            timesheets::period_end.eq(period.end),
        ))
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    Ok(timesheets::table
        .filter(timesheets::user_id.eq(user))
        .filter(timesheets::period_start.eq(period.start))
        .select(Timesheet::as_select())
        .first(tx.conn())
        .await?)
}

fn editable(sheet: &Timesheet) -> Result<(), RecordError> {
    let status = TimesheetStatus::parse(&sheet.status).unwrap_or(TimesheetStatus::Draft);
    if status.entries_editable() {
        Ok(())
    } else {
        Err(RecordError::Conflict(format!(
            "the timesheet of {} to {} is {}; its entries are locked",
            sheet.period_start,
            sheet.period_end.pred_opt().unwrap_or(sheet.period_end),
            sheet.status.to_lowercase()
        )))
    }
}

/// The client of the entry: the ticket's when a ticket is given (a different
/// client is an error), else the given one, which must be live.
pub(super) async fn resolve_client(
    tx: &mut TenantTx,
    draft: &EntryDraft,
) -> Result<Uuid, RecordError> {
    // The service is checked here too, so an unknown one is a field error, not a
    // foreign-key failure.
    if let Some(service) = draft.service_id {
        if crate::billing::catalogue::find_service(tx, service)
            .await?
            .is_none()
        {
            return Err(RecordError::field("service_id", "no such service"));
        }
    }
    if let Some(ticket_id) = draft.ticket_id {
        let ticket = crate::tickets::find_ticket(tx, ticket_id)
            .await?
            .ok_or_else(|| RecordError::field("ticket_id", "no such ticket"))?;
        if draft.client_id.is_some_and(|c| c != ticket.client_id) {
            return Err(RecordError::field(
                "client_id",
                "is not the ticket's client",
            ));
        }
        return Ok(ticket.client_id);
    }
    let client = draft.client_id.expect("validated: a client or a ticket");
    require_live_client(tx, client, "client_id").await?;
    Ok(client)
}

/// An entry's id with its start and end, when recorded.
type Timing = (Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
/// A timed entry's id and span.
type Span = (Uuid, (DateTime<Utc>, DateTime<Utc>));

/// Recomputes the overlap flags of `user`'s timed entries on `day`.
async fn flag_overlaps(tx: &mut TenantTx, user: Uuid, day: NaiveDate) -> Result<(), DbError> {
    let entries: Vec<Timing> = time_entries::table
        .filter(time_entries::user_id.eq(user))
        .filter(time_entries::work_date.eq(day))
        .filter(time_entries::deleted_at.is_null())
        .select((
            time_entries::id,
            time_entries::started_at,
            time_entries::ended_at,
        ))
        .load(tx.conn())
        .await?;
    let timed: Vec<Span> = entries
        .iter()
        .filter_map(|(id, s, e)| Some((*id, ((*s)?, (*e)?))))
        .collect();
    let spans: Vec<_> = timed.iter().map(|(_, span)| *span).collect();
    let mut flagged: Vec<Uuid> = overlapping(&spans)
        .into_iter()
        .flat_map(|(a, b)| [timed[a].0, timed[b].0])
        .collect();
    flagged.sort_unstable();
    flagged.dedup();
    let ids: Vec<Uuid> = entries.iter().map(|(id, _, _)| *id).collect();
    diesel::update(time_entries::table.filter(time_entries::id.eq_any(&ids)))
        .set(time_entries::overlapping.eq(time_entries::id.eq_any(&flagged)))
        .execute(tx.conn())
        .await?;
    Ok(())
}

async fn reload(tx: &mut TenantTx, id: Uuid) -> Result<TimeEntry, DbError> {
    Ok(time_entries::table
        .find((tx.tenant().0, id))
        .select(TimeEntry::as_select())
        .first(tx.conn())
        .await?)
}

/// Writes the audit row and emits the event of a change to `entry`.
async fn record_change(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    entry: &TimeEntry,
    event: fn(RecordRef) -> DomainEvent,
) -> Result<(), DbError> {
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action,
            resource: "time_entry",
            resource_id: Some(entry.id),
            details: serde_json::json!({ "minutes": entry.minutes, "work_date": entry.work_date }),
        },
        event(RecordRef::new(entry.id, entry.client_id)),
    )
    .await
}

/// Logs time for `user`.
pub async fn create_entry(
    tx: &mut TenantTx,
    user: Uuid,
    input: TimeEntryInput,
    actor: Option<Uuid>,
) -> Result<TimeEntry, RecordError> {
    let draft = input.validate().map_err(RecordError::Invalid)?;
    let client = resolve_client(tx, &draft).await?;
    let sheet = timesheet_for(tx, user, draft.work_date).await?;
    editable(&sheet)?;
    let id = Uuid::now_v7();
    diesel::insert_into(time_entries::table)
        .values((
            time_entries::tenant.eq(tx.tenant().0),
            time_entries::id.eq(id),
            time_entries::user_id.eq(user),
            time_entries::timesheet_id.eq(sheet.id),
            time_entries::client_id.eq(client),
            time_entries::ticket_id.eq(draft.ticket_id),
            time_entries::work_date.eq(draft.work_date),
            time_entries::started_at.eq(draft.started_at),
            time_entries::ended_at.eq(draft.ended_at),
            time_entries::minutes.eq(draft.minutes),
            time_entries::billable_minutes.eq(draft.billable_minutes),
            time_entries::service_id.eq(draft.service_id),
            time_entries::notes.eq(&draft.notes),
            time_entries::approval_status.eq(&sheet.status),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    flag_overlaps(tx, user, draft.work_date).await?;
    let entry = reload(tx, id).await?;
    record_change(
        tx,
        actor,
        "time_entry.created",
        &entry,
        DomainEvent::TimeEntryCreated,
    )
    .await?;
    Ok(entry)
}

/// A live entry, if it exists.
pub async fn find_entry(tx: &mut TenantTx, id: Uuid) -> Result<Option<TimeEntry>, DbError> {
    Ok(time_entries::table
        .find((tx.tenant().0, id))
        .filter(time_entries::deleted_at.is_null())
        .select(TimeEntry::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// A timesheet by id, if it exists; `for_update` locks its row for the transaction.
pub async fn find_sheet(
    tx: &mut TenantTx,
    id: Uuid,
    for_update: bool,
) -> Result<Option<Timesheet>, DbError> {
    let query = timesheets::table
        .find((tx.tenant().0, id))
        .select(Timesheet::as_select());
    let found = if for_update {
        query.for_update().first(tx.conn()).await
    } else {
        query.first(tx.conn()).await
    };
    Ok(found.optional()?)
}

/// A timesheet known to exist (an entry's).
pub async fn sheet_of(tx: &mut TenantTx, id: Uuid) -> Result<Timesheet, DbError> {
    Ok(timesheets::table
        .find((tx.tenant().0, id))
        .select(Timesheet::as_select())
        .first(tx.conn())
        .await?)
}

/// Changes an entry: the given fields replace the stored ones and the whole entry
/// is validated again. Locked entries (submitted or approved timesheet) answer a
/// conflict, and so does moving an entry into a locked timesheet.
pub async fn update_entry(
    tx: &mut TenantTx,
    id: Uuid,
    patch: TimeEntryInput,
    actor: Option<Uuid>,
) -> Result<TimeEntry, RecordError> {
    let before = find_entry(tx, id)
        .await?
        .ok_or(RecordError::NotFound("time entry"))?;
    editable(&sheet_of(tx, before.timesheet_id).await?)?;
    // Timing: an explicit end keeps start-to-end; a new start or duration moves the
    // end; nothing given keeps what was stored.
    let (started_at, ended_at, minutes) = match (patch.started_at, patch.ended_at, patch.minutes) {
        (None, None, None) if before.started_at.is_some() && before.ended_at.is_some() => {
            (before.started_at, before.ended_at, None)
        }
        (None, None, None) => (before.started_at, before.ended_at, Some(before.minutes)),
        (start, Some(end), minutes) => (start.or(before.started_at), Some(end), minutes),
        (start, None, minutes) => (
            start.or(before.started_at),
            None,
            minutes.or(Some(before.minutes)),
        ),
    };
    // A fully billable entry stays fully billable when its duration changes.
    let billable_minutes = patch.billable_minutes.or(
        if patch.billable.is_some() || before.billable_minutes == before.minutes {
            None
        } else {
            Some(before.billable_minutes)
        },
    );
    let merged = TimeEntryInput {
        user_id: None,
        client_id: patch.client_id.or(Some(before.client_id)),
        ticket_id: patch.ticket_id.or(before.ticket_id),
        work_date: patch
            .work_date
            .or(patch.started_at.is_none().then_some(before.work_date)),
        started_at,
        ended_at,
        minutes,
        billable_minutes,
        billable: patch.billable,
        service_id: patch.service_id.or(before.service_id),
        notes: patch.notes.or(Some(before.notes.clone())),
    };
    let draft = merged.validate().map_err(RecordError::Invalid)?;
    let client = resolve_client(tx, &draft).await?;
    let sheet = timesheet_for(tx, before.user_id, draft.work_date).await?;
    editable(&sheet)?;
    diesel::update(time_entries::table.find((tx.tenant().0, id)))
        .set((
            time_entries::timesheet_id.eq(sheet.id),
            time_entries::client_id.eq(client),
            time_entries::ticket_id.eq(draft.ticket_id),
            time_entries::work_date.eq(draft.work_date),
            time_entries::started_at.eq(draft.started_at),
            time_entries::ended_at.eq(draft.ended_at),
            time_entries::minutes.eq(draft.minutes),
            time_entries::billable_minutes.eq(draft.billable_minutes),
            time_entries::service_id.eq(draft.service_id),
            time_entries::notes.eq(&draft.notes),
            time_entries::approval_status.eq(&sheet.status),
            time_entries::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    flag_overlaps(tx, before.user_id, draft.work_date).await?;
    if draft.work_date != before.work_date {
        flag_overlaps(tx, before.user_id, before.work_date).await?;
    }
    let entry = reload(tx, id).await?;
    record_change(
        tx,
        actor,
        "time_entry.updated",
        &entry,
        DomainEvent::TimeEntryUpdated,
    )
    .await?;
    Ok(entry)
}

/// Deletes (archives) an unlocked entry.
pub async fn delete_entry(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), RecordError> {
    let entry = find_entry(tx, id)
        .await?
        .ok_or(RecordError::NotFound("time entry"))?;
    editable(&sheet_of(tx, entry.timesheet_id).await?)?;
    diesel::update(time_entries::table.find((tx.tenant().0, id)))
        .set(time_entries::deleted_at.eq(Utc::now()))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    flag_overlaps(tx, entry.user_id, entry.work_date).await?;
    record_change(
        tx,
        actor,
        "time_entry.deleted",
        &entry,
        DomainEvent::TimeEntryDeleted,
    )
    .await?;
    Ok(())
}

/// Filters of the entry list.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    /// Only this user's.
    pub user_id: Option<Uuid>,
    /// Only this timesheet's.
    pub timesheet_id: Option<Uuid>,
    /// From this day on.
    pub from: Option<NaiveDate>,
    /// Before this day.
    pub to: Option<NaiveDate>,
}

/// Live entries, newest first.
pub async fn list_entries(
    tx: &mut TenantTx,
    filter: EntryFilter,
    page: PageRequest,
) -> Result<Page<TimeEntry>, DbError> {
    let mut query = time_entries::table
        .filter(time_entries::deleted_at.is_null())
        .select(TimeEntry::as_select())
        .order(time_entries::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(user) = filter.user_id {
        query = query.filter(time_entries::user_id.eq(user));
    }
    if let Some(sheet) = filter.timesheet_id {
        query = query.filter(time_entries::timesheet_id.eq(sheet));
    }
    if let Some(from) = filter.from {
        query = query.filter(time_entries::work_date.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(time_entries::work_date.lt(to));
    }
    if let Some(after) = page.after {
        query = query.filter(time_entries::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |e| e.id))
}

/// A timesheet with its totals.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TimesheetView {
    /// The timesheet.
    #[serde(flatten)]
    pub sheet: Timesheet,
    /// Minutes logged.
    pub total_minutes: i64,
    /// Billable minutes logged.
    pub billable_minutes: i64,
    /// Entries that overlap another.
    pub overlapping_entries: i64,
}

/// The timesheet of `user` containing `date`, with its totals.
pub async fn timesheet_view(
    tx: &mut TenantTx,
    user: Uuid,
    date: NaiveDate,
) -> Result<TimesheetView, DbError> {
    let sheet = timesheet_for(tx, user, date).await?;
    view_of(tx, sheet).await
}

/// A timesheet with its totals.
pub async fn view_of(tx: &mut TenantTx, sheet: Timesheet) -> Result<TimesheetView, DbError> {
    let rows: Vec<(i32, i32, bool)> = time_entries::table
        .filter(time_entries::timesheet_id.eq(sheet.id))
        .filter(time_entries::deleted_at.is_null())
        .select((
            time_entries::minutes,
            time_entries::billable_minutes,
            time_entries::overlapping,
        ))
        .load(tx.conn())
        .await?;
    Ok(TimesheetView {
        total_minutes: rows.iter().map(|r| i64::from(r.0)).sum(),
        billable_minutes: rows.iter().map(|r| i64::from(r.1)).sum(),
        overlapping_entries: rows.iter().filter(|r| r.2).count() as i64,
        sheet,
    })
}
