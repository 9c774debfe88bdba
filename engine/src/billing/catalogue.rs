//! What an MSP sells (services with prices per currency and a tax category) and
//! where it charges tax (regions with effective-dated rates): the inputs and
//! their checks.

use super::money::Currency;
use super::tax::TaxComponent;
use crate::validation::{optional_text, required_text, FieldIssue, Issues};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a service is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A recurring fee.
    Fixed,
    /// Time, by the hour.
    Hourly,
    /// Measured consumption, per unit.
    Usage,
    /// Goods, per unit.
    Product,
}

impl ServiceKind {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Fixed => "fixed",
            ServiceKind::Hourly => "hourly",
            ServiceKind::Usage => "usage",
            ServiceKind::Product => "product",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<ServiceKind> {
        [
            ServiceKind::Fixed,
            ServiceKind::Hourly,
            ServiceKind::Usage,
            ServiceKind::Product,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A price in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// ISO 4217 code.
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Price of one unit (an hour for hourly services), in cents.
    pub rate_cents: i64,
}

/// A new service, or every field of a changed one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    /// Name, 1 to 200 characters, unique in the catalogue.
    pub name: Option<String>,
    /// `fixed`, `hourly`, `usage` or `product`.
    pub kind: Option<ServiceKind>,
    /// Unit of measure ("hour", "GB", "device"; default "hour" for hourly, else "unit").
    #[serde(default)]
    pub unit: Option<String>,
    /// Price in `currency`, in cents.
    #[serde(default)]
    pub rate_cents: Option<i64>,
    /// Currency of `rate_cents` (default USD).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub currency: Option<String>,
    /// Prices in other currencies.
    #[serde(default)]
    pub prices: Vec<Price>,
    /// Tax category; none = not taxable.
    #[serde(default)]
    pub tax_category: Option<String>,
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
}

/// A checked service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceDraft {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ServiceKind,
    /// Unit.
    pub unit: String,
    /// Prices, one per currency, the first the main one.
    pub prices: Vec<Price>,
    /// Tax category.
    pub tax_category: Option<String>,
    /// Description.
    pub description: String,
}

/// The largest price accepted (a billion units of the currency).
pub const MAX_RATE_CENTS: i64 = 100_000_000_000;

impl ServiceInput {
    /// Checks every field; every bad one is reported.
    pub fn validate(&self) -> Result<ServiceDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let name = issues.check("name", required_text(self.name.as_deref(), 200));
        if self.kind.is_none() {
            issues.add("kind", "is required: fixed, hourly, usage or product");
        }
        let kind = self.kind.unwrap_or(ServiceKind::Fixed);
        let unit = issues
            .check("unit", optional_text(self.unit.as_deref(), 40))
            .flatten()
            .unwrap_or_else(|| {
                if kind == ServiceKind::Hourly {
                    "hour"
                } else {
                    "unit"
                }
                .to_owned()
            });
        let mut prices = Vec::new();
        if let Some(rate) = self.rate_cents {
            match Currency::parse(self.currency.as_deref().unwrap_or("USD")) {
                Ok(currency) => prices.push(Price {
                    currency,
                    rate_cents: rate,
                }),
                Err(error) => issues.add("currency", error.to_string()),
            }
        } else if self.currency.is_some() {
            issues.add("rate_cents", "is required with currency");
        }
        prices.extend(self.prices.iter().cloned());
        for (i, price) in prices.iter().enumerate() {
            if !(0..=MAX_RATE_CENTS).contains(&price.rate_cents) {
                issues.add(
                    price_field(i, self.rate_cents.is_some()),
                    format!("must be 0 to {MAX_RATE_CENTS}"),
                );
            }
            if prices[..i].iter().any(|p| p.currency == price.currency) {
                issues.add(
                    price_field(i, self.rate_cents.is_some()),
                    format!("{} is priced twice", price.currency),
                );
            }
        }
        let tax_category = issues
            .check(
                "tax_category",
                optional_text(self.tax_category.as_deref(), 60),
            )
            .flatten();
        let description = issues
            .check(
                "description",
                optional_text(self.description.as_deref(), 2000),
            )
            .flatten()
            .unwrap_or_default();
        issues.finish(|| ServiceDraft {
            name: name.unwrap_or_default(),
            kind,
            unit,
            prices,
            tax_category,
            description,
        })
    }
}

