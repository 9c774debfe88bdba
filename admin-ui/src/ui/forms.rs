//! Helpers shared by the record pages (clients, contacts, assets): field errors placed
//! next to their inputs, list paging and query strings, and lenient parsing of form
//! text. HTML forms send every value as text, and a hand-edited URL must give a page,
//! never a bare extractor rejection, so parsing happens here rather than in serde.

use activities::pagination::PageRequest;
use activities::records::RecordError;
use activities::DbError;
use axum::http::StatusCode;
use engine::validation::FieldIssue;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Rows per list page.
pub const PAGE_SIZE: i64 = 50;

/// Why a form was refused: messages keyed by the form field they belong to (shown
/// inline), and the rest (shown above the form), so no message is ever lost.
#[derive(Debug, Default, Serialize)]
pub struct FormErrors {
    /// Field name → message(s), joined with "; ".
    pub fields: BTreeMap<String, String>,
    /// Messages that belong to no input of the form.
    pub general: Vec<String>,
}

impl FormErrors {
    /// Places each issue on its input when the form shows a field of that name.
    pub fn from_issues(issues: Vec<FieldIssue>, shown: &[&str]) -> FormErrors {
        let mut errors = FormErrors::default();
        for issue in issues {
            if shown.contains(&issue.field.as_str()) {
                errors
                    .fields
                    .entry(issue.field)
                    .and_modify(|m| {
                        m.push_str("; ");
                        m.push_str(&issue.message);
                    })
                    .or_insert(issue.message);
            } else {
                errors
                    .general
                    .push(format!("{} {}", issue.field, issue.message));
            }
        }
        errors
    }

    /// One message not tied to a field (e.g. "the client is archived").
    pub fn general(message: impl Into<String>) -> FormErrors {
        FormErrors {
            fields: BTreeMap::new(),
            general: vec![message.into()],
        }
    }

    /// A refused record as the form shows it, with its status: invalid fields
    /// (422), a conflict (409) or a missing record (404) said on the form. A
    /// database failure is the caller's to answer.
    pub fn refusal(
        error: RecordError,
        shown: &[&str],
    ) -> Result<(FormErrors, StatusCode), DbError> {
        Ok(match error {
            RecordError::Invalid(issues) => (
                FormErrors::from_issues(issues, shown),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            RecordError::Conflict(message) => (FormErrors::general(message), StatusCode::CONFLICT),
            RecordError::NotFound(what) => (
                FormErrors::general(format!("no such {what}")),
                StatusCode::NOT_FOUND,
            ),
            RecordError::Db(error) => return Err(error),
        })
    }
}

/// Collects parse problems of form text before domain validation runs, so a bad
/// number and a bad e-mail are reported together.
#[derive(Default)]
pub struct Parse(pub Vec<FieldIssue>);

impl Parse {
    /// Records `message` against `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldIssue {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `text` parsed by `parse`, `None` when blank; a failure is recorded on `field`.
    pub fn optional<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        match parse(text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// A whole number, `None` when blank.
    pub fn number<T: std::str::FromStr>(&mut self, field: &str, text: &str) -> Option<T> {
        self.optional(field, text, |t| {
            t.parse::<T>().map_err(|_| "must be a whole number")
        })
    }

    /// A record id chosen in a select, `None` when blank.
    pub fn id(&mut self, field: &str, text: &str) -> Option<Uuid> {
        self.optional(field, text, |t| {
            Uuid::try_parse(t).map_err(|_| "is not a valid choice")
        })
    }

    /// An ISO date (`YYYY-MM-DD`, what `<input type=date>` sends), `None` when blank.
    pub fn date(&mut self, field: &str, text: &str) -> Option<chrono::NaiveDate> {
        self.optional(field, text, |t| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| "must be a date (YYYY-MM-DD)")
        })
    }

    /// The issues, with those of `validated` appended; validation saw a field the
    /// parse refused as blank, so its message there ("is required") is left out.
    pub fn merge<T>(mut self, validated: Result<T, Vec<FieldIssue>>) -> Result<T, Vec<FieldIssue>> {
        match validated {
            Ok(value) if self.0.is_empty() => Ok(value),
            Ok(_) => Err(self.0),
            Err(more) => {
                let refused: Vec<String> = self.0.iter().map(|i| i.field.clone()).collect();
                self.0
                    .extend(more.into_iter().filter(|i| !refused.contains(&i.field)));
                Err(self.0)
            }
        }
    }
}

/// A name of a snake_case enum as its value (`bi_weekly` → `BiWeekly`), read the
/// way the API reads it; `None` for any other text.
pub fn choice<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned())).ok()
}

/// `lines[2].rate` → `(2, "rate")`: the row and field of an input of a form with
/// repeated rows, which HTML sends as flat name/value pairs.
pub fn row_field<'a>(name: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('[')?;
    let (index, field) = rest.split_once("].")?;
    Some((index.parse().ok()?, field))
}

/// Issues the domain raised on `prefix[i]…`, the i-th row it was given, moved to
/// `rows[i]`, the form row it was typed on (blank rows are never sent), with the
/// first field name after the row renamed to the form's (`rate_cents` → `rate`).
pub fn issues_on_rows(
    issues: Vec<FieldIssue>,
    prefix: &str,
    rows: &[usize],
    renames: &[(&str, &str)],
) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|mut issue| {
            if let Some(field) = row_issue_field(&issue.field, prefix, rows, renames) {
                issue.field = field;
            }
            issue
        })
        .collect()
}

