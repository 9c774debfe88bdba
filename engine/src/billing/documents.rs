//! What billing staff type: manual invoices and their free lines, payments,
//! credits and voids. The checks here need nothing but the input; the client, the
//! catalogue and the invoice's state are checked where they are stored.

use super::charges::{Charge, ChargeSource};
use super::money::{round_cents, Currency};
use super::periods::ServicePeriod;
use super::{date_in_range, BillingError, DATE_RANGE};
use crate::validation::{optional_text, required_text, FieldIssue, Issues};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

/// The most lines one invoice may have when typed by hand.
pub const MAX_MANUAL_LINES: usize = 200;

/// The largest amount, in cents, one typed figure may carry (10 billion in the
/// currency's major unit): far beyond any real invoice, far below overflow.
pub const MAX_AMOUNT_CENTS: i64 = 1_000_000_000_000;

/// A line typed on a manual invoice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualLineInput {
    /// What the client reads.
    pub description: Option<String>,
    /// The catalogue service, if any (its tax category and price are the defaults).
    #[serde(default)]
    pub service_id: Option<Uuid>,
    /// How many, a decimal string (default "1"); negative for a refund line.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2.5")]
    pub quantity: Option<Decimal>,
    /// Price of one, in cents (default the service's price in the invoice currency).
    #[serde(default)]
    pub unit_price_cents: Option<i64>,
    /// The tax category; default the service's; omitted without a service = not taxable.
    #[serde(default)]
    pub tax_category: Option<String>,
    /// First day the line is for (default the invoice date).
    #[serde(default)]
    pub service_start: Option<NaiveDate>,
    /// The day after the last (default the day after the start).
    #[serde(default)]
    pub service_end: Option<NaiveDate>,
}

/// A manual invoice: free lines through the same tax and ledger path as a run's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualInvoiceInput {
    /// The client billed.
    pub client_id: Option<Uuid>,
    /// ISO 4217 currency (default the client's).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub currency: Option<String>,
    /// The invoice date (default today); the tax rate in force on each line's
    /// service start applies.
    #[serde(default)]
    pub invoice_date: Option<NaiveDate>,
    /// A note printed on the invoice.
    #[serde(default)]
    pub notes: Option<String>,
    /// The lines, at least one.
    #[serde(default)]
    pub lines: Vec<ManualLineInput>,
}

/// A changed draft: its notes and/or its lines (replaced whole).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePatch {
    /// A new note.
    #[serde(default)]
    pub notes: Option<String>,
    /// New lines; a run's draft keeps its billed lines and gets these added.
    #[serde(default)]
    pub lines: Option<Vec<ManualLineInput>>,
}

/// A checked patch of a draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoicePatchDraft {
    /// New notes, when given.
    pub notes: Option<String>,
    /// New typed lines, when given.
    pub lines: Option<Vec<ManualLine>>,
}

impl InvoicePatch {
    /// Checks every field.
    pub fn validate(&self) -> Result<InvoicePatchDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let notes = match self.notes.as_deref() {
            Some(text) => issues
                .check("notes", optional_text(Some(text), 4000))
                .map(Option::unwrap_or_default),
            None => None,
        };
        let lines = self
            .lines
            .as_ref()
            .map(|lines| validate_lines(lines, &mut issues, 0));
        issues.finish(|| InvoicePatchDraft { notes, lines })
    }
}

/// A checked manual line; the catalogue fills what it leaves open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManualLine {
    /// Description.
    pub description: String,
    /// Service.
    pub service_id: Option<Uuid>,
    /// Quantity.
    pub quantity: Decimal,
    /// Unit price, when typed.
    pub unit_price_cents: Option<i64>,
    /// Tax category, when typed.
    pub tax_category: Option<String>,
    /// Service start, when typed.
    pub service_start: Option<NaiveDate>,
    /// Service end, when typed.
    pub service_end: Option<NaiveDate>,
}

