//! A contract as an MSP writes it: one client, one currency, dates, how often it
//! bills, and its lines (fixed, hourly, usage, bucket) with each kind's terms.
//! The checks here need nothing but the input; the catalogue and the client's
//! other contracts are checked where they are stored.

use super::charges::{validate_tiers, Tier};
use super::discounts::{Discount, DiscountAmount};
use super::money::Currency;
use super::periods::{BillingAnchor, BillingFrequency, BillingTiming};
use crate::validation::{optional_text, FieldIssue, Issues};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kind of a contract line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A recurring fee.
    Fixed,
    /// Approved billable time × rate.
    Hourly,
    /// Recorded usage × rate.
    Usage,
    /// An allowance per period with overage.
    Bucket,
}

impl LineKind {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Fixed => "fixed",
            LineKind::Hourly => "hourly",
            LineKind::Usage => "usage",
            LineKind::Bucket => "bucket",
        }
    }
}

/// A bucket's allowance: minutes (block hours) or units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketInput {
    /// Minutes included per period (block hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_minutes: Option<i64>,
    /// Units included per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub included_units: Option<Decimal>,
    /// Price of overage per hour (minutes) or per unit.
    pub overage_rate_cents: i64,
    /// Whether the previous period's unused allowance carries over (once).
    #[serde(default)]
    pub allow_rollover: bool,
}

/// A contract line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// `fixed`, `hourly`, `usage` or `bucket`.
    pub kind: Option<LineKind>,
    /// The service billed.
    pub service_id: Option<Uuid>,
    /// More services one fixed fee covers (split by catalogue value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_covers: Vec<Uuid>,
    /// The line's rate: the fee (fixed; required for a bucket), per hour (hourly)
    /// or per unit (usage); default the catalogue price in the contract currency.
    #[serde(default)]
    pub rate_cents: Option<i64>,
    /// Units of a fixed fee (default 1).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub quantity: Option<Decimal>,
    /// `advance` or `arrears` (default: advance for fixed and bucket, arrears otherwise).
    #[serde(default)]
    pub billing_timing: Option<BillingTiming>,
    /// Fixed: bill a partly covered period by days.
    #[serde(default)]
    pub enable_proration: bool,
    /// Hourly: each entry bills at least this many minutes.
    #[serde(default)]
    pub minimum_billable_minutes: Option<i64>,
    /// Hourly: each entry rounds up to a multiple of this many minutes.
    #[serde(default)]
    pub round_up_to_minutes: Option<i64>,
    /// Hourly: minutes per period past this bill at `overtime_rate_cents`.
    #[serde(default)]
    pub overtime_threshold_minutes: Option<i64>,
    /// Hourly: the overtime rate per hour.
    #[serde(default)]
    pub overtime_rate_cents: Option<i64>,
    /// Usage: the period bills at least this quantity.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub minimum_quantity: Option<Decimal>,
    /// Usage: progressive tiers.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Bucket: the allowance and overage.
    #[serde(default)]
    pub bucket: Option<BucketInput>,
}

/// A new contract.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractInput {
    /// The client billed.
    pub client_id: Option<Uuid>,
    /// A name ("Managed services 2026"; default "Contract").
    #[serde(default)]
    pub name: Option<String>,
    /// ISO 4217 currency of every amount (default the client's).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub currency: Option<String>,
    /// First day billed.
    pub starts_on: Option<NaiveDate>,
    /// The day billing stops (exclusive); none = open.
    #[serde(default)]
    pub ends_on: Option<NaiveDate>,
    /// How often it bills (default monthly).
    #[serde(default)]
    pub billing_frequency: Option<BillingFrequency>,
    /// Day of the month periods start on, 1 to 28 (default 1).
    #[serde(default)]
    pub anchor_day: Option<u32>,
    /// The other anchor parts (weekday, reference date, start month).
    #[serde(default)]
    pub anchor: Option<BillingAnchor>,
    /// The lines, at least one.
    #[serde(default)]
    pub lines: Vec<LineInput>,
    /// Discounts: per line (by its index in `lines`) or on the whole invoice.
    #[serde(default)]
    pub discounts: Vec<DiscountInput>,
}

/// A discount of a contract.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountInput {
    /// What the client reads ("Loyalty 10 %").
    pub description: Option<String>,
    /// A percentage, e.g. "10" (give this or `amount_cents`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub percent: Option<Decimal>,
    /// A fixed amount per invoice, in cents.
    #[serde(default)]
    pub amount_cents: Option<i64>,
    /// The line it applies to, by its index in `lines`; none = the whole invoice.
    #[serde(default)]
    pub line: Option<usize>,
    /// First day it applies (default the contract's start).
    #[serde(default)]
    pub starts_on: Option<NaiveDate>,
    /// The day it stops applying; none = open.
    #[serde(default)]
    pub ends_on: Option<NaiveDate>,
}

