//! Tenants: the MSPs that share one Keel installation.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// The id of a tenant. Every tenant-owned row carries one, and every query on such
/// rows runs in a transaction scoped to exactly one tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TenantId(pub Uuid);

impl TenantId {
    /// The tenant id as 32 lowercase hex digits, the form embedded in API keys and
    /// session cookies so a credential names its tenant without a global lookup.
    pub fn simple(&self) -> String {
        self.0.simple().to_string()
    }

    /// Parses the 32-hex-digit form produced by [`TenantId::simple`].
    pub fn parse_simple(text: &str) -> Option<Self> {
        if text.len() != 32 {
            return None;
        }
        Uuid::try_parse(text).ok().map(TenantId)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant's URL-safe short name (`demo`, `acme-it`): 2–63 characters of lowercase
/// ASCII letters, digits and dashes, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// Why a text is not a valid tenant slug.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlugError {
    /// Shorter than 2 or longer than 63 characters.
    #[error("must be 2 to 63 characters long")]
    Length,
    /// Contains something other than `a-z`, `0-9` and `-`, or starts with `-`.
    #[error(
        "may contain only lowercase letters, digits and dashes, and must not start with a dash"
    )]
    Characters,
}

impl Slug {
    /// Validates `text` as a slug.
    pub fn parse(text: &str) -> Result<Self, SlugError> {
        if !(2..=63).contains(&text.len()) {
            return Err(SlugError::Length);
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if text.starts_with('-') || !text.chars().all(allowed) {
            return Err(SlugError::Characters);
        }
        Ok(Slug(text.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Slug::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> String {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_validated() {
        let cases = [
            ("demo", true),
            ("acme-it", true),
            ("a1", true),
            ("a", false),
            ("-dash", false),
            ("Upper", false),
            ("with space", false),
            ("dot.ted", false),
        ];
        for (text, valid) in cases {
            assert_eq!(Slug::parse(text).is_ok(), valid, "{text}");
        }
        assert_eq!(Slug::parse(&"x".repeat(64)), Err(SlugError::Length));
    }

    #[test]
    fn tenant_id_round_trips_through_its_simple_form() {
        let id = TenantId(uuid::Uuid::now_v7());
        assert_eq!(TenantId::parse_simple(&id.simple()), Some(id));
        assert_eq!(TenantId::parse_simple("not-hex"), None);
    }
}
