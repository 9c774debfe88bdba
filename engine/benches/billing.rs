//! The pure billing engine's speed: one client's invoice (a fixed fee over three
//! services, 30 time entries with overtime, tiered usage, a discount, compound
//! tax), and the same for 10,000 clients, the engine's share of a billing run.

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use engine::billing::charges::*;
use engine::billing::discounts::{Discount, DiscountAmount};
use engine::billing::invoice::price_invoice;
use engine::billing::periods::ServicePeriod;
use engine::billing::tax::{TaxComponent, TaxContext, TaxRate};
use rust_decimal::Decimal;
use std::hint::black_box;
use uuid::Uuid;

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

struct Client {
    fixed: FixedTerms,
    hourly: HourlyTerms,
    usage: UsageTerms,
    time: Vec<BillableTime>,
    records: Vec<UsageRecord>,
    discounts: Vec<Discount>,
    tax: TaxContext,
}

fn client(n: u128) -> Client {
    let service = |k: u128| FeeService {
        service_id: Uuid::from_u128(k),
        name: format!("Managed service {k}"),
        catalogue_cents: 1_000 * k as i64,
        tax_category: Some("services".into()),
    };
    Client {
        fixed: FixedTerms {
            line_id: Uuid::from_u128(1),
            fee_cents: 150_000,
            quantity: Decimal::from(25),
            enable_proration: true,
            services: vec![service(1), service(2), service(3)],
        },
        hourly: HourlyTerms {
            line_id: Uuid::from_u128(2),
            service_id: Uuid::from_u128(4),
            service_name: "Remote support".into(),
            tax_category: Some("services".into()),
            line_rate_cents: Some(12_500),
            catalogue_rate_cents: Some(10_000),
            minimum_billable_minutes: 15,
            round_up_to_minutes: 6,
            overtime_threshold_minutes: Some(40 * 60),
            overtime_rate_cents: Some(18_750),
        },
        usage: UsageTerms {
            line_id: Uuid::from_u128(3),
            service_id: Uuid::from_u128(5),
            service_name: "Backup".into(),
            unit: "GB".into(),
            tax_category: None,
            line_rate_cents: None,
            catalogue_rate_cents: None,
            minimum_quantity: Some(Decimal::from(50)),
            tiers: vec![
                Tier {
                    from_quantity: Decimal::ZERO,
                    to_quantity: Some(Decimal::from(100)),
                    rate_cents: 30,
                },
                Tier {
                    from_quantity: Decimal::from(100),
                    to_quantity: None,
                    rate_cents: 20,
                },
            ],
        },
        time: (0..30)
            .map(|i| BillableTime {
                entry_id: Uuid::from_u128(n * 100 + i),
                work_date: day("2025-01-01") + chrono::Duration::days((i % 28) as i64),
                minutes: 37 + (i as i64 * 13) % 120,
                rate_override_cents: (i % 10 == 0).then_some(15_000),
            })
            .collect(),
        records: (0..10)
            .map(|i| UsageRecord {
                record_id: Uuid::from_u128(i),
                quantity: Decimal::new(1234 + i as i64, 2),
            })
            .collect(),
        discounts: vec![Discount {
            id: Uuid::from_u128(9),
            description: "Loyalty".into(),
            amount: DiscountAmount::Percentage {
                percent: Decimal::new(5, 0),
            },
            line_id: None,
            starts_on: day("2024-01-01"),
            ends_on: None,
        }],
        tax: TaxContext {
            exempt: false,
            rates: Some(vec![TaxRate {
                id: Uuid::from_u128(1),
                starts_on: day("2020-01-01"),
                ends_on: None,
                components: vec![
                    TaxComponent {
                        name: "GST".into(),
                        percent: Decimal::new(5, 0),
                        is_compound: false,
                        sequence: 1,
                    },
                    TaxComponent {
                        name: "QST".into(),
                        percent: Decimal::new(9975, 3),
                        is_compound: true,
                        sequence: 2,
                    },
                ],
            }]),
        },
    }
}

fn bill(c: &Client) -> i64 {
    let period = ServicePeriod {
        start: day("2025-01-01"),
        end: day("2025-02-01"),
    };
    let mut charges = fixed_charges(&c.fixed, period, day("2025-01-10"), None).expect("fixed");
    charges.extend(hourly_charges(&c.hourly, period, &c.time).expect("hourly"));
    charges.extend(usage_charges(&c.usage, period, &c.records).expect("usage"));
    price_invoice(charges, &c.discounts, &c.tax, day("2025-02-01"), period)
        .expect("priced")
        .total_cents
}

fn benches(criterion: &mut Criterion) {
    let one = client(1);
    criterion.bench_function("price one client's invoice (3 lines, 30 entries)", |b| {
        b.iter(|| bill(black_box(&one)))
    });
    let many: Vec<Client> = (0..10_000).map(client).collect();
    let mut group = criterion.benchmark_group("billing run, engine only");
    group.sample_size(10);
    group.bench_function("price 10,000 clients", |b| {
        b.iter(|| many.iter().map(|c| bill(black_box(c))).sum::<i64>())
    });
    group.finish();
}

criterion_group!(billing, benches);
criterion_main!(billing);