/// A checked discount; the line is still an index until the lines have ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscountDraft {
    /// Description.
    pub description: String,
    /// Amount.
    pub amount: DiscountAmount,
    /// Index of the line in the contract.
    pub line: Option<usize>,
    /// First day.
    pub starts_on: NaiveDate,
    /// Exclusive end.
    pub ends_on: Option<NaiveDate>,
}

impl DiscountDraft {
    /// The discount, its line index resolved to the stored line's id.
    pub fn resolve(&self, line_ids: &[Uuid]) -> Discount {
        Discount {
            id: Uuid::now_v7(),
            description: self.description.clone(),
            amount: self.amount.clone(),
            line_id: self.line.and_then(|i| line_ids.get(i).copied()),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
        }
    }
}

/// The most discounts a contract may have.
pub const MAX_DISCOUNTS: usize = 20;

fn check_discounts(
    discounts: &[DiscountInput],
    lines: usize,
    contract_start: Option<NaiveDate>,
    issues: &mut Issues,
) -> Vec<DiscountDraft> {
    if discounts.len() > MAX_DISCOUNTS {
        issues.add("discounts", format!("at most {MAX_DISCOUNTS} discounts"));
    }
    discounts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let at = |field: &str| format!("discounts[{i}].{field}");
            let description = issues
                .check(
                    &at("description"),
                    crate::validation::required_text(d.description.as_deref(), 200),
                )
                .unwrap_or_default();
            let amount = match (d.percent, d.amount_cents) {
                (Some(percent), None) => DiscountAmount::Percentage { percent },
                (None, Some(amount_cents)) => DiscountAmount::Fixed { amount_cents },
                _ => {
                    issues.add(at("percent"), "give either percent or amount_cents");
                    DiscountAmount::Fixed { amount_cents: 1 }
                }
            };
            let probe = Discount {
                id: Uuid::nil(),
                description: String::new(),
                amount: amount.clone(),
                line_id: None,
                starts_on: NaiveDate::MIN,
                ends_on: None,
            };
            if let Err(super::BillingError::Invalid { field, message }) = probe.validate() {
                issues.add(at(field), message);
            }
            if d.line.is_some_and(|l| l >= lines) {
                issues.add(
                    at("line"),
                    "must be the index of one of the contract's lines",
                );
            }
            if d.starts_on.is_some() || d.ends_on.is_some() {
                super::check_span(issues, d.starts_on.or(contract_start), d.ends_on);
            }
            DiscountDraft {
                description,
                amount,
                line: d.line,
                starts_on: d.starts_on.or(contract_start).unwrap_or_default(),
                ends_on: d.ends_on,
            }
        })
        .collect()
}

/// A checked contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractDraft {
    /// Client.
    pub client_id: Uuid,
    /// Name.
    pub name: String,
    /// Currency, when given (else the client's).
    pub currency: Option<Currency>,
    /// First day.
    pub starts_on: NaiveDate,
    /// Exclusive end.
    pub ends_on: Option<NaiveDate>,
    /// Frequency.
    pub billing_frequency: BillingFrequency,
    /// Anchor, `anchor_day` folded in.
    pub anchor: BillingAnchor,
    /// Lines, with their defaults filled in.
    pub lines: Vec<LineInput>,
    /// Discounts.
    pub discounts: Vec<DiscountDraft>,
}

/// The most lines a contract may have.
pub const MAX_LINES: usize = 100;

/// The largest quantity a line's terms may name.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

impl ContractInput {
    /// Checks the contract and each line's terms for its kind.
    pub fn validate(&self) -> Result<ContractDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        let name = issues
            .check("name", optional_text(self.name.as_deref(), 200))
            .flatten()
            .unwrap_or_else(|| "Contract".to_owned());
        let currency = match self.currency.as_deref() {
            Some(code) => issues.check("currency", Currency::parse(code)),
            None => None,
        };
        super::check_span(&mut issues, self.starts_on, self.ends_on);
        let mut anchor = self.anchor.unwrap_or_default();
        if self.anchor_day.is_some() {
            anchor.day_of_month = self.anchor_day;
        }
        if let Err(error) = anchor.validate() {
            let field = if self.anchor_day.is_some() {
                "anchor_day"
            } else {
                "anchor"
            };
            issues.add(field, error.to_string());
        }
        if self.lines.is_empty() {
            issues.add("lines", "a contract has at least one line");
        }
        if self.lines.len() > MAX_LINES {
            issues.add("lines", format!("at most {MAX_LINES} lines"));
        }
        let lines: Vec<LineInput> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| check_line(line, &format!("lines[{i}]"), &mut issues))
            .collect();
        let discounts = check_discounts(
            &self.discounts,
            self.lines.len(),
            self.starts_on,
            &mut issues,
        );
        issues.finish(|| ContractDraft {
            client_id: self.client_id.unwrap_or_default(),
            name,
            currency,
            starts_on: self.starts_on.unwrap_or_default(),
            ends_on: self.ends_on,
            billing_frequency: self.billing_frequency.unwrap_or(BillingFrequency::Monthly),
            anchor,
            lines,
            discounts,
        })
    }
}

