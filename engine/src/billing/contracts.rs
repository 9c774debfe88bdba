//! Rules across a client's contracts: one currency per client among its active
//! contracts, and no two lines billing the same service for the same days.

use super::money::Currency;
use super::BillingError;
use chrono::NaiveDate;
use uuid::Uuid;

/// A contract's currency and dates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractSpan {
    /// The contract.
    pub contract_id: Uuid,
    /// Its currency.
    pub currency: Currency,
    /// First day.
    pub starts_on: NaiveDate,
    /// The day after the last; none = open.
    pub ends_on: Option<NaiveDate>,
}

/// Whether two `[start, end)` spans (end none = open) share a day.
pub fn spans_overlap(a: (NaiveDate, Option<NaiveDate>), b: (NaiveDate, Option<NaiveDate>)) -> bool {
    let a_before_b_ends = b.1.is_none_or(|end| a.0 < end);
    let b_before_a_ends = a.1.is_none_or(|end| b.0 < end);
    a_before_b_ends && b_before_a_ends
}

/// Refuses `candidate` when another of the client's contracts overlapping it in
/// time bills in a different currency.
pub fn check_currency(
    candidate: &ContractSpan,
    others: &[ContractSpan],
) -> Result<(), BillingError> {
    match others.iter().find(|o| {
        o.contract_id != candidate.contract_id
            && o.currency != candidate.currency
            && spans_overlap((o.starts_on, o.ends_on), (candidate.starts_on, candidate.ends_on))
    }) {
        Some(other) => Err(BillingError::invalid(
            "currency",
            format!(
                "the client already has a contract in {} for these dates; one client's active contracts share one currency",
                other.currency
            ),
        )),
        None => Ok(()),
    }
}

/// A line's service and the days its contract runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineSpan {
    /// The line.
    pub line_id: Uuid,
    /// Its service.
    pub service_id: Uuid,
    /// First day.
    pub starts_on: NaiveDate,
    /// The day after the last; none = open.
    pub ends_on: Option<NaiveDate>,
}

/// Refuses two lines that bill the same service over overlapping days: the
/// service would be billed twice for one period.
pub fn check_overlapping_lines(lines: &[LineSpan]) -> Result<(), BillingError> {
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            if a.service_id == b.service_id
                && spans_overlap((a.starts_on, a.ends_on), (b.starts_on, b.ends_on))
            {
                return Err(BillingError::invalid(
                    "lines",
                    format!(
                        "lines {} and {} bill the same service over overlapping dates",
                        a.line_id, b.line_id
                    ),
                ));
            }
        }
    }
    Ok(())
}