/// A change to a service: only the keys present change. The kind never changes
/// (contract lines depend on it); `prices` replaces every price.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// New tax category; `null` makes it not taxable.
    #[serde(default, deserialize_with = "crate::validation::patch_field")]
    #[schema(value_type = Option<String>)]
    pub tax_category: Option<Option<String>>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Every price, replacing the current ones (the first is the main one).
    #[serde(default)]
    pub prices: Option<Vec<Price>>,
    /// Archive (true) or restore (false); archived services are not offered.
    #[serde(default)]
    pub is_archived: Option<bool>,
}

impl ServicePatch {
    /// The service after the change, checked like a new one.
    pub fn apply(&self, current: &ServiceDraft) -> Result<ServiceDraft, Vec<FieldIssue>> {
        let input = ServiceInput {
            name: Some(self.name.clone().unwrap_or_else(|| current.name.clone())),
            kind: Some(current.kind),
            unit: Some(self.unit.clone().unwrap_or_else(|| current.unit.clone())),
            rate_cents: None,
            currency: None,
            prices: self
                .prices
                .clone()
                .unwrap_or_else(|| current.prices.clone()),
            tax_category: match &self.tax_category {
                Some(category) => category.clone(),
                None => current.tax_category.clone(),
            },
            description: Some(
                self.description
                    .clone()
                    .unwrap_or_else(|| current.description.clone()),
            ),
        };
        input.validate()
    }
}

fn price_field(index: usize, has_main: bool) -> String {
    match (index, has_main) {
        (0, true) => "rate_cents".to_owned(),
        (i, true) => format!("prices[{}].rate_cents", i - 1),
        (i, false) => format!("prices[{i}].rate_cents"),
    }
}

/// A new tax region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRegionInput {
    /// Code clients refer to (`tax_region`), 1 to 32 characters, e.g. "US-NY".
    pub code: Option<String>,
    /// Name.
    pub name: Option<String>,
}

impl TaxRegionInput {
    /// The checked code and name.
    pub fn validate(&self) -> Result<(String, String), Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let code = issues.check("code", required_text(self.code.as_deref(), 32));
        if code
            .as_ref()
            .is_some_and(|c| c.chars().any(char::is_whitespace))
        {
            issues.add("code", "must not contain spaces");
        }
        let name = issues.check("name", required_text(self.name.as_deref(), 200));
        issues.finish(|| (code.unwrap_or_default(), name.unwrap_or_default()))
    }
}

/// A new tax rate of a region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateInput {
    /// The region's code.
    pub region_code: Option<String>,
    /// The total percentage as a decimal string ("8.875"), when the rate has one
    /// component; with components, their sum (may be left out).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "8.875")]
    pub percent: Option<Decimal>,
    /// First day in force.
    pub starts_on: Option<NaiveDate>,
    /// The day it stops (exclusive); none = open.
    #[serde(default)]
    pub ends_on: Option<NaiveDate>,
    /// Components (state, county…), applied in `sequence` order.
    #[serde(default)]
    pub components: Vec<TaxComponent>,
}

/// A checked rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxRateDraft {
    /// The region's code.
    pub region_code: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day, exclusive.
    pub ends_on: Option<NaiveDate>,
    /// Components (one when only a percent was given).
    pub components: Vec<TaxComponent>,
}