/// Checks one line's terms for its kind; answers it with defaults filled in.
fn check_line(line: &LineInput, at: &str, issues: &mut Issues) -> LineInput {
    let mut line = line.clone();
    let Some(kind) = line.kind else {
        issues.add(
            format!("{at}.kind"),
            "is required: fixed, hourly, usage or bucket",
        );
        return line;
    };
    if line.service_id.is_none() {
        issues.add(format!("{at}.service_id"), "is required");
    }
    let non_negative = |value: Option<i64>, field: &str, issues: &mut Issues| {
        if value.is_some_and(|v| !(0..=super::catalogue::MAX_RATE_CENTS).contains(&v)) {
            issues.add(format!("{at}.{field}"), "must be 0 or more (and sane)");
        }
    };
    non_negative(line.rate_cents, "rate_cents", issues);
    let refuse = |present: bool, field: &str, issues: &mut Issues| {
        if present {
            issues.add(
                format!("{at}.{field}"),
                format!("does not apply to a {} line", kind.as_str()),
            );
        }
    };
    if kind != LineKind::Hourly {
        refuse(
            line.minimum_billable_minutes.is_some(),
            "minimum_billable_minutes",
            issues,
        );
        refuse(
            line.round_up_to_minutes.is_some(),
            "round_up_to_minutes",
            issues,
        );
        refuse(
            line.overtime_threshold_minutes.is_some(),
            "overtime_threshold_minutes",
            issues,
        );
        refuse(
            line.overtime_rate_cents.is_some(),
            "overtime_rate_cents",
            issues,
        );
    }
    if kind != LineKind::Usage {
        refuse(line.minimum_quantity.is_some(), "minimum_quantity", issues);
        refuse(!line.tiers.is_empty(), "tiers", issues);
    }
    if kind != LineKind::Bucket {
        refuse(line.bucket.is_some(), "bucket", issues);
    }
    if kind != LineKind::Fixed {
        refuse(line.enable_proration, "enable_proration", issues);
        refuse(!line.also_covers.is_empty(), "also_covers", issues);
        refuse(line.quantity.is_some(), "quantity", issues);
    }
    let too_big = |q: Decimal| q > Decimal::from(MAX_QUANTITY);
    match kind {
        LineKind::Fixed => {
            if line
                .quantity
                .is_some_and(|q| q <= Decimal::ZERO || too_big(q))
            {
                issues.add(
                    format!("{at}.quantity"),
                    format!("must be more than 0 and at most {MAX_QUANTITY}"),
                );
            }
            if line.also_covers.len() > 20 {
                issues.add(format!("{at}.also_covers"), "at most 20 services");
            }
            let mut seen: Vec<Uuid> = line.service_id.into_iter().collect();
            for (j, other) in line.also_covers.iter().enumerate() {
                if seen.contains(other) {
                    issues.add(
                        format!("{at}.also_covers[{j}]"),
                        "names a service the line already covers",
                    );
                }
                seen.push(*other);
            }
        }
        LineKind::Hourly => {
            for (value, field) in [
                (line.minimum_billable_minutes, "minimum_billable_minutes"),
                (line.round_up_to_minutes, "round_up_to_minutes"),
                (
                    line.overtime_threshold_minutes,
                    "overtime_threshold_minutes",
                ),
            ] {
                if value.is_some_and(|v| !(0..=100_000).contains(&v)) {
                    issues.add(format!("{at}.{field}"), "must be 0 to 100000 minutes");
                }
            }
            non_negative(line.overtime_rate_cents, "overtime_rate_cents", issues);
            if line.overtime_threshold_minutes.is_some() != line.overtime_rate_cents.is_some() {
                issues.add(
                    format!("{at}.overtime_rate_cents"),
                    "overtime_threshold_minutes and overtime_rate_cents go together",
                );
            }
        }
        LineKind::Usage => {
            if line
                .minimum_quantity
                .is_some_and(|q| q < Decimal::ZERO || too_big(q))
            {
                issues.add(
                    format!("{at}.minimum_quantity"),
                    format!("must be 0 to {MAX_QUANTITY}"),
                );
            }
            if let Err(error) = validate_tiers(&line.tiers) {
                issues.add(format!("{at}.tiers"), error.to_string());
            }
            let tier_too_big = line.tiers.iter().any(|t| {
                too_big(t.from_quantity)
                    || t.to_quantity.is_some_and(too_big)
                    || t.rate_cents > super::catalogue::MAX_RATE_CENTS
            });
            if tier_too_big {
                issues.add(
                    format!("{at}.tiers"),
                    format!(
                        "quantities at most {MAX_QUANTITY}, rates at most {}",
                        super::catalogue::MAX_RATE_CENTS
                    ),
                );
            }
            if !line.tiers.is_empty() && line.rate_cents.is_some() {
                issues.add(
                    format!("{at}.rate_cents"),
                    "a tiered line bills at its tiers' rates; leave rate_cents out",
                );
            }
        }
        LineKind::Bucket => match &line.bucket {
            None => issues.add(
                format!("{at}.bucket"),
                "is required: included_minutes or included_units, overage_rate_cents",
            ),
            Some(bucket) => {
                if line.rate_cents.is_none() {
                    issues.add(
                        format!("{at}.rate_cents"),
                        "is required: the bucket's fee per period",
                    );
                }
                match (bucket.included_minutes, bucket.included_units) {
                    (Some(m), None) if m > 0 && m <= 1_000_000 => {}
                    (None, Some(u)) if u > Decimal::ZERO && !too_big(u) => {}
                    _ => issues.add(
                        format!("{at}.bucket"),
                        "give exactly one of included_minutes or included_units, more than 0",
                    ),
                }
                non_negative(
                    Some(bucket.overage_rate_cents),
                    "bucket.overage_rate_cents",
                    issues,
                );
            }
        },
    }
    line.billing_timing = Some(line.billing_timing.unwrap_or(match kind {
        LineKind::Fixed | LineKind::Bucket => BillingTiming::Advance,
        LineKind::Hourly | LineKind::Usage => BillingTiming::Arrears,
    }));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(input: &ContractInput) -> Vec<String> {
        input
            .validate()
            .expect_err("invalid")
            .into_iter()
            .map(|i| i.field)
            .collect()
    }

    fn base() -> ContractInput {
        ContractInput {
            client_id: Some(Uuid::now_v7()),
            starts_on: "2025-01-01".parse().ok(),
            lines: vec![LineInput {
                kind: Some(LineKind::Hourly),
                service_id: Some(Uuid::now_v7()),
                ..LineInput::default()
            }],
            ..ContractInput::default()
        }
    }

    #[test]
    fn a_valid_contract_gets_its_defaults() {
        let draft = base().validate().expect("valid");
        assert_eq!(draft.billing_frequency, BillingFrequency::Monthly);
        assert_eq!(draft.name, "Contract");
        assert_eq!(draft.lines[0].billing_timing, Some(BillingTiming::Arrears));
    }

    #[test]
    fn every_bad_field_is_reported_with_its_line() {
        let mut input = base();
        input.client_id = None;
        input.anchor_day = Some(31);
        input.ends_on = "2024-12-31".parse().ok();
        input.lines.push(LineInput {
            kind: Some(LineKind::Fixed),
            service_id: Some(Uuid::now_v7()),
            tiers: vec![],
            minimum_billable_minutes: Some(30),
            quantity: Some(Decimal::ZERO),
            ..LineInput::default()
        });
        input.lines.push(LineInput {
            kind: Some(LineKind::Bucket),
            service_id: Some(Uuid::now_v7()),
            bucket: Some(BucketInput {
                included_minutes: Some(600),
                included_units: Some(Decimal::ONE),
                overage_rate_cents: 100,
                allow_rollover: true,
            }),
            ..LineInput::default()
        });
        input.lines[0].overtime_threshold_minutes = Some(2400);
        assert_eq!(
            fields(&input),
            vec![
                "client_id",
                "ends_on",
                "anchor_day",
                "lines[0].overtime_rate_cents",
                "lines[1].minimum_billable_minutes",
                "lines[1].quantity",
                "lines[2].rate_cents",
                "lines[2].bucket",
            ]
        );
        let empty = ContractInput {
            lines: vec![],
            ..base()
        };
        assert_eq!(fields(&empty), vec!["lines"]);
    }
}
