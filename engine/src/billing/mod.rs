//! Billing's pure engine: money on integer cents, billing periods and proration,
//! the charges of fixed, hourly, usage and bucket lines, discounts, tax with
//! effective-dated and compound rates, invoice totals, numbering, due dates and
//! credit application. No I/O: activities load the inputs and store the results,
//! and workflows may call any of it.

pub mod catalogue;
pub mod charges;
pub mod contracts;
pub mod cycle;
pub mod discounts;
pub mod document;
pub mod documents;
pub mod invoice;
pub mod money;
pub mod periods;
pub mod tax;
pub mod terms;
pub mod usage;

#[cfg(test)]
mod cycle_tests;
#[cfg(test)]
mod tests;

use chrono::{Datelike, NaiveDate};

/// Whether `date` is one billing accepts: years 1900 to 9999 (what the database
/// and period arithmetic handle with room to spare).
pub fn date_in_range(date: NaiveDate) -> bool {
    (1900..=9999).contains(&date.year())
}

/// The message for a date outside [`date_in_range`].
pub const DATE_RANGE: &str = "must be a date from 1900 to 9999";

/// Checks a `[starts_on, ends_on)` span of an input: a start is required, both
/// days are in range, and the end (if any) comes after the start.
fn check_span(
    issues: &mut crate::validation::Issues,
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
) {
    if starts_on.is_none() {
        issues.add("starts_on", "is required (YYYY-MM-DD)");
    }
    for (field, date) in [("starts_on", starts_on), ("ends_on", ends_on)] {
        if date.is_some_and(|d| !date_in_range(d)) {
            issues.add(field, DATE_RANGE);
        }
    }
    if let (Some(start), Some(end)) = (starts_on, ends_on) {
        if end <= start {
            issues.add("ends_on", "must be after starts_on");
        }
    }
}

/// Why a charge or an invoice cannot be computed. Never a silent zero.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    /// A term is out of range.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// No rate for a service in the contract's currency.
    #[error("no price for {service} in the contract's currency")]
    MissingPrice {
        /// The service's name.
        service: String,
    },
    /// The client's region has no tax rate in force on a charge's date.
    #[error("no tax rate in force on {date} in the client's tax region")]
    MissingTaxRate {
        /// The charge date.
        date: NaiveDate,
    },
    /// An amount beyond what cents in 64 bits hold.
    #[error("an amount is too large")]
    Overflow,
}

impl BillingError {
    /// An invalid `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> BillingError {
        BillingError::Invalid {
            field,
            message: message.into(),
        }
    }
}
