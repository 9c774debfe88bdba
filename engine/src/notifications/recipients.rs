//! Who receives a notification: the roles each subtype addresses, and the rule that
//! turns candidates into deliveries after tenant switches and user preferences.

use super::{Category, Delivery, Subtype};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Why someone is a candidate recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// The ticket's (or task's) assignee.
    Assignee,
    /// An additional agent watching the ticket.
    Watcher,
    /// The client's contact on the ticket.
    ClientContact,
    /// The manager of the ticket's board.
    BoardManager,
    /// The manager the ticket escalated to.
    EscalationManager,
    /// The approver of a timesheet.
    Approver,
    /// The owner of the record (timesheet submitter, invoice's billing contact).
    Owner,
}

impl RecipientRole {
    /// Whether this role is someone outside the MSP (no in-app inbox, no preferences).
    pub fn is_external(self) -> bool {
        self == RecipientRole::ClientContact
    }
}

/// The roles a subtype addresses, most specific first.
pub fn roles_for(subtype: Subtype) -> &'static [RecipientRole] {
    use RecipientRole::*;
    use Subtype::*;
    match subtype {
        TicketCreated => &[Assignee, BoardManager, ClientContact],
        TicketUpdated => &[Assignee, Watcher],
        TicketAssigned => &[Assignee, Watcher],
        TicketCommentAdded => &[Assignee, Watcher, ClientContact],
        TicketSlaWarning => &[Assignee, BoardManager],
        TicketSlaBreach => &[Assignee, BoardManager, EscalationManager],
        TicketEscalated => &[EscalationManager, Assignee],
        TicketClosed => &[Assignee, Watcher, ClientContact],
        InvoiceGenerated | InvoiceFinalized | InvoicePaymentReceived | InvoiceOverdue => &[Owner],
        ProjectCreated | ProjectMilestoneCompleted => &[Owner, Watcher],
        ProjectTaskAssigned => &[Assignee],
        TimesheetSubmitted | TimesheetApprovalReminder => &[Approver],
        TimesheetApproved | TimesheetRejected => &[Owner],
    }
}

/// Someone who may receive a notification, before settings and preferences apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The user, for people of the MSP.
    pub user_id: Option<Uuid>,
    /// The contact, for the client's people.
    pub contact_id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Their e-mail address, if they have one.
    pub email: Option<String>,
    /// Why they are a candidate.
    pub role: RecipientRole,
}

/// A tenant's switches: categories and subtypes turned off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switches {
    /// Categories turned off (which turns off all their subtypes).
    pub disabled_categories: Vec<Category>,
    /// Single subtypes turned off.
    pub disabled_subtypes: Vec<Subtype>,
}

impl Switches {
    /// Whether the tenant sends `subtype` at all.
    pub fn allows(&self, subtype: Subtype) -> bool {
        !self.disabled_categories.contains(&subtype.category())
            && !self.disabled_subtypes.contains(&subtype)
    }
}

/// A user's preference for one subtype; absent means on, immediate, own address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preference {
    /// Whether the user wants e-mail of this subtype.
    pub enabled: bool,
    /// Right away or in the daily digest.
    pub delivery: Delivery,
    /// Send here instead of the user's own address.
    pub override_email: Option<String>,
}

impl Default for Preference {
    fn default() -> Self {
        Preference {
            enabled: true,
            delivery: Delivery::Immediate,
            override_email: None,
        }
    }
}

/// One recipient's share of a notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedDelivery {
    /// Who.
    pub recipient: Candidate,
    /// Where the e-mail goes; `None` when no e-mail is sent to them.
    pub email: Option<String>,
    /// Immediate or digest, for the e-mail.
    pub delivery: Delivery,
    /// Whether an in-app notification is created (MSP users only).
    pub in_app: bool,
}

