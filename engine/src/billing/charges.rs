//! Charges of one contract line for one service period: fixed fees (prorated,
//! allocated over services), hourly time, usage (minimums, progressive tiers) and
//! buckets (allowance, overage, rollover). Each charge says where it came from.

use super::money::{allocate, round_cents};
use super::periods::ServicePeriod;
use super::BillingError;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `a × b`, or `Overflow` beyond what a decimal holds.
fn mul(a: Decimal, b: Decimal) -> Result<Decimal, BillingError> {
    a.checked_mul(b).ok_or(BillingError::Overflow)
}

/// `minutes × hourly rate / 60`, exact: how time becomes money.
fn time_amount(minutes: Decimal, rate_cents: i64) -> Result<Decimal, BillingError> {
    Ok(mul(minutes, Decimal::from(rate_cents))? / Decimal::from(60))
}

/// Where an amount came from, so a reviewer can check every cent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChargeSource {
    /// A recurring fee; `covered_days` of `period_days` when prorated.
    Fixed {
        /// The contract line.
        line_id: Uuid,
        /// Days billed, when prorated.
        covered_days: Option<i64>,
        /// Days in the service period.
        period_days: i64,
    },
    /// Approved billable time.
    Time {
        /// The contract line.
        line_id: Uuid,
        /// The time entries billed.
        entry_ids: Vec<Uuid>,
        /// Minutes beyond the overtime threshold.
        overtime: bool,
    },
    /// Recorded usage, one tier of it when tiered.
    Usage {
        /// The contract line.
        line_id: Uuid,
        /// The usage records billed.
        record_ids: Vec<Uuid>,
        /// The tier's first quantity, when tiered.
        tier_from: Option<Decimal>,
    },
    /// A bucket's fee or overage.
    Bucket {
        /// The contract line.
        line_id: Uuid,
        /// The period's own allowance.
        included: Decimal,
        /// Unused allowance carried in from the previous period.
        rollover_in: Decimal,
        /// What was used.
        used: Decimal,
        /// Whether this is the overage charge.
        overage: bool,
    },
    /// A discount.
    Discount {
        /// The discount.
        discount_id: Uuid,
    },
    /// Typed by a user on a manual invoice.
    Manual,
}

/// One charge: what an invoice line becomes before tax.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Charge {
    /// What the client reads.
    pub description: String,
    /// The catalogue service.
    pub service_id: Option<Uuid>,
    /// Hours, units or periods.
    pub quantity: Decimal,
    /// Price of one unit, for display (the amount is computed exactly).
    pub unit_price_cents: i64,
    /// The amount (negative for discounts and credits).
    pub amount_cents: i64,
    /// The tax category; none = not taxable.
    pub tax_category: Option<String>,
    /// The days the charge is for.
    pub service_period: ServicePeriod,
    /// When the charge is dated (the tax rate in force that day applies).
    pub charge_date: NaiveDate,
    /// Where it came from.
    pub source: ChargeSource,
}

/// A service of a fixed fee, with its catalogue value (the fee is split by it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeService {
    /// The service.
    pub service_id: Uuid,
    /// Its name, for the description.
    pub name: String,
    /// Its catalogue price in the contract currency.
    pub catalogue_cents: i64,
    /// Its tax category.
    pub tax_category: Option<String>,
}

/// A fixed line's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedTerms {
    /// The contract line.
    pub line_id: Uuid,
    /// The fee per period for one unit.
    pub fee_cents: i64,
    /// Units (seats, devices); whole or fractional.
    pub quantity: Decimal,
    /// Whether a partly covered period bills covered days / period days.
    pub enable_proration: bool,
    /// The services the fee covers (at least one).
    pub services: Vec<FeeService>,
}

/// The fee of `period`, for a contract running `[starts_on, ends_on)`: nothing when
/// the contract does not cover the period; prorated by days when enabled; split
/// over the services by their catalogue value (the parts sum to the fee).
pub fn fixed_charges(
    terms: &FixedTerms,
    period: ServicePeriod,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
) -> Result<Vec<Charge>, BillingError> {
    if terms.services.is_empty() {
        return Err(BillingError::invalid(
            "services",
            "a fixed fee covers at least one service",
        ));
    }
    let Some(covered) = period.clip(starts_on, ends_on) else {
        return Ok(Vec::new());
    };
    let prorated = terms.enable_proration && covered != period;
    let mut exact = mul(Decimal::from(terms.fee_cents), terms.quantity)?;
    if prorated {
        // Exact to the end, so the fee is rounded once.
        exact = mul(exact, Decimal::from(covered.days()))? / Decimal::from(period.days());
    }
    let amount = round_cents(exact)?;
    let weights: Vec<i64> = terms.services.iter().map(|s| s.catalogue_cents).collect();
    let parts = allocate(amount, &weights);
    Ok(terms
        .services
        .iter()
        .zip(parts)
        .map(|(service, part)| Charge {
            description: if prorated {
                format!(
                    "{} ({} of {} days)",
                    service.name,
                    covered.days(),
                    period.days()
                )
            } else {
                service.name.clone()
            },
            service_id: Some(service.service_id),
            quantity: terms.quantity,
            unit_price_cents: terms.fee_cents,
            amount_cents: part,
            tax_category: service.tax_category.clone(),
            service_period: period,
            charge_date: period.start,
            source: ChargeSource::Fixed {
                line_id: terms.line_id,
                covered_days: prorated.then_some(covered.days()),
                period_days: period.days(),
            },
        })
        .collect())
}

