//! An invoice priced from its charges: discount lines added, tax per line, and
//! totals that always equal the sum of the lines. Also the rules of finalizing:
//! the number, the due date and which credits pay it.

use super::charges::Charge;
use super::discounts::{discount_charges, Discount};
use super::periods::ServicePeriod;
use super::tax::{tax_lines, TaxContext};
use super::BillingError;
use chrono::{Duration, NaiveDate};
use serde::Serialize;
use uuid::Uuid;

/// A priced line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    /// The charge.
    #[serde(flatten)]
    pub charge: Charge,
    /// Its tax.
    pub tax_cents: i64,
}

/// An invoice's lines and totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PricedInvoice {
    /// Charges, then discounts.
    pub lines: Vec<PricedLine>,
    /// The sum of the line amounts (discounts included).
    pub subtotal_cents: i64,
    /// What the discounts took (positive).
    pub discount_cents: i64,
    /// The sum of the lines' tax.
    pub tax_cents: i64,
    /// Subtotal plus tax.
    pub total_cents: i64,
}

/// Prices `charges` dated `invoice_date` for the billing window `period`.
pub fn price_invoice(
    charges: Vec<Charge>,
    discounts: &[Discount],
    tax: &TaxContext,
    invoice_date: NaiveDate,
    period: ServicePeriod,
) -> Result<PricedInvoice, BillingError> {
    let mut lines = charges;
    let discount_lines = discount_charges(discounts, &lines, invoice_date, period)?;
    lines.extend(discount_lines);
    let taxes = tax_lines(&lines, tax)?;
    let subtotal = checked_sum(lines.iter().map(|c| c.amount_cents))?;
    let discount = -checked_sum(
        lines
            .iter()
            .filter(|c| matches!(c.source, super::charges::ChargeSource::Discount { .. }))
            .map(|c| c.amount_cents),
    )?;
    let tax_total = checked_sum(taxes.iter().copied())?;
    Ok(PricedInvoice {
        lines: lines
            .into_iter()
            .zip(taxes)
            .map(|(charge, tax_cents)| PricedLine { charge, tax_cents })
            .collect(),
        subtotal_cents: subtotal,
        discount_cents: discount,
        tax_cents: tax_total,
        total_cents: subtotal
            .checked_add(tax_total)
            .ok_or(BillingError::Overflow)?,
    })
}

fn checked_sum(mut values: impl Iterator<Item = i64>) -> Result<i64, BillingError> {
    values.try_fold(0i64, |sum, v| {
        sum.checked_add(v).ok_or(BillingError::Overflow)
    })
}

/// An invoice number: the prefix and the sequence number zero-padded to `padding`
/// digits; a number wider than the padding grows, it is never cut.
pub fn invoice_number(prefix: &str, number: u64, padding: usize) -> String {
    format!("{prefix}{number:0padding$}")
}

/// The due date of an invoice finalized on `finalized_on` under terms of
/// `days` days (net_30 from 2025-01-31 is 2025-03-02).
pub fn due_date(finalized_on: NaiveDate, days: u32) -> NaiveDate {
    finalized_on + Duration::days(i64::from(days))
}

/// A credit that can pay invoices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailableCredit {
    /// The credit.
    pub id: Uuid,
    /// What is left of it.
    pub remaining_cents: i64,
    /// The day it expires (no longer usable from that day); none = never.
    pub expires_on: Option<NaiveDate>,
}

/// Which credits pay `due_cents` on `today`: soonest-expiring first, credits that
/// never expire last, expired ones not at all; never more than is due or left.
pub fn apply_credits(
    due_cents: i64,
    credits: &[AvailableCredit],
    today: NaiveDate,
) -> Vec<(Uuid, i64)> {
    let mut usable: Vec<&AvailableCredit> = credits
        .iter()
        .filter(|c| c.remaining_cents > 0 && c.expires_on.is_none_or(|e| today < e))
        .collect();
    usable.sort_by_key(|c| (c.expires_on.is_none(), c.expires_on, c.id));
    let mut left = due_cents.max(0);
    let mut applied = Vec::new();
    for credit in usable {
        if left == 0 {
            break;
        }
        let take = credit.remaining_cents.min(left);
        left -= take;
        applied.push((credit.id, take));
    }
    applied
}
