//! SLA countdowns as people read them ("in 2h 15m", "overdue 30m", "paused",
//! "met"), computed on the server from a target's due time and the clock, so the
//! pages need no script. Pure: the caller passes `now`.

use activities::tickets::Ticket;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One SLA target of a ticket (first response or resolution), as far as the
/// countdown needs it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target {
    /// When the target falls due; none when the policy sets no target.
    pub due_at: Option<DateTime<Utc>>,
    /// Whether it was met; none while undecided.
    pub met: Option<bool>,
    /// When the target was reached (first reply, resolution or close), if it was.
    pub done_at: Option<DateTime<Utc>>,
    /// Since when the clock stands still.
    pub paused_since: Option<DateTime<Utc>>,
    /// The SLA workflow has not planned the ticket's clock yet.
    pub pending: bool,
}

impl Target {
    /// The ticket's first-response target.
    pub fn response(ticket: &Ticket) -> Target {
        let closed = ticket.closed_at.filter(|_| ticket.is_closed);
        Target {
            due_at: ticket.response_due_at,
            met: ticket.response_met,
            done_at: ticket.first_response_at.or(ticket.resolved_at).or(closed),
            paused_since: ticket.sla_paused_at,
            pending: pending(ticket),
        }
    }

    /// The ticket's resolution target.
    pub fn resolution(ticket: &Ticket) -> Target {
        let closed = ticket.closed_at.filter(|_| ticket.is_closed);
        Target {
            due_at: ticket.resolution_due_at,
            met: ticket.resolution_met,
            done_at: ticket.resolved_at.or(closed),
            paused_since: ticket.sla_paused_at,
            pending: pending(ticket),
        }
    }
}

/// An open ticket whose SLA clock is not planned yet (its workflow is starting).
fn pending(ticket: &Ticket) -> bool {
    !ticket.is_closed && ticket.sla_state == "pending"
}

/// What a page shows for a target: the text and a tone for its colour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Countdown {
    /// "in 2h 15m", "overdue 30m", "paused", "no target", "pending", "met", "missed".
    pub text: String,
    /// `ok`, `soon` (under an hour left), `overdue`, `met`, `missed` or `idle`
    /// (paused, no target, pending).
    pub tone: &'static str,
}

impl Countdown {
    fn new(text: impl Into<String>, tone: &'static str) -> Countdown {
        Countdown {
            text: text.into(),
            tone,
        }
    }
}

/// The countdown of `target` at `now`.
pub fn countdown(target: Target, now: DateTime<Utc>) -> Countdown {
    let met = || Countdown::new("met", "met");
    let missed = || Countdown::new("missed", "missed");
    if let Some(done) = target.done_at {
        return match (target.met, target.due_at) {
            (Some(true), _) => met(),
            (Some(false), _) => missed(),
            (None, Some(due)) if done <= due => met(),
            (None, Some(_)) => missed(),
            (None, None) => Countdown::new("no target", "idle"),
        };
    }
    if target.met == Some(true) {
        return met();
    }
    let Some(due) = target.due_at else {
        return if target.met == Some(false) {
            missed()
        } else if target.pending {
            Countdown::new("pending", "idle")
        } else {
            Countdown::new("no target", "idle")
        };
    };
    if target.paused_since.is_some() {
        return Countdown::new("paused", "idle");
    }
    let left = (due - now).num_seconds();
    if left > 0 {
        let tone = if left < 3600 { "soon" } else { "ok" };
        Countdown::new(format!("in {}", span(left)), tone)
    } else {
        Countdown::new(format!("overdue {}", span(-left)), "overdue")
    }
}

/// `seconds` as "45m", "2h 15m", "3d 4h" (whole units, rounded down), "<1m".
pub fn span(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    if minutes < 1 {
        return "<1m".to_owned();
    }
    if minutes < 60 {
        return format!("{minutes}m");
    }
    let (hours, minutes) = (minutes / 60, minutes % 60);
    if hours < 24 {
        return if minutes == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h {minutes}m")
        };
    }
    let (days, hours) = (hours / 24, hours % 24);
    if hours == 0 {
        format!("{days}d")
    } else {
        format!("{days}d {hours}h")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
    }

    fn due_in(delta: Duration) -> Target {
        Target {
            due_at: Some(now() + delta),
            ..Target::default()
        }
    }

    #[test]
    fn an_open_target_counts_down_then_up() {
        let c = countdown(
            due_in(Duration::minutes(135) + Duration::seconds(30)),
            now(),
        );
        assert_eq!(c, Countdown::new("in 2h 15m", "ok"));
        assert_eq!(
            countdown(due_in(Duration::minutes(45)), now()),
            Countdown::new("in 45m", "soon")
        );
        assert_eq!(
            countdown(due_in(Duration::minutes(-30)), now()),
            Countdown::new("overdue 30m", "overdue")
        );
        assert_eq!(
            countdown(due_in(Duration::zero()), now()).text,
            "overdue <1m"
        );
        assert_eq!(
            countdown(due_in(Duration::hours(76)), now()).text,
            "in 3d 4h"
        );
    }

    #[test]
    fn paused_and_targetless_clocks_say_so() {
        let paused = Target {
            paused_since: Some(now() - Duration::hours(1)),
            ..due_in(Duration::hours(2))
        };
        assert_eq!(countdown(paused, now()), Countdown::new("paused", "idle"));
        assert_eq!(
            countdown(Target::default(), now()),
            Countdown::new("no target", "idle")
        );
        let starting = Target {
            pending: true,
            ..Target::default()
        };
        assert_eq!(countdown(starting, now()).text, "pending");
    }

    #[test]
    fn a_reached_target_is_met_or_missed() {
        let met = Target {
            met: Some(true),
            done_at: Some(now()),
            ..due_in(Duration::hours(1))
        };
        assert_eq!(countdown(met, now()), Countdown::new("met", "met"));
        let missed = Target {
            met: Some(false),
            done_at: Some(now()),
            ..due_in(Duration::hours(-1))
        };
        assert_eq!(countdown(missed, now()), Countdown::new("missed", "missed"));
        // Closed before the workflow recorded the outcome: judged by the times.
        let late = Target {
            done_at: Some(now()),
            ..due_in(Duration::minutes(-5))
        };
        assert_eq!(countdown(late, now()).text, "missed");
        let early = Target {
            done_at: Some(now()),
            ..due_in(Duration::minutes(5))
        };
        assert_eq!(countdown(early, now()).text, "met");
        // A breached target of an open ticket keeps counting how late it is.
        let breached = Target {
            met: Some(false),
            ..due_in(Duration::minutes(-90))
        };
        assert_eq!(countdown(breached, now()).text, "overdue 1h 30m");
    }

    #[test]
    fn spans_use_whole_units() {
        assert_eq!(span(59), "<1m");
        assert_eq!(span(-5), "<1m");
        assert_eq!(span(60), "1m");
        assert_eq!(span(3600), "1h");
        assert_eq!(span(3600 * 24), "1d");
        assert_eq!(span(3600 * 25 + 59 * 60), "1d 1h");
    }
}
