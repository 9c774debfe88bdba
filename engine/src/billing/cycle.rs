//! One contract's billing windows: which windows a run up to a day must bill, and
//! the charges of each. A window is one billing period of the contract; its
//! invoice carries the window's time, usage, bucket overage and arrears fees, and
//! the fees of lines billed in advance for the period after it. A run "up to
//! 2026-02-01" bills every unbilled window ending on or before that day, oldest
//! first, so a missed run is caught up and a repeated one finds nothing to do.
//!
//! Time and usage are matched to lines by service: an hourly line takes the
//! contract's approved time on its service, and time with no service goes to the
//! contract's first hourly line. Anything not billed yet dated before a window's
//! end is billed in that window, so time approved late is billed by the next run
//! rather than lost.

use super::catalogue::ServiceKind;
use super::charges::{
    bucket_period, fixed_charges, hourly_charges, usage_charges, BillableTime, BucketTerms,
    BucketUnit, Charge, FeeService, FixedTerms, HourlyTerms, UsageRecord, UsageTerms,
};
use super::periods::{
    period_containing, service_period, BillingAnchor, BillingFrequency, BillingTiming,
    ServicePeriod,
};
use super::terms::{LineInput, LineKind};
use super::BillingError;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// The most windows one run bills for one contract (ten years of monthly
/// billing): a contract further behind is reported, not billed for decades.
pub const MAX_WINDOWS_PER_RUN: usize = 120;

/// A catalogue service as a run sees it: priced in the contract's currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceTerms {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ServiceKind,
    /// Unit.
    pub unit: String,
    /// Tax category; none = not taxable.
    pub tax_category: Option<String>,
    /// Its price in the contract currency, if it has one.
    pub price_cents: Option<i64>,
}

/// A contract as a run bills it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractTerms {
    /// Id.
    pub id: Uuid,
    /// First day billed.
    pub starts_on: NaiveDate,
    /// The day billing stops (exclusive).
    pub ends_on: Option<NaiveDate>,
    /// Frequency.
    pub frequency: BillingFrequency,
    /// Anchor.
    pub anchor: BillingAnchor,
    /// Lines: (line id, terms), in order.
    pub lines: Vec<(Uuid, LineInput)>,
}

/// Approved or not, billable time not billed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnbilledTime {
    /// The entry.
    pub entry_id: Uuid,
    /// Its service.
    pub service_id: Option<Uuid>,
    /// The day worked.
    pub work_date: NaiveDate,
    /// Billable minutes.
    pub minutes: i64,
    /// Whether its timesheet is approved.
    pub approved: bool,
}

/// Usage not billed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnbilledUsage {
    /// The record.
    pub record_id: Uuid,
    /// Its service.
    pub service_id: Uuid,
    /// The day.
    pub recorded_on: NaiveDate,
    /// How much.
    pub quantity: Decimal,
}

/// One window's bill for one contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowBill {
    /// The window.
    pub window: ServicePeriod,
    /// Its charges, in line order.
    pub charges: Vec<Charge>,
    /// The time entries it bills.
    pub time_entries: Vec<Uuid>,
    /// The usage records it bills.
    pub usage_records: Vec<Uuid>,
    /// Each bucket line's unused allowance carried into the next window.
    pub rollover_out: BTreeMap<Uuid, Decimal>,
}

/// The period before the one containing `date`.
fn period_before(
    frequency: BillingFrequency,
    anchor: &BillingAnchor,
    date: NaiveDate,
) -> ServicePeriod {
    let containing = period_containing(frequency, anchor, date);
    period_containing(frequency, anchor, containing.start - Duration::days(1))
}

/// Whether the contract covers any day of `period`.
fn covers(contract: &ContractTerms, period: ServicePeriod) -> bool {
    period.clip(contract.starts_on, contract.ends_on).is_some()
}

/// The windows a run up to `period_end` bills for `contract`, oldest first:
/// every window ending on or before `period_end` whose invoice has something of
/// the contract's (its own days, or the next period's for advance lines) and
/// whose start is not in `billed`. The first window is the one before the
/// contract starts, so an advance fee for the first period is billed.
pub fn windows_due(
    contract: &ContractTerms,
    period_end: NaiveDate,
    billed: &HashSet<NaiveDate>,
) -> Result<Vec<ServicePeriod>, BillingError> {
    let mut windows = Vec::new();
    let mut window = period_before(contract.frequency, &contract.anchor, contract.starts_on);
    while window.end <= period_end {
        if contract.ends_on.is_some_and(|end| window.start >= end) {
            break;
        }
        let next = super::periods::next_period(contract.frequency, &contract.anchor, window);
        if !billed.contains(&window.start) && (covers(contract, window) || covers(contract, next)) {
            if windows.len() == MAX_WINDOWS_PER_RUN {
                return Err(BillingError::invalid(
                    "period_end",
                    format!(
                        "contract {} has more than {MAX_WINDOWS_PER_RUN} unbilled periods; bill it in steps with an earlier period_end",
                        contract.id
                    ),
                ));
            }
            windows.push(window);
        }
        window = next;
    }
    Ok(windows)
}

