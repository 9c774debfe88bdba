//! CSV import of clients, contacts and assets: every row is parsed and validated
//! before anything is written, and each bad row is reported with its line number.
//! References by name (a contact's client, an asset's location) are resolved by the
//! caller against the database; this module does everything that needs no lookup.

use crate::assets::{AssetDraft, AssetInput, AssetStatus};
use crate::billing::usage::{UsageDraft, UsageInput};
use crate::clients::{BillingCycle, ClientDraft, ClientInput, ClientType, PaymentTerms};
use crate::contacts::{ContactDraft, ContactInput};
use crate::validation::FieldIssue;
use chrono::NaiveDate;
use std::collections::HashMap;
use uuid::Uuid;

/// Most data rows one file may hold.
pub const MAX_ROWS: usize = 100_000;

/// One invalid row: its line in the file (the header is line 1) and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RowIssue {
    /// Line number in the file, counting the header as line 1.
    pub line: u64,
    /// The column at fault, or `row` for the row as a whole.
    pub field: String,
    /// Why.
    pub message: String,
}

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    /// Not readable as CSV (e.g. not UTF-8) or without a header row.
    #[error("not a CSV file with a header row: {0}")]
    Malformed(String),
    /// A column the importer does not know.
    #[error("unknown column {0:?}; known columns: {1}")]
    UnknownColumn(String, String),
    /// A required column is missing.
    #[error("missing required column {0:?}")]
    MissingColumn(&'static str),
    /// More than [`MAX_ROWS`] rows.
    #[error("at most {MAX_ROWS} rows per file")]
    TooManyRows,
}

/// A row that passed every check that needs no database.
#[derive(Clone, Debug)]
pub struct ValidRow<T> {
    /// Line number.
    pub line: u64,
    /// The validated record.
    pub draft: T,
    /// Named references to resolve: column → value (e.g. `client_name`).
    pub references: HashMap<&'static str, String>,
}

/// The outcome of parsing a file.
#[derive(Clone, Debug)]
pub struct Parsed<T> {
    /// Rows that are valid so far.
    pub rows: Vec<ValidRow<T>>,
    /// Rows that are not, in line order.
    pub issues: Vec<RowIssue>,
}

/// Columns of a clients file (`name` required).
pub const CLIENT_COLUMNS: &[&str] = &[
    "name",
    "client_type",
    "billing_email",
    "currency",
    "payment_terms",
    "tax_region",
    "is_tax_exempt",
    "tax_exempt_certificate",
    "billing_cycle",
    "billing_anchor_day",
    "account_manager_email",
    "notes",
    "tags",
];

/// Columns of a contacts file (`full_name` and `client_id` or `client_name` required).
pub const CONTACT_COLUMNS: &[&str] = &[
    "client_id",
    "client_name",
    "full_name",
    "role",
    "email",
    "phone",
    "notes",
];

/// Columns of an assets file (`asset_tag`, `name` and a client required).
pub const ASSET_COLUMNS: &[&str] = &[
    "client_id",
    "client_name",
    "location_name",
    "asset_tag",
    "name",
    "kind",
    "serial",
    "status",
    "purchased_on",
    "warranty_expires_on",
    "notes",
];

/// Columns of a usage file (`quantity`, `recorded_on`, a client and a service
/// required; the service by `service_id` or its catalogue `service_name`).
pub const USAGE_COLUMNS: &[&str] = &[
    "client_id",
    "client_name",
    "service_id",
    "service_name",
    "quantity",
    "recorded_on",
    "note",
];

/// One CSV record with its line and cells by column name; blank cells are absent.
struct Record<'a> {
    line: u64,
    cells: HashMap<&'a str, String>,
    issues: Vec<FieldIssue>,
}

impl Record<'_> {
    fn text(&self, column: &str) -> Option<String> {
        self.cells.get(column).cloned()
    }

    fn parsed<T>(&mut self, column: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        let value = self.cells.get(column)?;
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.issues.push(FieldIssue {
                    field: column.to_owned(),
                    message,
                });
                None
            }
        }
    }
}

