//! Timesheet approval: submitting (which locks the entries), the decisions the
//! approval workflow applies, the reminder it raises, reversing an approval, and
//! comments. Every change writes the audit log and a `timesheet.*` event in the
//! same transaction.

use super::{find_sheet, sheet_of, Timesheet};
use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{time_entries, timesheet_comments, timesheets};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::time::timesheets::{
    transition, Actor, ApprovalPolicy, TimesheetAction, TimesheetStatus, TransitionError,
};
use engine::workflows::contracts::{ApprovalPlan, DecideTimesheet, RemindApprovers};
use engine::{DomainEvent, TimesheetEvent};
use serde::Serialize;
use uuid::Uuid;

/// Why a timesheet action failed.
#[derive(Debug, thiserror::Error)]
pub enum TimesheetError {
    /// Not found, invalid, or the database failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The state machine or the approval rules refuse it (409 or 403).
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

impl From<DbError> for TimesheetError {
    fn from(error: DbError) -> Self {
        TimesheetError::Record(error.into())
    }
}

/// A comment on a timesheet.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = timesheet_comments)]
pub struct TimesheetComment {
    /// Id.
    pub id: Uuid,
    /// The timesheet.
    pub timesheet_id: Uuid,
    /// Who wrote it.
    pub author_id: Uuid,
    /// What they wrote.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

fn status_of(sheet: &Timesheet) -> TimesheetStatus {
    TimesheetStatus::parse(&sheet.status).unwrap_or(TimesheetStatus::Draft)
}

/// The timesheet, which must exist; `for_update` locks it.
async fn required_sheet(
    tx: &mut TenantTx,
    id: Uuid,
    for_update: bool,
) -> Result<Timesheet, RecordError> {
    find_sheet(tx, id, for_update)
        .await?
        .ok_or(RecordError::NotFound("timesheet"))
}

/// Checks `action` by `actor` on timesheet `id` against the state machine and the
/// tenant's rules, without changing anything: the API's immediate answer before it
/// hands a decision to the approval workflow.
pub async fn check(
    tx: &mut TenantTx,
    id: Uuid,
    action: TimesheetAction,
    actor: Actor,
) -> Result<Timesheet, TimesheetError> {
    let sheet = required_sheet(tx, id, false).await?;
    let policy = policy(tx).await?;
    transition(status_of(&sheet), action, sheet.user_id, actor, policy)?;
    Ok(sheet)
}

async fn policy(tx: &mut TenantTx) -> Result<ApprovalPolicy, DbError> {
    Ok(ApprovalPolicy {
        allow_self_approval: super::periods::settings(tx).await?.allow_self_approval,
    })
}

fn event_of(sheet: &Timesheet, actor: Option<Uuid>) -> TimesheetEvent {
    TimesheetEvent {
        id: sheet.id,
        user_id: sheet.user_id,
        submission: u32::try_from(sheet.submission).unwrap_or(0),
        actor,
        reason: sheet.reason.clone(),
        reversed: false,
    }
}

/// Moves the sheet and its entries to `status`, with the decision columns.
async fn set_status(
    tx: &mut TenantTx,
    sheet: &Timesheet,
    status: TimesheetStatus,
    decided_by: Option<Uuid>,
    reason: Option<&str>,
) -> Result<Timesheet, DbError> {
    let now = Utc::now();
    let submitting = status == TimesheetStatus::Submitted;
    diesel::update(timesheets::table.find((tx.tenant().0, sheet.id)))
        .set((
            timesheets::status.eq(status.as_str()),
            timesheets::updated_at.eq(now),
            timesheets::submitted_at.eq(if submitting {
                Some(now)
            } else {
                sheet.submitted_at
            }),
            timesheets::submission.eq(sheet.submission + i32::from(submitting)),
            timesheets::decided_at.eq((!submitting).then_some(now)),
            timesheets::decided_by.eq(decided_by),
            timesheets::reason.eq(reason),
        ))
        .execute(tx.conn())
        .await?;
    diesel::update(time_entries::table.filter(time_entries::timesheet_id.eq(sheet.id)))
        .set(time_entries::approval_status.eq(status.as_str()))
        .execute(tx.conn())
        .await?;
    sheet_of(tx, sheet.id).await
}

async fn audited(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    sheet: &Timesheet,
    event: DomainEvent,
) -> Result<(), DbError> {
    audit::record_with_event(
        tx,
        AuditEntry {
            actor,
            action,
            resource: "timesheet",
            resource_id: Some(sheet.id),
            details: serde_json::json!({
                "status": sheet.status, "submission": sheet.submission,
                "period_start": sheet.period_start, "reason": sheet.reason,
            }),
        },
        event,
    )
    .await
}

/// Its user submits the timesheet: its entries lock and `timesheet.submitted` is
/// raised; the caller then starts the approval workflow of the new submission.
pub async fn submit(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Actor,
) -> Result<Timesheet, TimesheetError> {
    let sheet = required_sheet(tx, id, true).await?;
    transition(
        status_of(&sheet),
        TimesheetAction::Submit,
        sheet.user_id,
        actor,
        ApprovalPolicy::default(),
    )?;
    let sheet = set_status(tx, &sheet, TimesheetStatus::Submitted, None, None).await?;
    let event = DomainEvent::TimesheetSubmitted(event_of(&sheet, Some(actor.user_id)));
    audited(
        tx,
        Some(actor.user_id),
        "timesheet.submitted",
        &sheet,
        event,
    )
    .await?;
    Ok(sheet)
}

/// What the approval workflow of the sheet needs; `seconds_per_hour` scales the
/// tenant's reminder hours (3600 except in tests).
pub async fn load(
    tx: &mut TenantTx,
    id: Uuid,
    seconds_per_hour: u32,
) -> Result<ApprovalPlan, DbError> {
    let settings = super::periods::settings(tx).await?;
    let reminder_after_seconds =
        u64::try_from(settings.reminder_hours).unwrap_or(24) * u64::from(seconds_per_hour);
    let sheet = find_sheet(tx, id, false).await?;
    Ok(match sheet {
        Some(sheet) => ApprovalPlan {
            found: true,
            status: sheet.status,
            submission: u32::try_from(sheet.submission).unwrap_or(0),
            owner: sheet.user_id,
            allow_self_approval: settings.allow_self_approval,
            reminder_after_seconds,
        },
        None => ApprovalPlan {
            found: false,
            status: String::new(),
            submission: 0,
            owner: Uuid::nil(),
            allow_self_approval: settings.allow_self_approval,
            reminder_after_seconds,
        },
    })
}

/// Applies a decision the workflow has checked. A sheet that is no longer this
/// submission waiting for a decision is left alone; the answer is its status.
pub async fn decide(tx: &mut TenantTx, input: &DecideTimesheet) -> Result<String, DbError> {
    let Some(sheet) = find_sheet(tx, input.timesheet_id, true).await? else {
        return Ok(String::new());
    };
    if status_of(&sheet) != TimesheetStatus::Submitted
        || sheet.submission != i32::try_from(input.submission).unwrap_or(-1)
    {
        return Ok(sheet.status);
    }
    let (status, action, reason) = match input.action {
        TimesheetAction::Approve => (TimesheetStatus::Approved, "timesheet.approved", None),
        _ => (
            TimesheetStatus::ChangesRequested,
            "timesheet.changes_requested",
            input.reason.as_deref(),
        ),
    };
    let sheet = set_status(tx, &sheet, status, Some(input.actor), reason).await?;
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        insert_comment(
            tx,
            sheet.id,
            input.actor,
            &format!("Changes requested: {reason}"),
        )
        .await?;
    }
    let data = event_of(&sheet, Some(input.actor));
    let event = match status {
        TimesheetStatus::Approved => DomainEvent::TimesheetApproved(data),
        _ => DomainEvent::TimesheetChangesRequested(data),
    };
    audited(tx, Some(input.actor), action, &sheet, event).await?;
    Ok(sheet.status)
}

/// Raises the reminder of a submission still waiting; false when it no longer waits.
pub async fn remind(tx: &mut TenantTx, input: &RemindApprovers) -> Result<bool, DbError> {
    let Some(sheet) = find_sheet(tx, input.timesheet_id, false).await? else {
        return Ok(false);
    };
    if status_of(&sheet) != TimesheetStatus::Submitted
        || sheet.submission != i32::try_from(input.submission).unwrap_or(-1)
    {
        return Ok(false);
    }
    let event = DomainEvent::TimesheetApprovalReminder(event_of(&sheet, None));
    audited(tx, None, "timesheet.approval_reminder", &sheet, event).await?;
    Ok(true)
}

/// A manager takes an approval back: the sheet returns to its user with `reason`
/// and its entries unlock.
pub async fn reverse(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Actor,
    reason: &str,
) -> Result<Timesheet, TimesheetError> {
    let sheet = required_sheet(tx, id, true).await?;
    let policy = policy(tx).await?;
    transition(
        status_of(&sheet),
        TimesheetAction::ReverseApproval,
        sheet.user_id,
        actor,
        policy,
    )?;
    let sheet = set_status(
        tx,
        &sheet,
        TimesheetStatus::ChangesRequested,
        Some(actor.user_id),
        Some(reason),
    )
    .await?;
    insert_comment(
        tx,
        sheet.id,
        actor.user_id,
        &format!("Approval reversed: {reason}"),
    )
    .await?;
    let mut data = event_of(&sheet, Some(actor.user_id));
    data.reversed = true;
    let event = DomainEvent::TimesheetChangesRequested(data);
    audited(
        tx,
        Some(actor.user_id),
        "timesheet.approval_reversed",
        &sheet,
        event,
    )
    .await?;
    Ok(sheet)
}

async fn insert_comment(
    tx: &mut TenantTx,
    sheet: Uuid,
    author: Uuid,
    body: &str,
) -> Result<TimesheetComment, DbError> {
    let id = Uuid::now_v7();
    diesel::insert_into(timesheet_comments::table)
        .values((
            timesheet_comments::tenant.eq(tx.tenant().0),
            timesheet_comments::id.eq(id),
            timesheet_comments::timesheet_id.eq(sheet),
            timesheet_comments::author_id.eq(author),
            timesheet_comments::body.eq(body),
        ))
        .execute(tx.conn())
        .await?;
    Ok(timesheet_comments::table
        .find((tx.tenant().0, id))
        .select(TimesheetComment::as_select())
        .first(tx.conn())
        .await?)
}

/// Adds a comment to a timesheet.
pub async fn add_comment(
    tx: &mut TenantTx,
    sheet: Uuid,
    author: Uuid,
    body: &str,
) -> Result<TimesheetComment, RecordError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(RecordError::field("body", "must be 1 to 10000 characters"));
    }
    required_sheet(tx, sheet, false).await?;
    let comment = insert_comment(tx, sheet, author, body).await?;
    audit::record(
        tx,
        AuditEntry {
            actor: Some(author),
            action: "timesheet.commented",
            resource: "timesheet",
            resource_id: Some(sheet),
            details: serde_json::json!({ "comment_id": comment.id }),
        },
    )
    .await?;
    Ok(comment)
}

