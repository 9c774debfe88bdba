//! Workflow runs and their steps, as the UI and API show them.

use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::schema::{workflow_run_steps as steps, workflow_runs as runs};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// A run as stored.
#[derive(Clone, Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = runs)]
pub struct Run {
    /// Temporal run id.
    pub run_id: Uuid,
    /// Temporal workflow id.
    pub workflow_id: String,
    /// Kind name, e.g. `self_test`.
    pub kind: String,
    /// `running`, `completed`, `failed`, `cancelled` or `timed_out`.
    pub status: String,
    /// Input.
    pub input: serde_json::Value,
    /// Result, once completed.
    pub result: Option<serde_json::Value>,
    /// Error, once failed.
    pub error: Option<String>,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// One activity call of a run.
#[derive(Clone, Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = steps)]
pub struct Step {
    /// Step name.
    pub name: String,
    /// `completed` or `failed`.
    pub status: String,
    /// Attempt number (from 1).
    pub attempt: i32,
    /// Input.
    pub input: serde_json::Value,
    /// Output.
    pub output: Option<serde_json::Value>,
    /// Error of a failed attempt.
    pub error: Option<String>,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub closed_at: DateTime<Utc>,
}

/// Records that a run started (a repeat changes nothing).
pub async fn open_run(
    tx: &mut TenantTx,
    run_id: Uuid,
    workflow_id: &str,
    kind: &str,
    input: &serde_json::Value,
) -> Result<(), DbError> {
    diesel::insert_into(runs::table)
        .values((
            runs::tenant.eq(tx.tenant().0),
            runs::run_id.eq(run_id),
            runs::workflow_id.eq(workflow_id),
            runs::kind.eq(kind),
            runs::status.eq("running"),
            runs::input.eq(input),
        ))
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records how a run ended; only a running run changes.
pub async fn close_run(
    tx: &mut TenantTx,
    run_id: Uuid,
    status: &str,
    result: Option<&serde_json::Value>,
    error: Option<&str>,
) -> Result<(), DbError> {
    diesel::update(
        runs::table
            .filter(runs::run_id.eq(run_id))
            .filter(runs::status.eq("running")),
    )
    .set((
        runs::status.eq(status),
        runs::result.eq(result),
        runs::error.eq(error),
        runs::closed_at.eq(Utc::now()),
    ))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Shows a running run's progress in its result (billing runs: clients done of
/// total); a closed run keeps its final result.
pub async fn record_progress(
    tx: &mut TenantTx,
    run_id: Uuid,
    progress: &serde_json::Value,
) -> Result<(), DbError> {
    diesel::update(
        runs::table
            .filter(runs::run_id.eq(run_id))
            .filter(runs::status.eq("running")),
    )
    .set(runs::result.eq(progress))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A step to record.
pub struct NewStep<'a> {
    /// The run.
    pub run_id: Uuid,
    /// Step name.
    pub name: &'a str,
    /// `completed` or `failed`.
    pub status: &'a str,
    /// Attempt.
    pub attempt: i32,
    /// Input.
    pub input: &'a serde_json::Value,
    /// Output.
    pub output: Option<&'a serde_json::Value>,
    /// Error.
    pub error: Option<&'a str>,
    /// Started.
    pub started_at: DateTime<Utc>,
}

/// Records one activity attempt of a run.
pub async fn record_step(tx: &mut TenantTx, step: NewStep<'_>) -> Result<(), DbError> {
    diesel::insert_into(steps::table)
        .values((
            steps::tenant.eq(tx.tenant().0),
            steps::id.eq(Uuid::now_v7()),
            steps::run_id.eq(step.run_id),
            steps::name.eq(step.name),
            steps::status.eq(step.status),
            steps::attempt.eq(step.attempt),
            steps::input.eq(step.input),
            steps::output.eq(step.output),
            steps::error.eq(step.error),
            steps::started_at.eq(step.started_at),
            steps::closed_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// One page of the tenant's runs, newest first (optionally of one kind).
pub async fn list_runs(
    tx: &mut TenantTx,
    page: PageRequest,
    kind: Option<&str>,
) -> Result<Page<Run>, DbError> {
    let mut query = runs::table
        .select(Run::as_select())
        .order(runs::run_id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(runs::run_id.lt(after));
    }
    if let Some(kind) = kind {
        query = query.filter(runs::kind.eq(kind.to_owned()));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |run| run.run_id))
}

/// The run `run_id` of the tenant, with its steps in order.
pub async fn find_run(
    tx: &mut TenantTx,
    run_id: Uuid,
) -> Result<Option<(Run, Vec<Step>)>, DbError> {
    let run = runs::table
        .find((tx.tenant().0, run_id))
        .select(Run::as_select())
        .first(tx.conn())
        .await
        .optional()?;
    let Some(run) = run else { return Ok(None) };
    let steps = steps::table
        .filter(steps::run_id.eq(run_id))
        .order((steps::started_at, steps::id))
        .select(Step::as_select())
        .load(tx.conn())
        .await?;
    Ok(Some((run, steps)))
}
