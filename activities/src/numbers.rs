//! Gap-free per-tenant document numbers (`T-000123`, `INV-000045`).

use crate::db::{DbError, TenantTx};
use crate::schema::number_sequences as seq;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// The sequences every tenant starts with: (name, prefix).
pub const DEFAULT_SEQUENCES: &[(&str, &str)] = &[
    ("ticket", "T-"),
    ("invoice", "INV-"),
    ("credit_note", "CN-"),
];

/// Why no number could be taken.
#[derive(Debug, thiserror::Error)]
pub enum NumberError {
    /// The tenant has no sequence of this name.
    #[error("no number sequence named {0:?}")]
    UnknownSequence(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Takes the next number of sequence `name`. The counter row stays locked until the
/// transaction ends, and a rollback returns the number, so numbers have no gaps.
pub async fn take_next(tx: &mut TenantTx, name: &str) -> Result<String, NumberError> {
    let taken: Option<(String, i32, i64)> = diesel::update(seq::table.filter(seq::name.eq(name)))
        .set(seq::next_value.eq(seq::next_value + 1))
        .returning((seq::prefix, seq::padding, seq::next_value - 1))
        .get_result(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?;
    let (prefix, padding, value) =
        taken.ok_or_else(|| NumberError::UnknownSequence(name.to_owned()))?;
    let width = usize::try_from(padding).unwrap_or(6);
    Ok(format!("{prefix}{value:0width$}"))
}

/// Creates the default sequences for the current tenant (idempotent); answers how
/// many were created.
pub async fn seed_defaults(tx: &mut TenantTx) -> Result<u64, DbError> {
    let tenant = tx.tenant().0;
    let rows: Vec<_> = DEFAULT_SEQUENCES
        .iter()
        .map(|(name, prefix)| {
            (
                seq::tenant.eq(tenant),
                seq::name.eq(*name),
                seq::prefix.eq(*prefix),
            )
        })
        .collect();
    let inserted = diesel::insert_into(seq::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    Ok(inserted as u64)
}

/// How a sequence's numbers look.
#[derive(Clone, Debug, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct Numbering {
    /// Text before the number, e.g. `T-`.
    pub prefix: String,
    /// Digits, zero-padded (1–12).
    pub padding: i32,
    /// The number the next document gets.
    pub next_value: i64,
}

/// Changes the prefix and/or padding of sequence `name`; numbers already issued keep
/// their text, and the counter is untouched, so numbering stays gap-free.
pub async fn configure(
    tx: &mut TenantTx,
    name: &str,
    prefix: Option<&str>,
    padding: Option<i32>,
) -> Result<Numbering, NumberError> {
    let current: Numbering = seq::table
        .filter(seq::name.eq(name))
        .select((seq::prefix, seq::padding, seq::next_value))
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| NumberError::UnknownSequence(name.to_owned()))?;
    Ok(diesel::update(seq::table.filter(seq::name.eq(name)))
        .set((
            seq::prefix.eq(prefix.unwrap_or(&current.prefix)),
            seq::padding.eq(padding.unwrap_or(current.padding)),
        ))
        .returning((seq::prefix, seq::padding, seq::next_value))
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?)
}
