//! `keel playbook test`: a playbook run offline against fixtures, for authors and
//! CI. Compile errors print as `file:line:column: message`.

use anyhow::{anyhow, bail, Result};
use dsl::replay::{Evaluation, Request};
use dsl::testing::{self, Fixtures};
use std::path::Path;

/// Runs every case of `fixtures` (or one case with catalogue answers) and fails
/// when a case fails or misses an expectation.
pub fn test(file: &Path, fixtures: Option<&Path>) -> Result<()> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
    let cases = match fixtures {
        Some(path) => {
            let json = std::fs::read_to_string(path)
                .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            testing::parse_cases(&json).map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
        None => vec![Fixtures::default()],
    };
    let mut failed = 0;
    for (n, case) in cases.iter().enumerate() {
        let title = case
            .name
            .clone()
            .unwrap_or_else(|| format!("case {}", n + 1));
        let report = testing::run(&source, case).map_err(|errors| {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("{}:{e}", file.display()))
                .collect();
            anyhow!("{}", lines.join("\n"))
        })?;
        println!("── {title}");
        for call in &report.calls {
            println!(
                "  {:>3}. {} → {}",
                call.step,
                describe(&call.request),
                call.answer
            );
        }
        match &report.end {
            Evaluation::Finished { result, logs } => {
                logs.iter().for_each(|l| println!("  log: {l}"));
                println!("  result: {result}");
            }
            Evaluation::Failed { error, logs } => {
                logs.iter().for_each(|l| println!("  log: {l}"));
                println!("  failed: {error}");
            }
            Evaluation::Suspended { .. } => println!("  (suspended)"),
        }
        if report.passed() {
            println!("  ok");
        } else {
            failed += 1;
            report
                .mismatches
                .iter()
                .for_each(|m| println!("  MISMATCH: {m}"));
        }
    }
    if failed > 0 {
        bail!("{failed} of {} case(s) failed", cases.len());
    }
    println!("{} case(s) passed", cases.len());
    Ok(())
}

fn describe(request: &Request) -> String {
    match request {
        Request::Action { name, args } => format!("{name}({args})"),
        Request::Sleep { seconds } => format!("sleep({seconds}s)"),
        Request::WaitForSignal {
            name,
            timeout_seconds,
        } => match timeout_seconds {
            Some(s) => format!("wait_for_signal({name}, {s}s)"),
            None => format!("wait_for_signal({name})"),
        },
        Request::WaitForEvent {
            event_type,
            filter,
            timeout_seconds,
        } => {
            let filter = filter
                .as_deref()
                .map(|f| format!(", {f:?}"))
                .unwrap_or_default();
            let timeout = timeout_seconds
                .map(|s| format!(", {s}s"))
                .unwrap_or_default();
            format!("wait_for_event({event_type}{filter}{timeout})")
        }
        Request::Now => "now()".into(),
        Request::Uuid => "uuid()".into(),
    }
}