/// The time entries a run must wait for: billable, not billed, dated before the
/// window's end, and not approved. Any of them holds the client's invoice.
pub fn unapproved_before(time: &[UnbilledTime], window_end: NaiveDate) -> Vec<Uuid> {
    time.iter()
        .filter(|t| !t.approved && t.work_date < window_end)
        .map(|t| t.entry_id)
        .collect()
}

/// What a window may still take: inputs not billed by an earlier window.
#[derive(Clone, Debug, Default)]
pub struct Taken {
    /// Time entries billed by earlier windows of this run.
    pub time: HashSet<Uuid>,
    /// Usage records billed by earlier windows of this run.
    pub usage: HashSet<Uuid>,
}

/// Which unbilled time and usage one line of one window takes.
struct Pick<'a> {
    window: ServicePeriod,
    contract: &'a ContractTerms,
    service_id: Uuid,
    default_hourly: Option<Uuid>,
}

impl Pick<'_> {
    fn in_contract(&self, date: NaiveDate) -> bool {
        date >= self.contract.starts_on && self.contract.ends_on.is_none_or(|end| date < end)
    }

    /// Approved time of the line's service (or with none, for the default
    /// hourly line) dated before the window's end and not taken yet.
    fn time(
        &self,
        time: &[UnbilledTime],
        taken: &mut Taken,
        bill: &mut WindowBill,
    ) -> Vec<BillableTime> {
        let mine: Vec<BillableTime> = time
            .iter()
            .filter(|t| {
                t.approved && t.work_date < self.window.end && self.in_contract(t.work_date)
            })
            .filter(|t| {
                t.service_id == Some(self.service_id)
                    || (t.service_id.is_none() && self.default_hourly == Some(self.service_id))
            })
            .filter(|t| !taken.time.contains(&t.entry_id))
            .map(|t| BillableTime {
                entry_id: t.entry_id,
                work_date: t.work_date,
                minutes: t.minutes,
                rate_override_cents: None,
            })
            .collect();
        for t in &mine {
            taken.time.insert(t.entry_id);
            bill.time_entries.push(t.entry_id);
        }
        mine
    }

    /// Usage of the line's service dated before the window's end, not taken yet.
    fn usage(
        &self,
        usage: &[UnbilledUsage],
        taken: &mut Taken,
        bill: &mut WindowBill,
    ) -> Vec<UsageRecord> {
        let mine: Vec<UsageRecord> = usage
            .iter()
            .filter(|u| u.service_id == self.service_id && u.recorded_on < self.window.end)
            .filter(|u| self.in_contract(u.recorded_on) && !taken.usage.contains(&u.record_id))
            .map(|u| UsageRecord {
                record_id: u.record_id,
                quantity: u.quantity,
            })
            .collect();
        for u in &mine {
            taken.usage.insert(u.record_id);
            bill.usage_records.push(u.record_id);
        }
        mine
    }
}

fn service(
    services: &HashMap<Uuid, ServiceTerms>,
    id: Option<Uuid>,
) -> Result<(Uuid, &ServiceTerms), BillingError> {
    let id = id.ok_or_else(|| BillingError::invalid("service_id", "a line has no service"))?;
    services
        .get(&id)
        .map(|s| (id, s))
        .ok_or_else(|| BillingError::invalid("service_id", format!("service {id} is missing")))
}

