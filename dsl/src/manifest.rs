//! A playbook as an author submits it: name, description, whether it may run, its
//! manifest (what starts it, the input it takes, the permissions whoever it runs as
//! must hold) and the source, which must compile before anything is saved.

use crate::input_schema::InputSchema;
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
    /// The input it takes: fields with a type, `required` and a `default`
    /// (default none: any object). Every start is checked against it.
    #[serde(default)]
    pub input_schema: Option<InputSchema>,
    /// Permissions whoever a run acts as must hold, besides those its actions
    /// need (which are derived from the source), e.g. `["ticket:update"]`.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

/// A checked input: what to store.
#[derive(Clone, Debug, Default, PartialEq)]
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
    /// Input schema, checked.
    pub input_schema: Option<InputSchema>,
    /// Declared permissions: known names, sorted, each once.
    pub permissions: Option<Vec<String>>,
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
        if let Some(Err(schema_issues)) = self.input_schema.as_ref().map(InputSchema::check) {
            for issue in schema_issues {
                issues.add(issue.field, issue.message);
            }
        }
        let permissions = self
            .permissions
            .as_deref()
            .map(|names| declared_permissions(names, &mut issues));
        let draft = issues
            .finish(|| PlaybookDraft {
                name,
                description,
                source: source.map(str::to_owned),
                enabled: self.enabled,
                trigger: self.trigger.clone(),
                input_schema: self.input_schema.clone(),
                permissions,
            })
            .map_err(PlaybookInputError::Fields)?;
        if let Some(source) = &draft.source {
            compile(source).map_err(PlaybookInputError::Compile)?;
        }
        Ok(draft)
    }
}

/// The declared permission names, sorted and once each; an unknown name is an
/// issue at `permissions[i]`.
fn declared_permissions(names: &[String], issues: &mut Issues) -> Vec<String> {
    let mut known = Vec::new();
    for (index, name) in names.iter().enumerate() {
        match engine::Permission::ALL
            .iter()
            .find(|p| p.name == name.trim())
        {
            Some(permission) => known.push(permission.name.to_owned()),
            None => issues.add(
                format!("permissions[{index}]"),
                format!("{name:?} is not a permission (e.g. ticket:update)"),
            ),
        }
    }
    known.sort();
    known.dedup();
    known
}

/// Whether `schema` lets a run start with no input at all, as a schedule
/// starts it; the refusal names the first field that stops it.
pub fn starts_without_input(schema: &InputSchema) -> Result<(), String> {
    match schema.apply(&serde_json::json!({})) {
        Ok(_) => Ok(()),
        Err(issues) => Err(format!(
            "a scheduled playbook starts with no input, but {} {}",
            issues[0].field, issues[0].message
        )),
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

    #[test]
    fn the_manifest_names_known_permissions_and_a_sound_schema() {
        let input: PlaybookInput = serde_json::from_value(serde_json::json!({
            "permissions": ["ticket:update", "user:update", "ticket:update"],
            "input_schema": [{"name": "days", "type": "integer", "default": 7}],
        }))
        .unwrap();
        let draft = input.validate(false).unwrap();
        assert_eq!(draft.permissions.unwrap(), ["ticket:update", "user:update"]);
        assert!(starts_without_input(&draft.input_schema.unwrap()).is_ok());
        let bad: PlaybookInput = serde_json::from_value(serde_json::json!({
            "permissions": ["ticket:update", "tickets:nuke"],
            "input_schema": [{"name": "client id", "type": "uuid", "required": true}],
        }))
        .unwrap();
        let Err(PlaybookInputError::Fields(issues)) = bad.validate(false) else {
            panic!()
        };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["input_schema[0].name", "permissions[1]"]);
        let required: InputSchema = serde_json::from_value(
            serde_json::json!([{"name": "client_id", "type": "uuid", "required": true}]),
        )
        .unwrap();
        let refusal = starts_without_input(&required).unwrap_err();
        assert!(refusal.contains("input.client_id is required"), "{refusal}");
    }
}
