use super::*;
use crate::validate::compile;
use serde_json::json;

fn program(source: &str) -> Program {
    compile(source).unwrap_or_else(|e| panic!("{e:?}"))
}

/// Plays the workflow's part: answers each request with `answer` until the script
/// finishes or fails; returns the requests in order and the last evaluation.
fn drive(
    program: &Program,
    input: Value,
    mut answer: impl FnMut(&Request) -> Result<Value, String>,
) -> (Vec<Request>, Vec<JournalEntry>, Evaluation) {
    let mut journal = Vec::new();
    let mut requests = Vec::new();
    loop {
        match evaluate(program, &input, &journal) {
            Evaluation::Suspended { request, .. } => {
                journal.push(JournalEntry {
                    call: request.call(),
                    outcome: answer(&request),
                });
                requests.push(request);
            }
            done => return (requests, journal, done),
        }
    }
}

const APPROVAL: &str = r#"
let t = create_ticket(#{ title: `Disk full on ${input.host}`, client_id: "0190d1c2-0000-7000-8000-0000000000c1" });
sleep("2h");
let answer = wait_for_signal("approval", "3d");
if answer == () { fail("nobody approved"); }
add_comment(#{ ticket_id: t.id, body: `Approved: ${answer.note}` });
print("done at " + now());
t.id
"#;

#[test]
fn each_durable_call_is_asked_for_once_in_order_and_replay_repeats_none() {
    let program = program(APPROVAL);
    let (requests, journal, end) = drive(&program, json!({"host": "srv1"}), |r| {
        Ok(match r {
            Request::Action { name, .. } if name == "create_ticket" => {
                json!({"id": "0190d1c2-0000-7000-8000-00000000000a"})
            }
            Request::WaitForSignal { .. } => json!({"note": "go"}),
            Request::Now => json!("2026-12-03T10:00:00Z"),
            _ => Value::Null,
        })
    });
    let calls: Vec<String> = requests.iter().map(Request::call).collect();
    assert_eq!(
        calls,
        [
            "action:create_ticket",
            "sleep",
            "signal:approval",
            "action:add_comment",
            "now"
        ]
    );
    assert_eq!(
        requests[0],
        Request::Action {
            name: "create_ticket".into(),
            args: json!({"title": "Disk full on srv1", "client_id": "0190d1c2-0000-7000-8000-0000000000c1"})
        }
    );
    assert_eq!(requests[1], Request::Sleep { seconds: 7200 });
    assert_eq!(
        requests[2],
        Request::WaitForSignal {
            name: "approval".into(),
            timeout_seconds: Some(3 * 86_400)
        }
    );
    assert_eq!(
        requests[3],
        Request::Action {
            name: "add_comment".into(),
            args: json!({"ticket_id": "0190d1c2-0000-7000-8000-00000000000a", "body": "Approved: go"})
        }
    );
    assert_eq!(
        end,
        Evaluation::Finished {
            result: json!("0190d1c2-0000-7000-8000-00000000000a"),
            logs: vec!["done at 2026-12-03T10:00:00Z".into()]
        }
    );
    // A replay with the whole journal asks for nothing.
    assert_eq!(evaluate(&program, &json!({"host": "srv1"}), &journal), end);
}

#[test]
fn a_timed_out_wait_answers_unit_and_fail_ends_the_run() {
    let program = program(APPROVAL);
    let (_, _, end) = drive(&program, json!({"host": "srv1"}), |r| match r {
        Request::Action { .. } => Ok(json!({"id": "0190d1c2-0000-7000-8000-00000000000a"})),
        _ => Ok(Value::Null),
    });
    let Evaluation::Failed { error, .. } = end else {
        panic!("{end:?}")
    };
    assert!(error.contains("nobody approved"), "{error}");
}

#[test]
fn try_catch_sees_action_errors_but_can_never_swallow_a_suspension() {
    let program = program(
        r#"
        let outcome = "created";
        try { create_ticket(#{ title: "x", client_id: "0190d1c2-0000-7000-8000-0000000000c1" }); } catch (e) { outcome = `refused: ${e}`; }
        let waited = "caught";
        try { sleep(5); waited = "slept"; } catch { }
        [outcome, waited]
        "#,
    );
    let (requests, _, end) = drive(&program, json!({}), |r| match r {
        Request::Action { .. } => Err("title is taken".into()),
        _ => Ok(Value::Null),
    });
    assert_eq!(requests.len(), 2);
    assert_eq!(
        end,
        Evaluation::Finished {
            result: json!(["refused: title is taken", "slept"]),
            logs: vec![]
        }
    );
}

#[test]
fn a_changed_script_is_caught_rather_than_misread() {
    let first = program("create_ticket(#{ title: \"a\", client_id: \"0190d1c2-0000-7000-8000-0000000000c1\" }); sleep(1);");
    let (_, journal, _) = drive(&first, json!({}), |_| {
        Ok(json!({"id": "0190d1c2-0000-7000-8000-00000000000b"}))
    });
    let changed = program("sleep(1); create_ticket(#{ title: \"a\", client_id: \"0190d1c2-0000-7000-8000-0000000000c1\" });");
    let Evaluation::Failed { error, .. } = evaluate(&changed, &json!({}), &journal) else {
        panic!("diverged")
    };
    assert!(error.contains("no longer matches"), "{error}");
}

#[test]
fn fields_built_at_run_time_are_checked_when_called() {
    let program = program("let args = #{ ticket_id: \"nope\", body: 1 }; add_comment(args)");
    let Evaluation::Failed { error, .. } = evaluate(&program, &json!({}), &[]) else {
        panic!()
    };
    assert!(
        error.contains("add_comment(): field \"ticket_id\" must be a UUID"),
        "{error}"
    );
}

fn failure(source: &str) -> String {
    match evaluate(&program(source), &json!({}), &[]) {
        Evaluation::Failed { error, .. } => error,
        other => panic!("{source}: {other:?}"),
    }
}

#[test]
fn an_endless_loop_ends_with_a_clear_error() {
    let error = failure("let n = 0; loop { n += 1; }");
    assert!(error.contains("operations"), "{error}");
    assert!(error.starts_with("1:"), "{error}");
}

#[test]
fn a_recursion_bomb_ends_with_a_clear_error() {
    let error = failure("fn boom(n) { boom(n + 1) } boom(0)");
    assert!(
        error.contains("recursion") || error.contains("Stack overflow"),
        "{error}"
    );
}

#[test]
fn a_hundred_megabyte_string_is_refused() {
    let error = failure("let s = \"0123456789\"; while true { s += s; }");
    assert!(
        error.to_lowercase().contains("too large") || error.contains("Length of string"),
        "{error}"
    );
}

#[test]
fn calling_an_undefined_function_at_run_time_fails_cleanly() {
    let error = failure("let f = Fn(\"no_such_thing\"); f.call(1)");
    assert!(error.contains("no_such_thing"), "{error}");
}

#[test]
fn hostile_input_is_just_data() {
    let program = program("input.x.len()");
    let deep = (0..200).fold(json!("end"), |inner, _| json!([inner]));
    for input in [
        json!({"x": "💥\u{0}"}),
        json!({"x": deep}),
        json!({"x": null}),
    ] {
        // Any outcome is fine as long as it is an outcome, not a panic.
        let _ = evaluate(&program, &input, &[]);
    }
    assert_eq!(
        evaluate(&program, &json!({"x": "abc"}), &[]),
        Evaluation::Finished {
            result: json!(3),
            logs: vec![]
        }
    );
}

#[test]
fn durations_read_as_seconds() {
    assert_eq!(parse_duration("90s"), Some(90));
    assert_eq!(parse_duration("15m"), Some(900));
    assert_eq!(parse_duration("3d"), Some(259_200));
    assert_eq!(parse_duration("42"), Some(42));
    assert_eq!(parse_duration("2 weeks"), None);
    assert_eq!(parse_duration("-1s"), None);
}

#[test]
fn wait_for_event_asks_for_its_type_filter_and_timeout_and_answers_the_envelope() {
    let source = r#"
        let e = wait_for_event("ticket.status_changed", `event.data.id == "${input.id}"`, "2h");
        let any = wait_for_event("client.created");
        [e.data.status, any]
    "#;
    let envelope = json!({"type": "ticket.status_changed", "data": {"status": "Closed"}});
    let (requests, journal, end) = drive(&program(source), json!({"id": "t1"}), |r| match r {
        Request::WaitForEvent { event_type, .. } if event_type == "client.created" => {
            Ok(Value::Null)
        }
        _ => Ok(envelope.clone()),
    });
    assert_eq!(
        requests[0],
        Request::WaitForEvent {
            event_type: "ticket.status_changed".into(),
            filter: Some(r#"event.data.id == "t1""#.into()),
            timeout_seconds: Some(7200),
        }
    );
    assert_eq!(
        requests[1],
        Request::WaitForEvent {
            event_type: "client.created".into(),
            filter: None,
            timeout_seconds: None,
        }
    );
    assert_eq!(journal[0].call, "event:ticket.status_changed");
    assert_eq!(
        end,
        Evaluation::Finished {
            result: json!(["Closed", null]),
            logs: vec![]
        }
    );
}

#[test]
fn wait_for_event_refuses_unknown_types_and_broken_filters_where_called() {
    let error = failure(r#"wait_for_event("ticket.exploded")"#);
    assert!(
        error.starts_with("1:") && error.contains("not an event type"),
        "{error}"
    );
    let error = failure(r#"wait_for_event("ticket.created", "event.data ==")"#);
    assert!(error.contains("filter 1:"), "{error}");
    let error = failure(r#"wait_for_event("ticket.created", 42)"#);
    assert!(error.contains("the filter is text"), "{error}");
}