fn row_issue_field(
    field: &str,
    prefix: &str,
    rows: &[usize],
    renames: &[(&str, &str)],
) -> Option<String> {
    let rest = field.strip_prefix(prefix)?.strip_prefix('[')?;
    let (index, tail) = rest.split_once(']')?;
    let row = rows.get(index.parse::<usize>().ok()?)?;
    let tail = match tail.strip_prefix('.') {
        Some(path) => {
            // A rename of the whole path wins over one of its first segment.
            if let Some((_, to)) = renames.iter().find(|(from, _)| *from == path) {
                return Some(format!("{prefix}[{row}].{to}"));
            }
            let (name, more) = path.split_once('.').map_or((path, ""), |(n, m)| (n, m));
            let name = renames
                .iter()
                .find(|(from, _)| *from == name)
                .map_or(name, |(_, to)| to);
            let more = if more.is_empty() {
                String::new()
            } else {
                format!(".{more}")
            };
            format!(".{name}{more}")
        }
        None => tail.to_owned(),
    };
    Some(format!("{prefix}[{row}]{tail}"))
}

/// Blank text as `None`, else the text trimmed.
pub fn optional_text(text: &str) -> Option<String> {
    Some(text.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// A checkbox: browsers send it only when ticked.
pub fn ticked(value: &Option<String>) -> bool {
    value.is_some()
}

/// A checkbox value for a template from a stored flag.
pub fn checkbox(on: bool) -> Option<String> {
    on.then(|| "on".to_owned())
}

/// An id from a path or query; `None` for anything that is not a UUID (the caller
/// answers 404 or ignores the filter).
pub fn parse_id(text: &str) -> Option<Uuid> {
    Uuid::try_parse(text.trim()).ok()
}

/// A page of [`PAGE_SIZE`] rows after `cursor`; a cursor that is not one of ours
/// starts from the first page rather than failing.
pub fn page_after(cursor: &str) -> PageRequest {
    PageRequest {
        limit: PAGE_SIZE,
        after: parse_id(cursor),
    }
}

/// `path?k=v&…` with the non-blank pairs percent-encoded, for "Next page" links that
/// keep the current search and filters.
pub fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_filters_encoded_and_drop_blanks() {
        assert_eq!(
            link(
                "/clients",
                &[("q", "Zürich & co"), ("tag", ""), ("cursor", "x")]
            ),
            "/clients?q=Z%C3%BCrich%20%26%20co&cursor=x"
        );
        assert_eq!(link("/clients", &[("q", "")]), "/clients");
    }

    #[test]
    fn issues_go_next_to_their_field_or_above_the_form() {
        let issue = |field: &str, message: &str| FieldIssue {
            field: field.into(),
            message: message.into(),
        };
        let errors = FormErrors::from_issues(
            vec![
                issue("name", "is required"),
                issue("name", "is odd"),
                issue("properties", "must be a JSON object"),
            ],
            &["name"],
        );
        assert_eq!(errors.fields["name"], "is required; is odd");
        assert_eq!(errors.general, vec!["properties must be a JSON object"]);
    }

    #[test]
    fn row_issues_move_to_the_row_they_were_typed_on() {
        let issue = |field: &str| FieldIssue {
            field: field.into(),
            message: "bad".into(),
        };
        let moved = issues_on_rows(
            vec![
                issue("lines[0].rate_cents"),
                issue("lines[1]"),
                issue("lines[1].bucket.overage_rate_cents"),
                issue("lines"),
                issue("client_id"),
                issue("lines[7].kind"),
            ],
            "lines",
            &[2, 3],
            &[("rate_cents", "rate")],
        );
        let fields: Vec<&str> = moved.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "lines[2].rate",
                "lines[3]",
                "lines[3].bucket.overage_rate_cents",
                "lines",
                "client_id",
                "lines[7].kind",
            ]
        );
        assert_eq!(row_field("lines[3].rate", "lines"), Some((3, "rate")));
        assert_eq!(row_field("lines[x].rate", "lines"), None);
        assert_eq!(row_field("client_id", "lines"), None);
    }

    #[test]
    fn a_field_the_parse_refused_is_not_reported_again_by_validation() {
        let mut parse = Parse::default();
        assert_eq!(parse.date("on", "soon"), None);
        let result = parse.merge::<()>(Err(vec![
            FieldIssue {
                field: "on".into(),
                message: "is required".into(),
            },
            FieldIssue {
                field: "name".into(),
                message: "is required".into(),
            },
        ]));
        let messages: Vec<String> = result
            .unwrap_err()
            .into_iter()
            .map(|i| format!("{} {}", i.field, i.message))
            .collect();
        assert_eq!(
            messages,
            vec!["on must be a date (YYYY-MM-DD)", "name is required"]
        );
    }

    #[test]
    fn parse_collects_problems_before_validation() {
        let mut parse = Parse::default();
        assert_eq!(parse.number::<i16>("day", " 5 "), Some(5));
        assert_eq!(parse.number::<i16>("day", ""), None);
        assert_eq!(parse.number::<i16>("day", "five"), None);
        assert_eq!(parse.date("on", "2026-02-30"), None);
        let result = parse.merge::<()>(Err(vec![FieldIssue {
            field: "name".into(),
            message: "is required".into(),
        }]));
        let fields: Vec<String> = result.unwrap_err().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, vec!["day", "on", "name"]);
    }
}