/// Turns candidates into deliveries: nothing when the tenant switched the subtype
/// off; each person once (first role wins); `actor` (who caused the event) is left
/// out; users get an in-app notification and e-mail as their preference says;
/// contacts get e-mail only; no address receives the same notification twice.
pub fn plan(
    subtype: Subtype,
    switches: &Switches,
    candidates: Vec<Candidate>,
    preferences: &HashMap<Uuid, Preference>,
    actor: Option<Uuid>,
) -> Vec<PlannedDelivery> {
    if !switches.allows(subtype) {
        return Vec::new();
    }
    let mut people = HashSet::new();
    let mut addresses = HashSet::new();
    let mut planned = Vec::new();
    for candidate in candidates {
        let person = candidate.user_id.or(candidate.contact_id);
        if person.is_none() || !people.insert(person) {
            continue;
        }
        if candidate.user_id.is_some() && candidate.user_id == actor {
            continue;
        }
        let (email, delivery) = match candidate.user_id {
            Some(user) => {
                let preference = preferences.get(&user).cloned().unwrap_or_default();
                let email = preference
                    .enabled
                    .then(|| preference.override_email.or(candidate.email.clone()))
                    .flatten();
                (email, preference.delivery)
            }
            None => (candidate.email.clone(), Delivery::Immediate),
        };
        let email = email.filter(|e| addresses.insert(e.trim().to_lowercase()));
        let in_app = candidate.user_id.is_some();
        if email.is_none() && !in_app {
            continue;
        }
        planned.push(PlannedDelivery {
            recipient: candidate,
            email,
            delivery,
            in_app,
        });
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user(n: u128, role: RecipientRole, email: &str) -> Candidate {
        Candidate {
            user_id: Some(Uuid::from_u128(n)),
            contact_id: None,
            name: format!("user {n}"),
            email: Some(email.to_owned()),
            role,
        }
    }

    fn contact(n: u128, email: &str) -> Candidate {
        Candidate {
            user_id: None,
            contact_id: Some(Uuid::from_u128(n)),
            name: format!("contact {n}"),
            email: Some(email.to_owned()),
            role: RecipientRole::ClientContact,
        }
    }

    #[test]
    fn a_disabled_category_or_subtype_sends_nothing() {
        let people = vec![user(1, RecipientRole::Assignee, "a@x.test")];
        let off = Switches {
            disabled_categories: vec![Category::Tickets],
            disabled_subtypes: vec![],
        };
        assert!(plan(
            Subtype::TicketCreated,
            &off,
            people.clone(),
            &HashMap::new(),
            None
        )
        .is_empty());
        let one_off = Switches {
            disabled_categories: vec![],
            disabled_subtypes: vec![Subtype::TicketClosed],
        };
        assert!(plan(
            Subtype::TicketClosed,
            &one_off,
            people.clone(),
            &HashMap::new(),
            None
        )
        .is_empty());
        assert_eq!(
            plan(
                Subtype::TicketCreated,
                &one_off,
                people,
                &HashMap::new(),
                None
            )
            .len(),
            1
        );
    }

    #[test]
    fn preferences_turn_off_or_redirect_email_but_keep_the_in_app_notice() {
        let people = vec![
            user(1, RecipientRole::Assignee, "a@x.test"),
            user(2, RecipientRole::Watcher, "b@x.test"),
            contact(3, "c@client.test"),
        ];
        let mut prefs = HashMap::new();
        prefs.insert(
            Uuid::from_u128(1),
            Preference {
                enabled: false,
                ..Preference::default()
            },
        );
        prefs.insert(
            Uuid::from_u128(2),
            Preference {
                enabled: true,
                delivery: Delivery::Digest,
                override_email: Some("team@x.test".into()),
            },
        );
        let planned = plan(
            Subtype::TicketClosed,
            &Switches::default(),
            people,
            &prefs,
            None,
        );
        assert_eq!(planned.len(), 3);
        assert_eq!(planned[0].email, None);
        assert!(planned[0].in_app);
        assert_eq!(planned[1].email.as_deref(), Some("team@x.test"));
        assert_eq!(planned[1].delivery, Delivery::Digest);
        assert_eq!(planned[2].email.as_deref(), Some("c@client.test"));
        assert!(!planned[2].in_app);
    }

    #[test]
    fn the_actor_is_not_told_of_their_own_change() {
        let people = vec![
            user(1, RecipientRole::Assignee, "a@x.test"),
            user(2, RecipientRole::Watcher, "b@x.test"),
        ];
        let planned = plan(
            Subtype::TicketUpdated,
            &Switches::default(),
            people,
            &HashMap::new(),
            Some(Uuid::from_u128(1)),
        );
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].recipient.user_id, Some(Uuid::from_u128(2)));
    }

    proptest! {
        /// However candidates repeat and preferences redirect, no person and no
        /// address appears twice, and every e-mail has an address.
        #[test]
        fn nobody_is_notified_twice(
            picks in proptest::collection::vec((0u128..6, 0usize..4, any::<bool>()), 0..30),
            overrides in proptest::collection::vec((0u128..6, 0usize..4), 0..6),
        ) {
            let addresses = ["a@x.test", "B@x.test", "b@x.test ", "c@x.test"];
            let candidates: Vec<Candidate> = picks
                .iter()
                .map(|(n, a, is_user)| {
                    if *is_user { user(*n, RecipientRole::Watcher, addresses[*a]) } else { contact(*n + 100, addresses[*a]) }
                })
                .collect();
            let prefs: HashMap<Uuid, Preference> = overrides
                .iter()
                .map(|(n, a)| (Uuid::from_u128(*n), Preference { override_email: Some(addresses[*a].into()), ..Preference::default() }))
                .collect();
            let planned = plan(Subtype::TicketClosed, &Switches::default(), candidates, &prefs, None);
            let mut people = HashSet::new();
            let mut emails = HashSet::new();
            for p in &planned {
                prop_assert!(people.insert(p.recipient.user_id.or(p.recipient.contact_id)));
                if let Some(e) = &p.email {
                    prop_assert!(emails.insert(e.trim().to_lowercase()));
                }
                prop_assert!(p.email.is_some() || p.in_app);
            }
        }
    }
}
