//! Pure helpers scripts get beside Rhai's own string, array and map functions:
//! JSON paths, text shaping, money and time arithmetic. None has side effects or
//! reads a clock, so they need no journal entry.

use chrono::{DateTime, SecondsFormat, Utc};
use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext, Position, INT};

fn runtime(message: String, position: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(message.into(), position).into()
}

/// Registers the helpers on `engine`.
pub fn register(engine: &mut Engine) {
    engine.register_fn("json_path", json_path);
    engine.register_fn("truncate", |text: &str, max: INT| truncate(text, max));
    engine.register_fn("html_escape", |text: &str| html_escape(text));
    engine.register_fn(
        "format_money",
        |ctx: NativeCallContext, cents: INT, currency: &str| {
            format_money(cents, currency).map_err(|m| runtime(m, ctx.call_position()))
        },
    );
    engine.register_fn(
        "seconds_between",
        |ctx: NativeCallContext, from: &str, to: &str| -> Result<INT, Box<EvalAltResult>> {
            let at = ctx.call_position();
            let (from, to) = (
                time("seconds_between", from, at)?,
                time("seconds_between", to, at)?,
            );
            Ok((to - from).num_seconds())
        },
    );
    engine.register_fn(
        "add_duration",
        |ctx: NativeCallContext, at: &str, duration: Dynamic| -> Result<String, Box<EvalAltResult>> {
            let position = ctx.call_position();
            let start = time("add_duration", at, position)?;
            let seconds = signed_seconds(&duration).ok_or_else(|| {
                runtime(
                    "add_duration(): the duration is whole seconds or text like \"90s\", \"15m\", \"2h\", \"3d\" (\"-3d\" goes back)".into(),
                    position,
                )
            })?;
            let moved = start
                .checked_add_signed(chrono::Duration::seconds(seconds))
                .ok_or_else(|| runtime("add_duration(): the time is out of range".into(), position))?;
            Ok(moved.to_rfc3339_opts(SecondsFormat::Secs, true))
        },
    );
}

/// The value at a dotted path (`"data.lines.0.amount"`), or `()` when absent.
fn json_path(value: Dynamic, path: &str) -> Dynamic {
    let mut current = value;
    for key in path.split('.').filter(|k| !k.is_empty()) {
        let next = if let Some(map) = current.read_lock::<rhai::Map>() {
            map.get(key).cloned()
        } else if let Some(array) = current.read_lock::<rhai::Array>() {
            key.parse::<usize>()
                .ok()
                .and_then(|i| array.get(i).cloned())
        } else {
            None
        };
        match next {
            Some(value) => current = value,
            None => return Dynamic::UNIT,
        }
    }
    current
}

/// At most `max` characters, ending in "…" when cut.
fn truncate(text: &str, max: INT) -> String {
    let max = usize::try_from(max).unwrap_or(0);
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Text safe inside HTML.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Integer cents as `1,234.56 EUR` (money is never a float in Keel).
fn format_money(cents: INT, currency: &str) -> Result<String, String> {
    let valid = currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase());
    if !valid {
        return Err(format!(
            "format_money(): {currency:?} is not a currency code like \"EUR\""
        ));
    }
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    Ok(format!("{sign}{grouped}.{:02} {currency}", cents % 100))
}

fn time(
    function: &str,
    text: &str,
    position: Position,
) -> Result<DateTime<Utc>, Box<EvalAltResult>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            runtime(
                format!("{function}(): {text:?} is not an RFC 3339 time like \"2026-01-31T09:00:00Z\" ({e})"),
                position,
            )
        })
}

/// Whole seconds, or "90s"/"15m"/"2h"/"3d", optionally negative.
fn signed_seconds(duration: &Dynamic) -> Option<i64> {
    if let Ok(n) = duration.as_int() {
        return Some(n);
    }
    let text = duration.read_lock::<rhai::ImmutableString>()?;
    let text = text.trim();
    match text.strip_prefix('-') {
        Some(rest) => crate::replay::parse_duration(rest)
            .and_then(|s| i64::try_from(s).ok())
            .map(|s| -s),
        None => crate::replay::parse_duration(text).and_then(|s| i64::try_from(s).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{self, LIMITS};
    use serde_json::Value;

    fn eval(script: &str) -> Result<Value, String> {
        let mut engine = sandbox::engine(LIMITS);
        register(&mut engine);
        engine
            .eval::<Dynamic>(script)
            .map_err(|e| e.to_string())
            .and_then(|d| rhai::serde::from_dynamic(&d).map_err(|e| e.to_string()))
    }

    #[test]
    fn json_paths_walk_maps_and_arrays() {
        let v = eval(r#"json_path(#{data: #{lines: [#{amount: 1250}]}}, "data.lines.0.amount")"#);
        assert_eq!(v, Ok(serde_json::json!(1250)));
        assert_eq!(eval(r#"json_path(#{a: 1}, "a.b")"#), Ok(Value::Null));
        assert_eq!(eval(r#"json_path([1, 2], "5")"#), Ok(Value::Null));
    }

    #[test]
    fn text_is_cut_and_escaped() {
        assert_eq!(
            eval(r#"truncate("Disk full on srv-01", 9)"#),
            Ok("Disk ful…".into())
        );
        assert_eq!(eval(r#"truncate("short", 10)"#), Ok("short".into()));
        assert_eq!(
            eval(r#"html_escape("<b>\"R&D\"</b>")"#),
            Ok("&lt;b&gt;&quot;R&amp;D&quot;&lt;/b&gt;".into())
        );
    }

    #[test]
    fn money_is_formatted_from_cents() {
        assert_eq!(
            eval(r#"format_money(123456789, "EUR")"#),
            Ok("1,234,567.89 EUR".into())
        );
        assert_eq!(eval(r#"format_money(-5, "USD")"#), Ok("-0.05 USD".into()));
        assert_eq!(
            eval(r#"format_money(100000, "GBP")"#),
            Ok("1,000.00 GBP".into())
        );
        let error = eval(r#"format_money(1, "euro")"#).unwrap_err();
        assert!(error.contains("not a currency code"), "{error}");
    }

    #[test]
    fn times_are_compared_and_moved() {
        let v = eval(r#"seconds_between("2026-01-01T09:00:00Z", "2026-01-03T09:00:30Z")"#);
        assert_eq!(v, Ok(serde_json::json!(172_830)));
        let v = eval(r#"add_duration("2026-01-31T23:00:00Z", "2h")"#);
        assert_eq!(v, Ok("2026-02-01T01:00:00Z".into()));
        let v = eval(r#"add_duration("2026-01-31T09:00:00+01:00", "-3d")"#);
        assert_eq!(v, Ok("2026-01-28T08:00:00Z".into()));
        let error = eval(r#"seconds_between("yesterday", "2026-01-01T00:00:00Z")"#).unwrap_err();
        assert!(error.contains("not an RFC 3339 time"), "{error}");
    }
}
