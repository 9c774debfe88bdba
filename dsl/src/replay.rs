//! The replaying interpreter. A playbook is evaluated from the top each time the
//! workflow learns something new: every durable call (an action, `sleep`,
//! `wait_for_signal`, `now`, `uuid`) reads its answer from the run's journal by
//! position; the first call past the journal's end stops the evaluation and comes
//! back as a [`Request`] for the workflow to carry out (an activity, a timer, a
//! signal wait). The workflow appends the answer and evaluates again. Evaluation is
//! deterministic, so a replay on another worker takes exactly the same path and
//! nothing the journal already holds happens twice.

use crate::catalogue::{self, ActionSpec, FieldType};
use crate::sandbox::{self, Limits, LIMITS};
use crate::validate::Program;
use rhai::{Dynamic, Engine, EvalAltResult, Map, NativeCallContext, Position, Scope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Durable calls one run may make (actions, timers, waits, clock reads).
pub const MAX_DURABLE_CALLS: usize = 500;

/// Lines `log()` keeps per run.
pub const MAX_LOG_LINES: usize = 200;

/// Longest `sleep` or `wait_for_signal` timeout: a year.
pub const MAX_WAIT_SECONDS: u64 = 366 * 24 * 3600;

/// What a script asks the workflow to do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Run an action as an activity.
    Action {
        /// The action's name.
        name: String,
        /// Its argument map.
        args: Value,
    },
    /// Wait on a durable timer.
    Sleep {
        /// How long.
        seconds: u64,
    },
    /// Wait for the signal `name`, at most `timeout_seconds` (forever when none);
    /// the answer is its payload, or null on timeout.
    WaitForSignal {
        /// The signal's name.
        name: String,
        /// How long at most.
        timeout_seconds: Option<u64>,
    },
    /// Wait for the next domain event of `event_type` in the tenant that
    /// `filter` (a Rhai expression over `event`) accepts, at most
    /// `timeout_seconds`; the answer is the event envelope, or null on timeout.
    WaitForEvent {
        /// The event type, e.g. `ticket.status_changed`.
        event_type: String,
        /// The filter, if any.
        filter: Option<String>,
        /// How long at most (forever when none).
        timeout_seconds: Option<u64>,
    },
    /// Read workflow time (RFC 3339).
    Now,
    /// Draw a UUID from the workflow's deterministic randomness.
    Uuid,
}

impl Request {
    /// The call's identity in the journal: replay checks it to prove the script
    /// took the same path.
    pub fn call(&self) -> String {
        match self {
            Request::Action { name, .. } => format!("action:{name}"),
            Request::Sleep { .. } => "sleep".into(),
            Request::WaitForSignal { name, .. } => format!("signal:{name}"),
            Request::WaitForEvent { event_type, .. } => format!("event:{event_type}"),
            Request::Now => "now".into(),
            Request::Uuid => "uuid".into(),
        }
    }
}

/// One answered durable call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// [`Request::call`] of the call answered.
    pub call: String,
    /// Its result, or the error the script sees (a catchable runtime error).
    pub outcome: Result<Value, String>,
}

/// Where an evaluation stopped.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Evaluation {
    /// The script ended with this value.
    Finished {
        /// The script's last value, as JSON.
        result: Value,
        /// Lines logged.
        logs: Vec<String>,
    },
    /// The script waits on a durable call.
    Suspended {
        /// What it waits on.
        request: Request,
        /// Lines logged so far.
        logs: Vec<String>,
    },
    /// The script failed; the run ends with this error.
    Failed {
        /// Why, with the line and column when known.
        error: String,
        /// Lines logged before.
        logs: Vec<String>,
    },
}

/// The token that marks a deliberate stop, so it is told apart from a limit.
const SUSPEND: &str = "keel:suspend";

#[derive(Default)]
struct Replay {
    journal: Vec<JournalEntry>,
    cursor: usize,
    suspended: Option<Request>,
    failure: Option<String>,
    logs: Vec<String>,
}

type Shared = Arc<Mutex<Replay>>;

/// Evaluates `program` with `input` as far as `journal` answers.
pub fn evaluate(program: &Program, input: &Value, journal: &[JournalEntry]) -> Evaluation {
    evaluate_with(program, input, journal, LIMITS)
}

