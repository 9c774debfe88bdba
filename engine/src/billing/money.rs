//! Money arithmetic on integer minor units (cents). Fractions (hours, quantities,
//! percentages) are exact decimals; a result becomes cents once, by an explicit
//! rounding rule, never through floating point.

use super::BillingError;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// An ISO 4217 code, upper case ("USD", "CHF").
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// The code, validated against ISO 4217.
    pub fn parse(code: &str) -> Result<Currency, BillingError> {
        let upper = code.trim().to_ascii_uppercase();
        match iso_currency::Currency::from_code(&upper) {
            Some(_) => Ok(Currency(upper)),
            None => Err(BillingError::Invalid {
                field: "currency",
                message: format!("{code:?} is not an ISO 4217 currency code"),
            }),
        }
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Currency {
    type Error = BillingError;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.0
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An exact amount of cents (possibly fractional) rounded half away from zero:
/// how charges become cents.
pub fn round_cents(exact: Decimal) -> Result<i64, BillingError> {
    exact
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .ok_or(BillingError::Overflow)
}

/// An exact amount of cents rounded up (towards positive infinity): how tax
/// becomes cents.
pub fn ceil_cents(exact: Decimal) -> Result<i64, BillingError> {
    exact.ceil().to_i64().ok_or(BillingError::Overflow)
}

/// `cents × numerator / denominator`, rounded half away from zero; exact in
/// 128-bit integers (proration: covered days over period days).
pub fn scale_cents(cents: i64, numerator: i64, denominator: i64) -> Result<i64, BillingError> {
    if denominator <= 0 {
        return Err(BillingError::Overflow);
    }
    let product = i128::from(cents) * i128::from(numerator);
    let denominator = i128::from(denominator);
    let quotient = product / denominator;
    let remainder = product % denominator;
    let rounded = if remainder.abs() * 2 >= denominator {
        quotient + product.signum()
    } else {
        quotient
    };
    i64::try_from(rounded).map_err(|_| BillingError::Overflow)
}

/// Splits `total` over `weights` in proportion: each share is the floor of its
/// exact share and the remainder goes to the last positive weight, so the parts
/// always sum to `total`. All weights zero splits evenly the same way.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let positive: Vec<i128> = weights.iter().map(|w| i128::from((*w).max(0))).collect();
    let sum: i128 = positive.iter().sum();
    let (weights, sum) = if sum == 0 {
        (vec![1i128; positive.len()], positive.len() as i128)
    } else {
        (positive, sum)
    };
    let total_wide = i128::from(total);
    let mut parts: Vec<i64> = weights
        .iter()
        .map(|w| {
            // Floor towards negative infinity, so a negative total splits the same way.
            let exact = total_wide * w;
            i64::try_from(exact.div_euclid(sum)).unwrap_or(0)
        })
        .collect();
    let given: i64 = parts.iter().sum();
    if let Some(last) = weights.iter().rposition(|w| *w > 0) {
        parts[last] += total - given;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_rules() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(round_cents(d("2.5")).ok(), Some(3));
        assert_eq!(round_cents(d("2.4999")).ok(), Some(2));
        assert_eq!(round_cents(d("-2.5")).ok(), Some(-3));
        assert_eq!(ceil_cents(d("2.0001")).ok(), Some(3));
        assert_eq!(ceil_cents(d("2")).ok(), Some(2));
        assert_eq!(scale_cents(10_000, 15, 30).ok(), Some(5_000));
        assert_eq!(scale_cents(10_000, 1, 3).ok(), Some(3_333));
        assert_eq!(scale_cents(10_000, 2, 3).ok(), Some(6_667));
        assert_eq!(scale_cents(-10_000, 2, 3).ok(), Some(-6_667));
    }

    #[test]
    fn currencies_are_iso_codes() {
        assert_eq!(
            Currency::parse("chf").map(|c| c.code().to_owned()).ok(),
            Some("CHF".into())
        );
        assert!(Currency::parse("XYZ1").is_err());
    }

    #[test]
    fn allocation_gives_the_remainder_to_the_last_line() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![33, 33, 34]);
        assert_eq!(allocate(1_000, &[3_000, 1_000]), vec![750, 250]);
        assert_eq!(allocate(10, &[0, 0]), vec![5, 5]);
        assert_eq!(allocate(7, &[5, 0]), vec![7, 0]);
    }

    proptest! {
        #[test]
        fn allocated_parts_sum_to_the_total(
            total in -10_000_000i64..10_000_000,
            weights in proptest::collection::vec(0i64..1_000_000, 1..12),
        ) {
            let parts = allocate(total, &weights);
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
        }

        #[test]
        fn scaling_by_one_is_identity(cents in -1_000_000_000i64..1_000_000_000, days in 1i64..400) {
            prop_assert_eq!(scale_cents(cents, days, days).ok(), Some(cents));
        }
    }
}