fn read_records<'h>(
    bytes: &[u8],
    known: &'h [&'h str],
    required: &[&'static str],
) -> Result<Vec<Record<'h>>, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let headers = reader
        .headers()
        .map_err(|e| FileError::Malformed(e.to_string()))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for header in headers.iter() {
        let header = header.to_ascii_lowercase();
        let Some(column) = known.iter().find(|k| **k == header) else {
            return Err(FileError::UnknownColumn(header, known.join(", ")));
        };
        columns.push(*column);
    }
    if let Some(missing) = required.iter().find(|r| !columns.contains(r)) {
        return Err(FileError::MissingColumn(missing));
    }
    let mut records = Vec::new();
    for result in reader.records() {
        if records.len() == MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        let record = result.map_err(|e| FileError::Malformed(e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: HashMap<&str, String> = columns
            .iter()
            .zip(record.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(column, value)| (*column, value.to_owned()))
            .collect();
        // PostgreSQL text cannot hold U+0000: such a cell is a row error, and the
        // row never reaches a query.
        let issues: Vec<FieldIssue> = cells
            .iter()
            .filter(|(_, value)| value.contains('\0'))
            .map(|(column, _)| FieldIssue {
                field: (*column).to_owned(),
                message: "must not contain the NUL character (U+0000)".to_owned(),
            })
            .collect();
        let cells = if issues.is_empty() {
            cells
        } else {
            HashMap::new()
        };
        records.push(Record {
            line,
            cells,
            issues,
        });
    }
    Ok(records)
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(true),
        "false" | "no" | "n" | "0" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "must be a date YYYY-MM-DD".into())
}

fn parse_uuid(text: &str) -> Result<Uuid, String> {
    Uuid::try_parse(text).map_err(|_| "must be a UUID".into())
}

/// Collects a row's issues (parse, then validation) or keeps it as valid.
fn finish_row<T>(
    parsed: &mut Parsed<T>,
    mut record: Record<'_>,
    validated: Result<T, Vec<FieldIssue>>,
    references: HashMap<&'static str, String>,
) {
    if let Err(more) = &validated {
        // A cell that did not parse is already reported; validation would only add
        // "is required" for the same column.
        let fresh: Vec<FieldIssue> = more
            .iter()
            .filter(|m| !record.issues.iter().any(|i| i.field == m.field))
            .cloned()
            .collect();
        record.issues.extend(fresh);
    }
    match validated {
        Ok(draft) if record.issues.is_empty() => parsed.rows.push(ValidRow {
            line: record.line,
            draft,
            references,
        }),
        _ => parsed
            .issues
            .extend(record.issues.into_iter().map(|issue| RowIssue {
                line: record.line,
                field: issue.field,
                message: issue.message,
            })),
    }
}