/// [`evaluate`] under other limits (benchmarks raise the operation cap).
pub fn evaluate_with(
    program: &Program,
    input: &Value,
    journal: &[JournalEntry],
    limits: Limits,
) -> Evaluation {
    let state: Shared = Arc::new(Mutex::new(Replay {
        journal: journal.to_vec(),
        ..Replay::default()
    }));
    let mut engine = sandbox::engine(limits);
    register(&mut engine, &state);
    let mut scope = input_scope(input);
    let outcome = engine.eval_ast_with_scope::<Dynamic>(&mut scope, &program.ast);
    let mut replay = state.lock().unwrap_or_else(|p| p.into_inner());
    let logs = std::mem::take(&mut replay.logs);
    if let Some(request) = replay.suspended.take() {
        return Evaluation::Suspended { request, logs };
    }
    if let Some(error) = replay.failure.take() {
        return Evaluation::Failed { error, logs };
    }
    match outcome {
        Ok(value) => match rhai::serde::from_dynamic::<Value>(&value) {
            Ok(result) => Evaluation::Finished { result, logs },
            Err(e) => Evaluation::Failed {
                error: format!("the script's result is not JSON: {e}"),
                logs,
            },
        },
        Err(error) => Evaluation::Failed {
            error: describe(&error),
            logs,
        },
    }
}

/// The scope every evaluation starts with: `input`. It is a variable, not a
/// constant, so the optimizer never folds the compile-time placeholder into the
/// script; a script that changes it changes only its own copy.
pub(crate) fn input_scope(input: &Value) -> Scope<'static> {
    let mut scope = Scope::new();
    let input = rhai::serde::to_dynamic(input).unwrap_or(Dynamic::UNIT);
    scope.push_dynamic("input", input);
    scope
}

/// An error as the author reads it: the message and where.
fn describe(error: &EvalAltResult) -> String {
    let position = error.position();
    let mut message = error.to_string();
    // Rhai appends " (line x, position y)"; say it our way once.
    if let Some(at) = message.rfind(" (line ") {
        message.truncate(at);
    }
    if let Some(plain) = message.strip_prefix("Runtime error: ") {
        message = plain.to_owned();
    }
    let hint = match error {
        EvalAltResult::ErrorTooManyOperations(_) => {
            format!(
                " (the limit is {} operations per step; is there an endless loop?)",
                LIMITS.max_operations
            )
        }
        EvalAltResult::ErrorStackOverflow(_) => {
            format!(
                " (calls nest at most {} deep; is there endless recursion?)",
                LIMITS.max_call_levels
            )
        }
        _ => String::new(),
    };
    match (position.line(), position.position()) {
        (Some(line), Some(column)) => format!("{line}:{column}: {message}{hint}"),
        (Some(line), None) => format!("{line}: {message}{hint}"),
        _ => format!("{message}{hint}"),
    }
}

/// Registers functions that only exist for the static checks to see their names
/// and arity; they never run.
pub(crate) fn register_stubs(engine: &mut Engine) {
    register(engine, &Shared::default());
}

