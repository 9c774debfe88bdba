//! The input a playbook declares in its manifest: named fields with a type,
//! whether a start must give them and a default. Every start (the API, the pages,
//! a webhook, an event, a schedule, a parent run) is checked against it before a
//! run exists, so a script reads `input.<field>` knowing its type.

use engine::validation::{FieldIssue, Issues};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Most fields an input schema may declare.
pub const MAX_INPUT_FIELDS: usize = 50;

/// The JSON type an input field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A UUID as text.
    Uuid,
    /// A calendar date as text, `YYYY-MM-DD`.
    Date,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// Any JSON value.
    Any,
}

impl InputType {
    /// Why `value` is not of this type, or `None` when it is.
    fn mismatch(self, value: &Value) -> Option<&'static str> {
        let fits = match self {
            InputType::String => value.is_string(),
            InputType::Integer => value.is_i64() || value.is_u64(),
            InputType::Boolean => value.is_boolean(),
            InputType::Uuid => value
                .as_str()
                .is_some_and(|t| uuid::Uuid::try_parse(t).is_ok()),
            InputType::Date => value
                .as_str()
                .is_some_and(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok()),
            InputType::Object => value.is_object(),
            InputType::Array => value.is_array(),
            InputType::Any => true,
        };
        (!fits).then_some(match self {
            InputType::String => "must be text",
            InputType::Integer => "must be a whole number",
            InputType::Boolean => "must be true or false",
            InputType::Uuid => "must be a UUID",
            InputType::Date => "must be a date (YYYY-MM-DD)",
            InputType::Object => "must be an object",
            InputType::Array => "must be an array",
            InputType::Any => "",
        })
    }
}

/// One declared input field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputField {
    /// The key under `input` (letters, digits and `_`, starting with a letter).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: InputType,
    /// Whether a start must give it (a default satisfies it).
    #[serde(default)]
    pub required: bool,
    /// The value when a start does not give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// What it means, for the people who start the playbook.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A playbook's declared input: no fields means any object is accepted as is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct InputSchema(pub Vec<InputField>);

