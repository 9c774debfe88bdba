//! Time entries: what a user logs against a ticket or a client, validated into a
//! complete draft (start/end, or start and duration, or a day and a duration).

use crate::validation::{FieldIssue, Issues};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest single entry, in minutes (a day).
pub const MAX_MINUTES: i32 = 1440;
/// The longest note.
pub const MAX_NOTES: usize = 10_000;

/// A new entry, or every field of a changed one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeEntryInput {
    /// Whose time, on create (default: the caller; logging for others needs
    /// `timesheet:approve`). An entry never changes hands.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// The client (taken from the ticket when a ticket is given).
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// The ticket worked on.
    #[serde(default)]
    pub ticket_id: Option<Uuid>,
    /// The day worked (default: the start's date, UTC).
    #[serde(default)]
    pub work_date: Option<NaiveDate>,
    /// When work started.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When work ended.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Duration in minutes, 1–1440 (derived from start and end when both are given).
    #[serde(default)]
    pub minutes: Option<i32>,
    /// Minutes to bill, 0 (non-billable) up to `minutes`; default all of them.
    #[serde(default)]
    pub billable_minutes: Option<i32>,
    /// `false` makes the entry non-billable (`billable_minutes` 0).
    #[serde(default)]
    pub billable: Option<bool>,
    /// The catalogue service (billing).
    #[serde(default)]
    pub service_id: Option<Uuid>,
    /// What was done.
    #[serde(default)]
    pub notes: Option<String>,
}

/// A validated entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryDraft {
    /// The client, unless it comes from the ticket.
    pub client_id: Option<Uuid>,
    /// The ticket.
    pub ticket_id: Option<Uuid>,
    /// The day worked.
    pub work_date: NaiveDate,
    /// Start, if known.
    pub started_at: Option<DateTime<Utc>>,
    /// End, if known.
    pub ended_at: Option<DateTime<Utc>>,
    /// Duration.
    pub minutes: i32,
    /// Billable part.
    pub billable_minutes: i32,
    /// Service.
    pub service_id: Option<Uuid>,
    /// Notes.
    pub notes: String,
}

impl TimeEntryInput {
    /// Checks the input and completes it; every bad field is reported.
    pub fn validate(&self) -> Result<EntryDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() && self.ticket_id.is_none() {
            issues.add("client_id", "is required unless a ticket_id is given");
        }
        let minutes = match (self.started_at, self.ended_at, self.minutes) {
            (Some(start), Some(end), given) => {
                let span = (end - start).num_minutes();
                if end <= start {
                    issues.add("ended_at", "must be after started_at");
                    None
                } else if given.is_some_and(|m| i64::from(m) != span) {
                    issues.add(
                        "minutes",
                        format!(
                            "must match started_at to ended_at ({span} minutes) or be left out"
                        ),
                    );
                    None
                } else {
                    Some(i32::try_from(span).unwrap_or(i32::MAX))
                }
            }
            (None, Some(_), _) => {
                issues.add("started_at", "is required with ended_at");
                None
            }
            (_, None, Some(m)) => Some(m),
            (_, None, None) => {
                issues.add("minutes", "is required (or give started_at and ended_at)");
                None
            }
        };
        if let Some(m) = minutes {
            if !(1..=MAX_MINUTES).contains(&m) {
                issues.add("minutes", format!("must be between 1 and {MAX_MINUTES}"));
            }
        }
        let work_date = self.work_date.or(self.started_at.map(|s| s.date_naive()));
        if work_date.is_none() {
            issues.add("work_date", "is required when started_at is not given");
        }
        let minutes = minutes.unwrap_or(0);
        let billable = match (self.billable, self.billable_minutes) {
            (Some(false), Some(b)) if b > 0 => {
                issues.add("billable_minutes", "must be 0 when billable is false");
                0
            }
            (Some(false), _) => 0,
            (_, Some(b)) => b,
            (_, None) => minutes,
        };
        if billable < 0 || billable > minutes.max(0) {
            issues.add("billable_minutes", "must be between 0 and minutes");
        }
        let notes = self.notes.clone().unwrap_or_default().trim().to_owned();
        if notes.chars().count() > MAX_NOTES {
            issues.add("notes", format!("must be at most {MAX_NOTES} characters"));
        }
        if notes.contains('\0') {
            issues.add("notes", "must not contain NUL characters");
        }
        let started_at = self.started_at;
        let ended_at = self
            .ended_at
            .or(started_at.map(|s| s + Duration::minutes(i64::from(minutes))));
        issues.finish(|| EntryDraft {
            client_id: self.client_id,
            ticket_id: self.ticket_id,
            work_date: work_date.unwrap_or_default(),
            started_at,
            ended_at,
            minutes,
            billable_minutes: billable,
            service_id: self.service_id,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn client() -> Option<Uuid> {
        Some(Uuid::from_u128(9))
    }

    #[test]
    fn start_and_end_give_the_duration_and_the_day() {
        let draft = TimeEntryInput {
            client_id: client(),
            started_at: Some(at("2026-11-27T09:00:00Z")),
            ended_at: Some(at("2026-11-27T11:15:00Z")),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(draft.minutes, 135);
        assert_eq!(
            draft.billable_minutes, 135,
            "billable defaults to the duration"
        );
        assert_eq!(
            draft.work_date,
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
    }

    #[test]
    fn start_and_minutes_give_the_end_and_billable_false_bills_nothing() {
        let draft = TimeEntryInput {
            client_id: client(),
            started_at: Some(at("2026-11-27T23:30:00Z")),
            minutes: Some(60),
            billable: Some(false),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(draft.ended_at, Some(at("2026-11-28T00:30:00Z")));
        assert_eq!(draft.billable_minutes, 0);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let issues = TimeEntryInput {
            started_at: Some(at("2026-11-27T10:00:00Z")),
            ended_at: Some(at("2026-11-27T09:00:00Z")),
            billable_minutes: Some(-1),
            notes: Some("a\0b".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            ["client_id", "ended_at", "billable_minutes", "notes"]
        );
        let issues = TimeEntryInput {
            client_id: client(),
            minutes: Some(2000),
            billable_minutes: Some(2001),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["minutes", "work_date", "billable_minutes"]);
    }
}