/// Approved billable time of one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillableTime {
    /// The time entry.
    pub entry_id: Uuid,
    /// The day worked.
    pub work_date: NaiveDate,
    /// Approved billable minutes.
    pub minutes: i64,
    /// A rate set on the entry itself (wins over the line's and the catalogue's;
    /// overtime minutes bill at the overtime rate).
    pub rate_override_cents: Option<i64>,
}

/// An hourly line's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HourlyTerms {
    /// The contract line.
    pub line_id: Uuid,
    /// The service.
    pub service_id: Uuid,
    /// Its name.
    pub service_name: String,
    /// Its tax category.
    pub tax_category: Option<String>,
    /// The line's hourly rate (wins over the catalogue's).
    pub line_rate_cents: Option<i64>,
    /// The catalogue's hourly rate in the contract currency.
    pub catalogue_rate_cents: Option<i64>,
    /// Each entry bills at least this many minutes.
    pub minimum_billable_minutes: i64,
    /// Each entry's minutes round up to a multiple of this (0 or 1 = exact).
    pub round_up_to_minutes: i64,
    /// Minutes of the period beyond this bill at the overtime rate.
    pub overtime_threshold_minutes: Option<i64>,
    /// The overtime hourly rate.
    pub overtime_rate_cents: Option<i64>,
}

/// Minutes an entry bills: at least the minimum, rounded up to the step.
pub fn billed_minutes(minutes: i64, minimum: i64, round_up_to: i64) -> i64 {
    let at_least = minutes.max(minimum);
    if round_up_to > 1 {
        (at_least + round_up_to - 1) / round_up_to * round_up_to
    } else {
        at_least
    }
}

/// The time of `period` as charges: one per rate (and one for overtime), each
/// `minutes × rate / 60` rounded once, so 135 minutes at 100.00 is exactly 225.00.
/// Entries count in day order; minutes past the threshold are overtime and bill at
/// the overtime rate, whatever rate they would otherwise have had.
pub fn hourly_charges(
    terms: &HourlyTerms,
    period: ServicePeriod,
    entries: &[BillableTime],
) -> Result<Vec<Charge>, BillingError> {
    if terms.overtime_threshold_minutes.is_some() && terms.overtime_rate_cents.is_none() {
        return Err(BillingError::invalid(
            "overtime_rate_cents",
            "is required with overtime_threshold_minutes",
        ));
    }
    let mut ordered: Vec<&BillableTime> = entries.iter().filter(|e| e.minutes > 0).collect();
    ordered.sort_by_key(|e| (e.work_date, e.entry_id));
    // (rate, overtime) → (minutes, entries), in first-seen order for stable lines.
    let mut groups: Vec<((i64, bool), i64, Vec<Uuid>)> = Vec::new();
    let mut add = |key: (i64, bool), minutes: i64, entry: Uuid| match groups
        .iter_mut()
        .find(|g| g.0 == key)
    {
        Some(group) => {
            group.1 += minutes;
            if !group.2.contains(&entry) {
                group.2.push(entry);
            }
        }
        None => groups.push((key, minutes, vec![entry])),
    };
    let mut running = 0i64;
    for entry in ordered {
        let rate = entry
            .rate_override_cents
            .or(terms.line_rate_cents)
            .or(terms.catalogue_rate_cents)
            .ok_or_else(|| BillingError::MissingPrice {
                service: terms.service_name.clone(),
            })?;
        let minutes = billed_minutes(
            entry.minutes,
            terms.minimum_billable_minutes,
            terms.round_up_to_minutes,
        );
        let (regular, overtime) = match terms.overtime_threshold_minutes {
            Some(threshold) => {
                let regular = (threshold - running).clamp(0, minutes);
                (regular, minutes - regular)
            }
            None => (minutes, 0),
        };
        running += minutes;
        if regular > 0 {
            add((rate, false), regular, entry.entry_id);
        }
        if let (true, Some(overtime_rate)) = (overtime > 0, terms.overtime_rate_cents) {
            add((overtime_rate, true), overtime, entry.entry_id);
        }
    }
    groups
        .into_iter()
        .map(|((rate, overtime), minutes, entry_ids)| {
            let hours = Decimal::from(minutes) / Decimal::from(60);
            Ok(Charge {
                description: format!(
                    "{}{}: {} h",
                    terms.service_name,
                    if overtime { " (overtime)" } else { "" },
                    hours.normalize()
                ),
                service_id: Some(terms.service_id),
                quantity: hours,
                unit_price_cents: rate,
                amount_cents: round_cents(time_amount(Decimal::from(minutes), rate)?)?,
                tax_category: terms.tax_category.clone(),
                service_period: period,
                charge_date: period.start,
                source: ChargeSource::Time {
                    line_id: terms.line_id,
                    entry_ids,
                    overtime,
                },
            })
        })
        .collect()
}

