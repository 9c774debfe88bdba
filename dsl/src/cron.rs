//! Checking a schedule trigger before Temporal sees it: a five-field cron
//! expression (`minute hour day-of-month month day-of-week`, or `@hourly`,
//! `@daily`, `@weekly`, `@monthly`, `@yearly`) and an IANA timezone. Temporal
//! runs the schedule; this only turns a typo into a message naming the field.

use std::str::FromStr;

/// The shorthands Temporal accepts.
const SHORTHANDS: &[&str] = &["@hourly", "@daily", "@weekly", "@monthly", "@yearly"];

/// One cron field: its name, bounds and the names it accepts (`JAN`, `MON`).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    // 7 is Sunday too, as in most crons.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: DAYS,
    },
];

/// Checks a cron expression; the error names the field and what is wrong.
pub fn check_cron(expression: &str) -> Result<(), String> {
    let expression = expression.trim();
    if expression.starts_with('@') {
        return if SHORTHANDS.contains(&expression) {
            Ok(())
        } else {
            Err(format!(
                "{expression} is not a shorthand; use one of {}",
                SHORTHANDS.join(", ")
            ))
        };
    }
    let parts: Vec<&str> = expression.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        return Err(format!(
            "needs 5 fields (minute hour day-of-month month day-of-week), found {}",
            parts.len()
        ));
    }
    for (part, field) in parts.iter().zip(FIELDS.iter()) {
        for item in part.split(',') {
            check_item(item, field).map_err(|why| format!("{}: {why}", field.name))?;
        }
    }
    Ok(())
}

/// One comma-separated item: `*`, `v`, `v-w`, each optionally `/step`.
fn check_item(item: &str, field: &Field) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        let step: u32 = step
            .parse()
            .map_err(|_| format!("step {step:?} is not a number"))?;
        if step == 0 || step > field.max {
            return Err(format!("step {step} must be 1 to {}", field.max));
        }
    }
    if range == "*" {
        return Ok(());
    }
    let (low, high) = match range.split_once('-') {
        Some((low, high)) => (value(low, field)?, value(high, field)?),
        None => {
            let v = value(range, field)?;
            (v, v)
        }
    };
    if low > high {
        return Err(format!("range {range} runs backwards"));
    }
    Ok(())
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(index) = field.names.iter().position(|n| *n == upper) {
        // Months count from 1, days from 0.
        return Ok(index as u32 + field.min);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if v < field.min || v > field.max {
        return Err(format!("{v} is outside {}-{}", field.min, field.max));
    }
    Ok(v)
}

/// Checks an IANA timezone name (`Europe/Paris`, `UTC`).
pub fn check_timezone(name: &str) -> Result<(), String> {
    chrono_tz::Tz::from_str(name)
        .map(drop)
        .map_err(|_| format!("{name:?} is not an IANA timezone, like Europe/Paris"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_expressions_pass() {
        for ok in [
            "* * * * *",
            "0 9 * * MON-FRI",
            "*/15 8-18 * * 1-5",
            "30 6 1,15 * *",
            "0 0 1 JAN,jul *",
            "0 12 * * 7",
            "@daily",
        ] {
            assert_eq!(check_cron(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn mistakes_name_the_field() {
        let cases = [
            ("* * * *", "needs 5 fields"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("0 24 * * *", "hour: 24 is outside 0-23"),
            ("0 0 0 * *", "day of month: 0 is outside 1-31"),
            ("0 0 * FOO *", "month: \"FOO\" is not a number"),
            ("0 0 * * 8", "day of week: 8 is outside 0-7"),
            ("*/0 * * * *", "minute: step 0 must be"),
            ("0 5-2 * * *", "hour: range 5-2 runs backwards"),
            ("@often", "not a shorthand"),
        ];
        for (expression, expected) in cases {
            let error = check_cron(expression).expect_err(expression);
            assert!(error.contains(expected), "{expression}: {error}");
        }
    }

    #[test]
    fn timezones_are_iana_names() {
        assert!(check_timezone("Europe/Paris").is_ok());
        assert!(check_timezone("UTC").is_ok());
        assert!(check_timezone("Mars/Olympus").is_err());
    }
}
