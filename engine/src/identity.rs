//! People who sign in to Keel.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A normalised (trimmed, lowercased) e-mail address with one `@`, a non-empty local
/// part and a domain that contains a dot. Deliverability is not checked here.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why a text is not an acceptable e-mail address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    /// Not of the form `local@domain.tld`, or longer than 254 characters.
    #[error("must be an e-mail address like name@example.com")]
    Malformed,
}

impl Email {
    /// Validates and normalises `text`.
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim().to_lowercase();
        let Some((local, domain)) = text.split_once('@') else {
            return Err(EmailError::Malformed);
        };
        let well_formed = !local.is_empty()
            && text.len() <= 254
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.chars().any(|c| c.is_whitespace() || c.is_control());
        if well_formed {
            Ok(Email(text))
        } else {
            Err(EmailError::Malformed)
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_validated() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "nul\u{0}@example.com",
            "a@b@c.com",
            "ann@.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad:?}");
        }
    }
}
