//! Business-hours arithmetic for SLA clocks: how many business minutes lie between
//! two instants, when a number of business minutes after an instant runs out, and how
//! many remain before a deadline. Schedules are in a tenant's IANA timezone; windows
//! are wall-clock times, so they follow daylight-saving changes (a 09:00–17:00 day is
//! eight real hours in every season; a window across a DST change is as long as the
//! wall clock says).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Minutes in a day; a window may end at 24:00.
pub const MINUTES_PER_DAY: u16 = 1440;
/// How far ahead a deadline is searched before it is declared unreachable.
const SEARCH_DAYS: i64 = 5 * 366;

/// One opening window of a weekday, in minutes after local midnight: `start`
/// inclusive, `end` exclusive (`end` may be 1440, midnight at the end of the day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Opening minute, 0–1439.
    pub start: u16,
    /// Closing minute, `start`+1–1440.
    pub end: u16,
}

/// A day the business is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// The date (for a yearly holiday, the year is ignored).
    pub date: NaiveDate,
    /// Recurs every year on the same month and day.
    pub yearly: bool,
}

/// Why a schedule is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// A window is empty, reversed or beyond 24:00.
    #[error("day {day}: a window must satisfy 0 <= start < end <= 1440 (got {start}-{end})")]
    BadWindow {
        /// Weekday index, Monday = 0.
        day: usize,
        /// Start minute.
        start: u16,
        /// End minute.
        end: u16,
    },
    /// Two windows of a day overlap.
    #[error("day {0}: windows overlap")]
    Overlap(usize),
}

/// When a business is open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The IANA timezone of the windows and holidays.
    pub timezone: Tz,
    /// Open around the clock (holidays and windows are ignored).
    pub always_open: bool,
    /// Windows per weekday, Monday first.
    pub windows: [Vec<Window>; 7],
    /// Closed days.
    pub holidays: Vec<Holiday>,
}

impl Schedule {
    /// Open around the clock.
    pub fn always_open() -> Schedule {
        Schedule {
            timezone: chrono_tz::UTC,
            always_open: true,
            windows: Default::default(),
            holidays: Vec::new(),
        }
    }

    /// The same window Monday to Friday, closed at weekends.
    pub fn weekdays(timezone: Tz, start: u16, end: u16) -> Schedule {
        let day = vec![Window { start, end }];
        Schedule {
            timezone,
            always_open: false,
            windows: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            holidays: Vec::new(),
        }
    }

    /// Checks the windows; sorts each day's windows by start.
    pub fn validated(mut self) -> Result<Schedule, ScheduleError> {
        for (day, windows) in self.windows.iter_mut().enumerate() {
            windows.sort_by_key(|w| w.start);
            for w in windows.iter() {
                if w.start >= w.end || w.end > MINUTES_PER_DAY {
                    return Err(ScheduleError::BadWindow {
                        day,
                        start: w.start,
                        end: w.end,
                    });
                }
            }
            if windows.windows(2).any(|pair| pair[1].start < pair[0].end) {
                return Err(ScheduleError::Overlap(day));
            }
        }
        Ok(self)
    }

