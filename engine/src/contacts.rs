//! Contacts: the people at a client, with several typed e-mail addresses and phone
//! numbers of which one each is primary.

use crate::clients::text_enum;
use crate::identity::Email;
use crate::validation::{self, input_and_patch, FieldIssue, Issues};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most addresses or numbers a contact may have of each.
pub const MAX_ENTRIES: usize = 10;

text_enum! {
    /// What an e-mail address is for.
    EmailKind, "e-mail kind" {
        /// Work address (the default).
        Work = "work",
        /// Personal address.
        Personal = "personal",
        /// Anything else.
        Other = "other",
    }
}

text_enum! {
    /// What a phone number is.
    PhoneKind, "phone kind" {
        /// Office line (the default).
        Work = "work",
        /// Mobile.
        Mobile = "mobile",
        /// Home.
        Home = "home",
        /// Fax.
        Fax = "fax",
        /// Anything else.
        Other = "other",
    }
}

/// One e-mail address of a contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactEmail {
    /// `work` (default), `personal` or `other`.
    #[serde(default = "default_email_kind")]
    pub kind: EmailKind,
    /// The address; stored lowercased.
    pub address: String,
    /// The address notifications go to; exactly one entry is primary.
    #[serde(default)]
    pub is_primary: bool,
}

/// One phone number of a contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPhone {
    /// `work` (default), `mobile`, `home`, `fax` or `other`.
    #[serde(default = "default_phone_kind")]
    pub kind: PhoneKind,
    /// Digits with optional `+`, spaces, `-`, `.`, `()` and an `x` extension.
    pub number: String,
    /// The number shown first; exactly one entry is primary.
    #[serde(default)]
    pub is_primary: bool,
}

fn default_email_kind() -> EmailKind {
    EmailKind::Work
}

fn default_phone_kind() -> PhoneKind {
    PhoneKind::Work
}

/// A phone number as people write it: 3–32 characters, at least 3 digits, `+` only
/// in front; formatting is kept as entered.
pub fn phone_number(text: &str) -> Result<String, String> {
    let number = text.trim();
    let allowed = number.chars().enumerate().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | 'x') || (c == '+' && i == 0)
    });
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if allowed && digits >= 3 && number.len() <= 32 {
        Ok(number.to_owned())
    } else {
        Err("must be a phone number like +1 212-555-0100".into())
    }
}

input_and_patch! {
    /// A contact as submitted.
    ContactInput,
    /// A partial change to a contact; a new `client_id` moves the contact.
    ContactPatch {
        /// The client the contact belongs to. Required.
        client_id: Uuid,
        /// 1–200 characters. Required.
        full_name: String,
        /// Job title or role, e.g. "Office manager".
        role: String,
        /// The primary e-mail address, unique among the tenant's contacts
        /// (case-insensitive). Shorthand for the primary entry of `emails`.
        email: String,
        /// The primary phone number; shorthand for the primary entry of `phones`.
        phone: String,
        /// All addresses; one is primary.
        emails: Vec<ContactEmail>,
        /// All numbers; one is primary.
        phones: Vec<ContactPhone>,
        /// Free text.
        notes: String,
        /// Inactive contacts are kept for history but not offered in pickers.
        is_inactive: bool,
    }
}

/// A validated contact.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactDraft {
    /// Owning client.
    pub client_id: Uuid,
    /// Full name.
    pub full_name: String,
    /// Role.
    pub role: String,
    /// All addresses, lowercased, exactly one primary when non-empty.
    pub emails: Vec<ContactEmail>,
    /// All numbers, exactly one primary when non-empty.
    pub phones: Vec<ContactPhone>,
    /// Notes.
    pub notes: String,
    /// Inactive.
    pub is_inactive: bool,
}

impl ContactDraft {
    /// The primary address, if any.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.is_primary)
            .map(|e| e.address.as_str())
    }

    /// The primary number, if any.
    pub fn primary_phone(&self) -> Option<&str> {
        self.phones
            .iter()
            .find(|p| p.is_primary)
            .map(|p| p.number.as_str())
    }
}

