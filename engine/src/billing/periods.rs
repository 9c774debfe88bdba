//! Billing periods: how often a contract bills and where its periods start. Every
//! period is half-open `[start, end)`; consecutive periods tile the calendar.

use super::BillingError;
use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// How often a contract bills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingFrequency {
    /// Every week, from the anchor weekday.
    Weekly,
    /// Every two weeks, from the anchor reference date.
    BiWeekly,
    /// Every month, from the anchor day of the month.
    Monthly,
    /// Every three months, from the anchor start month.
    Quarterly,
    /// Every six months.
    SemiAnnually,
    /// Every year.
    Annually,
}

impl BillingFrequency {
    /// Months per period, for the month-based frequencies.
    fn months(self) -> Option<u32> {
        match self {
            BillingFrequency::Monthly => Some(1),
            BillingFrequency::Quarterly => Some(3),
            BillingFrequency::SemiAnnually => Some(6),
            BillingFrequency::Annually => Some(12),
            BillingFrequency::Weekly | BillingFrequency::BiWeekly => None,
        }
    }

    /// The name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingFrequency::Weekly => "weekly",
            BillingFrequency::BiWeekly => "bi_weekly",
            BillingFrequency::Monthly => "monthly",
            BillingFrequency::Quarterly => "quarterly",
            BillingFrequency::SemiAnnually => "semi_annually",
            BillingFrequency::Annually => "annually",
        }
    }
}

/// Where periods start. Unset parts take defaults: the 1st of the month, Monday,
/// January, and for bi-weekly periods the Monday 2026-01-05.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BillingAnchor {
    /// Day of the month a monthly (or longer) period starts on, 1 to 28.
    pub day_of_month: Option<u32>,
    /// Weekday a weekly period starts on.
    #[schema(value_type = Option<String>, example = "Mon")]
    pub weekday: Option<Weekday>,
    /// A day a bi-weekly period starts on; periods repeat every 14 days from it.
    pub reference_date: Option<NaiveDate>,
    /// Month (1 to 12) a quarterly, semi-annual or annual cycle starts in.
    pub start_month: Option<u32>,
}

const DEFAULT_REFERENCE: (i32, u32, u32) = (2026, 1, 5);

impl BillingAnchor {
    /// Checks the parts' ranges.
    pub fn validate(&self) -> Result<(), BillingError> {
        if let Some(day) = self.day_of_month.filter(|d| !(1..=28).contains(d)) {
            return Err(BillingError::invalid(
                "anchor.day_of_month",
                format!("must be 1 to 28 (every month has it), not {day}"),
            ));
        }
        if let Some(month) = self.start_month.filter(|m| !(1..=12).contains(m)) {
            return Err(BillingError::invalid(
                "anchor.start_month",
                format!("must be 1 to 12, not {month}"),
            ));
        }
        Ok(())
    }
}

/// A half-open span of days `[start, end)`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub struct ServicePeriod {
    /// First day.
    pub start: NaiveDate,
    /// The day after the last day.
    pub end: NaiveDate,
}

impl ServicePeriod {
    /// Days in the span.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// Whether `date` falls in the span.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date < self.end
    }

    /// The part of the span inside `[from, until)` (`until` none = open), if any.
    pub fn clip(&self, from: NaiveDate, until: Option<NaiveDate>) -> Option<ServicePeriod> {
        let start = self.start.max(from);
        let end = until.map_or(self.end, |u| self.end.min(u));
        (start < end).then_some(ServicePeriod { start, end })
    }
}

/// The period of `frequency` anchored at `anchor` that contains `date`.
pub fn period_containing(
    frequency: BillingFrequency,
    anchor: &BillingAnchor,
    date: NaiveDate,
) -> ServicePeriod {
    match frequency.months() {
        Some(months) => month_period(months, anchor, date),
        None => {
            let length = if frequency == BillingFrequency::Weekly {
                7
            } else {
                14
            };
            let reference = match frequency {
                BillingFrequency::Weekly => {
                    let weekday = anchor.weekday.unwrap_or(Weekday::Mon);
                    // Any day with the anchor weekday works as the reference.
                    NaiveDate::from_isoywd_opt(2026, 2, weekday).unwrap_or(date)
                }
                _ => anchor.reference_date.unwrap_or_else(|| {
                    let (y, m, d) = DEFAULT_REFERENCE;
                    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(date)
                }),
            };
            let offset = (date - reference).num_days().rem_euclid(length);
            let start = date - Duration::days(offset);
            ServicePeriod {
                start,
                end: start + Duration::days(length),
            }
        }
    }
}

fn month_period(months: u32, anchor: &BillingAnchor, date: NaiveDate) -> ServicePeriod {
    let day = anchor.day_of_month.unwrap_or(1).clamp(1, 28);
    let start_month = anchor.start_month.unwrap_or(1).clamp(1, 12);
    // Months since year 0, and which cycle month the date's month is in.
    let index = date.year() * 12 + date.month0() as i32;
    let mut month_index = index;
    if date.day() < day {
        month_index -= 1;
    }
    let phase = (month_index - (start_month as i32 - 1)).rem_euclid(months as i32);
    let first = month_index - phase;
    let start = ymd(first, day);
    ServicePeriod {
        start,
        end: start
            .checked_add_months(Months::new(months))
            .unwrap_or(start),
    }
}

