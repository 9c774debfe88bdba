//! Runs waiting in `wait_for_event`. A run records its wait before it waits and
//! removes it after; the workflow starter reads the waits of each event's type and
//! signals the event to those whose filter accepts it.

use crate::db::{DbError, TenantTx};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};
use diesel_async::RunQueryDsl;

/// One open wait.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct EventWait {
    /// The waiting run's workflow id.
    #[diesel(sql_type = Text)]
    pub workflow_id: String,
    /// The wait's number in the run.
    #[diesel(sql_type = Integer)]
    pub wait: i32,
    /// The filter an event must pass, if any.
    #[diesel(sql_type = Nullable<Text>)]
    pub filter: Option<String>,
}

/// Records that run `workflow_id` waits (wait `wait`) for `event_type` (idempotent).
pub async fn open_wait(
    tx: &mut TenantTx,
    workflow_id: &str,
    wait: i32,
    event_type: &str,
    filter: Option<&str>,
) -> Result<(), DbError> {
    diesel::sql_query(
        "INSERT INTO playbook_event_waits (tenant, workflow_id, wait, event_type, filter) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, workflow_id, wait) DO NOTHING",
    )
    .bind::<diesel::sql_types::Uuid, _>(tx.tenant().0)
    .bind::<Text, _>(workflow_id)
    .bind::<Integer, _>(wait)
    .bind::<Text, _>(event_type)
    .bind::<Nullable<Text>, _>(filter)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Removes a wait (idempotent).
pub async fn close_wait(tx: &mut TenantTx, workflow_id: &str, wait: i32) -> Result<(), DbError> {
    diesel::sql_query("DELETE FROM playbook_event_waits WHERE workflow_id = $1 AND wait = $2")
        .bind::<Text, _>(workflow_id)
        .bind::<Integer, _>(wait)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The open waits for events of `event_type`, oldest first.
pub async fn waits_for(tx: &mut TenantTx, event_type: &str) -> Result<Vec<EventWait>, DbError> {
    Ok(diesel::sql_query(
        "SELECT workflow_id, wait, filter FROM playbook_event_waits \
          WHERE event_type = $1 ORDER BY created_at LIMIT 1000",
    )
    .bind::<Text, _>(event_type)
    .load(tx.conn())
    .await?)
}