/// A timesheet's comments, oldest first.
pub async fn comments(tx: &mut TenantTx, sheet: Uuid) -> Result<Vec<TimesheetComment>, DbError> {
    Ok(timesheet_comments::table
        .filter(timesheet_comments::timesheet_id.eq(sheet))
        .order(timesheet_comments::id.asc())
        .select(TimesheetComment::as_select())
        .limit(1000)
        .load(tx.conn())
        .await?)
}

/// Filters of the timesheet list.
#[derive(Clone, Debug, Default)]
pub struct SheetFilter {
    /// Only this status.
    pub status: Option<TimesheetStatus>,
    /// Only this user's.
    pub user_id: Option<Uuid>,
}

/// Timesheets, newest first (the team approvals page lists `SUBMITTED` ones).
pub async fn list_sheets(
    tx: &mut TenantTx,
    filter: SheetFilter,
    page: PageRequest,
) -> Result<Page<Timesheet>, DbError> {
    let mut query = timesheets::table
        .select(Timesheet::as_select())
        .order(timesheets::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(timesheets::status.eq(status.as_str()));
    }
    if let Some(user) = filter.user_id {
        query = query.filter(timesheets::user_id.eq(user));
    }
    if let Some(after) = page.after {
        query = query.filter(timesheets::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |s| s.id))
}
