//! The timesheet approval state machine and its rules: who may approve, which
//! transitions exist, and when entries are locked.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a timesheet is in its approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimesheetStatus {
    /// Being filled in by its user.
    Draft,
    /// Waiting for an approver.
    Submitted,
    /// Approved: its entries are locked and billable time may be billed.
    Approved,
    /// Sent back to its user with a reason.
    ChangesRequested,
}

impl TimesheetStatus {
    /// The stored name (`DRAFT`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TimesheetStatus::Draft => "DRAFT",
            TimesheetStatus::Submitted => "SUBMITTED",
            TimesheetStatus::Approved => "APPROVED",
            TimesheetStatus::ChangesRequested => "CHANGES_REQUESTED",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<TimesheetStatus> {
        [
            TimesheetStatus::Draft,
            TimesheetStatus::Submitted,
            TimesheetStatus::Approved,
            TimesheetStatus::ChangesRequested,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the timesheet's entries may be changed by their user.
    pub fn entries_editable(self) -> bool {
        matches!(
            self,
            TimesheetStatus::Draft | TimesheetStatus::ChangesRequested
        )
    }
}

/// Something done to a timesheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimesheetAction {
    /// Its user hands it in.
    Submit,
    /// An approver accepts it.
    Approve,
    /// An approver sends it back.
    RequestChanges,
    /// A manager takes an approval back (the sheet returns to its user).
    ReverseApproval,
}

/// Why an action is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not from this state (HTTP 409).
    #[error("the timesheet is {from}, so it cannot be {action}", from = .from.as_str().to_lowercase().replace('_', " "), action = past(*.action))]
    NotAllowed {
        /// The current state.
        from: TimesheetStatus,
        /// What was tried.
        action: TimesheetAction,
    },
    /// The actor may not do it (HTTP 403).
    #[error("{0}")]
    Forbidden(&'static str),
}

fn past(action: TimesheetAction) -> &'static str {
    match action {
        TimesheetAction::Submit => "submitted",
        TimesheetAction::Approve => "approved",
        TimesheetAction::RequestChanges => "sent back for changes",
        TimesheetAction::ReverseApproval => "un-approved",
    }
}

/// Who acts, and what they may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The acting user.
    pub user_id: Uuid,
    /// Holds the approval permission.
    pub can_approve: bool,
}

/// The tenant's approval policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// Whether an approver may approve their own timesheet.
    pub allow_self_approval: bool,
}

/// The state after `action` by `actor` on `owner`'s timesheet in state `from`.
pub fn transition(
    from: TimesheetStatus,
    action: TimesheetAction,
    owner: Uuid,
    actor: Actor,
    policy: ApprovalPolicy,
) -> Result<TimesheetStatus, TransitionError> {
    use TimesheetAction::*;
    use TimesheetStatus::*;
    let to = match (from, action) {
        (Draft | ChangesRequested, Submit) => Submitted,
        (Submitted, Approve) => Approved,
        (Submitted, RequestChanges) => ChangesRequested,
        (Approved, ReverseApproval) => ChangesRequested,
        (from, action) => return Err(TransitionError::NotAllowed { from, action }),
    };
    match action {
        Submit if actor.user_id != owner => Err(TransitionError::Forbidden(
            "only its user submits a timesheet",
        )),
        Approve | RequestChanges | ReverseApproval if !actor.can_approve => {
            Err(TransitionError::Forbidden(
                "deciding on timesheets needs the timesheet:approve permission",
            ))
        }
        Approve if actor.user_id == owner && !policy.allow_self_approval => {
            Err(TransitionError::Forbidden(
                "approving one's own timesheet is not allowed in this tenant",
            ))
        }
        _ => Ok(to),
    }
}