/// One progressive tier: quantities in `[from_quantity, to_quantity)` bill at its rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tier {
    /// First quantity of the tier.
    #[schema(value_type = String)]
    pub from_quantity: Decimal,
    /// First quantity past the tier; none = open.
    #[schema(value_type = Option<String>)]
    pub to_quantity: Option<Decimal>,
    /// Price of one unit in the tier.
    pub rate_cents: i64,
}

/// Checks tiers: the first starts at 0, each starts where the previous ended,
/// only the last is open, none is empty.
pub fn validate_tiers(tiers: &[Tier]) -> Result<(), BillingError> {
    let mut expected = Decimal::ZERO;
    for (i, tier) in tiers.iter().enumerate() {
        let field = "tiers";
        if tier.from_quantity != expected {
            return Err(BillingError::invalid(
                field,
                format!(
                    "tier {} must start at {expected}, where the previous ends",
                    i + 1
                ),
            ));
        }
        if tier.rate_cents < 0 {
            return Err(BillingError::invalid(
                field,
                format!("tier {} has a negative rate", i + 1),
            ));
        }
        match tier.to_quantity {
            Some(to) if to > tier.from_quantity => expected = to,
            Some(_) => {
                return Err(BillingError::invalid(
                    field,
                    format!("tier {} must end after it starts", i + 1),
                ))
            }
            None if i + 1 == tiers.len() => return Ok(()),
            None => {
                return Err(BillingError::invalid(
                    field,
                    "only the last tier may be open",
                ))
            }
        }
    }
    if tiers.is_empty() {
        Ok(())
    } else {
        Err(BillingError::invalid(
            "tiers",
            "the last tier must be open (no to_quantity)",
        ))
    }
}

/// A usage record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRecord {
    /// The record.
    pub record_id: Uuid,
    /// How much.
    pub quantity: Decimal,
}

/// A usage line's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageTerms {
    /// The contract line.
    pub line_id: Uuid,
    /// The service.
    pub service_id: Uuid,
    /// Its name.
    pub service_name: String,
    /// Its unit ("GB", "mailbox").
    pub unit: String,
    /// Its tax category.
    pub tax_category: Option<String>,
    /// The line's unit rate.
    pub line_rate_cents: Option<i64>,
    /// The catalogue's unit rate in the contract currency.
    pub catalogue_rate_cents: Option<i64>,
    /// The period bills at least this quantity.
    pub minimum_quantity: Option<Decimal>,
    /// Progressive tiers (empty = one rate).
    pub tiers: Vec<Tier>,
}

/// Usage of `period` as charges: the total (raised to the minimum) at the rate,
/// or split over the tiers, one charge per tier reached.
pub fn usage_charges(
    terms: &UsageTerms,
    period: ServicePeriod,
    records: &[UsageRecord],
) -> Result<Vec<Charge>, BillingError> {
    let used: Decimal = records.iter().map(|r| r.quantity).sum();
    let billed = terms.minimum_quantity.map_or(used, |min| used.max(min));
    if billed <= Decimal::ZERO {
        return Ok(Vec::new());
    }
    let record_ids: Vec<Uuid> = records.iter().map(|r| r.record_id).collect();
    let charge = |quantity: Decimal,
                  rate: i64,
                  tier_from: Option<Decimal>|
     -> Result<Charge, BillingError> {
        Ok(Charge {
            description: match tier_from {
                Some(from) => format!(
                    "{} from {} {}: {} {}",
                    terms.service_name,
                    from.normalize(),
                    terms.unit,
                    quantity.normalize(),
                    terms.unit
                ),
                None => format!(
                    "{}: {} {}",
                    terms.service_name,
                    quantity.normalize(),
                    terms.unit
                ),
            },
            service_id: Some(terms.service_id),
            quantity,
            unit_price_cents: rate,
            amount_cents: round_cents(mul(quantity, Decimal::from(rate))?)?,
            tax_category: terms.tax_category.clone(),
            service_period: period,
            charge_date: period.start,
            source: ChargeSource::Usage {
                line_id: terms.line_id,
                record_ids: record_ids.clone(),
                tier_from,
            },
        })
    };
    if terms.tiers.is_empty() {
        let rate = terms
            .line_rate_cents
            .or(terms.catalogue_rate_cents)
            .ok_or_else(|| BillingError::MissingPrice {
                service: terms.service_name.clone(),
            })?;
        return Ok(vec![charge(billed, rate, None)?]);
    }
    validate_tiers(&terms.tiers)?;
    terms
        .tiers
        .iter()
        .filter(|tier| billed > tier.from_quantity)
        .map(|tier| {
            let top = tier.to_quantity.map_or(billed, |to| to.min(billed));
            charge(
                top - tier.from_quantity,
                tier.rate_cents,
                Some(tier.from_quantity),
            )
        })
        .collect()
}

