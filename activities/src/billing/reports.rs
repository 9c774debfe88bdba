//! Billing reports for the dashboard: revenue per month and invoices per status.
//! Each is one set-based query over the tenant's invoices; amounts stay integer
//! cents.

use crate::db::{DbError, TenantTx};
use chrono::{Datelike, Months, NaiveDate};
use diesel::sql_types::{BigInt, Date, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde::Serialize;

/// What finalized and paid invoices of one currency bill in one month.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName, Serialize)]
pub struct MonthRevenue {
    /// The month's first day.
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    /// ISO 4217 currency.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Sum of the invoices' subtotals (before tax: tax is owed to the
    /// authorities, not earned), in cents.
    #[diesel(sql_type = BigInt)]
    pub revenue_cents: i64,
    /// How many invoices.
    #[diesel(sql_type = BigInt)]
    pub invoices: i64,
}

/// The first day of the oldest of `months_back` months ending with `today`'s;
/// `None` for zero months or a date out of range.
fn first_month(today: NaiveDate, months_back: u32) -> Option<NaiveDate> {
    let this_month = today.with_day(1)?;
    this_month.checked_sub_months(Months::new(months_back.checked_sub(1)?))
}

/// Revenue of the last `months_back` months (the one of `today` included) by
/// invoice date, per currency: every month of the span for every currency that
/// billed in it, zero where nothing was billed, ordered by currency then month.
/// Only finalized and paid invoices count; drafts may change and void ones are
/// not owed.
pub async fn revenue_by_month(
    tx: &mut TenantTx,
    months_back: u32,
    today: NaiveDate,
) -> Result<Vec<MonthRevenue>, DbError> {
    let (Some(first), Some(last)) = (first_month(today, months_back), today.with_day(1)) else {
        return Ok(Vec::new());
    };
    Ok(diesel::sql_query(REVENUE_BY_MONTH)
        .bind::<Date, _>(first)
        .bind::<Date, _>(last)
        .load(tx.conn())
        .await?)
}

const REVENUE_BY_MONTH: &str = "
WITH billed AS (
  SELECT date_trunc('month', invoice_date)::date AS month, currency, subtotal_cents
  FROM invoices
  WHERE status IN ('finalized', 'paid')
    AND invoice_date >= $1 AND invoice_date < ($2::date + interval '1 month')
), months AS (
  SELECT generate_series($1::date, $2::date, interval '1 month')::date AS month
), currencies AS (
  SELECT DISTINCT currency FROM billed
)
SELECT m.month, c.currency,
       coalesce(sum(b.subtotal_cents), 0)::bigint AS revenue_cents,
       count(b.subtotal_cents)::bigint AS invoices
FROM months m
CROSS JOIN currencies c
LEFT JOIN billed b ON b.month = m.month AND b.currency = c.currency
GROUP BY c.currency, m.month
ORDER BY c.currency, m.month";

/// How many invoices are in one status.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName, Serialize)]
pub struct StatusCount {
    /// `draft`, `finalized`, `paid` or `void`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// How many.
    #[diesel(sql_type = BigInt)]
    pub invoices: i64,
}

/// The tenant's invoices counted per status; statuses without any are left out.
pub async fn invoice_counts(tx: &mut TenantTx) -> Result<Vec<StatusCount>, DbError> {
    Ok(diesel::sql_query(
        "SELECT status, count(*)::bigint AS invoices FROM invoices GROUP BY status ORDER BY status",
    )
    .load(tx.conn())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn the_span_starts_on_the_first_of_the_oldest_month() {
        let cases = [
            (
                "twelve months reach into last year",
                12,
                day(2026, 3, 31),
                Some(day(2025, 4, 1)),
            ),
            (
                "one month is this month",
                1,
                day(2026, 3, 31),
                Some(day(2026, 3, 1)),
            ),
            (
                "a year boundary",
                2,
                day(2026, 1, 15),
                Some(day(2025, 12, 1)),
            ),
            ("zero months is nothing", 0, day(2026, 3, 31), None),
        ];
        for (name, months, today, expected) in cases {
            assert_eq!(first_month(today, months), expected, "{name}");
        }
    }
}