/// Parses and validates a clients file.
pub fn parse_clients(bytes: &[u8]) -> Result<Parsed<ClientDraft>, FileError> {
    let mut parsed = Parsed {
        rows: Vec::new(),
        issues: Vec::new(),
    };
    for mut record in read_records(bytes, CLIENT_COLUMNS, &["name"])? {
        let input = ClientInput {
            name: record.text("name"),
            client_type: record.parsed("client_type", ClientType::parse),
            billing_email: record.text("billing_email"),
            currency: record.text("currency"),
            payment_terms: record.parsed("payment_terms", PaymentTerms::parse),
            tax_region: record.text("tax_region"),
            is_tax_exempt: record.parsed("is_tax_exempt", parse_bool),
            tax_exempt_certificate: record.text("tax_exempt_certificate"),
            billing_cycle: record.parsed("billing_cycle", BillingCycle::parse),
            billing_anchor_day: record.parsed("billing_anchor_day", |t| {
                t.parse::<i16>()
                    .map_err(|_| "must be a whole number".into())
            }),
            notes: record.text("notes"),
            tags: record.text("tags").map(|t| {
                t.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            ..Default::default()
        };
        let references = references(&record, &["account_manager_email"]);
        let validated = input.validate();
        finish_row(&mut parsed, record, validated, references);
    }
    Ok(parsed)
}

/// Parses and validates a contacts file; duplicate primary e-mails within the file
/// are reported on the later line.
pub fn parse_contacts(bytes: &[u8]) -> Result<Parsed<ContactDraft>, FileError> {
    let mut parsed = Parsed {
        rows: Vec::new(),
        issues: Vec::new(),
    };
    for mut record in read_records(bytes, CONTACT_COLUMNS, &["full_name"])? {
        let client_id = client_reference(&mut record);
        let input = ContactInput {
            client_id,
            full_name: record.text("full_name"),
            role: record.text("role"),
            email: record.text("email"),
            phone: record.text("phone"),
            notes: record.text("notes"),
            ..Default::default()
        };
        let references = references(&record, &["client_name"]);
        let validated = input.validate();
        finish_row(&mut parsed, record, validated, references);
    }
    flag_duplicates(&mut parsed, "email", |c| {
        c.primary_email().map(str::to_owned)
    });
    Ok(parsed)
}

/// Parses and validates an assets file; duplicate tags within the file are
/// reported on the later line.
pub fn parse_assets(bytes: &[u8]) -> Result<Parsed<AssetDraft>, FileError> {
    let mut parsed = Parsed {
        rows: Vec::new(),
        issues: Vec::new(),
    };
    for mut record in read_records(bytes, ASSET_COLUMNS, &["asset_tag", "name"])? {
        let client_id = client_reference(&mut record);
        let input = AssetInput {
            client_id,
            asset_tag: record.text("asset_tag"),
            name: record.text("name"),
            kind: record.text("kind"),
            serial: record.text("serial"),
            status: record.parsed("status", AssetStatus::parse),
            purchased_on: record.parsed("purchased_on", parse_date),
            warranty_expires_on: record.parsed("warranty_expires_on", parse_date),
            notes: record.text("notes"),
            ..Default::default()
        };
        let references = references(&record, &["client_name", "location_name"]);
        let validated = input.validate();
        finish_row(&mut parsed, record, validated, references);
    }
    flag_duplicates(&mut parsed, "asset_tag", |a| {
        Some(a.asset_tag.to_lowercase())
    });
    Ok(parsed)
}

/// Parses and validates a usage file. Usage rows are meter readings, so the same
/// client, service and day may appear on several lines; nothing is flagged as a
/// duplicate.
pub fn parse_usage(bytes: &[u8]) -> Result<Parsed<UsageDraft>, FileError> {
    let mut parsed = Parsed {
        rows: Vec::new(),
        issues: Vec::new(),
    };
    let required = &["quantity", "recorded_on"];
    for mut record in read_records(bytes, USAGE_COLUMNS, required)? {
        let client_id = client_reference(&mut record);
        let service_id = service_reference(&mut record);
        let input = UsageInput {
            client_id,
            service_id,
            quantity: record.parsed("quantity", parse_quantity),
            recorded_on: record.parsed("recorded_on", parse_date),
            note: record.text("note"),
        };
        let references = references(&record, &["client_name", "service_name"]);
        let validated = input.validate();
        finish_row(&mut parsed, record, validated, references);
    }
    Ok(parsed)
}

/// A quantity as a plain decimal ("12.5"); exponents and thousands separators are
/// refused so that a spreadsheet's formatting never changes an amount silently.
fn parse_quantity(text: &str) -> Result<rust_decimal::Decimal, String> {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    match plain.then(|| text.parse::<rust_decimal::Decimal>()) {
        Some(Ok(quantity)) => Ok(quantity),
        _ => Err("must be a decimal number such as 12.5".into()),
    }
}

/// A row names its service by `service_id` or by `service_name` (resolved later).
fn service_reference(record: &mut Record<'_>) -> Option<Uuid> {
    match record.parsed("service_id", parse_uuid) {
        Some(id) => Some(id),
        None if record.cells.contains_key("service_id") => Some(Uuid::nil()),
        None if record.cells.contains_key("service_name") => Some(Uuid::nil()),
        None => {
            record.issues.push(FieldIssue {
                field: "service_name".into(),
                message: "is required (or service_id)".into(),
            });
            Some(Uuid::nil())
        }
    }
}

/// A row names its client by `client_id` or by `client_name` (resolved later; the
/// nil id stands in until then).
fn client_reference(record: &mut Record<'_>) -> Option<Uuid> {
    match record.parsed("client_id", parse_uuid) {
        Some(id) => Some(id),
        None if record.cells.contains_key("client_id") => Some(Uuid::nil()),
        None if record.cells.contains_key("client_name") => Some(Uuid::nil()),
        None => {
            record.issues.push(FieldIssue {
                field: "client_name".into(),
                message: "is required (or client_id)".into(),
            });
            Some(Uuid::nil())
        }
    }
}

fn references(record: &Record<'_>, columns: &[&'static str]) -> HashMap<&'static str, String> {
    columns
        .iter()
        .filter_map(|c| record.text(c).map(|v| (*c, v)))
        .collect()
}

