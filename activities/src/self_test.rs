//! Rows of the SelfTest workflow.

use crate::db::{DbError, TenantTx};
use crate::schema::self_test_marks as marks;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// Writes the mark of step `step` of `workflow_id`.
pub async fn write_mark(tx: &mut TenantTx, workflow_id: &str, step: u32) -> Result<(), DbError> {
    diesel::insert_into(marks::table)
        .values((
            marks::tenant.eq(tx.tenant().0),
            marks::id.eq(Uuid::now_v7()),
            marks::workflow_id.eq(workflow_id),
            marks::step.eq(i32::try_from(step).unwrap_or(i32::MAX)),
        ))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The step numbers written for `workflow_id`, in order, duplicates included.
pub async fn marks_of(tx: &mut TenantTx, workflow_id: &str) -> Result<Vec<i32>, DbError> {
    Ok(marks::table
        .filter(marks::workflow_id.eq(workflow_id))
        .order((marks::step, marks::id))
        .select(marks::step)
        .load(tx.conn())
        .await?)
}