impl InputSchema {
    /// Checks the declaration itself; issues name `input_schema[i].<key>`.
    pub fn check(&self) -> Result<(), Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.0.len() > MAX_INPUT_FIELDS {
            issues.add(
                "input_schema",
                format!("declares at most {MAX_INPUT_FIELDS} fields"),
            );
        }
        for (index, field) in self.0.iter().enumerate() {
            let at = |key: &str| format!("input_schema[{index}].{key}");
            if let Err(message) = check_name(&field.name) {
                issues.add(at("name"), message);
            } else if self.0[..index].iter().any(|f| f.name == field.name) {
                issues.add(at("name"), format!("{:?} is declared twice", field.name));
            }
            if let Some(message) = field.default.as_ref().and_then(|d| field.kind.mismatch(d)) {
                issues.add(at("default"), message);
            }
            if field.description.chars().count() > 500 {
                issues.add(at("description"), "must be at most 500 characters");
            }
        }
        issues.finish(|| ())
    }

    /// `input` checked against the declared fields, with defaults filled in.
    /// Fields the schema does not declare pass through untouched (a webhook's
    /// sender may add fields the playbook ignores). Issues name `input.<field>`.
    pub fn apply(&self, input: &Value) -> Result<Value, Vec<FieldIssue>> {
        let Some(given) = input.as_object() else {
            return Err(vec![issue("input", "must be an object")]);
        };
        let mut admitted: Map<String, Value> = given.clone();
        let mut issues = Issues::default();
        for field in &self.0 {
            let path = format!("input.{}", field.name);
            match given.get(&field.name).filter(|v| !v.is_null()) {
                Some(value) => {
                    if let Some(message) = field.kind.mismatch(value) {
                        issues.add(path, message);
                    }
                }
                None => match &field.default {
                    Some(default) => {
                        admitted.insert(field.name.clone(), default.clone());
                    }
                    None if field.required => issues.add(path, "is required"),
                    None => {}
                },
            }
        }
        issues.finish(|| Value::Object(admitted))
    }

    /// Whether no field is declared.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn issue(field: &str, message: &str) -> FieldIssue {
    FieldIssue {
        field: field.into(),
        message: message.into(),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "{name:?} must start with a letter and hold only letters, digits and _"
        ));
    }
    if name.len() > 64 {
        return Err("must be at most 64 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn schema(value: Value) -> InputSchema {
        serde_json::from_value(value).expect("a schema")
    }

    fn fields(issues: Vec<FieldIssue>) -> Vec<(String, String)> {
        issues.into_iter().map(|i| (i.field, i.message)).collect()
    }

    #[test]
    fn a_bad_declaration_names_the_field_and_key() {
        let bad = schema(json!([
            {"name": "client_id", "type": "uuid", "required": true},
            {"name": "client_id", "type": "string"},
            {"name": "9lives", "type": "integer"},
            {"name": "days", "type": "integer", "default": "seven"},
        ]));
        let issues = fields(bad.check().unwrap_err());
        let named: Vec<&str> = issues.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            named,
            [
                "input_schema[1].name",
                "input_schema[2].name",
                "input_schema[3].default"
            ]
        );
        assert!(issues[0].1.contains("declared twice"), "{issues:?}");
        assert_eq!(issues[2].1, "must be a whole number");
        let unknown =
            serde_json::from_value::<InputSchema>(json!([{"name": "a", "type": "float"}]));
        assert!(unknown.is_err(), "an unknown type is refused");
    }

    #[test]
    fn input_is_checked_and_defaults_fill_the_gaps() {
        let declared = schema(json!([
            {"name": "client_id", "type": "uuid", "required": true},
            {"name": "days", "type": "integer", "required": true, "default": 7},
            {"name": "notify", "type": "boolean"},
            {"name": "due", "type": "date"},
        ]));
        let client = "0193a0c4-0000-7000-8000-000000000001";
        let admitted = declared
            .apply(&json!({"client_id": client, "extra": [1]}))
            .unwrap();
        assert_eq!(
            admitted,
            json!({"client_id": client, "days": 7, "extra": [1]})
        );
        let refused = fields(
            declared
                .apply(&json!({"days": "7", "notify": 1, "due": "2026-13-01"}))
                .unwrap_err(),
        );
        assert_eq!(
            refused,
            [
                ("input.client_id".into(), "is required".into()),
                ("input.days".into(), "must be a whole number".into()),
                ("input.notify".into(), "must be true or false".into()),
                ("input.due".into(), "must be a date (YYYY-MM-DD)".into()),
            ]
        );
        assert!(declared.apply(&json!([client])).is_err());
    }

    #[test]
    fn no_schema_accepts_any_object_unchanged() {
        let input = json!({"anything": {"goes": true}});
        assert_eq!(InputSchema::default().apply(&input).unwrap(), input);
    }

    proptest! {
        /// Whatever a start gives, the admitted input keeps every given field, holds
        /// every required or defaulted field, and applying the schema again
        /// changes nothing.
        #[test]
        fn admission_is_idempotent_and_keeps_what_was_given(
            days in proptest::option::of(0i64..1000),
            note in proptest::option::of("[a-z ]{0,20}"),
            extra in proptest::option::of(any::<bool>()),
        ) {
            let declared = schema(json!([
                {"name": "days", "type": "integer", "default": 7},
                {"name": "note", "type": "string"},
            ]));
            let mut given = Map::new();
            if let Some(days) = days { given.insert("days".into(), json!(days)); }
            if let Some(note) = &note { given.insert("note".into(), json!(note)); }
            if let Some(extra) = extra { given.insert("extra".into(), json!(extra)); }
            let given = Value::Object(given);
            let admitted = declared.apply(&given).unwrap();
            for (key, value) in given.as_object().unwrap() {
                prop_assert_eq!(&admitted[key], value);
            }
            prop_assert_eq!(&admitted["days"], &json!(days.unwrap_or(7)));
            prop_assert_eq!(declared.apply(&admitted).unwrap(), admitted);
        }
    }
}