fn register(engine: &mut Engine, state: &Shared) {
    for action in catalogue::ACTIONS {
        let state = state.clone();
        engine.register_fn(
            action.name,
            move |ctx: NativeCallContext, args: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
                let args = action_args(action, &args, ctx.call_position())?;
                let request = Request::Action {
                    name: action.name.to_owned(),
                    args,
                };
                durable(&state, request, ctx.call_position())
            },
        );
    }
    // Rhai's own `sleep(number)` would block the worker: every overload is replaced
    // by the durable timer.
    let sleeper = |state: &Shared| {
        let s = state.clone();
        move |ctx: NativeCallContext, duration: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
            let seconds = seconds_of(&duration, ctx.call_position())?;
            durable(&s, Request::Sleep { seconds }, ctx.call_position())
        }
    };
    let timer = sleeper(state);
    engine.register_fn("sleep", move |ctx: NativeCallContext, n: rhai::INT| {
        timer(ctx, Dynamic::from_int(n))
    });
    let timer = sleeper(state);
    engine.register_fn("sleep", move |ctx: NativeCallContext, n: rhai::FLOAT| {
        timer(ctx, Dynamic::from_float(n))
    });
    engine.register_fn("sleep", sleeper(state));
    let s = state.clone();
    engine.register_fn(
        "wait_for_signal",
        move |ctx: NativeCallContext, name: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            let request = Request::WaitForSignal {
                name: signal_name(name, ctx.call_position())?,
                timeout_seconds: None,
            };
            durable(&s, request, ctx.call_position())
        },
    );
    let s = state.clone();
    engine.register_fn(
        "wait_for_signal",
        move |ctx: NativeCallContext,
              name: &str,
              timeout: Dynamic|
              -> Result<Dynamic, Box<EvalAltResult>> {
            let request = Request::WaitForSignal {
                name: signal_name(name, ctx.call_position())?,
                timeout_seconds: Some(seconds_of(&timeout, ctx.call_position())?),
            };
            durable(&s, request, ctx.call_position())
        },
    );
    register_wait_for_event(engine, state);
    let s = state.clone();
    engine.register_fn("now", move |ctx: NativeCallContext| {
        durable(&s, Request::Now, ctx.call_position())
    });
    let s = state.clone();
    engine.register_fn("uuid", move |ctx: NativeCallContext| {
        durable(&s, Request::Uuid, ctx.call_position())
    });
    // `print` and `debug` write to the run's log, never to the worker's stdout.
    let s = state.clone();
    engine.on_print(move |line| push_log(&s, line.to_owned()));
    let s = state.clone();
    engine.on_debug(move |line, _, _| push_log(&s, format!("[debug] {line}")));
    let s = state.clone();
    engine.register_fn(
        "fail",
        move |ctx: NativeCallContext, message: &str| -> Result<(), Box<EvalAltResult>> {
            let mut replay = s.lock().unwrap_or_else(|p| p.into_inner());
            let line = ctx.call_position().line().unwrap_or(0);
            replay.failure = Some(format!("{line}: fail(): {message}"));
            Err(EvalAltResult::ErrorTerminated("keel:fail".into(), ctx.call_position()).into())
        },
    );
    crate::helpers::register(engine);
    engine.register_fn("parse_json", |ctx: NativeCallContext, text: &str| {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| runtime(format!("parse_json(): {e}"), ctx.call_position()))?;
        rhai::serde::to_dynamic(value)
    });
    engine.register_fn("to_json", |ctx: NativeCallContext, value: Dynamic| {
        let value: Value = rhai::serde::from_dynamic(&value)?;
        serde_json::to_string(&value)
            .map_err(|e| runtime(format!("to_json(): {e}"), ctx.call_position()))
    });
}

/// `wait_for_event(type)`, `(type, filter)` and `(type, filter, timeout)`; a
/// filter of `()` or `""` accepts every event of the type.
fn register_wait_for_event(engine: &mut Engine, state: &Shared) {
    let waiter = |state: &Shared| {
        let s = state.clone();
        move |ctx: NativeCallContext,
              event_type: &str,
              filter: Dynamic,
              timeout: Option<Dynamic>|
              -> Result<Dynamic, Box<EvalAltResult>> {
            let at = ctx.call_position();
            let request = Request::WaitForEvent {
                event_type: event_type_of(event_type, at)?,
                filter: filter_of(&filter, at)?,
                timeout_seconds: timeout.map(|t| seconds_of(&t, at)).transpose()?,
            };
            durable(&s, request, at)
        }
    };
    let wait = waiter(state);
    engine.register_fn("wait_for_event", move |ctx: NativeCallContext, t: &str| {
        wait(ctx, t, Dynamic::UNIT, None)
    });
    let wait = waiter(state);
    engine.register_fn(
        "wait_for_event",
        move |ctx: NativeCallContext, t: &str, filter: Dynamic| wait(ctx, t, filter, None),
    );
    let wait = waiter(state);
    engine.register_fn(
        "wait_for_event",
        move |ctx: NativeCallContext, t: &str, filter: Dynamic, timeout: Dynamic| {
            wait(ctx, t, filter, Some(timeout))
        },
    );
}

fn event_type_of(event_type: &str, position: Position) -> Result<String, Box<EvalAltResult>> {
    if engine::DomainEvent::TYPE_NAMES.contains(&event_type) {
        Ok(event_type.to_owned())
    } else {
        Err(runtime(
            format!(
                "wait_for_event(): {event_type:?} is not an event type; known types: {}",
                engine::DomainEvent::TYPE_NAMES.join(", ")
            ),
            position,
        ))
    }
}

