//! Tax: effective-dated rates made of components, a compound component charged on
//! the amount plus the components before it. Per rate in force, tax is computed on
//! the sum of the positive taxable lines, rounded up to the cent, then allocated
//! back to those lines (floor of each share, the remainder on the last line), so
//! the lines' tax always sums to the invoice's. Negative lines carry no tax.

use super::charges::Charge;
use super::money::{allocate, ceil_cents};
use super::BillingError;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One component of a rate (state, county, city…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxComponent {
    /// Its name.
    pub name: String,
    /// Its percentage, e.g. "4.5".
    #[schema(value_type = String)]
    pub percent: Decimal,
    /// Charged on the amount plus the components before it.
    pub is_compound: bool,
    /// Order of application.
    pub sequence: i32,
}

/// A region's rate for a span of days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxRate {
    /// Id.
    pub id: Uuid,
    /// First day in force.
    pub starts_on: NaiveDate,
    /// The day it stops; none = open.
    pub ends_on: Option<NaiveDate>,
    /// Its components.
    pub components: Vec<TaxComponent>,
}

impl TaxRate {
    /// Whether the rate is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.starts_on <= date && self.ends_on.is_none_or(|end| date < end)
    }

    /// The exact tax on `base` cents (components in sequence order).
    pub fn exact_tax(&self, base: Decimal) -> Decimal {
        let mut components: Vec<&TaxComponent> = self.components.iter().collect();
        components.sort_by_key(|c| c.sequence);
        let mut total = Decimal::ZERO;
        for component in components {
            let on = if component.is_compound {
                base + total
            } else {
                base
            };
            total += on * component.percent / Decimal::ONE_HUNDRED;
        }
        total
    }

    /// The sum of the components' percentages, as shown on an invoice ("8.875").
    pub fn nominal_percent(&self) -> Decimal {
        self.components.iter().map(|c| c.percent).sum()
    }
}

/// How a client is taxed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxContext {
    /// A tax-exempt client pays none.
    pub exempt: bool,
    /// The rates of the client's region (none = no region: no tax).
    pub rates: Option<Vec<TaxRate>>,
}

/// The tax of each charge, in order.
pub fn tax_lines(charges: &[Charge], context: &TaxContext) -> Result<Vec<i64>, BillingError> {
    let mut taxes = vec![0i64; charges.len()];
    let Some(rates) = context.rates.as_ref().filter(|_| !context.exempt) else {
        return Ok(taxes);
    };
    // Rate id → indices of the taxable lines it applies to, in line order.
    let mut groups: Vec<(&TaxRate, Vec<usize>)> = Vec::new();
    for (index, charge) in charges.iter().enumerate() {
        if charge.tax_category.is_none() || charge.amount_cents <= 0 {
            continue;
        }
        let rate = rates
            .iter()
            .find(|r| r.in_force_on(charge.charge_date))
            .ok_or(BillingError::MissingTaxRate {
                date: charge.charge_date,
            })?;
        match groups.iter_mut().find(|(r, _)| r.id == rate.id) {
            Some((_, lines)) => lines.push(index),
            None => groups.push((rate, vec![index])),
        }
    }
    for (rate, lines) in groups {
        let bases: Vec<i64> = lines.iter().map(|i| charges[*i].amount_cents).collect();
        let base = bases
            .iter()
            .try_fold(0i64, |sum, b| sum.checked_add(*b))
            .ok_or(BillingError::Overflow)?;
        let total = ceil_cents(rate.exact_tax(Decimal::from(base)))?;
        for (index, share) in lines.iter().zip(allocate(total, &bases)) {
            taxes[*index] = share;
        }
    }
    Ok(taxes)
}