fn ymd(month_index: i32, day: u32) -> NaiveDate {
    let year = month_index.div_euclid(12);
    let month = month_index.rem_euclid(12) as u32 + 1;
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

/// The period after `period` (same frequency and anchor).
pub fn next_period(
    frequency: BillingFrequency,
    anchor: &BillingAnchor,
    period: ServicePeriod,
) -> ServicePeriod {
    period_containing(frequency, anchor, period.end)
}

/// When billing is done: for the period ending at `period_end`, a line billed in
/// arrears covers that period, one billed in advance covers the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingTiming {
    /// The coming period, billed at its start.
    Advance,
    /// The period just ended.
    Arrears,
}

/// The service period a line of `timing` bills in the billing window `window`.
pub fn service_period(
    timing: BillingTiming,
    frequency: BillingFrequency,
    anchor: &BillingAnchor,
    window: ServicePeriod,
) -> ServicePeriod {
    match timing {
        BillingTiming::Arrears => window,
        BillingTiming::Advance => next_period(frequency, anchor, window),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn span(a: &str, b: &str) -> ServicePeriod {
        ServicePeriod {
            start: day(a),
            end: day(b),
        }
    }

    #[test]
    fn periods_follow_their_anchor() {
        let none = BillingAnchor::default();
        let on_15th = BillingAnchor {
            day_of_month: Some(15),
            ..BillingAnchor::default()
        };
        let april = BillingAnchor {
            start_month: Some(4),
            ..BillingAnchor::default()
        };
        let friday = BillingAnchor {
            weekday: Some(Weekday::Fri),
            ..BillingAnchor::default()
        };
        let cases = [
            (
                BillingFrequency::Monthly,
                none,
                "2025-01-31",
                span("2025-01-01", "2025-02-01"),
            ),
            (
                BillingFrequency::Monthly,
                on_15th,
                "2025-03-14",
                span("2025-02-15", "2025-03-15"),
            ),
            (
                BillingFrequency::Monthly,
                on_15th,
                "2025-03-15",
                span("2025-03-15", "2025-04-15"),
            ),
            (
                BillingFrequency::Monthly,
                on_15th,
                "2024-12-20",
                span("2024-12-15", "2025-01-15"),
            ),
            (
                BillingFrequency::Quarterly,
                none,
                "2025-05-31",
                span("2025-04-01", "2025-07-01"),
            ),
            (
                BillingFrequency::Quarterly,
                april,
                "2025-03-31",
                span("2025-01-01", "2025-04-01"),
            ),
            (
                BillingFrequency::SemiAnnually,
                april,
                "2025-02-10",
                span("2024-10-01", "2025-04-01"),
            ),
            (
                BillingFrequency::Annually,
                april,
                "2025-04-01",
                span("2025-04-01", "2026-04-01"),
            ),
            (
                BillingFrequency::Annually,
                none,
                "2024-02-29",
                span("2024-01-01", "2025-01-01"),
            ),
            (
                BillingFrequency::Weekly,
                none,
                "2026-12-03",
                span("2026-11-30", "2026-12-07"),
            ),
            (
                BillingFrequency::Weekly,
                friday,
                "2026-12-03",
                span("2026-11-27", "2026-12-04"),
            ),
            (
                BillingFrequency::BiWeekly,
                none,
                "2026-01-18",
                span("2026-01-05", "2026-01-19"),
            ),
            (
                BillingFrequency::BiWeekly,
                none,
                "2026-01-04",
                span("2025-12-22", "2026-01-05"),
            ),
        ];
        for (frequency, anchor, date, expected) in cases {
            assert_eq!(
                period_containing(frequency, &anchor, day(date)),
                expected,
                "{frequency:?} {anchor:?} {date}"
            );
        }
    }

    #[test]
    fn anchors_out_of_range_are_refused() {
        let bad = BillingAnchor {
            day_of_month: Some(31),
            ..BillingAnchor::default()
        };
        assert!(bad.validate().is_err());
        assert!(BillingAnchor::default().validate().is_ok());
    }

    #[test]
    fn advance_lines_bill_the_next_period() {
        let window = span("2025-01-01", "2025-02-01");
        let anchor = BillingAnchor::default();
        assert_eq!(
            service_period(
                BillingTiming::Advance,
                BillingFrequency::Monthly,
                &anchor,
                window
            ),
            span("2025-02-01", "2025-03-01")
        );
        assert_eq!(
            service_period(
                BillingTiming::Arrears,
                BillingFrequency::Monthly,
                &anchor,
                window
            ),
            window
        );
    }

    fn frequency() -> impl Strategy<Value = BillingFrequency> {
        prop_oneof![
            Just(BillingFrequency::Weekly),
            Just(BillingFrequency::BiWeekly),
            Just(BillingFrequency::Monthly),
            Just(BillingFrequency::Quarterly),
            Just(BillingFrequency::SemiAnnually),
            Just(BillingFrequency::Annually),
        ]
    }

    proptest! {
        #[test]
        fn periods_contain_their_day_and_tile_the_calendar(
            frequency in frequency(),
            day_of_month in 1u32..=28,
            start_month in 1u32..=12,
            offset in 0i64..4000,
        ) {
            let anchor = BillingAnchor { day_of_month: Some(day_of_month), start_month: Some(start_month), ..BillingAnchor::default() };
            let date = day("2023-01-01") + Duration::days(offset);
            let period = period_containing(frequency, &anchor, date);
            prop_assert!(period.contains(date));
            let next = next_period(frequency, &anchor, period);
            prop_assert_eq!(next.start, period.end);
            prop_assert!(next.end > next.start);
            // The period is the same whichever of its days asks.
            prop_assert_eq!(period_containing(frequency, &anchor, period.end - Duration::days(1)), period);
            prop_assert_eq!(period_containing(frequency, &anchor, period.start), period);
        }
    }
}