fn filter_of(filter: &Dynamic, position: Position) -> Result<Option<String>, Box<EvalAltResult>> {
    if filter.is_unit() {
        return Ok(None);
    }
    let Some(text) = filter.read_lock::<rhai::ImmutableString>() else {
        return Err(runtime(
            "wait_for_event(): the filter is text, a Rhai expression over `event`".into(),
            position,
        ));
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    crate::triggers::check_filter(text)
        .map(|()| Some(text.to_owned()))
        .map_err(|e| runtime(format!("wait_for_event(): {e}"), position))
}

fn push_log(state: &Shared, line: String) {
    let mut replay = state.lock().unwrap_or_else(|p| p.into_inner());
    if replay.logs.len() < MAX_LOG_LINES {
        replay.logs.push(line.chars().take(2000).collect());
    }
}

fn runtime(message: String, position: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(message.into(), position).into()
}

/// Answers a durable call from the journal, or stops the evaluation to ask for it.
fn durable(
    state: &Shared,
    request: Request,
    position: Position,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut replay = state.lock().unwrap_or_else(|p| p.into_inner());
    let index = replay.cursor;
    replay.cursor += 1;
    let call = request.call();
    let answered = replay.journal.get(index).cloned();
    match answered {
        Some(entry) if entry.call == call => match entry.outcome {
            Ok(value) => rhai::serde::to_dynamic(value),
            Err(message) => Err(runtime(message, position)),
        },
        Some(entry) => {
            replay.failure = Some(format!(
                "the script no longer matches its run: step {} was {} but the script now calls {call}",
                index + 1,
                entry.call
            ));
            Err(EvalAltResult::ErrorTerminated("keel:diverged".into(), position).into())
        }
        None if index >= MAX_DURABLE_CALLS => {
            let line = position.line().unwrap_or(0);
            replay.failure = Some(format!(
                "{line}: a run may make at most {MAX_DURABLE_CALLS} durable calls (actions, sleeps, waits, now, uuid)"
            ));
            Err(EvalAltResult::ErrorTerminated("keel:limit".into(), position).into())
        }
        None => {
            replay.suspended = Some(request);
            Err(EvalAltResult::ErrorTerminated(SUSPEND.into(), position).into())
        }
    }
}

/// The argument map as JSON, checked against the action's fields.
fn action_args(
    action: &ActionSpec,
    args: &Dynamic,
    position: Position,
) -> Result<Value, Box<EvalAltResult>> {
    let name = action.name;
    let Some(map) = args.read_lock::<Map>() else {
        return Err(runtime(
            format!("{name}() takes one map, like {}", action.example),
            position,
        ));
    };
    let json: Value = rhai::serde::from_dynamic(&Dynamic::from_map(map.clone()))?;
    drop(map);
    check_fields(action, &json).map_err(|m| runtime(format!("{name}(): {m}"), position))?;
    Ok(json)
}

/// Checks a call's fields against the action's: the same rules the static check
/// applies to literal maps, plus types, for maps built at run time.
pub fn check_fields(action: &ActionSpec, args: &Value) -> Result<(), String> {
    let Some(map) = args.as_object() else {
        return Err("takes one map".into());
    };
    for key in map.keys() {
        if !action.fields.iter().any(|f| f.name == key) {
            return Err(format!("has no field {key:?}"));
        }
    }
    for field in action.fields {
        let value = map.get(field.name).filter(|v| !v.is_null());
        match value {
            None if field.required => return Err(format!("needs the field {:?}", field.name)),
            None => {}
            Some(value) => {
                let fits = match field.kind {
                    FieldType::String => value.is_string(),
                    FieldType::Uuid => value
                        .as_str()
                        .is_some_and(|t| t.len() == 36 && t.split('-').count() == 5),
                    FieldType::Integer => value.is_i64(),
                    FieldType::Boolean => value.is_boolean(),
                    FieldType::Any => true,
                };
                if !fits {
                    return Err(format!(
                        "field {:?} must be {}",
                        field.name,
                        match field.kind {
                            FieldType::String => "text",
                            FieldType::Uuid => "a UUID",
                            FieldType::Integer => "a whole number",
                            FieldType::Boolean => "true or false",
                            FieldType::Any => "any value",
                        }
                    ));
                }
            }
        }
    }
    Ok(())
}

fn signal_name(name: &str, position: Position) -> Result<String, Box<EvalAltResult>> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(runtime(
            format!("signal name {name:?} must be 1 to 64 letters, digits, '_' or '-'"),
            position,
        ))
    }
}

/// A duration: whole seconds, or text like "90s", "15m", "2h", "3d".
fn seconds_of(duration: &Dynamic, position: Position) -> Result<u64, Box<EvalAltResult>> {
    let seconds = if let Ok(n) = duration.as_int() {
        u64::try_from(n).ok()
    } else if let Some(text) = duration.read_lock::<rhai::ImmutableString>() {
        parse_duration(text.as_str())
    } else {
        None
    };
    match seconds {
        Some(s) if s <= MAX_WAIT_SECONDS => Ok(s),
        _ => Err(runtime(
            "a duration is whole seconds or text like \"90s\", \"15m\", \"2h\" or \"3d\", at most a year".into(),
            position,
        )),
    }
}

/// "90s", "15m", "2h", "3d" (or plain seconds) as seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests;