    /// Whether the business is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.always_open
            || self
                .intervals_around(at)
                .iter()
                .any(|(open, close)| *open <= at && at < *close)
    }

    /// Business seconds in `[from, to)`; negative when `to` is before `from`.
    pub fn elapsed_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to < from {
            return -self.elapsed_seconds(to, from);
        }
        if self.always_open {
            return (to - from).num_seconds();
        }
        let mut total = 0;
        let mut day = self.local_date(from) - Duration::days(1);
        let last = self.local_date(to) + Duration::days(1);
        while day <= last {
            for (open, close) in self.intervals_on(day) {
                let start = open.max(from);
                let end = close.min(to);
                if end > start {
                    total += (end - start).num_seconds();
                }
            }
            day += Duration::days(1);
        }
        total
    }

    /// Whole business minutes in `[from, to)` (rounded toward zero).
    pub fn elapsed_minutes(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.elapsed_seconds(from, to) / 60
    }

    /// The earliest instant at which `minutes` business minutes have passed since
    /// `from`; `None` when the schedule never opens long enough (within five years).
    /// Zero minutes is `from` itself.
    pub fn deadline(&self, from: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        self.deadline_after_seconds(from, minutes.max(0) * 60)
    }

    /// [`Schedule::deadline`] to the second.
    pub fn deadline_after_seconds(
        &self,
        from: DateTime<Utc>,
        seconds: i64,
    ) -> Option<DateTime<Utc>> {
        let mut left = seconds;
        if left <= 0 {
            return Some(from);
        }
        if self.always_open {
            return Some(from + Duration::seconds(left));
        }
        let mut day = self.local_date(from) - Duration::days(1);
        let give_up = day + Duration::days(SEARCH_DAYS);
        while day <= give_up {
            for (open, close) in self.intervals_on(day) {
                let start = open.max(from);
                if close <= start {
                    continue;
                }
                let available = (close - start).num_seconds();
                if available >= left {
                    return Some(start + Duration::seconds(left));
                }
                left -= available;
            }
            day += Duration::days(1);
        }
        None
    }

    /// Business minutes from `now` until `deadline`: negative once overdue.
    pub fn remaining_minutes(&self, now: DateTime<Utc>, deadline: DateTime<Utc>) -> i64 {
        let seconds = self.elapsed_seconds(now, deadline);
        // Round toward negative infinity, so a deadline a few seconds past reads -1.
        seconds.div_euclid(60)
    }

    /// Moves `deadline` later by the business time the clock was paused
    /// (`paused_at`..`resumed_at`): what remained at the pause remains after it. A
    /// deadline already missed when the pause began stays where it was.
    pub fn shift_for_pause(
        &self,
        deadline: DateTime<Utc>,
        paused_at: DateTime<Utc>,
        resumed_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if paused_at >= deadline || resumed_at <= paused_at {
            return Some(deadline);
        }
        let remaining = self.elapsed_seconds(paused_at, deadline);
        self.deadline_after_seconds(resumed_at, remaining)
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    fn intervals_around(&self, at: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let day = self.local_date(at);
        [day - Duration::days(1), day, day + Duration::days(1)]
            .into_iter()
            .flat_map(|d| self.intervals_on(d))
            .collect()
    }

    fn is_holiday(&self, day: NaiveDate) -> bool {
        self.holidays.iter().any(|h| {
            if h.yearly {
                h.date.month() == day.month() && h.date.day() == day.day()
            } else {
                h.date == day
            }
        })
    }

    /// The open intervals of local date `day`, in UTC, in order.
    fn intervals_on(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.is_holiday(day) {
            return Vec::new();
        }
        let weekday = day.weekday().num_days_from_monday() as usize;
        self.windows[weekday]
            .iter()
            .filter_map(|w| {
                let open = self.instant(day, w.start, Edge::Open)?;
                let close = self.instant(day, w.end, Edge::Close)?;
                (close > open).then_some((open, close))
            })
            .collect()
    }

    /// The UTC instant of wall-clock minute `minute` on `day`. A time skipped by a
    /// spring-forward change is the moment the clock jumps; a time repeated by a
    /// fall-back change is its first occurrence for an opening and its second for a
    /// closing, so the window covers all the wall-clock time it names.
    fn instant(&self, day: NaiveDate, minute: u16, edge: Edge) -> Option<DateTime<Utc>> {
        let naive = naive_at(day, minute)?;
        match self.timezone.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            chrono::LocalResult::Ambiguous(first, second) => Some(match edge {
                Edge::Open => first.with_timezone(&Utc),
                Edge::Close => second.with_timezone(&Utc),
            }),
            // The first wall-clock minute after the gap is the moment the clock jumped.
            chrono::LocalResult::None => (1..=180).find_map(|step| {
                self.timezone
                    .from_local_datetime(&(naive + Duration::minutes(step)))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            }),
        }
    }
}

#[derive(Clone, Copy)]
enum Edge {
    Open,
    Close,
}

fn naive_at(day: NaiveDate, minute: u16) -> Option<NaiveDateTime> {
    if minute == MINUTES_PER_DAY {
        return day.succ_opt()?.and_hms_opt(0, 0, 0);
    }
    let time = NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
    Some(day.and_time(time))
}
