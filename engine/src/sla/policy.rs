//! SLA policies: targets per priority, notification thresholds and escalation
//! levels, and the business-hours schedules they run on, as the API describes them.

use super::business_hours::{Holiday, Schedule, Window};
use crate::validation::{self, FieldIssue, Issues};
use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

/// Notification thresholds when a policy names none (percent of a target).
pub const DEFAULT_NOTIFY_PERCENTS: [u32; 4] = [50, 75, 90, 100];
/// Escalation thresholds for levels 1, 2 and 3 when a policy names none.
pub const DEFAULT_ESCALATION_PERCENTS: [u32; 3] = [70, 90, 110];

/// The targets of one priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The priority's name, e.g. `High`.
    pub priority: String,
    /// Minutes to the first public reply; none for no response target.
    pub response_minutes: Option<u32>,
    /// Minutes to resolution; none for no resolution target.
    pub resolution_minutes: Option<u32>,
    /// Count around the clock for this priority, ignoring business hours.
    #[serde(default)]
    pub is_24x7: bool,
}

/// A policy as submitted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// 1–100 characters, unique in the tenant. Required.
    pub name: Option<String>,
    /// The schedule the clocks run on; none for around the clock.
    pub business_hours_id: Option<uuid::Uuid>,
    /// The tenant's default policy (used when neither client nor board names one).
    pub is_default: Option<bool>,
    /// One entry per priority; a priority without an entry gets no SLA.
    pub targets: Option<Vec<Target>>,
    /// Notify at these percents of a target (1–1000; 100 is always included).
    pub notify_percents: Option<Vec<u32>>,
    /// Escalate to levels 1, 2, 3 at these percents of the resolution target.
    pub escalation_percents: Option<Vec<u32>>,
}

/// A validated policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyDraft {
    /// Name.
    pub name: String,
    /// Schedule.
    pub business_hours_id: Option<uuid::Uuid>,
    /// Default.
    pub is_default: bool,
    /// Targets, one per priority.
    pub targets: Vec<Target>,
    /// Sorted, unique, including 100.
    pub notify_percents: Vec<u32>,
    /// Sorted, unique, 1 to 3 entries.
    pub escalation_percents: Vec<u32>,
}

impl PolicyInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<PolicyDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let name = issues.check("name", validation::required_text(self.name.as_deref(), 100));
        let targets = self.targets.clone().unwrap_or_default();
        for (i, target) in targets.iter().enumerate() {
            if target.priority.trim().is_empty() {
                issues.add(format!("targets[{i}].priority"), "is required");
            }
            if targets[..i]
                .iter()
                .any(|t| t.priority.eq_ignore_ascii_case(&target.priority))
            {
                issues.add(format!("targets[{i}].priority"), "is listed twice");
            }
            for (field, value) in [
                ("response_minutes", target.response_minutes),
                ("resolution_minutes", target.resolution_minutes),
            ] {
                if value.is_some_and(|m| !(1..=525_600).contains(&m)) {
                    issues.add(
                        format!("targets[{i}].{field}"),
                        "must be 1 to 525600 minutes",
                    );
                }
            }
        }
        let notify = percents(
            &mut issues,
            "notify_percents",
            self.notify_percents.as_deref(),
            &DEFAULT_NOTIFY_PERCENTS,
        );
        let mut notify = notify.unwrap_or_default();
        if !notify.contains(&100) {
            notify.push(100);
            notify.sort_unstable();
        }
        let escalation = percents(
            &mut issues,
            "escalation_percents",
            self.escalation_percents.as_deref(),
            &DEFAULT_ESCALATION_PERCENTS,
        )
        .unwrap_or_default();
        if escalation.len() > 3 {
            issues.add("escalation_percents", "has at most 3 levels");
        }
        issues.finish(|| PolicyDraft {
            name: name.unwrap_or_default(),
            business_hours_id: self.business_hours_id,
            is_default: self.is_default.unwrap_or(false),
            targets: targets
                .into_iter()
                .map(|t| Target {
                    priority: t.priority.trim().to_owned(),
                    ..t
                })
                .collect(),
            notify_percents: notify,
            escalation_percents: escalation,
        })
    }
}

fn percents(
    issues: &mut Issues,
    field: &str,
    given: Option<&[u32]>,
    default: &[u32],
) -> Option<Vec<u32>> {
    let mut values = given.unwrap_or(default).to_vec();
    if values.iter().any(|p| !(1..=1000).contains(p)) {
        issues.add(field, "each percent must be between 1 and 1000");
        return None;
    }
    values.sort_unstable();
    values.dedup();
    Some(values)
}

/// One opening window as the API writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayWindow {
    /// 1 (Monday) to 7 (Sunday).
    pub weekday: u8,
    /// Opening time `HH:MM` (inclusive).
    pub start: String,
    /// Closing time `HH:MM` (exclusive); `24:00` for midnight.
    pub end: String,
}

