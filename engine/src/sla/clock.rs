//! The SLA clock of one ticket: its response and resolution targets, pauses, and
//! the milestones (notifications, escalations, breaches) still to come. Pure and
//! serialisable: the TicketSla workflow keeps one in its state and asks it when to
//! wake up next.

use super::business_hours::Schedule;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which target a clock measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Time to the first public technician reply.
    Response,
    /// Time to resolution.
    Resolution,
}

impl Measure {
    /// `response` or `resolution`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Response => "response",
            Measure::Resolution => "resolution",
        }
    }
}

/// Something the clock fires once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Milestone {
    /// `percent` of a target has passed (100: the target is breached).
    Threshold {
        /// Which target.
        measure: Measure,
        /// Percent of it.
        percent: u32,
    },
    /// Escalate to `level` (1–3) at `percent` of the resolution target.
    Escalation {
        /// Level.
        level: u8,
        /// Percent of the resolution target.
        percent: u32,
    },
}

impl Milestone {
    /// A stable key, used to record each milestone exactly once.
    pub fn key(self) -> String {
        match self {
            Milestone::Threshold { measure, percent } => format!("{}:{percent}", measure.name()),
            Milestone::Escalation { level, .. } => format!("escalation:{level}"),
        }
    }
}

/// One target's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetClock {
    /// The target in business seconds.
    pub target_seconds: i64,
    /// When the target was met (responded / resolved), if it was.
    pub done_at: Option<DateTime<Utc>>,
}

/// A ticket's SLA clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaClock {
    /// The schedule the clock runs on (24×7 targets use an always-open one).
    pub schedule: Schedule,
    /// When the clock started (the ticket's creation).
    pub started_at: DateTime<Utc>,
    /// The response clock, if the priority has a response target.
    pub response: Option<TargetClock>,
    /// The resolution clock, if the priority has a resolution target.
    pub resolution: Option<TargetClock>,
    /// Business seconds spent paused in completed pauses.
    pub paused_seconds: i64,
    /// Since when the clock is paused, if it is.
    pub paused_since: Option<DateTime<Utc>>,
    /// Notify at these percents (sorted).
    pub notify_percents: Vec<u32>,
    /// Escalate to level i+1 at `escalation_percents[i]` of the resolution target.
    pub escalation_percents: Vec<u32>,
    /// Milestones already fired, never fired again.
    pub fired: Vec<Milestone>,
}

impl SlaClock {
    /// Whether either target exists.
    pub fn has_target(&self) -> bool {
        self.response.is_some() || self.resolution.is_some()
    }

    fn clock(&self, measure: Measure) -> Option<&TargetClock> {
        match measure {
            Measure::Response => self.response.as_ref(),
            Measure::Resolution => self.resolution.as_ref(),
        }
    }

    fn clock_mut(&mut self, measure: Measure) -> Option<&mut TargetClock> {
        match measure {
            Measure::Response => self.response.as_mut(),
            Measure::Resolution => self.resolution.as_mut(),
        }
    }

    /// When `percent` of the `measure` target is reached, counting completed pauses
    /// (a running pause is not counted: the instant moves when it ends).
    pub fn instant_of(&self, measure: Measure, percent: u32) -> Option<DateTime<Utc>> {
        let clock = self.clock(measure)?;
        let seconds = clock.target_seconds * i64::from(percent) / 100;
        self.schedule
            .deadline_after_seconds(self.started_at, seconds + self.paused_seconds)
    }

    /// The due time of a target (its 100 % instant).
    pub fn due_at(&self, measure: Measure) -> Option<DateTime<Utc>> {
        self.instant_of(measure, 100)
    }

    /// Whether the target was met: `None` while it runs and is not yet breached (or
    /// has no target); `Some(false)` as soon as its breach fired.
    pub fn met(&self, measure: Measure) -> Option<bool> {
        let clock = self.clock(measure)?;
        let breached = self.fired.contains(&Milestone::Threshold {
            measure,
            percent: 100,
        });
        match clock.done_at {
            Some(done) => Some(!breached && self.due_at(measure).is_none_or(|due| done <= due)),
            None => breached.then_some(false),
        }
    }

