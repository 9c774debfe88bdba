//! The business-hours calculator across weekends, holidays, DST changes in
//! America/New_York and Europe/London, 24×7 schedules, and pauses.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use engine::sla::{Holiday, Schedule, Window};
use proptest::prelude::*;

const NEW_YORK: Tz = chrono_tz::America::New_York;
const LONDON: Tz = chrono_tz::Europe::London;

fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .expect("valid local time")
        .with_timezone(&Utc)
}

fn nine_to_five(tz: Tz) -> Schedule {
    Schedule::weekdays(tz, 9 * 60, 17 * 60)
        .validated()
        .expect("valid")
}

#[test]
fn a_friday_afternoon_deadline_lands_on_monday() {
    let s = nine_to_five(NEW_YORK);
    // Friday 2026-11-27 16:00 + 120 business minutes = Monday 10:00.
    let start = local(NEW_YORK, 2026, 11, 27, 16, 0);
    assert_eq!(
        s.deadline(start, 120),
        Some(local(NEW_YORK, 2026, 11, 30, 10, 0))
    );
    assert_eq!(
        s.elapsed_minutes(start, local(NEW_YORK, 2026, 11, 30, 10, 0)),
        120
    );
    // Saturday counts nothing.
    assert_eq!(
        s.elapsed_minutes(
            local(NEW_YORK, 2026, 11, 28, 0, 0),
            local(NEW_YORK, 2026, 11, 29, 23, 0)
        ),
        0
    );
}

#[test]
fn holidays_are_skipped_one_off_and_yearly() {
    let mut s = nine_to_five(LONDON);
    s.holidays = vec![
        Holiday {
            date: NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            yearly: false,
        },
        Holiday {
            date: NaiveDate::from_ymd_opt(2000, 12, 28).unwrap(),
            yearly: true,
        },
    ];
    // Thursday 24 Dec 16:00 + 2h: Fri 25th is a holiday, weekend, Mon 28th a yearly
    // holiday, so Tuesday 29th 10:00.
    let start = local(LONDON, 2026, 12, 24, 16, 0);
    assert_eq!(
        s.deadline(start, 120),
        Some(local(LONDON, 2026, 12, 29, 10, 0))
    );
    assert!(
        !s.is_open(local(LONDON, 2027, 12, 28, 11, 0)),
        "yearly holiday recurs"
    );
}

#[test]
fn spring_forward_and_fall_back_in_new_york() {
    // Sunday windows 00:00–04:00: on 8 March 2026 the clock skips 02:00–03:00 (3 real
    // hours), on 1 November it repeats 01:00–02:00 (5 real hours).
    let mut s = Schedule::weekdays(NEW_YORK, 0, 240);
    s.windows[6] = vec![Window { start: 0, end: 240 }];
    let s = s.validated().unwrap();
    let march = local(NEW_YORK, 2026, 3, 8, 0, 0);
    assert_eq!(s.elapsed_minutes(march, march + Duration::hours(6)), 180);
    let november = local(NEW_YORK, 2026, 11, 1, 0, 0);
    assert_eq!(
        s.elapsed_minutes(november, november + Duration::hours(6)),
        300
    );
}

#[test]
fn a_nine_to_five_day_is_eight_hours_in_both_london_seasons() {
    let s = nine_to_five(LONDON);
    for (m, d) in [(3, 27), (3, 30), (10, 23), (10, 26)] {
        let day_start = local(LONDON, 2026, m, d, 0, 0);
        assert_eq!(
            s.elapsed_minutes(day_start, day_start + Duration::hours(24)),
            480,
            "2026-{m}-{d}"
        );
    }
}

#[test]
fn twenty_four_seven_counts_real_time() {
    let s = Schedule::always_open();
    let start = local(LONDON, 2026, 10, 24, 12, 0);
    assert_eq!(
        s.deadline(start, 24 * 60),
        Some(start + Duration::hours(24))
    );
    assert_eq!(
        s.remaining_minutes(start + Duration::hours(25), start + Duration::hours(24)),
        -60
    );
}

#[test]
fn remaining_goes_negative_when_overdue() {
    let s = nine_to_five(NEW_YORK);
    let deadline = local(NEW_YORK, 2026, 11, 30, 10, 0);
    assert_eq!(
        s.remaining_minutes(local(NEW_YORK, 2026, 11, 30, 9, 30), deadline),
        30
    );
    assert_eq!(
        s.remaining_minutes(local(NEW_YORK, 2026, 11, 30, 11, 0), deadline),
        -60
    );
    assert_eq!(
        s.remaining_minutes(
            local(NEW_YORK, 2026, 11, 30, 10, 0) + Duration::seconds(5),
            deadline
        ),
        -1
    );
}

