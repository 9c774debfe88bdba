//! Tests of billing windows: which windows a run bills, the charges of each, and
//! that time, usage and bucket rollover flow from window to window exactly once.

use super::catalogue::ServiceKind;
use super::charges::ChargeSource;
use super::cycle::*;
use super::periods::{BillingAnchor, BillingFrequency, BillingTiming, ServicePeriod};
use super::terms::{BucketInput, LineInput, LineKind};
use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const FEE: u128 = 10;
const SUPPORT: u128 = 11;
const BACKUP: u128 = 12;

fn services() -> HashMap<Uuid, ServiceTerms> {
    let service = |name: &str, kind, unit: &str, price| ServiceTerms {
        name: name.into(),
        kind,
        unit: unit.into(),
        tax_category: Some("services".into()),
        price_cents: price,
    };
    HashMap::from([
        (
            id(FEE),
            service("Managed", ServiceKind::Fixed, "device", Some(4_500)),
        ),
        (
            id(SUPPORT),
            service("Support", ServiceKind::Hourly, "hour", Some(12_000)),
        ),
        (
            id(BACKUP),
            service("Backup", ServiceKind::Usage, "GB", None),
        ),
    ])
}

fn line(kind: LineKind, service: u128) -> LineInput {
    LineInput {
        kind: Some(kind),
        service_id: Some(id(service)),
        ..LineInput::default()
    }
}

fn contract(starts: &str, ends: Option<&str>, lines: Vec<LineInput>) -> ContractTerms {
    ContractTerms {
        id: id(1),
        starts_on: day(starts),
        ends_on: ends.map(day),
        frequency: BillingFrequency::Monthly,
        anchor: BillingAnchor::default(),
        lines: lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| (id(100 + i as u128), l))
            .collect(),
    }
}

fn month(start: &str, end: &str) -> ServicePeriod {
    ServicePeriod {
        start: day(start),
        end: day(end),
    }
}

fn time(n: u128, service: Option<u128>, date: &str, minutes: i64, approved: bool) -> UnbilledTime {
    UnbilledTime {
        entry_id: id(n),
        service_id: service.map(id),
        work_date: day(date),
        minutes,
        approved,
    }
}

#[test]
fn a_run_bills_every_unbilled_window_ending_by_its_day() {
    let fee = contract(
        "2026-01-15",
        Some("2026-04-01"),
        vec![line(LineKind::Fixed, FEE)],
    );
    let none = HashSet::new();
    // The window before the start bills January's advance fee.
    assert_eq!(
        windows_due(&fee, day("2026-03-01"), &none).expect("windows"),
        vec![
            month("2025-12-01", "2026-01-01"),
            month("2026-01-01", "2026-02-01"),
            month("2026-02-01", "2026-03-01"),
        ]
    );
    let billed = HashSet::from([day("2025-12-01"), day("2026-01-01")]);
    assert_eq!(
        windows_due(&fee, day("2026-03-01"), &billed).expect("windows"),
        vec![month("2026-02-01", "2026-03-01")]
    );
    // A window ending after the run's day waits; windows after the end stop.
    assert!(windows_due(&fee, day("2025-12-31"), &none)
        .expect("windows")
        .is_empty());
    assert_eq!(
        windows_due(&fee, day("2026-12-01"), &none)
            .expect("windows")
            .last(),
        Some(&month("2026-03-01", "2026-04-01")),
        "March's window bills March's time; nothing after the contract ends"
    );
    let ancient = contract("2000-01-01", None, vec![line(LineKind::Fixed, FEE)]);
    assert!(
        windows_due(&ancient, day("2026-03-01"), &none).is_err(),
        "too far behind"
    );
}

#[test]
fn a_window_bills_arrears_time_and_the_next_period_in_advance() {
    let mut fee = line(LineKind::Fixed, FEE);
    fee.enable_proration = true;
    fee.quantity = Some(Decimal::from(2));
    let terms = contract(
        "2026-01-15",
        None,
        vec![fee, line(LineKind::Hourly, SUPPORT)],
    );
    let entries = vec![
        time(1, Some(SUPPORT), "2026-01-20", 90, true),
        time(2, None, "2026-01-21", 30, true),
        time(3, Some(SUPPORT), "2026-02-03", 60, true),
        time(4, Some(SUPPORT), "2026-01-10", 60, true),
    ];
    let mut taken = Taken::default();
    let services = services();
    let december = bill_window(
        &terms,
        &services,
        month("2025-12-01", "2026-01-01"),
        &entries,
        &[],
        &BTreeMap::new(),
        &mut taken,
    )
    .expect("december");
    // 2 × 45.00 × 17/31 = 49.354… → 49.35; no time before January.
    assert_eq!(december.charges.len(), 1);
    assert_eq!(december.charges[0].amount_cents, 4_935);
    assert_eq!(
        december.charges[0].service_period,
        month("2026-01-01", "2026-02-01")
    );
    let january = bill_window(
        &terms,
        &services,
        month("2026-01-01", "2026-02-01"),
        &entries,
        &[],
        &BTreeMap::new(),
        &mut taken,
    )
    .expect("january");
    let amounts: Vec<i64> = january.charges.iter().map(|c| c.amount_cents).collect();
    // February's full fee ahead, then January's 2 h (the entry without a service
    // goes to the hourly line; the one before the contract started does not bill).
    assert_eq!(amounts, vec![9_000, 24_000]);
    assert_eq!(january.time_entries, vec![id(1), id(2)]);
    let again = bill_window(
        &terms,
        &services,
        month("2026-01-01", "2026-02-01"),
        &entries,
        &[],
        &BTreeMap::new(),
        &mut taken,
    )
    .expect("again");
    assert!(
        again.time_entries.is_empty(),
        "taken time never bills twice"
    );
    assert!(
        unapproved_before(&[time(5, None, "2026-01-31", 5, false)], day("2026-02-01"))
            == vec![id(5)]
    );
    assert!(
        unapproved_before(&[time(5, None, "2026-02-01", 5, false)], day("2026-02-01")).is_empty()
    );
}