/// A business-hours schedule as submitted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursInput {
    /// 1–100 characters, unique in the tenant. Required.
    pub name: Option<String>,
    /// IANA timezone, e.g. `America/New_York`. Required.
    pub timezone: Option<String>,
    /// Open around the clock (days and holidays ignored).
    pub is_24x7: Option<bool>,
    /// Opening windows; several per weekday allowed, not overlapping.
    pub days: Option<Vec<DayWindow>>,
    /// One-off closed dates `YYYY-MM-DD`.
    pub holidays: Option<Vec<NaiveDate>>,
    /// Closed every year on `MM-DD`.
    pub yearly_holidays: Option<Vec<String>>,
}

impl BusinessHoursInput {
    /// Checks every field and builds the schedule the calculator runs on.
    pub fn validate(&self) -> Result<(String, Schedule), Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let name = issues.check("name", validation::required_text(self.name.as_deref(), 100));
        let timezone = match self.timezone.as_deref().map(str::trim) {
            None | Some("") => {
                issues.add("timezone", "is required");
                None
            }
            Some(text) => issues.check(
                "timezone",
                text.parse::<chrono_tz::Tz>()
                    .map_err(|_| format!("{text:?} is not an IANA timezone")),
            ),
        };
        let mut windows: [Vec<Window>; 7] = Default::default();
        for (i, day) in self.days.iter().flatten().enumerate() {
            let minutes = |text: &str| parse_clock(text);
            match (
                usize::from(day.weekday).checked_sub(1).filter(|d| *d < 7),
                minutes(&day.start),
                minutes(&day.end),
            ) {
                (None, _, _) => issues.add(
                    format!("days[{i}].weekday"),
                    "must be 1 (Monday) to 7 (Sunday)",
                ),
                (_, None, _) => issues.add(format!("days[{i}].start"), "must be a time HH:MM"),
                (_, _, None) => {
                    issues.add(format!("days[{i}].end"), "must be a time HH:MM or 24:00")
                }
                (Some(d), Some(start), Some(end)) => windows[d].push(Window { start, end }),
            }
        }
        let mut holidays: Vec<Holiday> = self
            .holidays
            .iter()
            .flatten()
            .map(|date| Holiday {
                date: *date,
                yearly: false,
            })
            .collect();
        for (i, text) in self.yearly_holidays.iter().flatten().enumerate() {
            match NaiveDate::parse_from_str(&format!("2000-{text}"), "%Y-%m-%d") {
                Ok(date) => holidays.push(Holiday { date, yearly: true }),
                Err(_) => issues.add(format!("yearly_holidays[{i}]"), "must be MM-DD"),
            }
        }
        let schedule = timezone.map(|timezone| Schedule {
            timezone,
            always_open: self.is_24x7.unwrap_or(false),
            windows,
            holidays,
        });
        let schedule = match schedule.map(Schedule::validated) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                issues.add("days", e.to_string());
                None
            }
            None => None,
        };
        issues.finish(|| (name.unwrap_or_default(), schedule.expect("checked")))
    }
}

/// Minutes after midnight of `HH:MM`; `24:00` is 1440.
pub fn parse_clock(text: &str) -> Option<u16> {
    if text.trim() == "24:00" {
        return Some(1440);
    }
    let time = NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()?;
    u16::try_from(time.hour() * 60 + time.minute()).ok()
}

/// `HH:MM` of minutes after midnight.
pub fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_default_their_thresholds_and_always_notify_at_100() {
        let draft = PolicyInput {
            name: Some("Gold".into()),
            notify_percents: Some(vec![80, 50, 50]),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(draft.notify_percents, vec![50, 80, 100]);
        assert_eq!(draft.escalation_percents, vec![70, 90, 110]);
    }

    #[test]
    fn duplicate_priorities_and_silly_minutes_are_refused() {
        let issues = PolicyInput {
            name: Some("Gold".into()),
            targets: Some(vec![
                Target {
                    priority: "High".into(),
                    response_minutes: Some(0),
                    resolution_minutes: None,
                    is_24x7: false,
                },
                Target {
                    priority: "high".into(),
                    response_minutes: None,
                    resolution_minutes: Some(60),
                    is_24x7: false,
                },
            ]),
            escalation_percents: Some(vec![10, 20, 30, 40]),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "targets[0].response_minutes",
                "targets[1].priority",
                "escalation_percents"
            ]
        );
    }

    #[test]
    fn business_hours_parse_days_zones_and_holidays() {
        let (name, schedule) = BusinessHoursInput {
            name: Some("Office".into()),
            timezone: Some("Europe/London".into()),
            days: Some(vec![DayWindow {
                weekday: 1,
                start: "08:30".into(),
                end: "17:00".into(),
            }]),
            holidays: Some(vec![NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()]),
            yearly_holidays: Some(vec!["01-01".into()]),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(name, "Office");
        assert_eq!(
            schedule.windows[0],
            vec![Window {
                start: 510,
                end: 1020
            }]
        );
        assert_eq!(schedule.holidays.len(), 2);
        let issues = BusinessHoursInput {
            name: Some("Bad".into()),
            timezone: Some("Mars/Olympus".into()),
            days: Some(vec![DayWindow {
                weekday: 8,
                start: "09:00".into(),
                end: "17:00".into(),
            }]),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["timezone", "days[0].weekday"]);
    }
}
