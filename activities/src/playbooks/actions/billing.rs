//! `find_invoices`: what a payment reminder needs to know about invoices.

use super::{limit_of, to_json, uuid_field, ActionError};
use crate::db::TenantTx;
use crate::records::RecordError;
use chrono::NaiveDate;
use diesel::sql_types::{Bigint, Date, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use engine::billing::documents::balance_due;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// The statuses `find_invoices` takes: `open` (finalized, something still due),
/// `overdue` (open and past its due date), or a stored status.
const STATUSES: &[&str] = &["open", "overdue", "draft", "finalized", "paid", "void"];

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    number: Option<String>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = SqlUuid)]
    client_id: Uuid,
    #[diesel(sql_type = Text)]
    client_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    billing_email: Option<String>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Date)]
    invoice_date: NaiveDate,
    #[diesel(sql_type = Nullable<Date>)]
    due_on: Option<NaiveDate>,
    #[diesel(sql_type = Bigint)]
    total_cents: i64,
    #[diesel(sql_type = Bigint)]
    credit_applied_cents: i64,
    #[diesel(sql_type = Bigint)]
    paid_cents: i64,
}

/// One invoice as a reminder uses it: amounts in integer cents of `currency`.
#[derive(Serialize)]
struct Found {
    id: Uuid,
    number: Option<String>,
    status: String,
    client_id: Uuid,
    client_name: String,
    /// Where the client's invoices go, if Keel has it.
    billing_email: Option<String>,
    currency: String,
    invoice_date: NaiveDate,
    due_on: Option<NaiveDate>,
    total_cents: i64,
    paid_cents: i64,
    balance_due_cents: i64,
    /// Whole days past `due_on` (0 when not yet due or nothing is due).
    days_overdue: i64,
}

/// Invoices matching every filter given, the most recently due first (at most
/// 50), so invoices long past their last reminder do not crowd out new ones.
pub(super) async fn find_invoices(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let client = match args.get("client_id") {
        None | Some(Value::Null) => None,
        Some(_) => Some(uuid_field(args, "client_id")?),
    };
    let status = args
        .get("status")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("open");
    if !STATUSES.contains(&status) {
        return Err(RecordError::field(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        )
        .into());
    }
    let today = chrono::Utc::now().date_naive();
    // `open` and `overdue` are finalized invoices with something still due; a
    // stored status is taken as is.
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT i.id, i.number, i.status, i.client_id, c.name AS client_name, \
                c.billing_email, i.currency, i.invoice_date, i.due_on, i.total_cents, \
                i.credit_applied_cents, i.paid_cents \
           FROM invoices i JOIN clients c ON c.tenant = i.tenant AND c.id = i.client_id \
          WHERE ($1::uuid IS NULL OR i.client_id = $1) \
            AND CASE $2 \
                  WHEN 'open' THEN i.status = 'finalized' \
                    AND greatest(i.total_cents, 0) - i.credit_applied_cents - i.paid_cents > 0 \
                  WHEN 'overdue' THEN i.status = 'finalized' \
                    AND greatest(i.total_cents, 0) - i.credit_applied_cents - i.paid_cents > 0 \
                    AND i.due_on < $3 \
                  ELSE i.status = $2 END \
          ORDER BY i.due_on DESC NULLS LAST, i.id DESC \
          LIMIT $4",
    )
    .bind::<Nullable<SqlUuid>, _>(client)
    .bind::<Text, _>(status)
    .bind::<Date, _>(today)
    .bind::<Bigint, _>(limit_of(args))
    .load(tx.conn())
    .await?;
    let found: Vec<Found> = rows
        .into_iter()
        .map(|r| {
            let open = r.status == "finalized";
            let balance = if open {
                balance_due(r.total_cents, r.credit_applied_cents, r.paid_cents)
            } else {
                0
            };
            let days_overdue = match r.due_on {
                Some(due) if balance > 0 => (today - due).num_days().max(0),
                _ => 0,
            };
            Found {
                id: r.id,
                number: r.number,
                status: r.status,
                client_id: r.client_id,
                client_name: r.client_name,
                billing_email: r.billing_email,
                currency: r.currency,
                invoice_date: r.invoice_date,
                due_on: r.due_on,
                total_cents: r.total_cents,
                paid_cents: r.paid_cents,
                balance_due_cents: balance,
                days_overdue,
            }
        })
        .collect();
    to_json(found)
}
