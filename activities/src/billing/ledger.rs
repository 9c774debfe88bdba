//! The ledger: every money movement of a client, per currency, as an append-only
//! `transactions` row carrying the balance and the credit after it. What the
//! client owes and the credit they hold are read from the last row; the
//! reconciliation recomputes both from the invoices and credits and reports any
//! difference, never repairs it.

use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::schema::{clients, transactions};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use uuid::Uuid;

/// What moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// An invoice was finalized: the client owes its total.
    InvoiceFinalized,
    /// Credit was granted (manual, prepayment, overpayment, negative invoice, void).
    CreditIssued,
    /// Credit paid part of an invoice.
    CreditApplied,
    /// A payment paid part of an invoice.
    Payment,
    /// Unused credit expired.
    CreditExpired,
    /// A finalized invoice was voided: what was still due is no longer owed.
    InvoiceVoided,
}

impl TransactionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::InvoiceFinalized => "invoice_finalized",
            TransactionKind::CreditIssued => "credit_issued",
            TransactionKind::CreditApplied => "credit_applied",
            TransactionKind::Payment => "payment",
            TransactionKind::CreditExpired => "credit_expired",
            TransactionKind::InvoiceVoided => "invoice_voided",
        }
    }
}

/// One movement to append.
#[derive(Clone, Debug)]
pub struct Movement {
    /// The client.
    pub client_id: Uuid,
    /// The currency.
    pub currency: String,
    /// What moved.
    pub kind: TransactionKind,
    /// Change of what the client owes.
    pub amount_cents: i64,
    /// Change of the client's credit.
    pub credit_cents: i64,
    /// The invoice concerned.
    pub invoice_id: Option<Uuid>,
    /// The credit concerned.
    pub credit_id: Option<Uuid>,
    /// The payment concerned.
    pub payment_id: Option<Uuid>,
    /// What the client and staff read.
    pub description: String,
}

/// A ledger row.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = transactions)]
pub struct Transaction {
    /// Id.
    pub id: Uuid,
    /// The client.
    pub client_id: Uuid,
    /// Currency.
    pub currency: String,
    /// Its place in the client's ledger for the currency, from 1.
    pub seq: i64,
    /// What moved.
    pub kind: String,
    /// Change of what the client owes (positive = owes more).
    pub amount_cents: i64,
    /// What the client owes after it.
    pub balance_after_cents: i64,
    /// Change of the client's credit.
    pub credit_cents: i64,
    /// The client's credit after it.
    pub credit_after_cents: i64,
    /// The invoice concerned.
    pub invoice_id: Option<Uuid>,
    /// The credit concerned.
    pub credit_id: Option<Uuid>,
    /// The payment concerned.
    pub payment_id: Option<Uuid>,
    /// Description.
    pub description: String,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
}

/// A client's standing in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Balance {
    /// What the client owes.
    pub balance_cents: i64,
    /// Unused, unexpired credit.
    pub credit_cents: i64,
    /// The currency.
    pub currency: String,
}

/// Locks `client` for a money movement, so its ledger grows one row at a time.
pub async fn lock_client(tx: &mut TenantTx, client: Uuid) -> Result<(), DbError> {
    clients::table
        .filter(clients::id.eq(client))
        .select(clients::id)
        .for_update()
        .first::<Uuid>(tx.conn())
        .await?;
    Ok(())
}

/// The client's standing in `currency` (zero before any movement).
pub async fn balance(tx: &mut TenantTx, client: Uuid, currency: &str) -> Result<Balance, DbError> {
    let last: Option<(i64, i64)> = transactions::table
        .filter(transactions::client_id.eq(client))
        .filter(transactions::currency.eq(currency))
        .order(transactions::seq.desc())
        .select((
            transactions::balance_after_cents,
            transactions::credit_after_cents,
        ))
        .first(tx.conn())
        .await
        .optional()?;
    let (balance_cents, credit_cents) = last.unwrap_or((0, 0));
    Ok(Balance {
        balance_cents,
        credit_cents,
        currency: currency.to_owned(),
    })
}

