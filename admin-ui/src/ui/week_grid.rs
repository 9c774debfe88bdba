//! The "my week" grid: one row per work item (a ticket, or a client's ad-hoc
//! work), one column per day, minutes summed per cell with row and day totals.
//! Pure, so the sums are tested without a database.

use activities::time::TimeEntry;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// What time was logged against: a ticket, or a client without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkItem {
    /// Work on a ticket.
    Ticket(Uuid),
    /// Ad-hoc work for a client.
    Client(Uuid),
}

impl WorkItem {
    /// The item an entry was logged against.
    pub fn of(entry: &TimeEntry) -> WorkItem {
        match entry.ticket_id {
            Some(ticket) => WorkItem::Ticket(ticket),
            None => WorkItem::Client(entry.client_id),
        }
    }
}

/// One row: an item's minutes per day.
#[derive(Clone, Debug, Serialize)]
pub struct GridRow {
    /// What the row is ("T-000012 · Printer jam", "Acme (no ticket)").
    pub label: String,
    /// Where the item's page is.
    pub href: String,
    /// Minutes per day of the week, Monday first.
    pub minutes: Vec<i64>,
    /// Billable minutes of the row.
    pub billable: i64,
    /// Minutes of the row.
    pub total: i64,
}

/// The whole grid.
#[derive(Clone, Debug, Serialize)]
pub struct WeekGrid {
    /// The seven days, Monday first.
    pub days: Vec<NaiveDate>,
    /// Rows, ordered by label.
    pub rows: Vec<GridRow>,
    /// Minutes per day.
    pub day_totals: Vec<i64>,
    /// Minutes of the week.
    pub total: i64,
    /// Billable minutes of the week.
    pub billable: i64,
}

/// The Monday of the week containing `date`.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// Sums `entries` of the week starting `monday` into rows; entries outside the
/// week are left out. `describe` names an item and links to it.
pub fn week_grid(
    monday: NaiveDate,
    entries: &[TimeEntry],
    describe: impl Fn(WorkItem) -> (String, String),
) -> WeekGrid {
    let days: Vec<NaiveDate> = (0..7).map(|d| monday + Duration::days(d)).collect();
    let mut items: BTreeMap<WorkItem, (Vec<i64>, i64)> = BTreeMap::new();
    for entry in entries {
        let Ok(day) = usize::try_from((entry.work_date - monday).num_days()) else {
            continue;
        };
        if day >= 7 {
            continue;
        }
        let (minutes, billable) = items
            .entry(WorkItem::of(entry))
            .or_insert_with(|| (vec![0; 7], 0));
        minutes[day] += i64::from(entry.minutes);
        *billable += i64::from(entry.billable_minutes);
    }
    let mut rows: Vec<GridRow> = items
        .into_iter()
        .map(|(item, (minutes, billable))| {
            let (label, href) = describe(item);
            GridRow {
                label,
                href,
                total: minutes.iter().sum(),
                minutes,
                billable,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    let day_totals: Vec<i64> = (0..7)
        .map(|d| rows.iter().map(|r| r.minutes[d]).sum())
        .collect();
    WeekGrid {
        days,
        total: day_totals.iter().sum(),
        billable: rows.iter().map(|r| r.billable).sum(),
        rows,
        day_totals,
    }
}

/// Minutes as `h:mm` ("1:05"), blank for none: how timesheets read.
pub fn hours(minutes: i64) -> String {
    if minutes == 0 {
        return String::new();
    }
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// A duration typed in a form: whole minutes ("90") or hours and minutes
/// ("1:30"); `None` for anything else.
pub fn parse_duration(text: &str) -> Option<i32> {
    let text = text.trim();
    match text.split_once(':') {
        Some((h, m)) => {
            let h: i32 = h.trim().parse().ok()?;
            let m: i32 = m.trim().parse().ok()?;
            (h >= 0 && (0..60).contains(&m)).then_some(h.checked_mul(60)?.checked_add(m)?)
        }
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use proptest::prelude::*;

    fn entry(day: NaiveDate, ticket: Option<Uuid>, client: Uuid, minutes: i32) -> TimeEntry {
        TimeEntry {
            id: Uuid::now_v7(),
            user_id: Uuid::nil(),
            timesheet_id: Uuid::nil(),
            client_id: client,
            ticket_id: ticket,
            work_date: day,
            started_at: None,
            ended_at: None,
            minutes,
            billable_minutes: minutes / 2,
            service_id: None,
            notes: String::new(),
            overlapping: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            approval_status: "DRAFT".into(),
        }
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn entries_sum_per_item_and_day() {
        let monday = day("2026-11-30");
        let (ticket, client) = (Uuid::now_v7(), Uuid::now_v7());
        let entries = vec![
            entry(day("2026-11-30"), Some(ticket), client, 30),
            entry(day("2026-11-30"), Some(ticket), client, 45),
            entry(day("2026-12-06"), None, client, 60),
            entry(day("2026-12-07"), None, client, 999),
            entry(day("2026-11-29"), None, client, 999),
        ];
        let grid = week_grid(monday, &entries, |item| match item {
            WorkItem::Ticket(_) => ("A ticket".into(), "/tickets/x".into()),
            WorkItem::Client(_) => ("B client".into(), "/clients/x".into()),
        });
        assert_eq!(grid.days.first(), Some(&monday));
        assert_eq!(grid.days.last(), Some(&day("2026-12-06")));
        assert_eq!(grid.rows.len(), 2);
        assert_eq!(grid.rows[0].minutes, vec![75, 0, 0, 0, 0, 0, 0]);
        assert_eq!(grid.rows[1].minutes, vec![0, 0, 0, 0, 0, 0, 60]);
        assert_eq!(grid.day_totals, vec![75, 0, 0, 0, 0, 0, 60]);
        assert_eq!(grid.total, 135);
        assert_eq!(grid.billable, 15 + 22 + 30);
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(day("2026-12-03")), day("2026-11-30"));
        assert_eq!(week_start(day("2026-11-30")), day("2026-11-30"));
        assert_eq!(week_start(day("2027-01-03")), day("2026-12-28"));
    }

    #[test]
    fn durations_read_as_minutes_or_hours() {
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration(" 1:30 "), Some(90));
        assert_eq!(parse_duration("0:05"), Some(5));
        assert_eq!(parse_duration("1:60"), None);
        assert_eq!(parse_duration("1:5x"), None);
        assert_eq!(parse_duration("-1:10"), None);
        assert_eq!(parse_duration("an hour"), None);
        assert_eq!(hours(0), "");
        assert_eq!(hours(65), "1:05");
    }

    proptest! {
        #[test]
        fn hours_read_back_as_the_same_minutes(minutes in 1i64..100_000) {
            prop_assert_eq!(parse_duration(&hours(minutes)).map(i64::from), Some(minutes));
        }

        #[test]
        fn the_grid_keeps_every_minute_of_the_week(
            cells in proptest::collection::vec((0i64..9, 0usize..3, 1i32..600), 0..40)
        ) {
            let monday = day("2026-11-30");
            let clients: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
            let entries: Vec<TimeEntry> = cells
                .iter()
                .map(|(d, c, m)| entry(monday + Duration::days(*d), None, clients[*c], *m))
                .collect();
            let grid = week_grid(monday, &entries, |item| (format!("{item:?}"), String::new()));
            let expected: i64 = cells.iter().filter(|(d, _, _)| *d < 7).map(|(_, _, m)| i64::from(*m)).sum();
            prop_assert_eq!(grid.total, expected);
            prop_assert_eq!(grid.rows.iter().map(|r| r.total).sum::<i64>(), expected);
        }
    }
}