#[test]
fn a_missing_price_is_an_error_never_a_zero() {
    let terms = contract("2026-01-01", None, vec![line(LineKind::Usage, BACKUP)]);
    let usage = vec![UnbilledUsage {
        record_id: id(7),
        service_id: id(BACKUP),
        recorded_on: day("2026-01-05"),
        quantity: Decimal::from(10),
    }];
    let failed = bill_window(
        &terms,
        &services(),
        month("2026-01-01", "2026-02-01"),
        &[],
        &usage,
        &BTreeMap::new(),
        &mut Taken::default(),
    );
    assert!(
        matches!(failed, Err(super::BillingError::MissingPrice { .. })),
        "{failed:?}"
    );
}

fn minutes_bucket(included: i64, rollover: bool, timing: BillingTiming) -> LineInput {
    LineInput {
        kind: Some(LineKind::Bucket),
        service_id: Some(id(SUPPORT)),
        rate_cents: Some(50_000),
        billing_timing: Some(timing),
        bucket: Some(BucketInput {
            included_minutes: Some(included),
            included_units: None,
            overage_rate_cents: 15_000,
            allow_rollover: rollover,
        }),
        ..LineInput::default()
    }
}

#[test]
fn bucket_rollover_chains_window_to_window_without_compounding() {
    let terms = contract(
        "2026-01-01",
        None,
        vec![minutes_bucket(600, true, BillingTiming::Arrears)],
    );
    let line_id = terms.lines[0].0;
    let services = services();
    // Used per month: 240 min, 0, 1200 (600 own + 600 rolled in), 900.
    let entries = vec![
        time(1, Some(SUPPORT), "2026-01-10", 240, true),
        time(2, Some(SUPPORT), "2026-03-10", 1_200, true),
        time(3, Some(SUPPORT), "2026-04-10", 900, true),
    ];
    let mut taken = Taken::default();
    let mut carry = BTreeMap::new();
    let mut overage = Vec::new();
    let mut carried = Vec::new();
    for (start, end) in [
        ("2026-01-01", "2026-02-01"),
        ("2026-02-01", "2026-03-01"),
        ("2026-03-01", "2026-04-01"),
        ("2026-04-01", "2026-05-01"),
    ] {
        let bill = bill_window(
            &terms,
            &services,
            month(start, end),
            &entries,
            &[],
            &carry,
            &mut taken,
        )
        .expect("bucket");
        overage.push(
            bill.charges
                .iter()
                .filter(|c| matches!(c.source, ChargeSource::Bucket { overage: true, .. }))
                .map(|c| c.amount_cents)
                .sum::<i64>(),
        );
        carry = bill.rollover_out.clone();
        carried.push(carry.get(&line_id).copied().unwrap_or_default());
    }
    // Unused allowance rolls once and never beyond one period's allowance.
    assert_eq!(
        carried,
        vec![
            Decimal::from(360),
            Decimal::from(600),
            Decimal::ZERO,
            Decimal::ZERO
        ]
    );
    // April: 900 − 600 = 300 min over at 150.00/h = 750.00.
    assert_eq!(overage, vec![0, 0, 0, 75_000]);
}

#[test]
fn an_advance_bucket_bills_the_next_fee_and_this_windows_overage() {
    let terms = contract(
        "2026-01-01",
        None,
        vec![minutes_bucket(60, false, BillingTiming::Advance)],
    );
    let entries = vec![time(1, Some(SUPPORT), "2026-01-10", 90, true)];
    let bill = bill_window(
        &terms,
        &services(),
        month("2026-01-01", "2026-02-01"),
        &entries,
        &[],
        &BTreeMap::new(),
        &mut Taken::default(),
    )
    .expect("bucket");
    let described: Vec<(i64, ServicePeriod)> = bill
        .charges
        .iter()
        .map(|c| (c.amount_cents, c.service_period))
        .collect();
    assert_eq!(
        described,
        vec![
            (7_500, month("2026-01-01", "2026-02-01")),
            (50_000, month("2026-02-01", "2026-03-01"))
        ]
    );
}

proptest! {
    /// Whatever the run days, windows tile time: a run after a run bills the
    /// windows the first did not, none twice and none skipped.
    #[test]
    fn successive_runs_bill_each_window_once(first in 0i64..400, second in 0i64..400, start in 0i64..300) {
        let base = day("2026-01-01");
        let terms = contract(&(base + chrono::Duration::days(start)).to_string(), None, vec![line(LineKind::Fixed, FEE)]);
        let (a, b) = (base + chrono::Duration::days(first.min(second) + start), base + chrono::Duration::days(first.max(second) + start));
        let once = windows_due(&terms, b, &HashSet::new()).expect("windows");
        let earlier = windows_due(&terms, a, &HashSet::new()).expect("windows");
        let billed: HashSet<NaiveDate> = earlier.iter().map(|w| w.start).collect();
        let later = windows_due(&terms, b, &billed).expect("windows");
        let mut both: Vec<ServicePeriod> = earlier.into_iter().chain(later).collect();
        both.sort();
        prop_assert_eq!(&both, &once);
        for pair in once.windows(2) {
            prop_assert_eq!(pair[0].end, pair[1].start);
        }
    }
}
