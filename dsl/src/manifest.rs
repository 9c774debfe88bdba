//! A playbook as an author submits it: name, description, whether it may run, and
//! the source, which must compile before anything is saved.

use crate::triggers::Trigger;
use crate::validate::{compile, CompileError};
use engine::validation::{optional_text, FieldIssue, Issues};
use serde::Deserialize;

/// A new playbook, or changes to one (every field optional; a new `source` saves a
/// new version).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookInput {
    /// 1 to 200 characters, unique in the tenant. Required on create.
    #[serde(default)]
    pub name: Option<String>,
    /// What it does, for the people who run it.
    #[serde(default)]
    pub description: Option<String>,
    /// The Rhai source. Required on create.
    #[serde(default)]
    pub source: Option<String>,
    /// Whether it may run (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// What starts it (default `{"kind": "manual"}`).
    #[serde(default)]
    pub trigger: Option<Trigger>,
}

/// A checked input: what to store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaybookDraft {
    /// Name, trimmed.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Source that compiles.
    pub source: Option<String>,
    /// Enabled flag.
    pub enabled: Option<bool>,
    /// Trigger, checked.
    pub trigger: Option<Trigger>,
}

/// Why an input is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaybookInputError {
    /// Fields are missing or invalid.
    #[error("invalid fields")]
    Fields(Vec<FieldIssue>),
    /// The source does not compile or fails the static checks.
    #[error("the source does not compile")]
    Compile(Vec<CompileError>),
}

impl PlaybookInput {
    /// Checks the fields (`creating` requires name and source), then compiles.
    pub fn validate(&self, creating: bool) -> Result<PlaybookDraft, PlaybookInputError> {
        let mut issues = Issues::default();
        let name = issues
            .check("name", optional_text(self.name.as_deref(), 200))
            .flatten();
        if creating && name.is_none() {
            issues.add("name", "is required");
        }
        let description = issues
            .check(
                "description",
                optional_text(self.description.as_deref(), 2000),
            )
            .flatten();
        let source = self.source.as_deref().filter(|s| !s.trim().is_empty());
        if creating && source.is_none() {
            issues.add("source", "is required");
        }
        if source.is_some_and(|s| s.contains('\0')) {
            issues.add("source", "must not contain the NUL character (U+0000)");
        }
        if let Some(trigger) = &self.trigger {
            if let Err(message) = trigger.validate(engine::DomainEvent::TYPE_NAMES) {
                issues.add("trigger", message);
            }
        }
        let draft = issues
            .finish(|| PlaybookDraft {
                name,
                description,
                source: source.map(str::to_owned),
                enabled: self.enabled,
                trigger: self.trigger.clone(),
            })
            .map_err(PlaybookInputError::Fields)?;
        if let Some(source) = &draft.source {
            compile(source).map_err(PlaybookInputError::Compile)?;
        }
        Ok(draft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_before_the_source_compiles() {
        let missing = PlaybookInput::default().validate(true).unwrap_err();
        let PlaybookInputError::Fields(issues) = missing else {
            panic!()
        };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "source"]);
        let broken = PlaybookInput {
            name: Some("Nudge".into()),
            source: Some("let x = ;".into()),
            ..PlaybookInput::default()
        };
        let Err(PlaybookInputError::Compile(errors)) = broken.validate(true) else {
            panic!()
        };
        assert_eq!((errors[0].line, errors[0].column), (1, 9));
        let patch = PlaybookInput {
            enabled: Some(false),
            ..PlaybookInput::default()
        };
        assert_eq!(patch.validate(false).unwrap().enabled, Some(false));
    }
}