    /// Every milestone of this clock, fired or not.
    fn milestones(&self) -> Vec<Milestone> {
        let mut all = Vec::new();
        for measure in [Measure::Response, Measure::Resolution] {
            if self.clock(measure).is_some() {
                all.extend(
                    self.notify_percents
                        .iter()
                        .map(|&percent| Milestone::Threshold { measure, percent }),
                );
            }
        }
        if self.resolution.is_some() {
            all.extend(
                self.escalation_percents
                    .iter()
                    .enumerate()
                    .map(|(i, &percent)| Milestone::Escalation {
                        level: u8::try_from(i + 1).unwrap_or(3),
                        percent,
                    }),
            );
        }
        all
    }

    /// The next milestone to fire and when: the earliest unfired one of a target not
    /// yet met. `None` while paused, or when nothing is left.
    pub fn next_milestone(&self) -> Option<(Milestone, DateTime<Utc>)> {
        if self.paused_since.is_some() {
            return None;
        }
        self.milestones()
            .into_iter()
            .filter(|m| !self.fired.contains(m))
            .filter_map(|m| {
                let (measure, percent) = match m {
                    Milestone::Threshold { measure, percent } => (measure, percent),
                    Milestone::Escalation { percent, .. } => (Measure::Resolution, percent),
                };
                let clock = self.clock(measure)?;
                if clock.done_at.is_some() {
                    return None;
                }
                Some((m, self.instant_of(measure, percent)?))
            })
            .min_by_key(|(m, at)| (*at, *m))
    }

    /// Records that `milestone` fired.
    pub fn fire(&mut self, milestone: Milestone) {
        if !self.fired.contains(&milestone) {
            self.fired.push(milestone);
        }
    }