fn flag_duplicates<T>(parsed: &mut Parsed<T>, field: &str, key: impl Fn(&T) -> Option<String>) {
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut kept = Vec::with_capacity(parsed.rows.len());
    for row in std::mem::take(&mut parsed.rows) {
        match key(&row.draft) {
            Some(k) => match first_line.get(&k) {
                Some(first) => parsed.issues.push(RowIssue {
                    line: row.line,
                    field: field.to_owned(),
                    message: format!("duplicates line {first}"),
                }),
                None => {
                    first_line.insert(k, row.line);
                    kept.push(row);
                }
            },
            None => kept.push(row),
        }
    }
    parsed.rows = kept;
    parsed.issues.sort_by_key(|i| i.line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_reported_with_their_lines() {
        let csv = "name,billing_email,currency,tags\n\
                   Acme,billing@acme.test,USD,vip;managed\n\
                   ,x@y.test,USD,\n\
                   Globex,not-an-email,EUR,\n\
                   Initech,,QQQ,\n\
                   \"Umbrella, Inc\",,GBP,\n";
        let parsed = parse_clients(csv.as_bytes()).unwrap();
        let lines: Vec<_> = parsed
            .issues
            .iter()
            .map(|i| (i.line, i.field.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![(3, "name"), (4, "billing_email"), (5, "currency")]
        );
        let names: Vec<_> = parsed.rows.iter().map(|r| r.draft.name.as_str()).collect();
        assert_eq!(names, vec!["Acme", "Umbrella, Inc"]);
        assert_eq!(parsed.rows[0].draft.tags, vec!["vip", "managed"]);
    }

    #[test]
    fn unknown_and_missing_columns_refuse_the_file() {
        assert!(matches!(
            parse_clients(b"name,colour\nA,red\n"),
            Err(FileError::UnknownColumn(c, _)) if c == "colour"
        ));
        assert_eq!(
            parse_assets(b"asset_tag\nA1\n").unwrap_err(),
            FileError::MissingColumn("name")
        );
    }

    #[test]
    fn duplicates_within_a_file_name_the_first_line() {
        let csv = "client_name,asset_tag,name\nAcme,A-1,Laptop\nAcme,a-1,Desktop\n";
        let parsed = parse_assets(csv.as_bytes()).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.issues[0].line, 3);
        assert_eq!(parsed.issues[0].message, "duplicates line 2");
    }

    #[test]
    fn nul_characters_are_row_errors() {
        let parsed = parse_clients(b"name,notes\nA\0B,x\nGood,\n").unwrap();
        assert_eq!(parsed.issues[0].line, 2);
        assert_eq!(parsed.issues[0].field, "name");
        assert_eq!(parsed.rows.len(), 1);
    }

    #[test]
    fn usage_rows_are_checked_before_any_lookup() {
        let csv = "client_name,service_name,quantity,recorded_on,note\n\
                   Acme,Backup GB,12.5,2026-11-03,meter 7\n\
                   Acme,Backup GB,1e3,2026-11-03,\n\
                   Acme,,3,2026-11-31,\n\
                   ,Backup GB,-2,2026-11-04,\n\
                   Acme,Backup GB,12.5,2026-11-03,meter 7\n";
        let parsed = parse_usage(csv.as_bytes()).unwrap();
        let issues: Vec<_> = parsed
            .issues
            .iter()
            .map(|i| (i.line, i.field.as_str()))
            .collect();
        assert_eq!(
            issues,
            vec![
                (3, "quantity"),
                (4, "service_name"),
                (4, "recorded_on"),
                (5, "client_name"),
                (5, "quantity"),
            ]
        );
        // A repeated reading is a second reading, not a duplicate.
        let lines: Vec<u64> = parsed.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 6]);
        let first = &parsed.rows[0];
        assert_eq!(first.draft.quantity.to_string(), "12.5");
        assert_eq!(first.draft.note, "meter 7");
        assert_eq!(first.references["service_name"], "Backup GB");
    }

    #[test]
    fn usage_files_need_quantity_and_day_columns() {
        assert_eq!(
            parse_usage(b"client_name,service_name,quantity\nA,B,1\n").unwrap_err(),
            FileError::MissingColumn("recorded_on")
        );
    }

    #[test]
    fn contacts_need_a_client() {
        let csv = "full_name,email\nAnn,ann@x.test\n";
        let parsed = parse_contacts(csv.as_bytes()).unwrap();
        assert_eq!(parsed.issues[0].field, "client_name");
    }
}