/// What a bucket counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BucketUnit {
    /// Minutes of time (block hours); the overage rate is per hour.
    Minutes,
    /// Units; the overage rate is per unit.
    Units,
}

/// A bucket line's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketTerms {
    /// The contract line.
    pub line_id: Uuid,
    /// The service.
    pub service_id: Uuid,
    /// Its name.
    pub service_name: String,
    /// Its tax category.
    pub tax_category: Option<String>,
    /// The fee per period (never prorated).
    pub fee_cents: i64,
    /// The allowance per period.
    pub included: Decimal,
    /// What the allowance counts.
    pub unit: BucketUnit,
    /// The price of overage, per hour (minutes) or per unit.
    pub overage_rate_cents: i64,
    /// Whether unused base allowance carries into the next period (once).
    pub allow_rollover: bool,
}

/// A bucket's period: its charges and what carries into the next period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketPeriod {
    /// The fee, and the overage when the allowance ran out.
    pub charges: Vec<Charge>,
    /// Unused base allowance carried into the next period.
    pub rollover_out: Decimal,
}

/// The bucket's period: the fee in full (buckets are never prorated), overage past
/// the allowance plus what rolled in, and the rollover out. Use draws on the
/// rolled-in allowance first; only the period's own unused allowance rolls on, so
/// rollover never compounds (it never exceeds one period's allowance).
pub fn bucket_period(
    terms: &BucketTerms,
    period: ServicePeriod,
    used: Decimal,
    rollover_in: Decimal,
) -> Result<BucketPeriod, BillingError> {
    let rollover_in = if terms.allow_rollover {
        rollover_in.clamp(Decimal::ZERO, terms.included)
    } else {
        Decimal::ZERO
    };
    let used = used.max(Decimal::ZERO);
    let base_used = (used - rollover_in).max(Decimal::ZERO);
    let overage = (base_used - terms.included).max(Decimal::ZERO);
    let rollover_out = if terms.allow_rollover {
        (terms.included - base_used).max(Decimal::ZERO)
    } else {
        Decimal::ZERO
    };
    let source = |overage_charge: bool| ChargeSource::Bucket {
        line_id: terms.line_id,
        included: terms.included,
        rollover_in,
        used,
        overage: overage_charge,
    };
    let unit = match terms.unit {
        BucketUnit::Minutes => "h",
        BucketUnit::Units => "units",
    };
    let as_quantity = |amount: Decimal| match terms.unit {
        BucketUnit::Minutes => amount / Decimal::from(60),
        BucketUnit::Units => amount,
    };
    let mut charges = vec![Charge {
        description: format!(
            "{}: {} {unit} included",
            terms.service_name,
            as_quantity(terms.included).normalize()
        ),
        service_id: Some(terms.service_id),
        quantity: Decimal::ONE,
        unit_price_cents: terms.fee_cents,
        amount_cents: terms.fee_cents,
        tax_category: terms.tax_category.clone(),
        service_period: period,
        charge_date: period.start,
        source: source(false),
    }];
    if overage > Decimal::ZERO {
        let quantity = as_quantity(overage);
        // Rounded once, from the exact minutes or units.
        let exact = match terms.unit {
            BucketUnit::Minutes => time_amount(overage, terms.overage_rate_cents)?,
            BucketUnit::Units => mul(overage, Decimal::from(terms.overage_rate_cents))?,
        };
        charges.push(Charge {
            description: format!(
                "{} overage: {} {unit}",
                terms.service_name,
                quantity.normalize()
            ),
            service_id: Some(terms.service_id),
            quantity,
            unit_price_cents: terms.overage_rate_cents,
            amount_cents: round_cents(exact)?,
            tax_category: terms.tax_category.clone(),
            service_period: period,
            charge_date: period.start,
            source: source(true),
        });
    }
    Ok(BucketPeriod {
        charges,
        rollover_out,
    })
}