#[test]
fn a_pause_shifts_the_deadline_by_the_paused_business_time() {
    let s = nine_to_five(NEW_YORK);
    let deadline = local(NEW_YORK, 2026, 11, 30, 15, 0);
    // Paused Monday 10:00, resumed Tuesday 11:00: 5 h remained, so Tuesday 16:00.
    let shifted = s.shift_for_pause(
        deadline,
        local(NEW_YORK, 2026, 11, 30, 10, 0),
        local(NEW_YORK, 2026, 12, 1, 11, 0),
    );
    assert_eq!(shifted, Some(local(NEW_YORK, 2026, 12, 1, 16, 0)));
    // Paused after the deadline: it stays missed.
    let late = s.shift_for_pause(
        deadline,
        local(NEW_YORK, 2026, 11, 30, 16, 0),
        local(NEW_YORK, 2026, 12, 1, 11, 0),
    );
    assert_eq!(late, Some(deadline));
}

#[test]
fn a_schedule_that_never_opens_has_no_deadline_and_bad_windows_are_refused() {
    let mut s = Schedule::weekdays(LONDON, 9 * 60, 17 * 60);
    s.windows = Default::default();
    assert_eq!(s.deadline(Utc::now(), 10), None);
    assert!(Schedule::weekdays(LONDON, 600, 540).validated().is_err());
    let mut overlapping = Schedule::weekdays(LONDON, 540, 720);
    overlapping.windows[0].push(Window {
        start: 700,
        end: 800,
    });
    assert!(overlapping.validated().is_err());
}

fn schedules() -> impl Strategy<Value = Schedule> {
    let tz = prop_oneof![Just(NEW_YORK), Just(LONDON)];
    let day = prop_oneof![
        Just(vec![]),
        Just(vec![Window {
            start: 9 * 60,
            end: 17 * 60
        }]),
        Just(vec![
            Window { start: 0, end: 240 },
            Window {
                start: 22 * 60,
                end: 1440
            }
        ]),
        Just(vec![
            Window {
                start: 60,
                end: 180
            },
            Window {
                start: 8 * 60,
                end: 12 * 60
            },
            Window {
                start: 13 * 60,
                end: 18 * 60
            }
        ]),
    ];
    (tz, proptest::array::uniform7(day), any::<bool>()).prop_map(
        |(timezone, windows, always_open)| Schedule {
            timezone,
            always_open,
            windows,
            holidays: vec![Holiday {
                date: NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
                yearly: true,
            }],
        },
    )
}

/// Whole minutes from 2026-01-01 over two years: both DST changes of both zones.
fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..2 * 365 * 24 * 60)
        .prop_map(|m| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(m))
}

proptest! {
    #[test]
    fn the_deadline_of_the_elapsed_time_is_the_instant_itself_inside_business_hours(
        s in schedules(), start in instants(), gap in 0i64..20 * 24 * 60,
    ) {
        let t = start + Duration::minutes(gap);
        // Strictly inside: at the very opening instant the same total was already
        // reached at the previous closing, which is the earlier (and right) deadline.
        prop_assume!(s.is_open(t) && s.is_open(t - Duration::minutes(1)));
        let elapsed = s.elapsed_minutes(start, t);
        prop_assume!(elapsed > 0);
        prop_assert_eq!(s.deadline(start, elapsed), Some(t));
    }

    #[test]
    fn elapsed_time_adds_up_and_never_exceeds_real_time(
        s in schedules(), a in instants(), b in 0i64..10 * 24 * 60, c in 0i64..10 * 24 * 60,
    ) {
        let b = a + Duration::minutes(b);
        let c = b + Duration::minutes(c);
        prop_assert_eq!(s.elapsed_seconds(a, b) + s.elapsed_seconds(b, c), s.elapsed_seconds(a, c));
        prop_assert!(s.elapsed_seconds(a, c) <= (c - a).num_seconds());
        prop_assert_eq!(s.elapsed_seconds(c, a), -s.elapsed_seconds(a, c));
    }

    #[test]
    fn deadlines_grow_with_the_target_and_spend_exactly_it(
        s in schedules(), start in instants(), minutes in 1i64..5000,
    ) {
        let near = s.deadline(start, minutes);
        let far = s.deadline(start, minutes + 1);
        if let (Some(near), Some(far)) = (near, far) {
            prop_assert!(near < far);
            prop_assert_eq!(s.elapsed_minutes(start, near), minutes);
        }
    }

    #[test]
    fn a_pause_outside_business_hours_changes_nothing(
        s in schedules(), start in instants(), target in 60i64..3000, pause in 1i64..600,
    ) {
        prop_assume!(!s.always_open);
        let Some(deadline) = s.deadline(start, target) else { return Ok(()) };
        let paused_at = start;
        let resumed_at = start + Duration::minutes(pause);
        prop_assume!(s.elapsed_seconds(paused_at, resumed_at) == 0);
        prop_assert_eq!(s.shift_for_pause(deadline, paused_at, resumed_at), Some(deadline));
    }
}