    /// The highest escalation level fired so far.
    pub fn escalation_level(&self) -> u8 {
        self.fired
            .iter()
            .filter_map(|m| match m {
                Milestone::Escalation { level, .. } => Some(*level),
                Milestone::Threshold { .. } => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Stops the clock at `at` (a pausing status). Pausing twice is a no-op.
    pub fn pause(&mut self, at: DateTime<Utc>) {
        if self.paused_since.is_none() {
            self.paused_since = Some(at);
        }
    }

    /// Restarts the clock at `at`; the paused business time shifts every open
    /// milestone later by as much.
    pub fn resume(&mut self, at: DateTime<Utc>) {
        if let Some(since) = self.paused_since.take() {
            self.paused_seconds += self.schedule.elapsed_seconds(since, at).max(0);
        }
    }

    /// The first public technician reply at `at`; answers whether it met the target
    /// (`None` when there is no response target or it was already recorded).
    pub fn respond(&mut self, at: DateTime<Utc>) -> Option<bool> {
        let clock = self.clock_mut(Measure::Response)?;
        if clock.done_at.is_some() {
            return None;
        }
        clock.done_at = Some(at);
        self.met(Measure::Response)
    }

    /// The ticket was resolved or closed at `at`: both clocks stop (an unanswered
    /// ticket counts as answered by its resolution), and the clock pauses so a reopen
    /// does not count the closed time.
    pub fn resolve(&mut self, at: DateTime<Utc>) -> Option<bool> {
        self.respond(at);
        self.pause(at);
        let clock = self.clock_mut(Measure::Resolution)?;
        if clock.done_at.is_some() {
            return None;
        }
        clock.done_at = Some(at);
        self.met(Measure::Resolution)
    }

    /// The ticket was reopened at `at`: resolution runs again from where it stood.
    pub fn reopen(&mut self, at: DateTime<Utc>) {
        if let Some(clock) = self.clock_mut(Measure::Resolution) {
            clock.done_at = None;
        }
        self.resume(at);
    }

    /// New targets (a priority or policy change): clocks keep their start, pauses and
    /// fired milestones; a target met stays met.
    pub fn retarget(&mut self, response_seconds: Option<i64>, resolution_seconds: Option<i64>) {
        self.response = retargeted(self.response.take(), response_seconds);
        self.resolution = retargeted(self.resolution.take(), resolution_seconds);
    }
}

fn retargeted(old: Option<TargetClock>, seconds: Option<i64>) -> Option<TargetClock> {
    seconds.map(|target_seconds| TargetClock {
        target_seconds,
        done_at: old.and_then(|c| c.done_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn clock() -> SlaClock {
        SlaClock {
            schedule: Schedule::always_open(),
            started_at: Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(),
            response: Some(TargetClock {
                target_seconds: 3600,
                done_at: None,
            }),
            resolution: Some(TargetClock {
                target_seconds: 4 * 3600,
                done_at: None,
            }),
            paused_seconds: 0,
            paused_since: None,
            notify_percents: vec![50, 75, 90, 100],
            escalation_percents: vec![70, 90, 110],
            fired: Vec::new(),
        }
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        clock().started_at + Duration::minutes(minutes)
    }

    /// Fires milestones in order until `until`, answering their keys.
    fn run_until(c: &mut SlaClock, until: DateTime<Utc>) -> Vec<String> {
        let mut fired = Vec::new();
        while let Some((m, when)) = c.next_milestone() {
            if when > until {
                break;
            }
            c.fire(m);
            fired.push(m.key());
        }
        fired
    }

    #[test]
    fn milestones_fire_in_time_order_exactly_once() {
        let mut c = clock();
        let fired = run_until(&mut c, at(10_000));
        assert_eq!(
            fired,
            vec![
                "response:50",
                "response:75",
                "response:90",
                "response:100",
                "resolution:50",
                "escalation:1",
                "resolution:75",
                "resolution:90",
                "escalation:2",
                "resolution:100",
                "escalation:3"
            ]
        );
        assert_eq!(c.next_milestone(), None);
        assert_eq!(c.escalation_level(), 3);
    }

    #[test]
    fn a_pause_delays_every_open_milestone_by_its_length() {
        let mut c = clock();
        let before = c.due_at(Measure::Resolution).unwrap();
        c.pause(at(30));
        assert_eq!(c.next_milestone(), None, "nothing fires while paused");
        c.resume(at(90));
        assert_eq!(
            c.due_at(Measure::Resolution).unwrap(),
            before + Duration::minutes(60)
        );
        assert_eq!(
            c.next_milestone().unwrap().1,
            at(90),
            "response:50 at 30 min + 60 paused"
        );
    }

    #[test]
    fn a_response_stops_its_clock_and_records_whether_it_met_the_target() {
        let mut c = clock();
        assert_eq!(c.respond(at(45)), Some(true));
        assert_eq!(c.respond(at(50)), None, "only the first reply counts");
        let fired = run_until(&mut c, at(10_000));
        assert!(
            fired.iter().all(|k| !k.starts_with("response")),
            "{fired:?}"
        );
        let mut late = clock();
        assert_eq!(late.respond(at(61)), Some(false));
    }

    #[test]
    fn resolving_stops_everything_and_reopening_resumes_without_the_closed_time() {
        let mut c = clock();
        assert_eq!(c.resolve(at(100)), Some(true));
        assert_eq!(
            c.met(Measure::Response),
            Some(false),
            "resolved after the response target"
        );
        assert_eq!(c.next_milestone(), None);
        c.reopen(at(160));
        assert_eq!(c.met(Measure::Resolution), None);
        // 4 h target, 60 min closed: due 5 h after the start.
        assert_eq!(c.due_at(Measure::Resolution).unwrap(), at(300));
    }

    #[test]
    fn retargeting_keeps_fired_milestones_and_met_targets() {
        let mut c = clock();
        let fired = run_until(&mut c, at(45));
        assert_eq!(fired, vec!["response:50", "response:75"]);
        c.retarget(Some(7200), Some(3600));
        assert_eq!(c.next_milestone().unwrap().0.key(), "resolution:50");
        assert!(!run_until(&mut c, at(10_000)).contains(&"response:50".to_owned()));
    }
}