impl ContactInput {
    /// Checks every field. `email`/`phone` name the primary entry: an address already
    /// in `emails` becomes primary, a new one replaces the primary entry.
    pub fn validate(&self) -> Result<ContactDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        let full_name = issues.check(
            "full_name",
            validation::required_text(self.full_name.as_deref(), 200),
        );
        let role = issues.check("role", validation::notes_text(self.role.as_deref(), 200));
        let notes = issues.check(
            "notes",
            validation::notes_text(self.notes.as_deref(), 10_000),
        );
        let emails = self.validated_emails(&mut issues);
        let phones = self.validated_phones(&mut issues);
        issues.finish(|| ContactDraft {
            client_id: self.client_id.unwrap_or_default(),
            full_name: full_name.unwrap_or_default(),
            role: role.unwrap_or_default(),
            emails,
            phones,
            notes: notes.unwrap_or_default(),
            is_inactive: self.is_inactive.unwrap_or(false),
        })
    }

    fn validated_emails(&self, issues: &mut Issues) -> Vec<ContactEmail> {
        let mut emails = self.emails.clone().unwrap_or_default();
        for (i, entry) in emails.iter_mut().enumerate() {
            match Email::parse(&entry.address) {
                Ok(email) => entry.address = email.into(),
                Err(e) => issues.add(format!("emails[{i}].address"), e.to_string()),
            }
        }
        if let Some(text) = self.email.as_deref().filter(|t| !t.trim().is_empty()) {
            match Email::parse(text) {
                Ok(email) => promote(
                    &mut emails,
                    |e| e.address == email.as_str(),
                    |e| e.is_primary = true,
                    |e| e.is_primary = false,
                    ContactEmail {
                        kind: EmailKind::Work,
                        address: email.to_string(),
                        is_primary: true,
                    },
                ),
                Err(e) => issues.add("email", e.to_string()),
            }
        }
        check_entries(issues, "emails", &emails, |e| e.is_primary, |e| &e.address);
        emails
    }

    fn validated_phones(&self, issues: &mut Issues) -> Vec<ContactPhone> {
        let mut phones = self.phones.clone().unwrap_or_default();
        for (i, entry) in phones.iter_mut().enumerate() {
            match phone_number(&entry.number) {
                Ok(number) => entry.number = number,
                Err(e) => issues.add(format!("phones[{i}].number"), e),
            }
        }
        if let Some(text) = self.phone.as_deref().filter(|t| !t.trim().is_empty()) {
            match phone_number(text) {
                Ok(number) => promote(
                    &mut phones,
                    |p| p.number == number,
                    |p| p.is_primary = true,
                    |p| p.is_primary = false,
                    ContactPhone {
                        kind: PhoneKind::Work,
                        number: number.clone(),
                        is_primary: true,
                    },
                ),
                Err(e) => issues.add("phone", e),
            }
        }
        check_entries(issues, "phones", &phones, |p| p.is_primary, |p| &p.number);
        phones
    }
}

/// Makes the entry matching `is_it` primary, or replaces the primary entry with
/// `new` (inserting it first when there is none).
fn promote<T>(
    entries: &mut Vec<T>,
    is_it: impl Fn(&T) -> bool,
    set: impl Fn(&mut T),
    unset: impl Fn(&mut T),
    new: T,
) where
    T: HasPrimary,
{
    if let Some(index) = entries.iter().position(&is_it) {
        entries.iter_mut().for_each(&unset);
        set(&mut entries[index]);
    } else if let Some(primary) = entries.iter_mut().find(|e| e.primary()) {
        *primary = new;
    } else {
        entries.iter_mut().for_each(&unset);
        entries.insert(0, new);
    }
}

trait HasPrimary {
    fn primary(&self) -> bool;
}

impl HasPrimary for ContactEmail {
    fn primary(&self) -> bool {
        self.is_primary
    }
}

impl HasPrimary for ContactPhone {
    fn primary(&self) -> bool {
        self.is_primary
    }
}

fn check_entries<T>(
    issues: &mut Issues,
    field: &str,
    entries: &[T],
    is_primary: impl Fn(&T) -> bool,
    value: impl Fn(&T) -> &String,
) {
    if entries.len() > MAX_ENTRIES {
        issues.add(field, format!("must have at most {MAX_ENTRIES} entries"));
    }
    let primaries = entries.iter().filter(|e| is_primary(e)).count();
    if !entries.is_empty() && primaries != 1 {
        issues.add(field, "exactly one entry must be primary");
    }
    for (i, entry) in entries.iter().enumerate() {
        if entries[..i]
            .iter()
            .any(|earlier| value(earlier) == value(entry))
        {
            issues.add(format!("{field}[{i}]"), "is listed twice");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> ContactInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn email_shorthand_becomes_the_primary_entry() {
        let draft = input(serde_json::json!({
            "client_id": Uuid::nil(), "full_name": "Ann", "email": "Ann@Example.com", "phone": "+1 212 555 0100"
        }))
        .validate()
        .unwrap();
        assert_eq!(draft.primary_email(), Some("ann@example.com"));
        assert_eq!(draft.primary_phone(), Some("+1 212 555 0100"));
    }

    #[test]
    fn a_new_primary_email_replaces_the_old_primary_and_keeps_the_rest() {
        let mut stored = input(serde_json::json!({
            "client_id": Uuid::nil(), "full_name": "Ann",
            "emails": [{"address": "a@x.com", "is_primary": true}, {"address": "b@x.com", "kind": "personal"}]
        }));
        stored.email = Some("b@x.com".into());
        let draft = stored.validate().unwrap();
        assert_eq!(draft.primary_email(), Some("b@x.com"));
        assert_eq!(draft.emails.len(), 2);
        stored.email = Some("c@x.com".into());
        let draft = stored.validate().unwrap();
        assert_eq!(draft.primary_email(), Some("c@x.com"));
        assert_eq!(draft.emails.len(), 2);
    }

    #[test]
    fn lists_need_exactly_one_primary_and_no_duplicates() {
        let issues = input(serde_json::json!({
            "client_id": Uuid::nil(), "full_name": "Ann",
            "emails": [{"address": "a@x.com"}, {"address": "A@x.com"}],
            "phones": [{"number": "12"}]
        }))
        .validate()
        .unwrap_err();
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["emails", "emails[1]", "phones[0].number", "phones"]
        );
    }

    #[test]
    fn phone_numbers() {
        assert!(phone_number("+44 (20) 7946-0018 x12").is_ok());
        assert!(phone_number("12").is_err());
        assert!(phone_number("1+23").is_err());
        assert!(phone_number("call me").is_err());
    }
}
