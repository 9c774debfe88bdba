//! Field-level validation shared by the API, the UI forms and CSV import, so a bad
//! value gets the same message wherever it comes from.

use serde::{Deserialize, Deserializer, Serialize};

/// One invalid field and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    /// The field's name in the input, e.g. `billing_email` or `emails[1].address`.
    pub field: String,
    /// Why it is invalid, phrased to follow the field name.
    pub message: String,
}

/// Collects field issues while a whole input is checked, so the caller hears about
/// every bad field at once rather than one per attempt.
#[derive(Debug, Default)]
pub struct Issues(Vec<FieldIssue>);

impl Issues {
    /// Records that `field` is invalid.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldIssue {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the value of `result`, or records its error against `field`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else every issue.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldIssue>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }

    /// The recorded issues.
    pub fn into_vec(self) -> Vec<FieldIssue> {
        self.0
    }
}

/// Why a text field is unacceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TextError {
    /// Empty or only whitespace.
    #[error("is required")]
    Missing,
    /// Longer than allowed.
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// Contains control characters other than line breaks and tabs.
    #[error("must not contain control characters")]
    ControlCharacters,
}

/// A required single-line text of at most `max` characters, trimmed.
pub fn required_text(value: Option<&str>, max: usize) -> Result<String, TextError> {
    match optional_text(value, max)? {
        Some(text) => Ok(text),
        None => Err(TextError::Missing),
    }
}

/// An optional text of at most `max` characters, trimmed; blank becomes `None`.
pub fn optional_text(value: Option<&str>, max: usize) -> Result<Option<String>, TextError> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(TextError::ControlCharacters);
    }
    Ok(Some(text.to_owned()))
}

/// Free text (notes) of at most `max` characters; blank becomes empty.
pub fn notes_text(value: Option<&str>, max: usize) -> Result<String, TextError> {
    Ok(optional_text(value, max)?.unwrap_or_default())
}

/// Deserialises a PATCH field so that an absent key (`None`) differs from an
/// explicit `null` (`Some(None)`): absent leaves the value alone, null clears it.
/// Use with `#[serde(default, deserialize_with = "engine::validation::patch_field")]`.
pub fn patch_field<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Overwrites `target` with the PATCH value when the key was present.
pub fn apply_patch<T>(target: &mut Option<T>, patch: Option<Option<T>>) {
    if let Some(value) = patch {
        *target = value;
    }
}

/// Why a search text is unacceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    /// Longer than 100 characters.
    #[error("must be at most 100 characters")]
    TooLong,
}

/// A `LIKE` pattern that matches `query` anywhere, with `%`, `_` and `\` taken
/// literally. `None` for a blank query (no filter). Case and accents are folded by the
/// database (`keel_search_key`), on both the pattern and the indexed text.
pub fn contains_pattern(query: Option<&str>) -> Result<Option<String>, SearchError> {
    let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if query.chars().count() > 100 {
        return Err(SearchError::TooLong);
    }
    let mut pattern = String::with_capacity(query.len() + 2);
    pattern.push('%');
    for c in query.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Ok(Some(pattern))
}

/// Normalises tags: trimmed, lowercased, 1–50 characters each, at most 50, no
/// duplicates, in first-seen order.
pub fn tags(values: &[String]) -> Result<Vec<String>, String> {
    if values.len() > 50 {
        return Err("must have at most 50 tags".into());
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let tag = value.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > 50 {
            return Err("each tag must be 1 to 50 characters".into());
        }
        if tag.chars().any(char::is_control) {
            return Err("tags must not contain control characters".into());
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// Declares a create input whose fields are all optional (validation decides which
/// are required) and its PATCH twin, where each field is absent, `null` or a value;
/// `apply_to` overlays a patch on an input built from the stored record, so create and
/// update share one validation.
macro_rules! input_and_patch {
    (
        $(#[$meta:meta])* $input:ident, $(#[$patch_meta:meta])* $patch:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $input {
            $( $(#[$field_meta])* #[serde(default)] pub $field: Option<$ty>, )*
        }

        $(#[$patch_meta])*
        #[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $patch {
            $(
                $(#[$field_meta])*
                #[serde(default, deserialize_with = "crate::validation::patch_field")]
                #[schema(value_type = Option<$ty>)]
                pub $field: Option<Option<$ty>>,
            )*
        }

        impl $patch {
            /// Overlays the fields present in the patch on `input`.
            pub fn apply_to(self, input: &mut $input) {
                $( crate::validation::apply_patch(&mut input.$field, self.$field); )*
            }
        }
    };
}
pub(crate) use input_and_patch;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_literal_in_search_patterns() {
        assert_eq!(
            contains_pattern(Some(" 50%_a\\ ")).unwrap(),
            Some("%50\\%\\_a\\\\%".to_owned())
        );
        assert_eq!(contains_pattern(Some("  ")).unwrap(), None);
        assert!(contains_pattern(Some(&"x".repeat(101))).is_err());
    }

    #[test]
    fn text_rules() {
        assert_eq!(required_text(Some("  a "), 5).unwrap(), "a");
        assert_eq!(required_text(Some("   "), 5), Err(TextError::Missing));
        assert_eq!(required_text(Some("abcdef"), 5), Err(TextError::TooLong(5)));
        assert_eq!(
            required_text(Some("a\u{7}b"), 5),
            Err(TextError::ControlCharacters)
        );
        assert_eq!(optional_text(None, 5).unwrap(), None);
    }

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let tags = tags(&["VIP".into(), " vip ".into(), "Managed".into()]).unwrap();
        assert_eq!(tags, vec!["vip", "managed"]);
    }

    #[test]
    fn patch_fields_tell_null_from_absent() {
        #[derive(Deserialize)]
        struct P {
            #[serde(default, deserialize_with = "patch_field")]
            a: Option<Option<String>>,
        }
        let absent: P = serde_json::from_str("{}").unwrap();
        let null: P = serde_json::from_str(r#"{"a":null}"#).unwrap();
        let set: P = serde_json::from_str(r#"{"a":"x"}"#).unwrap();
        assert_eq!(absent.a, None);
        assert_eq!(null.a, Some(None));
        assert_eq!(set.a, Some(Some("x".into())));
    }
}
