//! Running a playbook offline, with no database and no Temporal: every action is
//! answered from fixtures, sleeps pass at once, waits answer the fixture signal
//! (or time out), and the clock is fixed. `keel playbook test` and the shipped
//! library's tests use it; the answers follow the same replay path as a real run.

use crate::catalogue;
use crate::replay::{evaluate, Evaluation, JournalEntry, Request};
use crate::validate::{compile, CompileError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a test feeds the script and expects of it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// What the case shows (for reports).
    #[serde(default)]
    pub name: Option<String>,
    /// The script's `input`.
    #[serde(default)]
    pub input: Value,
    /// Answers by action name: one value for every call, or a list answered in
    /// order (the last repeats). Unlisted actions answer their catalogue fixture.
    #[serde(default)]
    pub actions: BTreeMap<String, Value>,
    /// Payloads by signal name; a wait for an unlisted signal times out.
    #[serde(default)]
    pub signals: BTreeMap<String, Value>,
    /// Event envelopes by event type, answering `wait_for_event`; a wait for an
    /// unlisted type times out.
    #[serde(default)]
    pub events: BTreeMap<String, Value>,
    /// What `now()` answers (default 2026-01-01T09:00:00Z).
    #[serde(default)]
    pub now: Option<String>,
    /// What the run must do.
    #[serde(default)]
    pub expect: Option<Expectations>,
}

/// Checks on a test run.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The script's result.
    #[serde(default)]
    pub result: Option<Value>,
    /// The actions called, in order, by name.
    #[serde(default)]
    pub actions: Option<Vec<String>>,
    /// Whether the run fails (default false).
    #[serde(default)]
    pub fails: bool,
}

/// One durable call of a test run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    /// 1-based position among the durable calls.
    pub step: usize,
    /// What was asked.
    pub request: Request,
    /// What it was answered.
    pub answer: Value,
}

/// The outcome of a test run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Every durable call, in order.
    pub calls: Vec<Call>,
    /// How the script ended.
    pub end: Evaluation,
    /// Expectations not met.
    pub mismatches: Vec<String>,
}

impl Report {
    /// True when the run met every expectation (and, without expectations, did
    /// not fail).
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A fixtures file: one case or a list of them.
pub fn parse_cases(json: &str) -> Result<Vec<Fixtures>, serde_json::Error> {
    match serde_json::from_str::<Value>(json)? {
        Value::Array(cases) => cases.into_iter().map(serde_json::from_value).collect(),
        one => Ok(vec![serde_json::from_value(one)?]),
    }
}

/// Compiles `source` and runs it against `fixtures`.
pub fn run(source: &str, fixtures: &Fixtures) -> Result<Report, Vec<CompileError>> {
    let program = compile(source)?;
    let mut journal: Vec<JournalEntry> = Vec::new();
    let mut calls = Vec::new();
    let mut per_action: BTreeMap<String, usize> = BTreeMap::new();
    let input = if fixtures.input.is_null() {
        Value::Object(Default::default())
    } else {
        fixtures.input.clone()
    };
    let end = loop {
        match evaluate(&program, &input, &journal) {
            Evaluation::Suspended { request, .. } => {
                let answer = answer(fixtures, &request, &mut per_action, journal.len());
                calls.push(Call {
                    step: journal.len() + 1,
                    request: request.clone(),
                    answer: answer.clone(),
                });
                journal.push(JournalEntry {
                    call: request.call(),
                    outcome: Ok(answer),
                });
            }
            end => break end,
        }
    };
    let mismatches = check(fixtures.expect.as_ref(), &calls, &end);
    Ok(Report {
        calls,
        end,
        mismatches,
    })
}

fn answer(
    fixtures: &Fixtures,
    request: &Request,
    per_action: &mut BTreeMap<String, usize>,
    index: usize,
) -> Value {
    match request {
        Request::Action { name, .. } => {
            let nth = per_action.entry(name.clone()).or_default();
            let value = match fixtures.actions.get(name) {
                Some(Value::Array(answers)) if !answers.is_empty() => {
                    answers[(*nth).min(answers.len() - 1)].clone()
                }
                Some(value) => value.clone(),
                None => catalogue::action(name)
                    .and_then(|a| serde_json::from_str(a.fixture).ok())
                    .unwrap_or(Value::Null),
            };
            *nth += 1;
            value
        }
        Request::Sleep { .. } => Value::Null,
        Request::WaitForSignal { name, .. } => {
            fixtures.signals.get(name).cloned().unwrap_or(Value::Null)
        }
        Request::WaitForEvent { event_type, .. } => fixtures
            .events
            .get(event_type)
            .cloned()
            .unwrap_or(Value::Null),
        Request::Now => Value::String(
            fixtures
                .now
                .clone()
                .unwrap_or_else(|| "2026-01-01T09:00:00Z".into()),
        ),
        Request::Uuid => Value::String(format!("00000000-0000-4000-8000-{index:012}")),
    }
}

fn check(expect: Option<&Expectations>, calls: &[Call], end: &Evaluation) -> Vec<String> {
    let mut mismatches = Vec::new();
    let failed = matches!(end, Evaluation::Failed { .. });
    let expects_failure = expect.is_some_and(|e| e.fails);
    if failed != expects_failure {
        mismatches.push(match end {
            Evaluation::Failed { error, .. } => format!("the run failed: {error}"),
            _ => "the run was expected to fail but finished".into(),
        });
    }
    let Some(expect) = expect else {
        return mismatches;
    };
    if let (Some(wanted), Evaluation::Finished { result, .. }) = (&expect.result, end) {
        if wanted != result {
            mismatches.push(format!("result: expected {wanted}, got {result}"));
        }
    }
    if let Some(wanted) = &expect.actions {
        let called: Vec<String> = calls
            .iter()
            .filter_map(|c| match &c.request {
                Request::Action { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        if &called != wanted {
            mismatches.push(format!(
                "actions: expected {}, called {}",
                wanted.join(", "),
                called.join(", ")
            ));
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixtures_answer_in_order_and_expectations_are_checked() {
        let source = r#"
            let a = kv_increment(#{ key: "n" });
            let b = kv_increment(#{ key: "n" });
            let ok = wait_for_signal("go", "1h");
            [a, b, ok, now()]
        "#;
        let fixtures: Fixtures = serde_json::from_value(json!({
            "actions": {"kv_increment": [1, 2]},
            "signals": {"go": true},
            "now": "2026-12-03T10:00:00Z",
            "expect": {"result": [1, 2, true, "2026-12-03T10:00:00Z"],
                       "actions": ["kv_increment", "kv_increment"]},
        }))
        .unwrap();
        let report = run(source, &fixtures).unwrap();
        assert!(report.passed(), "{:?}", report.mismatches);
        assert_eq!(report.calls.len(), 4);

        let wrong: Fixtures = serde_json::from_value(json!({"expect": {"result": 3}})).unwrap();
        let report = run("1 + 1", &wrong).unwrap();
        assert_eq!(report.mismatches, vec!["result: expected 3, got 2"]);
    }
}
