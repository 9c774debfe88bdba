//! Discounts: a percentage or a fixed amount, on one contract line or the whole
//! invoice, within an effective window. Line discounts apply before whole-invoice
//! ones, and percentages before fixed amounts; a
//! discount never takes its target below zero and never reduces the taxable base
//! (discount lines carry no tax category).

use super::charges::{Charge, ChargeSource};
use super::money::round_cents;
use super::periods::ServicePeriod;
use super::BillingError;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How much a discount takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiscountAmount {
    /// A percentage of the target (0 to 100).
    Percentage {
        /// The percentage, e.g. "12.5".
        #[schema(value_type = String)]
        percent: Decimal,
    },
    /// A fixed amount in the invoice currency.
    Fixed {
        /// Cents taken off.
        amount_cents: i64,
    },
}

/// A discount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Discount {
    /// Id.
    pub id: Uuid,
    /// What the client reads.
    pub description: String,
    /// How much.
    pub amount: DiscountAmount,
    /// The contract line it applies to; none = the whole invoice.
    pub line_id: Option<Uuid>,
    /// First day it applies.
    pub starts_on: NaiveDate,
    /// The day it stops applying; none = open.
    pub ends_on: Option<NaiveDate>,
}

impl Discount {
    /// Checks the amount.
    pub fn validate(&self) -> Result<(), BillingError> {
        match self.amount {
            DiscountAmount::Percentage { percent }
                if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED =>
            {
                Err(BillingError::invalid(
                    "percent",
                    "must be more than 0 and at most 100",
                ))
            }
            DiscountAmount::Fixed { amount_cents } if amount_cents <= 0 => {
                Err(BillingError::invalid("amount_cents", "must be positive"))
            }
            _ => Ok(()),
        }
    }

    fn active_on(&self, date: NaiveDate) -> bool {
        self.starts_on <= date && self.ends_on.is_none_or(|end| date < end)
    }

    fn is_percentage(&self) -> bool {
        matches!(self.amount, DiscountAmount::Percentage { .. })
    }
}

impl ChargeSource {
    /// The contract line a charge came from, if any.
    pub fn line_id(&self) -> Option<Uuid> {
        match self {
            ChargeSource::Fixed { line_id, .. }
            | ChargeSource::Time { line_id, .. }
            | ChargeSource::Usage { line_id, .. }
            | ChargeSource::Bucket { line_id, .. } => Some(*line_id),
            ChargeSource::Discount { .. } | ChargeSource::Manual => None,
        }
    }
}

/// The discount lines for `charges` dated `invoice_date`: each active discount as
/// one negative charge. Line discounts come first, then whole-invoice ones on
/// what the lines left; per target, percentages apply first (each to what is
/// left), then fixed amounts, and no target goes below zero.
pub fn discount_charges(
    discounts: &[Discount],
    charges: &[Charge],
    invoice_date: NaiveDate,
    period: ServicePeriod,
) -> Result<Vec<Charge>, BillingError> {
    let mut active: Vec<&Discount> = discounts
        .iter()
        .filter(|d| d.active_on(invoice_date))
        .collect();
    // Stable: line discounts before whole-invoice ones, percentages before fixed.
    active.sort_by_key(|d| (d.line_id.is_none(), !d.is_percentage()));
    let mut remaining: Vec<(Option<Uuid>, i64)> = Vec::new();
    let mut taken_so_far = 0i64;
    let mut lines = Vec::new();
    for discount in active {
        discount.validate()?;
        let left = match remaining
            .iter_mut()
            .position(|(target, _)| *target == discount.line_id)
        {
            Some(at) => &mut remaining[at].1,
            None => {
                let base = match discount.line_id {
                    Some(_) => target_base(charges, discount.line_id)?,
                    None => target_base(charges, None)? - taken_so_far,
                };
                remaining.push((discount.line_id, base));
                &mut remaining.last_mut().expect("just pushed").1
            }
        };
        let wanted = match discount.amount {
            DiscountAmount::Percentage { percent } => {
                round_cents(Decimal::from(*left) * percent / Decimal::ONE_HUNDRED)?
            }
            DiscountAmount::Fixed { amount_cents } => amount_cents,
        };
        let taken = wanted.clamp(0, (*left).max(0));
        *left -= taken;
        taken_so_far += taken;
        if taken == 0 {
            continue;
        }
        lines.push(Charge {
            description: discount.description.clone(),
            service_id: None,
            quantity: Decimal::ONE,
            unit_price_cents: -taken,
            amount_cents: -taken,
            tax_category: None,
            service_period: period,
            charge_date: invoice_date,
            source: ChargeSource::Discount {
                discount_id: discount.id,
            },
        });
    }
    Ok(lines)
}

/// What a discount applies to: its line's charges, or every charge.
fn target_base(charges: &[Charge], line: Option<Uuid>) -> Result<i64, BillingError> {
    charges
        .iter()
        .filter(|c| line.is_none() || c.source.line_id() == line)
        .try_fold(0i64, |sum, c| sum.checked_add(c.amount_cents))
        .ok_or(BillingError::Overflow)
}
