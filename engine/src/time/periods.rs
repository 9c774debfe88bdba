//! Time periods: the tenant's timesheet cadence cut into half-open date ranges
//! `[start, end)` that tile the calendar with no gap and no overlap.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// How a tenant's time periods are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "frequency", rename_all = "snake_case")]
pub enum PeriodFrequency {
    /// Seven days from `week_start` (e.g. Monday).
    Weekly {
        /// The first day of each period.
        week_start: Weekday,
    },
    /// Fourteen days, counted from `anchor` (any day that starts a period).
    BiWeekly {
        /// A day on which a period starts.
        anchor: NaiveDate,
    },
    /// The 1st to the 15th, and the 16th to the month's end.
    SemiMonthly,
    /// Calendar months.
    Monthly,
}

impl Default for PeriodFrequency {
    fn default() -> Self {
        PeriodFrequency::Weekly {
            week_start: Weekday::Mon,
        }
    }
}

/// One period: `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    /// First day.
    pub start: NaiveDate,
    /// The day after the last day.
    pub end: NaiveDate,
}

impl Period {
    /// Whether `date` falls in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date < self.end
    }

    /// The last day of the period.
    pub fn last_day(&self) -> NaiveDate {
        self.end.pred_opt().unwrap_or(self.end)
    }

    /// Number of days.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a 1st")
}

impl PeriodFrequency {
    /// The period that contains `date`.
    pub fn period_containing(self, date: NaiveDate) -> Period {
        match self {
            PeriodFrequency::Weekly { week_start } => {
                let back = (7 + date.weekday().num_days_from_monday()
                    - week_start.num_days_from_monday())
                    % 7;
                let start = date - Days::new(u64::from(back));
                Period {
                    start,
                    end: start + Days::new(7),
                }
            }
            PeriodFrequency::BiWeekly { anchor } => {
                let offset = (date - anchor).num_days().rem_euclid(14);
                let start = date - Days::new(offset as u64);
                Period {
                    start,
                    end: start + Days::new(14),
                }
            }
            PeriodFrequency::SemiMonthly => {
                let first = first_of_month(date);
                let sixteenth = first + Days::new(15);
                if date < sixteenth {
                    Period {
                        start: first,
                        end: sixteenth,
                    }
                } else {
                    Period {
                        start: sixteenth,
                        end: first + Months::new(1),
                    }
                }
            }
            PeriodFrequency::Monthly => {
                let first = first_of_month(date);
                Period {
                    start: first,
                    end: first + Months::new(1),
                }
            }
        }
    }

    /// The period after `period`.
    pub fn next(self, period: Period) -> Period {
        self.period_containing(period.end)
    }

    /// Every period overlapping `[from, to)`, in order.
    pub fn periods_between(self, from: NaiveDate, to: NaiveDate) -> Vec<Period> {
        let mut periods = Vec::new();
        if from >= to {
            return periods;
        }
        let mut period = self.period_containing(from);
        while period.start < to {
            periods.push(period);
            period = self.next(period);
        }
        periods
    }

    /// The period to create for `date` among periods that already exist: the
    /// cadence's period, cut so it starts no earlier than `previous_end` (the end of
    /// the latest existing period before `date`) and ends no later than `next_start`
    /// (the start of the earliest one after it). A changed cadence therefore never
    /// makes periods overlap: the first new period is shortened to fit.
    pub fn period_fitting(
        self,
        date: NaiveDate,
        previous_end: Option<NaiveDate>,
        next_start: Option<NaiveDate>,
    ) -> Period {
        let natural = self.period_containing(date);
        Period {
            start: previous_end.map_or(natural.start, |end| natural.start.max(end)),
            end: next_start.map_or(natural.end, |start| natural.end.min(start)),
        }
    }
}