/// Appends `movements` in order; the caller holds the client's lock
/// ([`lock_client`]). Answers the rows written.
pub async fn append(
    tx: &mut TenantTx,
    movements: Vec<Movement>,
    actor: Option<Uuid>,
) -> Result<Vec<Transaction>, DbError> {
    let tenant = tx.tenant().0;
    let mut written = Vec::with_capacity(movements.len());
    // The last row per (client, currency): read once, then carried along.
    let mut last: std::collections::HashMap<(Uuid, String), (i64, i64, i64)> =
        std::collections::HashMap::new();
    for movement in movements {
        let key = (movement.client_id, movement.currency.clone());
        let (seq, balance, credit) = match last.get(&key) {
            Some(state) => *state,
            None => transactions::table
                .filter(transactions::client_id.eq(movement.client_id))
                .filter(transactions::currency.eq(&movement.currency))
                .order(transactions::seq.desc())
                .select((
                    transactions::seq,
                    transactions::balance_after_cents,
                    transactions::credit_after_cents,
                ))
                .first(tx.conn())
                .await
                .optional()?
                .unwrap_or((0, 0, 0)),
        };
        let row: Transaction = diesel::insert_into(transactions::table)
            .values((
                transactions::tenant.eq(tenant),
                transactions::id.eq(Uuid::now_v7()),
                transactions::client_id.eq(movement.client_id),
                transactions::currency.eq(&movement.currency),
                transactions::seq.eq(seq + 1),
                transactions::kind.eq(movement.kind.as_str()),
                transactions::amount_cents.eq(movement.amount_cents),
                transactions::balance_after_cents.eq(balance + movement.amount_cents),
                transactions::credit_cents.eq(movement.credit_cents),
                transactions::credit_after_cents.eq(credit + movement.credit_cents),
                transactions::invoice_id.eq(movement.invoice_id),
                transactions::credit_id.eq(movement.credit_id),
                transactions::payment_id.eq(movement.payment_id),
                transactions::description.eq(&movement.description),
                transactions::created_by.eq(actor),
            ))
            .returning(Transaction::as_returning())
            .get_result(tx.conn())
            .await?;
        last.insert(
            key,
            (row.seq, row.balance_after_cents, row.credit_after_cents),
        );
        written.push(row);
    }
    Ok(written)
}

/// A client's ledger, newest first.
pub async fn list(
    tx: &mut TenantTx,
    client: Uuid,
    page: PageRequest,
) -> Result<Page<Transaction>, DbError> {
    let mut query = transactions::table
        .filter(transactions::client_id.eq(client))
        .select(Transaction::as_select())
        .order(transactions::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(transactions::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id))
}

/// A difference the reconciliation found.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName, Serialize, utoipa::ToSchema)]
pub struct Mismatch {
    /// The client.
    #[diesel(sql_type = SqlUuid)]
    pub client_id: Uuid,
    /// The currency.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// The balance of the last ledger row.
    #[diesel(sql_type = BigInt)]
    pub ledger_balance_cents: i64,
    /// The sum of the ledger's movements.
    #[diesel(sql_type = BigInt)]
    pub ledger_sum_cents: i64,
    /// What the finalized invoices still have due.
    #[diesel(sql_type = BigInt)]
    pub invoices_due_cents: i64,
    /// The credit of the last ledger row.
    #[diesel(sql_type = BigInt)]
    pub ledger_credit_cents: i64,
    /// The sum of the ledger's credit movements.
    #[diesel(sql_type = BigInt)]
    pub ledger_credit_sum_cents: i64,
    /// What the credits have left.
    #[diesel(sql_type = BigInt)]
    pub credits_left_cents: i64,
}

/// Every client and currency whose ledger disagrees with itself (last balance vs
/// sum of movements) or with the documents (finalized invoices' due amounts,
/// credits' remaining amounts). Empty when the books reconcile.
pub async fn reconcile(tx: &mut TenantTx) -> Result<Vec<Mismatch>, DbError> {
    Ok(diesel::sql_query(RECONCILE).load(tx.conn()).await?)
}

const RECONCILE: &str = "
WITH ledger AS (
  SELECT client_id, currency, sum(amount_cents)::bigint AS amount_sum, sum(credit_cents)::bigint AS credit_sum,
         (array_agg(balance_after_cents ORDER BY seq DESC))[1] AS balance,
         (array_agg(credit_after_cents ORDER BY seq DESC))[1] AS credit
  FROM transactions GROUP BY client_id, currency
), due AS (
  SELECT client_id, currency,
         sum(greatest(total_cents, 0) - credit_applied_cents - paid_cents)::bigint AS due
  FROM invoices WHERE status IN ('finalized', 'paid') GROUP BY client_id, currency
), left_over AS (
  SELECT client_id, currency, sum(remaining_cents)::bigint AS credit_left
  FROM credits GROUP BY client_id, currency
), keys AS (
  SELECT client_id, currency FROM ledger UNION SELECT client_id, currency FROM due
  UNION SELECT client_id, currency FROM left_over
)
SELECT k.client_id, k.currency,
       coalesce(l.balance, 0) AS ledger_balance_cents, coalesce(l.amount_sum, 0) AS ledger_sum_cents,
       coalesce(d.due, 0) AS invoices_due_cents,
       coalesce(l.credit, 0) AS ledger_credit_cents, coalesce(l.credit_sum, 0) AS ledger_credit_sum_cents,
       coalesce(c.credit_left, 0) AS credits_left_cents
FROM keys k
LEFT JOIN ledger l USING (client_id, currency)
LEFT JOIN due d USING (client_id, currency)
LEFT JOIN left_over c USING (client_id, currency)
WHERE coalesce(l.balance, 0) <> coalesce(l.amount_sum, 0)
   OR coalesce(l.balance, 0) <> coalesce(d.due, 0)
   OR coalesce(l.credit, 0) <> coalesce(l.credit_sum, 0)
   OR coalesce(l.credit, 0) <> coalesce(c.credit_left, 0)
ORDER BY k.client_id, k.currency";
