//! What every business-record operation (clients, contacts, interactions, assets)
//! can fail with; the HTTP edge maps it once.

use crate::db::DbError;
use engine::validation::FieldIssue;

/// Why a change to a client, contact, interaction or asset was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// No such record in the tenant.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// One or more fields are invalid.
    #[error("invalid fields")]
    Invalid(Vec<FieldIssue>),
    /// The change conflicts with the record's state (e.g. it is archived).
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl RecordError {
    /// A single invalid field.
    pub fn field(field: &str, message: impl Into<String>) -> RecordError {
        RecordError::Invalid(vec![FieldIssue {
            field: field.into(),
            message: message.into(),
        }])
    }
}

impl From<diesel::result::Error> for RecordError {
    fn from(error: diesel::result::Error) -> Self {
        RecordError::Db(error.into())
    }
}

impl From<Vec<FieldIssue>> for RecordError {
    fn from(issues: Vec<FieldIssue>) -> Self {
        RecordError::Invalid(issues)
    }
}