/// The period of `existing` (sorted, non-overlapping) that contains `date`, or the
/// one to create for it under `frequency`.
pub fn find_or_fit(existing: &[Period], frequency: PeriodFrequency, date: NaiveDate) -> Period {
    if let Some(found) = existing.iter().find(|p| p.contains(date)) {
        return *found;
    }
    let previous_end = existing
        .iter()
        .filter(|p| p.end <= date)
        .map(|p| p.end)
        .max();
    let next_start = existing
        .iter()
        .filter(|p| p.start > date)
        .map(|p| p.start)
        .min();
    frequency.period_fitting(date, previous_end, next_start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn month_ends_and_leap_years() {
        let semi = PeriodFrequency::SemiMonthly;
        assert_eq!(
            semi.period_containing(d("2028-02-29")),
            Period {
                start: d("2028-02-16"),
                end: d("2028-03-01")
            }
        );
        assert_eq!(semi.period_containing(d("2027-02-28")).days(), 13);
        assert_eq!(
            semi.period_containing(d("2026-12-15")),
            Period {
                start: d("2026-12-01"),
                end: d("2026-12-16")
            }
        );
        assert_eq!(
            semi.next(semi.period_containing(d("2026-12-20"))),
            Period {
                start: d("2027-01-01"),
                end: d("2027-01-16")
            }
        );
        let monthly = PeriodFrequency::Monthly;
        assert_eq!(monthly.period_containing(d("2028-02-29")).days(), 29);
        assert_eq!(
            monthly.period_containing(d("2100-02-10")).days(),
            28,
            "2100 is no leap year"
        );
        assert_eq!(
            monthly.period_containing(d("2000-02-10")).days(),
            29,
            "2000 is"
        );
        let weekly = PeriodFrequency::Weekly {
            week_start: Weekday::Mon,
        };
        assert_eq!(
            weekly.period_containing(d("2026-11-29")),
            Period {
                start: d("2026-11-23"),
                end: d("2026-11-30")
            },
            "a Sunday belongs to the week that began on Monday"
        );
        let sunday = PeriodFrequency::Weekly {
            week_start: Weekday::Sun,
        };
        assert_eq!(
            sunday.period_containing(d("2026-11-29")).start,
            d("2026-11-29")
        );
        let biweekly = PeriodFrequency::BiWeekly {
            anchor: d("2026-01-05"),
        };
        assert_eq!(
            biweekly.period_containing(d("2025-12-31")),
            Period {
                start: d("2025-12-22"),
                end: d("2026-01-05")
            },
            "periods run backwards from the anchor too"
        );
    }

    fn frequencies() -> impl Strategy<Value = PeriodFrequency> {
        prop_oneof![
            (0u32..7).prop_map(|w| PeriodFrequency::Weekly {
                week_start: Weekday::try_from(w as u8).unwrap()
            }),
            (0i64..3000).prop_map(|n| PeriodFrequency::BiWeekly {
                anchor: d("2020-01-01") + chrono::Duration::days(n)
            }),
            Just(PeriodFrequency::SemiMonthly),
            Just(PeriodFrequency::Monthly),
        ]
    }

    #[test]
    fn a_changed_cadence_starts_with_a_shortened_period() {
        let weekly = PeriodFrequency::Weekly {
            week_start: Weekday::Mon,
        };
        let existing = vec![weekly.period_containing(d("2026-12-02"))]; // Nov 30 - Dec 7
        let monthly = find_or_fit(&existing, PeriodFrequency::Monthly, d("2026-12-10"));
        assert_eq!(
            monthly,
            Period {
                start: d("2026-12-07"),
                end: d("2027-01-01")
            }
        );
        let before = find_or_fit(&existing, PeriodFrequency::Monthly, d("2026-11-10"));
        assert_eq!(
            before,
            Period {
                start: d("2026-11-01"),
                end: d("2026-11-30")
            }
        );
        assert_eq!(
            find_or_fit(&existing, PeriodFrequency::Monthly, d("2026-12-01")),
            existing[0]
        );
    }

    proptest! {
        /// Whatever dates are asked for, under whatever changing cadences, the
        /// periods created contain their dates, are never empty and never overlap.
        #[test]
        fn periods_made_under_changing_cadences_never_overlap(
            asks in proptest::collection::vec((frequencies(), 0i64..1500), 1..40)
        ) {
            let mut existing: Vec<Period> = Vec::new();
            for (frequency, day) in asks {
                let date = d("2025-01-01") + chrono::Duration::days(day);
                let period = find_or_fit(&existing, frequency, date);
                prop_assert!(period.contains(date));
                if !existing.contains(&period) {
                    existing.push(period);
                    existing.sort();
                }
                for pair in existing.windows(2) {
                    prop_assert!(pair[0].end <= pair[1].start, "{:?} overlaps {:?}", pair[0], pair[1]);
                }
            }
        }

        /// Periods contain their date, are non-empty, and tile the calendar: each
        /// starts where the previous ended, so none overlap and none leave a gap.
        #[test]
        fn periods_tile_the_calendar(frequency in frequencies(), days in 0i64..20_000, span in 1i64..400) {
            let from = d("1990-01-01") + chrono::Duration::days(days);
            let to = from + chrono::Duration::days(span);
            let periods = frequency.periods_between(from, to);
            prop_assert!(periods[0].contains(from));
            prop_assert!(periods.last().unwrap().end >= to);
            for pair in periods.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            for p in &periods {
                prop_assert!(p.start < p.end && p.days() <= 31);
                prop_assert_eq!(frequency.period_containing(p.start), *p);
                prop_assert_eq!(frequency.period_containing(p.last_day()), *p);
            }
        }
    }
}