impl ManualLine {
    /// The line as a charge, once its price and tax category are known.
    pub fn charge(
        &self,
        unit_price_cents: i64,
        tax_category: Option<String>,
        invoice_date: NaiveDate,
    ) -> Result<Charge, BillingError> {
        let start = self.service_start.unwrap_or(invoice_date);
        let end = self.service_end.unwrap_or(start + Duration::days(1));
        let exact = self
            .quantity
            .checked_mul(Decimal::from(unit_price_cents))
            .ok_or(BillingError::Overflow)?;
        Ok(Charge {
            description: self.description.clone(),
            service_id: self.service_id,
            quantity: self.quantity,
            unit_price_cents,
            amount_cents: round_cents(exact)?,
            tax_category,
            service_period: ServicePeriod { start, end },
            charge_date: start,
            source: ChargeSource::Manual,
        })
    }
}

/// A checked manual invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManualInvoiceDraft {
    /// Client.
    pub client_id: Uuid,
    /// Currency, when given (else the client's).
    pub currency: Option<Currency>,
    /// Invoice date, when given (else today).
    pub invoice_date: Option<NaiveDate>,
    /// Notes.
    pub notes: String,
    /// Lines.
    pub lines: Vec<ManualLine>,
}

fn check_date(issues: &mut Issues, field: &str, date: Option<NaiveDate>) {
    if date.is_some_and(|d| !date_in_range(d)) {
        issues.add(field, DATE_RANGE);
    }
}

/// Checks typed lines, naming each bad field `lines[i].field`.
pub fn validate_lines(
    lines: &[ManualLineInput],
    issues: &mut Issues,
    min_lines: usize,
) -> Vec<ManualLine> {
    if lines.len() < min_lines {
        issues.add("lines", "needs at least one line");
    }
    if lines.len() > MAX_MANUAL_LINES {
        issues.add("lines", format!("at most {MAX_MANUAL_LINES} lines"));
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let field = |name: &str| format!("lines[{i}].{name}");
            let description = issues
                .check(
                    &field("description"),
                    required_text(line.description.as_deref(), 500),
                )
                .unwrap_or_default();
            let quantity = line.quantity.unwrap_or(Decimal::ONE);
            if quantity.is_zero() || quantity.abs() > Decimal::from(super::usage::MAX_QUANTITY) {
                issues.add(
                    field("quantity"),
                    "must not be 0, and at most 1000000000000 either way",
                );
            } else if quantity.normalize().scale() > 6 {
                issues.add(field("quantity"), "must have at most 6 decimals");
            }
            if line
                .unit_price_cents
                .is_some_and(|p| !(-MAX_AMOUNT_CENTS..=MAX_AMOUNT_CENTS).contains(&p))
            {
                issues.add(
                    field("unit_price_cents"),
                    format!("must be within ±{MAX_AMOUNT_CENTS}"),
                );
            }
            if line.service_id.is_none() && line.unit_price_cents.is_none() {
                issues.add(
                    field("unit_price_cents"),
                    "is required for a line without a service_id",
                );
            }
            let tax_category = issues
                .check(
                    &field("tax_category"),
                    optional_text(line.tax_category.as_deref(), 60),
                )
                .flatten();
            check_date(issues, &field("service_start"), line.service_start);
            check_date(issues, &field("service_end"), line.service_end);
            if let (Some(start), Some(end)) = (line.service_start, line.service_end) {
                if end <= start {
                    issues.add(field("service_end"), "must be after service_start");
                }
            }
            if line.service_end.is_some() && line.service_start.is_none() {
                issues.add(field("service_start"), "is required with service_end");
            }
            ManualLine {
                description,
                service_id: line.service_id,
                quantity,
                unit_price_cents: line.unit_price_cents,
                tax_category,
                service_start: line.service_start,
                service_end: line.service_end,
            }
        })
        .collect()
}

impl ManualInvoiceInput {
    /// Checks every field; every bad one is reported.
    pub fn validate(&self) -> Result<ManualInvoiceDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        let currency = match self.currency.as_deref().map(Currency::parse) {
            Some(Err(e)) => {
                issues.add("currency", e.to_string());
                None
            }
            Some(Ok(c)) => Some(c),
            None => None,
        };
        check_date(&mut issues, "invoice_date", self.invoice_date);
        let notes = issues
            .check("notes", optional_text(self.notes.as_deref(), 4000))
            .flatten()
            .unwrap_or_default();
        let lines = validate_lines(&self.lines, &mut issues, 1);
        issues.finish(|| ManualInvoiceDraft {
            client_id: self.client_id.unwrap_or_default(),
            currency,
            invoice_date: self.invoice_date,
            notes,
            lines,
        })
    }
}

