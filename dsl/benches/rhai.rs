//! The cost of Rhai itself: compiling (with Keel's static checks) a 1,000-line
//! playbook, a million simple operations, and one replayed evaluation of a
//! 10-action playbook at each step of its run.

use criterion::{criterion_group, criterion_main, Criterion};
use dsl::replay::{evaluate, evaluate_with, Evaluation, JournalEntry};
use dsl::sandbox::{Limits, LIMITS};
use serde_json::{json, Value};
use std::hint::black_box;

fn thousand_lines() -> String {
    let mut source = String::from("let total = 0;\n");
    for n in 0..333 {
        source.push_str(&format!(
            "let v{n} = #{{ key: \"k{n}\", count: {n} }};\n\
             if v{n}.count % 3 == 0 {{ total += v{n}.count; }} else {{ total -= 1; }}\n\
             kv_set(#{{ key: v{n}.key, value: total }});\n"
        ));
    }
    source
}

const TEN_ACTIONS: &str = r#"
    let n = 0;
    for i in 0..10 { n = kv_increment(#{ key: `counter-${i}` }); }
    n
"#;

fn benches(c: &mut Criterion) {
    let source = thousand_lines();
    assert!(source.lines().count() >= 1000);
    c.bench_function("compile a 1,000-line playbook", |b| {
        b.iter(|| dsl::compile(black_box(&source)).expect("compiles"))
    });

    let million =
        dsl::compile("let x = 0; for i in 0..250000 { x += i % 7; } x").expect("compiles");
    let roomy = Limits {
        max_operations: 10_000_000,
        ..LIMITS
    };
    c.bench_function("1M simple operations", |b| {
        b.iter(|| {
            let end = evaluate_with(&million, &json!({}), &[], roomy);
            assert!(matches!(end, Evaluation::Finished { .. }), "{end:?}");
        })
    });

    let program = dsl::compile(TEN_ACTIONS).expect("compiles");
    c.bench_function("a 10-action run: all 11 replayed evaluations", |b| {
        b.iter(|| {
            let mut journal: Vec<JournalEntry> = Vec::new();
            loop {
                match evaluate(&program, &json!({}), &journal) {
                    Evaluation::Suspended { request, .. } => journal.push(JournalEntry {
                        call: request.call(),
                        outcome: Ok(Value::from(journal.len() as i64)),
                    }),
                    end => break black_box(end),
                }
            }
        })
    });
}

criterion_group!(rhai, benches);
criterion_main!(rhai);