/// The charges of `window` for `contract`: see the module's rules. `rollover_in`
/// is each bucket line's carry from the previous window.
pub fn bill_window(
    contract: &ContractTerms,
    services: &HashMap<Uuid, ServiceTerms>,
    window: ServicePeriod,
    time: &[UnbilledTime],
    usage: &[UnbilledUsage],
    rollover_in: &BTreeMap<Uuid, Decimal>,
    taken: &mut Taken,
) -> Result<WindowBill, BillingError> {
    let default_hourly = contract
        .lines
        .iter()
        .find(|(_, l)| l.kind == Some(LineKind::Hourly))
        .and_then(|(_, l)| l.service_id);
    let mut bill = WindowBill {
        window,
        charges: Vec::new(),
        time_entries: Vec::new(),
        usage_records: Vec::new(),
        rollover_out: BTreeMap::new(),
    };
    let window_covered = covers(contract, window);
    for (line_id, line) in &contract.lines {
        let (service_id, terms) = service(services, line.service_id)?;
        let timing = line.billing_timing.unwrap_or(BillingTiming::Advance);
        let pick = Pick {
            window,
            contract,
            service_id,
            default_hourly,
        };
        match line.kind {
            Some(LineKind::Fixed) => {
                let period = service_period(timing, contract.frequency, &contract.anchor, window);
                let fee = line.rate_cents.or(terms.price_cents).ok_or_else(|| {
                    BillingError::MissingPrice {
                        service: terms.name.clone(),
                    }
                })?;
                let mut covered = vec![FeeService {
                    service_id,
                    name: terms.name.clone(),
                    catalogue_cents: terms.price_cents.unwrap_or(0),
                    tax_category: terms.tax_category.clone(),
                }];
                for other in &line.also_covers {
                    let (id, more) = service(services, Some(*other))?;
                    covered.push(FeeService {
                        service_id: id,
                        name: more.name.clone(),
                        catalogue_cents: more.price_cents.unwrap_or(0),
                        tax_category: more.tax_category.clone(),
                    });
                }
                let fixed = FixedTerms {
                    line_id: *line_id,
                    fee_cents: fee,
                    quantity: line.quantity.unwrap_or(Decimal::ONE),
                    enable_proration: line.enable_proration,
                    services: covered,
                };
                bill.charges.extend(fixed_charges(
                    &fixed,
                    period,
                    contract.starts_on,
                    contract.ends_on,
                )?);
            }
            Some(LineKind::Hourly) => {
                let entries = pick.time(time, taken, &mut bill);
                let hourly = HourlyTerms {
                    line_id: *line_id,
                    service_id,
                    service_name: terms.name.clone(),
                    tax_category: terms.tax_category.clone(),
                    line_rate_cents: line.rate_cents,
                    catalogue_rate_cents: terms.price_cents,
                    minimum_billable_minutes: line.minimum_billable_minutes.unwrap_or(0),
                    round_up_to_minutes: line.round_up_to_minutes.unwrap_or(0),
                    overtime_threshold_minutes: line.overtime_threshold_minutes,
                    overtime_rate_cents: line.overtime_rate_cents,
                };
                bill.charges
                    .extend(hourly_charges(&hourly, window, &entries)?);
            }
            Some(LineKind::Usage) => {
                let records = pick.usage(usage, taken, &mut bill);
                if window_covered || !records.is_empty() {
                    let usage_terms = UsageTerms {
                        line_id: *line_id,
                        service_id,
                        service_name: terms.name.clone(),
                        unit: terms.unit.clone(),
                        tax_category: terms.tax_category.clone(),
                        line_rate_cents: line.rate_cents,
                        catalogue_rate_cents: terms.price_cents,
                        minimum_quantity: line.minimum_quantity.filter(|_| window_covered),
                        tiers: line.tiers.clone(),
                    };
                    bill.charges
                        .extend(usage_charges(&usage_terms, window, &records)?);
                }
            }
            Some(LineKind::Bucket) => {
                let bucket = line.bucket.as_ref().ok_or_else(|| {
                    BillingError::invalid("bucket", "a bucket line has no allowance")
                })?;
                let (unit, included, used) = match bucket.included_minutes {
                    Some(minutes) => {
                        let used: i64 = pick
                            .time(time, taken, &mut bill)
                            .iter()
                            .map(|t| t.minutes)
                            .sum();
                        (
                            BucketUnit::Minutes,
                            Decimal::from(minutes),
                            Decimal::from(used),
                        )
                    }
                    None => {
                        let used: Decimal = pick
                            .usage(usage, taken, &mut bill)
                            .iter()
                            .map(|u| u.quantity)
                            .sum();
                        (
                            BucketUnit::Units,
                            bucket.included_units.unwrap_or_default(),
                            used,
                        )
                    }
                };
                let bucket_terms = BucketTerms {
                    line_id: *line_id,
                    service_id,
                    service_name: terms.name.clone(),
                    tax_category: terms.tax_category.clone(),
                    fee_cents: line.rate_cents.or(terms.price_cents).ok_or_else(|| {
                        BillingError::MissingPrice {
                            service: terms.name.clone(),
                        }
                    })?,
                    included,
                    unit,
                    overage_rate_cents: bucket.overage_rate_cents,
                    allow_rollover: bucket.allow_rollover,
                };
                let carried = rollover_in.get(line_id).copied().unwrap_or_default();
                // The window's own allowance meets its use: overage and rollover.
                let own = window_covered
                    .then(|| bucket_period(&bucket_terms, window, used, carried))
                    .transpose()?;
                if let Some(own) = &own {
                    bill.rollover_out.insert(*line_id, own.rollover_out);
                }
                let mut charges = own.map(|p| p.charges).unwrap_or_default();
                if timing == BillingTiming::Advance {
                    // The fee paid ahead is the next period's; this window's was
                    // billed by the window before.
                    charges.retain(|c| {
                        matches!(
                            c.source,
                            super::charges::ChargeSource::Bucket { overage: true, .. }
                        )
                    });
                    let next =
                        super::periods::next_period(contract.frequency, &contract.anchor, window);
                    if covers(contract, next) {
                        let ahead =
                            bucket_period(&bucket_terms, next, Decimal::ZERO, Decimal::ZERO)?;
                        charges.extend(ahead.charges.into_iter().take(1));
                    }
                }
                bill.charges.extend(charges);
            }
            None => return Err(BillingError::invalid("kind", "a line has no kind")),
        }
    }
    Ok(bill)
}