/// Pairs of indices of intervals that overlap (`[start, end)` in minutes or any
/// ordered unit); touching intervals do not overlap.
pub fn overlapping<T: Ord + Copy>(intervals: &[(T, T)]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| intervals[i]);
    let mut pairs = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        for &j in &order[k + 1..] {
            if intervals[j].0 >= intervals[i].1 {
                break;
            }
            pairs.push((i.min(j), i.max(j)));
        }
    }
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use TimesheetAction::*;
    use TimesheetStatus::*;

    const OWNER: Uuid = Uuid::from_u128(1);
    const MANAGER: Uuid = Uuid::from_u128(2);

    fn manager() -> Actor {
        Actor {
            user_id: MANAGER,
            can_approve: true,
        }
    }

    fn owner(can_approve: bool) -> Actor {
        Actor {
            user_id: OWNER,
            can_approve,
        }
    }

    #[test]
    fn the_happy_paths() {
        let p = ApprovalPolicy::default();
        assert_eq!(
            transition(Draft, Submit, OWNER, owner(false), p),
            Ok(Submitted)
        );
        assert_eq!(
            transition(Submitted, Approve, OWNER, manager(), p),
            Ok(Approved)
        );
        assert_eq!(
            transition(Submitted, RequestChanges, OWNER, manager(), p),
            Ok(ChangesRequested)
        );
        assert_eq!(
            transition(ChangesRequested, Submit, OWNER, owner(false), p),
            Ok(Submitted)
        );
        assert_eq!(
            transition(Approved, ReverseApproval, OWNER, manager(), p),
            Ok(ChangesRequested)
        );
    }

    #[test]
    fn every_other_transition_is_a_conflict() {
        let all_states = [Draft, Submitted, Approved, ChangesRequested];
        let all_actions = [Submit, Approve, RequestChanges, ReverseApproval];
        let legal = [
            (Draft, Submit),
            (ChangesRequested, Submit),
            (Submitted, Approve),
            (Submitted, RequestChanges),
            (Approved, ReverseApproval),
        ];
        let p = ApprovalPolicy {
            allow_self_approval: true,
        };
        for from in all_states {
            for action in all_actions {
                let outcome = transition(from, action, OWNER, owner(true), p);
                if legal.contains(&(from, action)) {
                    assert!(outcome.is_ok(), "{from:?} {action:?}");
                } else {
                    assert_eq!(outcome, Err(TransitionError::NotAllowed { from, action }));
                }
            }
        }
        assert_eq!(
            TransitionError::NotAllowed {
                from: Approved,
                action: Submit
            }
            .to_string(),
            "the timesheet is approved, so it cannot be submitted"
        );
    }

    #[test]
    fn self_approval_needs_the_tenant_to_allow_it() {
        let strict = ApprovalPolicy::default();
        let lenient = ApprovalPolicy {
            allow_self_approval: true,
        };
        assert!(matches!(
            transition(Submitted, Approve, OWNER, owner(true), strict),
            Err(TransitionError::Forbidden(_))
        ));
        assert_eq!(
            transition(Submitted, Approve, OWNER, owner(true), lenient),
            Ok(Approved)
        );
        assert!(matches!(
            transition(
                Submitted,
                Approve,
                OWNER,
                Actor {
                    user_id: MANAGER,
                    can_approve: false
                },
                lenient
            ),
            Err(TransitionError::Forbidden(_))
        ));
        assert!(matches!(
            transition(Draft, Submit, OWNER, manager(), lenient),
            Err(TransitionError::Forbidden(_))
        ));
    }

    #[test]
    fn locked_states() {
        assert!(Draft.entries_editable() && ChangesRequested.entries_editable());
        assert!(!Submitted.entries_editable() && !Approved.entries_editable());
        for s in [Draft, Submitted, Approved, ChangesRequested] {
            assert_eq!(TimesheetStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn overlaps_are_found_and_touching_entries_are_not() {
        let entries = [(540, 600), (600, 660), (630, 700), (0, 30), (20, 25)];
        assert_eq!(overlapping(&entries), vec![(1, 2), (3, 4)]);
    }

    proptest! {
        /// The sweep finds exactly the pairs a brute-force comparison finds.
        #[test]
        fn overlap_detection_matches_brute_force(raw in proptest::collection::vec((0u32..1440, 1u32..240), 0..40)) {
            let intervals: Vec<(u32, u32)> = raw.iter().map(|(s, len)| (*s, s + len)).collect();
            let mut expected = Vec::new();
            for i in 0..intervals.len() {
                for j in i + 1..intervals.len() {
                    if intervals[i].0 < intervals[j].1 && intervals[j].0 < intervals[i].1 {
                        expected.push((i, j));
                    }
                }
            }
            prop_assert_eq!(overlapping(&intervals), expected);
        }
    }
}