impl TaxRateInput {
    /// Checks the rate; every bad field is reported.
    pub fn validate(&self) -> Result<TaxRateDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let region_code = issues.check(
            "region_code",
            required_text(self.region_code.as_deref(), 32),
        );
        super::check_span(&mut issues, self.starts_on, self.ends_on);
        let percent_ok = |p: Decimal| p >= Decimal::ZERO && p <= Decimal::ONE_HUNDRED;
        let components = if self.components.is_empty() {
            match self.percent {
                Some(p) if percent_ok(p) => vec![TaxComponent {
                    name: "Tax".into(),
                    percent: p,
                    is_compound: false,
                    sequence: 1,
                }],
                Some(_) => {
                    issues.add("percent", "must be 0 to 100");
                    Vec::new()
                }
                None => {
                    issues.add("percent", "is required unless components are given");
                    Vec::new()
                }
            }
        } else {
            for (i, c) in self.components.iter().enumerate() {
                if !percent_ok(c.percent) {
                    issues.add(format!("components[{i}].percent"), "must be 0 to 100");
                }
                if c.name.trim().is_empty() || c.name.chars().count() > 100 {
                    issues.add(
                        format!("components[{i}].name"),
                        "must be 1 to 100 characters",
                    );
                }
                if self.components[..i]
                    .iter()
                    .any(|o| o.sequence == c.sequence)
                {
                    issues.add(
                        format!("components[{i}].sequence"),
                        "is used by another component",
                    );
                }
            }
            // Summed only once each is in range, so the sum cannot overflow.
            if self.components.iter().all(|c| percent_ok(c.percent)) {
                let sum: Decimal = self.components.iter().map(|c| c.percent).sum();
                if self.percent.is_some_and(|p| p != sum) {
                    issues.add(
                        "percent",
                        format!("must equal the components' sum ({sum}) or be left out"),
                    );
                }
            }
            self.components.clone()
        };
        issues.finish(|| TaxRateDraft {
            region_code: region_code.unwrap_or_default(),
            starts_on: self.starts_on.unwrap_or_default(),
            ends_on: self.ends_on,
            components,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<impl std::fmt::Debug, Vec<FieldIssue>>) -> Vec<String> {
        result
            .expect_err("invalid")
            .into_iter()
            .map(|i| i.field)
            .collect()
    }

    #[test]
    fn a_service_needs_a_name_a_kind_and_sane_prices() {
        let input = ServiceInput {
            rate_cents: Some(-1),
            prices: vec![Price {
                currency: Currency::parse("USD").expect("usd"),
                rate_cents: 5,
            }],
            ..ServiceInput::default()
        };
        assert_eq!(
            fields(input.validate()),
            vec!["name", "kind", "rate_cents", "prices[0].rate_cents"]
        );
        let ok = ServiceInput {
            name: Some("Remote support".into()),
            kind: Some(ServiceKind::Hourly),
            rate_cents: Some(12_500),
            currency: Some("eur".into()),
            ..ServiceInput::default()
        }
        .validate()
        .expect("valid");
        assert_eq!(ok.unit, "hour");
        assert_eq!(ok.prices[0].currency.code(), "EUR");
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let current = ServiceInput {
            name: Some("Backup".into()),
            kind: Some(ServiceKind::Usage),
            rate_cents: Some(30),
            tax_category: Some("services".into()),
            ..ServiceInput::default()
        }
        .validate()
        .expect("valid");
        let untaxed: ServicePatch =
            serde_json::from_str(r#"{"tax_category": null}"#).expect("patch");
        let changed = untaxed.apply(&current).expect("valid");
        assert_eq!(changed.tax_category, None);
        assert_eq!(changed.prices, current.prices);
        let renamed: ServicePatch =
            serde_json::from_str(r#"{"name": "Cloud backup"}"#).expect("patch");
        assert_eq!(
            renamed
                .apply(&current)
                .expect("valid")
                .tax_category
                .as_deref(),
            Some("services")
        );
        let bad: ServicePatch = serde_json::from_str(
            r#"{"name": " ", "prices": [{"currency": "USD", "rate_cents": -1}]}"#,
        )
        .expect("patch");
        let fields: Vec<String> = bad
            .apply(&current)
            .expect_err("invalid")
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(fields, vec!["name", "prices[0].rate_cents"]);
    }

    #[test]
    fn a_rate_is_one_percent_or_its_components() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        let day = |s: &str| s.parse::<NaiveDate>().expect("date");
        let simple = TaxRateInput {
            region_code: Some("US-NY".into()),
            percent: Some(d("8.875")),
            starts_on: Some(day("2025-01-01")),
            ..TaxRateInput::default()
        };
        assert_eq!(
            simple.validate().expect("valid").components[0].percent,
            d("8.875")
        );
        let component = |p: &str, seq: i32| TaxComponent {
            name: "part".into(),
            percent: d(p),
            is_compound: false,
            sequence: seq,
        };
        let mismatch = TaxRateInput {
            percent: Some(d("10")),
            components: vec![component("5", 1), component("4", 1)],
            ends_on: Some(day("2024-01-01")),
            ..simple.clone()
        };
        assert_eq!(
            fields(mismatch.validate()),
            vec!["ends_on", "components[1].sequence", "percent"]
        );
        let missing = TaxRateInput {
            percent: None,
            ..simple
        };
        assert_eq!(fields(missing.validate()), vec!["percent"]);
    }
}