/// A payment received for an invoice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// Cents received, more than 0; beyond the balance due becomes credit.
    pub amount_cents: Option<i64>,
    /// The day it arrived (default today).
    #[serde(default)]
    pub received_on: Option<NaiveDate>,
    /// The bank or card reference.
    #[serde(default)]
    pub reference: Option<String>,
}

/// A checked payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentDraft {
    /// Cents.
    pub amount_cents: i64,
    /// Day received, when given.
    pub received_on: Option<NaiveDate>,
    /// Reference.
    pub reference: String,
}

fn check_amount(issues: &mut Issues, amount: Option<i64>) -> i64 {
    match amount {
        None => issues.add("amount_cents", "is required"),
        Some(a) if a <= 0 || a > MAX_AMOUNT_CENTS => issues.add(
            "amount_cents",
            format!("must be more than 0 and at most {MAX_AMOUNT_CENTS}"),
        ),
        Some(a) => return a,
    }
    0
}

impl PaymentInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<PaymentDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let amount_cents = check_amount(&mut issues, self.amount_cents);
        check_date(&mut issues, "received_on", self.received_on);
        let reference = issues
            .check("reference", optional_text(self.reference.as_deref(), 200))
            .flatten()
            .unwrap_or_default();
        issues.finish(|| PaymentDraft {
            amount_cents,
            received_on: self.received_on,
            reference,
        })
    }
}

/// A credit granted by hand (goodwill, a prepayment received outside an invoice).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditInput {
    /// The client credited.
    pub client_id: Option<Uuid>,
    /// Cents, more than 0.
    pub amount_cents: Option<i64>,
    /// ISO 4217 currency (default the client's).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub currency: Option<String>,
    /// The first day it is no longer usable; none = never expires.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    /// Why (shown on the ledger).
    pub reason: Option<String>,
    /// `manual` (default) or `prepayment`.
    #[serde(default)]
    pub origin: Option<String>,
}

/// A checked credit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditDraft {
    /// Client.
    pub client_id: Uuid,
    /// Cents.
    pub amount_cents: i64,
    /// Currency, when given.
    pub currency: Option<Currency>,
    /// Expiry.
    pub expires_on: Option<NaiveDate>,
    /// Reason.
    pub reason: String,
    /// `manual` or `prepayment`.
    pub origin: &'static str,
}

impl CreditInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<CreditDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        let amount_cents = check_amount(&mut issues, self.amount_cents);
        let currency = match self.currency.as_deref().map(Currency::parse) {
            Some(Err(e)) => {
                issues.add("currency", e.to_string());
                None
            }
            Some(Ok(c)) => Some(c),
            None => None,
        };
        check_date(&mut issues, "expires_on", self.expires_on);
        let reason = issues
            .check("reason", required_text(self.reason.as_deref(), 500))
            .unwrap_or_default();
        let origin = match self.origin.as_deref() {
            None | Some("manual") => "manual",
            Some("prepayment") => "prepayment",
            Some(_) => {
                issues.add("origin", "must be manual or prepayment");
                "manual"
            }
        };
        issues.finish(|| CreditDraft {
            client_id: self.client_id.unwrap_or_default(),
            amount_cents,
            currency,
            expires_on: self.expires_on,
            reason,
            origin,
        })
    }
}

/// Why an invoice is voided.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    /// Shown on the ledger and the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

impl VoidInput {
    /// The reason, checked (default "voided").
    pub fn validate(&self) -> Result<String, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let reason = issues
            .check("reason", optional_text(self.reason.as_deref(), 500))
            .flatten()
            .unwrap_or_else(|| "voided".to_owned());
        issues.finish(|| reason)
    }
}

/// What settling an invoice leaves: the cents still due.
pub fn balance_due(total_cents: i64, credit_applied_cents: i64, paid_cents: i64) -> i64 {
    (total_cents.max(0) - credit_applied_cents - paid_cents).max(0)
}

/// How a payment splits: what pays the invoice, and the surplus that becomes credit.
pub fn split_payment(amount_cents: i64, due_cents: i64) -> (i64, i64) {
    let applied = amount_cents.min(due_cents.max(0));
    (applied, amount_cents - applied)
}
