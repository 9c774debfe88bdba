//! A usage record as an integrator or a CSV sends it: which client used how much
//! of which service on which day.

use crate::validation::{optional_text, FieldIssue, Issues};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

/// The largest quantity one record may carry.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

/// A new usage record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageInput {
    /// The client.
    pub client_id: Option<Uuid>,
    /// The usage (or product) service.
    pub service_id: Option<Uuid>,
    /// How much, as a decimal string ("12.5"), more than 0, at most 6 decimals.
    #[schema(value_type = Option<String>, example = "12.5")]
    pub quantity: Option<Decimal>,
    /// The day it was used.
    pub recorded_on: Option<NaiveDate>,
    /// A note (source, meter id).
    #[serde(default)]
    pub note: Option<String>,
}

/// A checked usage record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageDraft {
    /// Client.
    pub client_id: Uuid,
    /// Service.
    pub service_id: Uuid,
    /// Quantity.
    pub quantity: Decimal,
    /// Day.
    pub recorded_on: NaiveDate,
    /// Note.
    pub note: String,
}

impl UsageInput {
    /// Checks every field; every bad one is reported.
    pub fn validate(&self) -> Result<UsageDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        if self.service_id.is_none() {
            issues.add("service_id", "is required");
        }
        match self.quantity {
            None => issues.add(
                "quantity",
                "is required, as a decimal string such as \"12.5\"",
            ),
            Some(q) if q <= Decimal::ZERO || q > Decimal::from(MAX_QUANTITY) => issues.add(
                "quantity",
                format!("must be more than 0 and at most {MAX_QUANTITY}"),
            ),
            Some(q) if q.normalize().scale() > 6 => {
                issues.add("quantity", "must have at most 6 decimals")
            }
            Some(_) => {}
        }
        match self.recorded_on {
            None => issues.add("recorded_on", "is required (YYYY-MM-DD)"),
            Some(d) if !super::date_in_range(d) => issues.add("recorded_on", super::DATE_RANGE),
            Some(_) => {}
        }
        let note = issues
            .check("note", optional_text(self.note.as_deref(), 2000))
            .flatten()
            .unwrap_or_default();
        issues.finish(|| UsageDraft {
            client_id: self.client_id.unwrap_or_default(),
            service_id: self.service_id.unwrap_or_default(),
            quantity: self.quantity.unwrap_or_default().normalize(),
            recorded_on: self.recorded_on.unwrap_or_default(),
            note,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_positive_exact_decimals() {
        let base = UsageInput {
            client_id: Some(Uuid::now_v7()),
            service_id: Some(Uuid::now_v7()),
            quantity: "12.50".parse().ok(),
            recorded_on: "2026-11-30".parse().ok(),
            note: None,
        };
        assert_eq!(base.validate().expect("valid").quantity.to_string(), "12.5");
        for bad in ["0", "-1", "0.0000001", "1000000000001"] {
            let input = UsageInput {
                quantity: bad.parse().ok(),
                ..base.clone()
            };
            let fields: Vec<String> = input
                .validate()
                .expect_err(bad)
                .into_iter()
                .map(|i| i.field)
                .collect();
            assert_eq!(fields, vec!["quantity"], "{bad}");
        }
        let empty = UsageInput::default().validate().expect_err("empty");
        let fields: Vec<&str> = empty.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["client_id", "service_id", "quantity", "recorded_on"]
        );
    }
}
