//! What starts a playbook: `manual` (the UI or the API), a domain `event`
//! optionally narrowed by a filter — a Rhai expression over the event, evaluated
//! in the same sandbox as scripts (`event.data.status == "Waiting on customer"`) —
//! or a cron `schedule` in a timezone, run by a Temporal Schedule, or a signed
//! inbound `webhook` (`POST /api/v1/webhooks/{tenant}/{hook}`).

use crate::sandbox::{self, Limits, LIMITS};
use rhai::{Dynamic, Scope};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most characters a filter may have.
pub const MAX_FILTER_CHARS: usize = 2000;

/// A playbook's trigger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Started by people and integrations only.
    #[default]
    Manual,
    /// Started once for each event of type `event` the filter accepts; the script
    /// sees the event envelope as `input.event`.
    Event {
        /// The event type, e.g. `ticket.created`.
        event: String,
        /// A Rhai expression over `event` that must be true (none: every event).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<String>,
    },
    /// Started by a Temporal Schedule (one per playbook; a run still going when
    /// the next is due makes that one skip); the script's `input` is empty.
    Schedule {
        /// Five-field cron, e.g. `0 8 * * MON-FRI`, or `@daily`.
        cron: String,
        /// IANA timezone the cron is read in (default UTC).
        #[serde(default = "utc")]
        timezone: String,
    },
    /// Started by each signed `POST /api/v1/webhooks/{tenant}/{hook}`; the script's
    /// `input` is the request's JSON body.
    Webhook {
        /// The hook's name in the URL, unique in the tenant (`rmm-alerts`).
        hook: String,
    },
}

fn utc() -> String {
    "UTC".into()
}

impl Trigger {
    /// Checks the event name against `known` types and compiles the filter.
    pub fn validate(&self, known: &[&str]) -> Result<(), String> {
        let (event, filter) = match self {
            Trigger::Manual => return Ok(()),
            Trigger::Webhook { hook } => return check_hook(hook),
            Trigger::Schedule { cron, timezone } => {
                crate::cron::check_cron(cron).map_err(|e| format!("cron {e}"))?;
                return crate::cron::check_timezone(timezone).map_err(|e| format!("timezone {e}"));
            }
            Trigger::Event { event, filter } => (event, filter),
        };
        if !known.contains(&event.as_str()) {
            return Err(format!(
                "event {event:?} is not an event type; known types: {}",
                known.join(", ")
            ));
        }
        match filter {
            Some(filter) => check_filter(filter),
            None => Ok(()),
        }
    }
}

/// Compiles a filter: at most [`MAX_FILTER_CHARS`], an expression over `event`.
pub fn check_filter(filter: &str) -> Result<(), String> {
    if filter.chars().count() > MAX_FILTER_CHARS || filter.contains('\0') {
        return Err(format!(
            "filter must be at most {MAX_FILTER_CHARS} characters"
        ));
    }
    filter_engine()
        .compile_expression_with_scope(&event_scope(&Value::Null), filter)
        .map(drop)
        .map_err(|e| {
            let at = e.position();
            format!(
                "filter {}:{}: {}",
                at.line().unwrap_or(1),
                at.position().unwrap_or(0),
                e.err_type()
            )
        })
}

/// A hook name: 2 to 63 lower-case letters, digits or '-', starting with a
/// letter or digit (it is a URL path segment).
pub fn check_hook(hook: &str) -> Result<(), String> {
    let mut chars = hook.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if first_ok && rest_ok && (2..=63).contains(&hook.len()) {
        Ok(())
    } else {
        Err(format!(
            "hook {hook:?} must be 2 to 63 lower-case letters, digits or '-', starting with a letter or digit"
        ))
    }
}

fn filter_engine() -> rhai::Engine {
    sandbox::engine(Limits {
        max_operations: 50_000,
        ..LIMITS
    })
}

fn event_scope(event: &Value) -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push_dynamic(
        "event",
        rhai::serde::to_dynamic(event).unwrap_or(Dynamic::UNIT),
    );
    scope
}

/// Whether `filter` accepts `event` (the envelope as JSON). A filter that fails
/// or is not a boolean rejects the event, with the reason.
pub fn accepts(filter: Option<&str>, event: &Value) -> Result<bool, String> {
    let Some(filter) = filter else {
        return Ok(true);
    };
    let mut scope = event_scope(event);
    filter_engine()
        .eval_expression_with_scope::<bool>(&mut scope, filter)
        .map_err(|e| format!("the filter failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KNOWN: &[&str] = &["ticket.created", "ticket.status_changed"];

    #[test]
    fn event_names_and_filters_are_checked_when_saved() {
        assert!(Trigger::Manual.validate(KNOWN).is_ok());
        let unknown = Trigger::Event {
            event: "ticket.exploded".into(),
            filter: None,
        };
        assert!(unknown
            .validate(KNOWN)
            .unwrap_err()
            .contains("not an event type"));
        let broken = Trigger::Event {
            event: "ticket.created".into(),
            filter: Some("event.data.number ==".into()),
        };
        assert!(broken.validate(KNOWN).unwrap_err().starts_with("filter 1:"));
    }

    #[test]
    fn schedules_check_their_cron_and_timezone() {
        let schedule = |cron: &str, timezone: &str| Trigger::Schedule {
            cron: cron.into(),
            timezone: timezone.into(),
        };
        assert!(schedule("0 8 * * MON-FRI", "Europe/Paris")
            .validate(KNOWN)
            .is_ok());
        let error = schedule("0 25 * * *", "UTC").validate(KNOWN).unwrap_err();
        assert_eq!(error, "cron hour: 25 is outside 0-23");
        let error = schedule("@daily", "Paris").validate(KNOWN).unwrap_err();
        assert!(error.starts_with("timezone "), "{error}");
        let parsed: Trigger =
            serde_json::from_value(json!({"kind": "schedule", "cron": "@hourly"}))
                .expect("timezone defaults");
        assert_eq!(parsed, schedule("@hourly", "UTC"));
    }

    #[test]
    fn webhook_hooks_are_url_safe_names() {
        let hook = |h: &str| Trigger::Webhook { hook: h.into() }.validate(KNOWN);
        assert!(hook("rmm-alerts").is_ok());
        assert!(hook("a1").is_ok());
        for bad in [
            "",
            "a",
            "-rmm",
            "RMM",
            "rmm alerts",
            "rmm/../x",
            &"a".repeat(64),
        ] {
            let error = hook(bad).unwrap_err();
            assert!(error.starts_with("hook "), "{bad}: {error}");
        }
        let parsed: Trigger = serde_json::from_value(json!({"kind": "webhook", "hook": "rmm"}))
            .expect("a webhook trigger");
        assert_eq!(parsed, Trigger::Webhook { hook: "rmm".into() });
    }

    #[test]
    fn filters_see_the_event_and_fail_closed() {
        let event =
            json!({"type": "ticket.status_changed", "data": {"status": "Waiting on customer"}});
        let waiting = r#"event.data.status == "Waiting on customer""#;
        assert_eq!(accepts(Some(waiting), &event), Ok(true));
        assert_eq!(
            accepts(Some(r#"event.data.status == "Open""#), &event),
            Ok(false)
        );
        assert_eq!(accepts(None, &event), Ok(true));
        assert!(
            accepts(Some("event.data.status"), &event).is_err(),
            "not a boolean"
        );
        assert!(accepts(Some("loop { }"), &event).is_err());
    }
}
