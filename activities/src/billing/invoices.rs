//! Invoices: drafts (from billing runs or typed by hand) with lines that say where
//! each amount came from, finalizing (number, due date, credit), voiding,
//! payments and credits. Every money movement goes through the ledger in the
//! same transaction as the document it belongs to.

use super::catalogue::find_services;
use super::ledger::{self, Movement, TransactionKind};
use crate::audit::{self, AuditEntry};
use crate::clients::find_client;
use crate::db::{DbError, TenantTx};
use crate::numbers::{self, NumberError};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{
    billed_periods, credits, invoice_lines, invoices, payments, time_entries, usage_records,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::billing::charges::{Charge, ChargeSource};
use engine::billing::documents::{
    balance_due, split_payment, CreditDraft, InvoicePatchDraft, ManualInvoiceDraft, ManualLine,
    PaymentDraft,
};
use engine::billing::invoice::{
    apply_credits, due_date, price_invoice, AvailableCredit, PricedInvoice,
};
use engine::billing::periods::ServicePeriod;
use engine::billing::tax::TaxContext;
use engine::billing::BillingError;
use engine::clients::PaymentTerms;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// A line of an invoice.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceLine {
    /// Id.
    pub id: Uuid,
    /// Its place.
    pub position: i32,
    /// What the client reads.
    pub description: String,
    /// The catalogue service.
    pub service_id: Option<Uuid>,
    /// Hours, units or periods (a decimal string).
    #[schema(value_type = String)]
    pub quantity: Decimal,
    /// Price of one.
    pub unit_price_cents: i64,
    /// The amount before tax.
    pub amount_cents: i64,
    /// Its share of the invoice's tax.
    pub tax_cents: i64,
    /// Tax category; none = not taxable.
    pub tax_category: Option<String>,
    /// The days it is for.
    pub service_period: ServicePeriod,
    /// The contract it came from.
    pub contract_id: Option<Uuid>,
    /// The contract line it came from.
    pub contract_line_id: Option<Uuid>,
    /// Where the amount came from (time entries, usage records, proration…).
    pub source: ChargeSource,
}

/// An invoice with its lines.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Invoice {
    /// Id.
    pub id: Uuid,
    /// Its number, once finalized.
    pub number: Option<String>,
    /// The client billed.
    pub client_id: Uuid,
    /// `draft`, `finalized`, `paid` or `void`.
    pub status: String,
    /// `manual` or `billing_run`.
    pub origin: String,
    /// The billing window, for a run's invoice.
    pub period_start: Option<NaiveDate>,
    /// The window's exclusive end.
    pub period_end: Option<NaiveDate>,
    /// ISO 4217 currency.
    pub currency: String,
    /// Invoice date.
    pub invoice_date: NaiveDate,
    /// Due date, once finalized.
    pub due_on: Option<NaiveDate>,
    /// Sum of the lines.
    pub subtotal_cents: i64,
    /// What discounts took (positive).
    pub discount_cents: i64,
    /// Sum of the lines' tax.
    pub tax_cents: i64,
    /// Subtotal plus tax.
    pub total_cents: i64,
    /// Credit applied on finalizing.
    pub credit_applied_cents: i64,
    /// Payments received.
    pub paid_cents: i64,
    /// What is still due.
    pub balance_due_cents: i64,
    /// Notes.
    pub notes: String,
    /// The billing run that drafted it.
    pub billing_run_id: Option<Uuid>,
    /// The lines.
    pub lines: Vec<InvoiceLine>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Finalized at.
    pub finalized_at: Option<DateTime<Utc>>,
    /// Voided at.
    pub voided_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = invoices)]
struct InvoiceRow {
    id: Uuid,
    number: Option<String>,
    client_id: Uuid,
    status: String,
    origin: String,
    period_start: Option<NaiveDate>,
    period_end: Option<NaiveDate>,
    currency: String,
    invoice_date: NaiveDate,
    due_on: Option<NaiveDate>,
    subtotal_cents: i64,
    discount_cents: i64,
    tax_cents: i64,
    total_cents: i64,
    credit_applied_cents: i64,
    paid_cents: i64,
    notes: String,
    billing_run_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    finalized_at: Option<DateTime<Utc>>,
    voided_at: Option<DateTime<Utc>>,
}

type LineRow = (
    Uuid,
    Uuid,
    i32,
    String,
    Option<Uuid>,
    Decimal,
    i64,
    i64,
    i64,
    Option<String>,
    NaiveDate,
    NaiveDate,
    Option<Uuid>,
    Option<Uuid>,
    serde_json::Value,
);

async fn assemble(tx: &mut TenantTx, rows: Vec<InvoiceRow>) -> Result<Vec<Invoice>, DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let lines: Vec<LineRow> = invoice_lines::table
        .filter(invoice_lines::invoice_id.eq_any(&ids))
        .order((invoice_lines::invoice_id, invoice_lines::position))
        .select((
            invoice_lines::invoice_id,
            invoice_lines::id,
            invoice_lines::position,
            invoice_lines::description,
            invoice_lines::service_id,
            invoice_lines::quantity,
            invoice_lines::unit_price_cents,
            invoice_lines::amount_cents,
            invoice_lines::tax_cents,
            invoice_lines::tax_category,
            invoice_lines::service_start,
            invoice_lines::service_end,
            invoice_lines::contract_id,
            invoice_lines::contract_line_id,
            invoice_lines::source,
        ))
        .load(tx.conn())
        .await?;
    let mut by_invoice: HashMap<Uuid, Vec<InvoiceLine>> = HashMap::new();
    for row in lines {
        let (invoice, id, position, description, service_id, quantity, unit, amount, tax) = (
            row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8,
        );
        by_invoice.entry(invoice).or_default().push(InvoiceLine {
            id,
            position,
            description,
            service_id,
            quantity: quantity.normalize(),
            unit_price_cents: unit,
            amount_cents: amount,
            tax_cents: tax,
            tax_category: row.9,
            service_period: ServicePeriod {
                start: row.10,
                end: row.11,
            },
            contract_id: row.12,
            contract_line_id: row.13,
            source: super::stored(row.14)?,
        });
    }
    Ok(rows
        .into_iter()
        .map(|row| Invoice {
            lines: by_invoice.remove(&row.id).unwrap_or_default(),
            balance_due_cents: if row.status == "void" || row.status == "draft" {
                0
            } else {
                balance_due(row.total_cents, row.credit_applied_cents, row.paid_cents)
            },
            id: row.id,
            number: row.number,
            client_id: row.client_id,
            status: row.status,
            origin: row.origin,
            period_start: row.period_start,
            period_end: row.period_end,
            currency: row.currency,
            invoice_date: row.invoice_date,
            due_on: row.due_on,
            subtotal_cents: row.subtotal_cents,
            discount_cents: row.discount_cents,
            tax_cents: row.tax_cents,
            total_cents: row.total_cents,
            credit_applied_cents: row.credit_applied_cents,
            paid_cents: row.paid_cents,
            notes: row.notes,
            billing_run_id: row.billing_run_id,
            created_at: row.created_at,
            finalized_at: row.finalized_at,
            voided_at: row.voided_at,
        })
        .collect())
}

/// The invoice with `id`.
pub async fn find_invoice(tx: &mut TenantTx, id: Uuid) -> Result<Option<Invoice>, DbError> {
    let row: Option<InvoiceRow> = invoices::table
        .filter(invoices::id.eq(id))
        .select(InvoiceRow::as_select())
        .first(tx.conn())
        .await
        .optional()?;
    match row {
        Some(row) => Ok(assemble(tx, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// Filters of the invoice list.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    /// Only this client's.
    pub client_id: Option<Uuid>,
    /// Only in this status.
    pub status: Option<String>,
    /// Only those a billing run drafted.
    pub billing_run_id: Option<Uuid>,
}

/// Invoices, newest first.
pub async fn list_invoices(
    tx: &mut TenantTx,
    filter: &InvoiceFilter,
    page: PageRequest,
) -> Result<Page<Invoice>, DbError> {
    let mut query = invoices::table
        .select(InvoiceRow::as_select())
        .order(invoices::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(client) = filter.client_id {
        query = query.filter(invoices::client_id.eq(client));
    }
    if let Some(status) = &filter.status {
        query = query.filter(invoices::status.eq(status.clone()));
    }
    if let Some(run) = filter.billing_run_id {
        query = query.filter(invoices::billing_run_id.eq(run));
    }
    if let Some(after) = page.after {
        query = query.filter(invoices::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    let page = Page::from_overfetch(rows, page.limit, |r| r.id);
    Ok(Page {
        data: assemble(tx, page.data).await?,
        next_cursor: page.next_cursor,
    })
}

/// A draft to store: priced, with the contract each line came from.
#[derive(Clone, Debug)]
pub struct NewInvoice {
    /// Id.
    pub id: Uuid,
    /// Client.
    pub client_id: Uuid,
    /// `manual` or `billing_run`.
    pub origin: &'static str,
    /// Currency.
    pub currency: String,
    /// Invoice date.
    pub invoice_date: NaiveDate,
    /// The billing window.
    pub period: Option<ServicePeriod>,
    /// Lines and totals.
    pub priced: PricedInvoice,
    /// Contract line → contract.
    pub contract_of_line: HashMap<Uuid, Uuid>,
    /// Notes.
    pub notes: String,
    /// The run.
    pub billing_run_id: Option<Uuid>,
    /// Who typed it.
    pub created_by: Option<Uuid>,
}

/// Rows per multi-row insert: well under Postgres' 65,535 bind parameters.
const INVOICES_PER_INSERT: usize = 1_000;
const LINES_PER_INSERT: usize = 2_000;

/// Stores drafts with their lines in a few multi-row statements.
pub async fn insert_invoices(tx: &mut TenantTx, drafts: &[NewInvoice]) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    for chunk in drafts.chunks(INVOICES_PER_INSERT) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|d| {
                (
                    invoices::tenant.eq(tenant),
                    invoices::id.eq(d.id),
                    invoices::client_id.eq(d.client_id),
                    invoices::origin.eq(d.origin),
                    invoices::currency.eq(&d.currency),
                    invoices::invoice_date.eq(d.invoice_date),
                    invoices::period_start.eq(d.period.map(|p| p.start)),
                    invoices::period_end.eq(d.period.map(|p| p.end)),
                    invoices::subtotal_cents.eq(d.priced.subtotal_cents),
                    invoices::discount_cents.eq(d.priced.discount_cents),
                    invoices::tax_cents.eq(d.priced.tax_cents),
                    invoices::total_cents.eq(d.priced.total_cents),
                    invoices::notes.eq(&d.notes),
                    invoices::billing_run_id.eq(d.billing_run_id),
                    invoices::created_by.eq(d.created_by),
                )
            })
            .collect();
        diesel::insert_into(invoices::table)
            .values(rows)
            .execute(tx.conn())
            .await?;
    }
    insert_lines(tx, drafts.iter().map(|d| (d, 0)).collect()).await
}

/// Stores the lines of `drafts`, each numbered from its start position.
async fn insert_lines(tx: &mut TenantTx, drafts: Vec<(&NewInvoice, i32)>) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let mut rows = Vec::new();
    for (draft, first) in drafts {
        for (i, line) in draft.priced.lines.iter().enumerate() {
            let charge = &line.charge;
            let line_id = charge.source.line_id();
            rows.push((
                invoice_lines::tenant.eq(tenant),
                invoice_lines::id.eq(Uuid::now_v7()),
                invoice_lines::invoice_id.eq(draft.id),
                invoice_lines::position.eq(first + i32::try_from(i).unwrap_or(i32::MAX)),
                invoice_lines::description.eq(truncate(&charge.description, 500)),
                invoice_lines::service_id.eq(charge.service_id),
                invoice_lines::quantity.eq(charge.quantity),
                invoice_lines::unit_price_cents.eq(charge.unit_price_cents),
                invoice_lines::amount_cents.eq(charge.amount_cents),
                invoice_lines::tax_cents.eq(line.tax_cents),
                invoice_lines::tax_category.eq(charge.tax_category.clone()),
                invoice_lines::service_start.eq(charge.service_period.start),
                invoice_lines::service_end.eq(charge.service_period.end),
                invoice_lines::contract_id
                    .eq(line_id.and_then(|l| draft.contract_of_line.get(&l).copied())),
                invoice_lines::contract_line_id.eq(line_id),
                invoice_lines::source.eq(serde_json::to_value(&charge.source).unwrap_or_default()),
            ));
        }
    }
    for chunk in rows.chunks(LINES_PER_INSERT) {
        diesel::insert_into(invoice_lines::table)
            .values(chunk.to_vec())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The client's tax: exemption and the rates of its region.
pub async fn tax_context(
    tx: &mut TenantTx,
    region: Option<&str>,
    exempt: bool,
) -> Result<TaxContext, DbError> {
    let Some(region) = region else {
        return Ok(TaxContext {
            exempt,
            rates: None,
        });
    };
    let rates = super::tax::list_rates(tx, Some(region)).await?;
    Ok(TaxContext {
        exempt,
        rates: Some(
            rates
                .into_iter()
                .map(super::tax::TaxRateView::into_rate)
                .collect(),
        ),
    })
}

fn billing_error(error: BillingError) -> RecordError {
    match error {
        BillingError::Invalid { field, message } => RecordError::field(field, message),
        other => RecordError::field("lines", other.to_string()),
    }
}

/// Typed lines as charges: the service's price in `currency` and tax category
/// fill what the line leaves open; no price anywhere is an error, never a zero.
async fn manual_charges(
    tx: &mut TenantTx,
    lines: &[ManualLine],
    currency: &str,
    invoice_date: NaiveDate,
    first_index: usize,
) -> Result<Vec<Charge>, RecordError> {
    let ids: Vec<Uuid> = lines.iter().filter_map(|l| l.service_id).collect();
    let services = find_services(tx, &ids).await?;
    let mut issues = Vec::new();
    let mut charges = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let at = first_index + i;
        let service = line
            .service_id
            .and_then(|id| services.iter().find(|s| s.id == id));
        if line.service_id.is_some() && service.is_none() {
            issues.push(engine::validation::FieldIssue {
                field: format!("lines[{at}].service_id"),
                message: "no such service".into(),
            });
            continue;
        }
        let Some(price) = line
            .unit_price_cents
            .or_else(|| service.and_then(|s| s.price_in(currency)))
        else {
            issues.push(engine::validation::FieldIssue {
                field: format!("lines[{at}].unit_price_cents"),
                message: format!("is required: the service has no price in {currency}"),
            });
            continue;
        };
        let category = line
            .tax_category
            .clone()
            .or_else(|| service.and_then(|s| s.tax_category.clone()));
        match line.charge(price, category, invoice_date) {
            Ok(charge) => charges.push(charge),
            Err(e) => issues.push(engine::validation::FieldIssue {
                field: format!("lines[{at}]"),
                message: e.to_string(),
            }),
        }
    }
    if issues.is_empty() {
        Ok(charges)
    } else {
        Err(RecordError::Invalid(issues))
    }
}

/// The client a new invoice or credit is for: it exists and is not archived.
async fn live_client(tx: &mut TenantTx, id: Uuid) -> Result<crate::clients::Client, RecordError> {
    find_client(tx, id)
        .await?
        .filter(|c| c.archived_at.is_none())
        .ok_or_else(|| RecordError::field("client_id", "no such client"))
}

/// Creates a manual draft: typed lines, the client's tax, the same totals as a run's.
pub async fn create_manual(
    tx: &mut TenantTx,
    draft: &ManualInvoiceDraft,
    today: NaiveDate,
    actor: Option<Uuid>,
) -> Result<Invoice, RecordError> {
    let client = live_client(tx, draft.client_id).await?;
    let currency = draft
        .currency
        .as_ref()
        .map_or(client.currency.trim().to_owned(), |c| c.code().to_owned());
    let invoice_date = draft.invoice_date.unwrap_or(today);
    let charges = manual_charges(tx, &draft.lines, &currency, invoice_date, 0).await?;
    let tax = tax_context(tx, client.tax_region.as_deref(), client.is_tax_exempt).await?;
    let period = ServicePeriod {
        start: invoice_date,
        end: invoice_date + chrono::Duration::days(1),
    };
    let priced = price_invoice(charges, &[], &tax, invoice_date, period).map_err(billing_error)?;
    let new = NewInvoice {
        id: Uuid::now_v7(),
        client_id: client.id,
        origin: "manual",
        currency,
        invoice_date,
        period: None,
        priced,
        contract_of_line: HashMap::new(),
        notes: draft.notes.clone(),
        billing_run_id: None,
        created_by: actor,
    };
    insert_invoices(tx, std::slice::from_ref(&new)).await?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "invoice.created",
            resource: "invoice",
            resource_id: Some(new.id),
            details: serde_json::json!({ "origin": "manual", "total_cents": new.priced.total_cents }),
        },
    )
    .await?;
    find_invoice(tx, new.id)
        .await?
        .ok_or(RecordError::NotFound("invoice"))
}

/// The invoice, locked for a change.
async fn lock_invoice(tx: &mut TenantTx, id: Uuid) -> Result<InvoiceRow, RecordError> {
    invoices::table
        .filter(invoices::id.eq(id))
        .select(InvoiceRow::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()?
        .ok_or(RecordError::NotFound("invoice"))
}

fn require_draft(row: &InvoiceRow) -> Result<(), RecordError> {
    if row.status == "draft" {
        Ok(())
    } else {
        Err(RecordError::Conflict(format!(
            "invoice {} is {}: only a draft can change",
            row.number.as_deref().unwrap_or("(draft)"),
            row.status
        )))
    }
}

/// Changes a draft's notes and/or replaces its typed lines (a run's billed lines
/// stay); the totals are priced again. A finalized invoice is refused (409).
pub async fn update_draft(
    tx: &mut TenantTx,
    id: Uuid,
    patch: &InvoicePatchDraft,
    actor: Option<Uuid>,
) -> Result<Invoice, RecordError> {
    let row = lock_invoice(tx, id).await?;
    require_draft(&row)?;
    if let Some(notes) = &patch.notes {
        diesel::update(invoices::table.filter(invoices::id.eq(id)))
            .set(invoices::notes.eq(notes))
            .execute(tx.conn())
            .await?;
    }
    if let Some(lines) = &patch.lines {
        reprice_draft(tx, &row, lines).await?;
    }
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "invoice.updated",
            resource: "invoice",
            resource_id: Some(id),
            details: serde_json::json!({ "lines": patch.lines.as_ref().map(Vec::len) }),
        },
    )
    .await?;
    find_invoice(tx, id)
        .await?
        .ok_or(RecordError::NotFound("invoice"))
}

/// Replaces the typed lines of a draft and prices it again with its kept lines.
async fn reprice_draft(
    tx: &mut TenantTx,
    row: &InvoiceRow,
    lines: &[ManualLine],
) -> Result<(), RecordError> {
    let current = assemble(tx, vec![row.clone()]).await?.pop();
    let kept: Vec<Charge> = current
        .into_iter()
        .flat_map(|i| i.lines)
        .filter(|l| {
            !matches!(
                l.source,
                ChargeSource::Manual | ChargeSource::Discount { .. }
            )
        })
        .map(|l| Charge {
            description: l.description,
            service_id: l.service_id,
            quantity: l.quantity,
            unit_price_cents: l.unit_price_cents,
            amount_cents: l.amount_cents,
            tax_category: l.tax_category,
            service_period: l.service_period,
            charge_date: l.service_period.start,
            source: l.source,
        })
        .collect();
    let contract_of_line: HashMap<Uuid, Uuid> = invoice_lines::table
        .filter(invoice_lines::invoice_id.eq(row.id))
        .filter(invoice_lines::contract_line_id.is_not_null())
        .select((
            invoice_lines::contract_line_id.assume_not_null(),
            invoice_lines::contract_id.assume_not_null(),
        ))
        .load::<(Uuid, Uuid)>(tx.conn())
        .await?
        .into_iter()
        .collect();
    let mut charges = kept;
    let typed = manual_charges(tx, lines, &row.currency, row.invoice_date, 0).await?;
    charges.extend(typed);
    let client = find_client(tx, row.client_id)
        .await?
        .ok_or(RecordError::NotFound("client"))?;
    let tax = tax_context(tx, client.tax_region.as_deref(), client.is_tax_exempt).await?;
    let period = match (row.period_start, row.period_end) {
        (Some(start), Some(end)) => ServicePeriod { start, end },
        _ => ServicePeriod {
            start: row.invoice_date,
            end: row.invoice_date + chrono::Duration::days(1),
        },
    };
    let priced =
        price_invoice(charges, &[], &tax, row.invoice_date, period).map_err(billing_error)?;
    diesel::delete(invoice_lines::table.filter(invoice_lines::invoice_id.eq(row.id)))
        .execute(tx.conn())
        .await?;
    diesel::update(invoices::table.filter(invoices::id.eq(row.id)))
        .set((
            invoices::subtotal_cents.eq(priced.subtotal_cents),
            invoices::discount_cents.eq(priced.discount_cents),
            invoices::tax_cents.eq(priced.tax_cents),
            invoices::total_cents.eq(priced.total_cents),
        ))
        .execute(tx.conn())
        .await?;
    let draft = NewInvoice {
        id: row.id,
        client_id: row.client_id,
        origin: "manual",
        currency: row.currency.clone(),
        invoice_date: row.invoice_date,
        period: None,
        priced,
        contract_of_line,
        notes: String::new(),
        billing_run_id: None,
        created_by: None,
    };
    insert_lines(tx, vec![(&draft, 0)]).await?;
    Ok(())
}

fn number_error(error: NumberError) -> RecordError {
    match error {
        NumberError::Db(e) => RecordError::Db(e),
        other => RecordError::Conflict(other.to_string()),
    }
}

/// Finalizes a draft: takes the next number, sets the due date from the client's
/// payment terms, applies usable credit soonest-expiring first, writes the ledger,
/// and makes the invoice immutable. A negative total becomes credit. Anything
/// but a draft is refused (409).
pub async fn finalize(
    tx: &mut TenantTx,
    id: Uuid,
    today: NaiveDate,
    actor: Option<Uuid>,
) -> Result<Invoice, RecordError> {
    let row = lock_invoice(tx, id).await?;
    if row.status != "draft" {
        return Err(RecordError::Conflict(format!(
            "invoice {} is already {}",
            row.number.as_deref().unwrap_or("(draft)"),
            row.status
        )));
    }
    ledger::lock_client(tx, row.client_id).await?;
    let client = find_client(tx, row.client_id)
        .await?
        .ok_or(RecordError::NotFound("client"))?;
    let terms: PaymentTerms =
        serde_json::from_value(serde_json::Value::String(client.payment_terms.clone()))
            .unwrap_or(PaymentTerms::Net30);
    let number = numbers::take_next(tx, "invoice")
        .await
        .map_err(number_error)?;
    let usable = usable_credits(tx, row.client_id, &row.currency).await?;
    let applied = apply_credits(row.total_cents, &usable, today);
    let applied_total: i64 = applied.iter().map(|(_, c)| c).sum();
    let mut movements = vec![Movement {
        client_id: row.client_id,
        currency: row.currency.clone(),
        kind: TransactionKind::InvoiceFinalized,
        amount_cents: row.total_cents.max(0),
        credit_cents: 0,
        invoice_id: Some(id),
        credit_id: None,
        payment_id: None,
        description: format!("Invoice {number}"),
    }];
    for (credit, cents) in &applied {
        diesel::update(credits::table.filter(credits::id.eq(credit)))
            .set(credits::remaining_cents.eq(credits::remaining_cents - cents))
            .execute(tx.conn())
            .await?;
        movements.push(Movement {
            client_id: row.client_id,
            currency: row.currency.clone(),
            kind: TransactionKind::CreditApplied,
            amount_cents: -cents,
            credit_cents: -cents,
            invoice_id: Some(id),
            credit_id: Some(*credit),
            payment_id: None,
            description: format!("Credit applied to invoice {number}"),
        });
    }
    if row.total_cents < 0 {
        let credit = insert_credit(
            tx,
            NewCredit {
                client_id: row.client_id,
                currency: row.currency.clone(),
                amount_cents: -row.total_cents,
                origin: "negative_invoice",
                reason: format!("Invoice {number} totals less than zero"),
                expires_on: None,
                invoice_id: Some(id),
            },
            actor,
        )
        .await?;
        movements.push(credit_issued(&credit, row.client_id, &row.currency));
    }
    let due = balance_due(row.total_cents, applied_total, 0);
    diesel::update(invoices::table.filter(invoices::id.eq(id)))
        .set((
            invoices::number.eq(&number),
            invoices::status.eq(if due == 0 { "paid" } else { "finalized" }),
            // Terms run from the invoice date, as the client reads them on it.
            invoices::due_on.eq(due_date(row.invoice_date, terms.due_days())),
            invoices::finalized_at.eq(Utc::now()),
            invoices::credit_applied_cents.eq(applied_total),
        ))
        .execute(tx.conn())
        .await?;
    ledger::append(tx, movements, actor).await?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "invoice.finalized",
            resource: "invoice",
            resource_id: Some(id),
            details: serde_json::json!({ "number": number, "total_cents": row.total_cents, "credit_applied_cents": applied_total }),
        },
    )
    .await?;
    find_invoice(tx, id)
        .await?
        .ok_or(RecordError::NotFound("invoice"))
}

async fn usable_credits(
    tx: &mut TenantTx,
    client: Uuid,
    currency: &str,
) -> Result<Vec<AvailableCredit>, DbError> {
    let rows: Vec<(Uuid, i64, Option<NaiveDate>)> = credits::table
        .filter(credits::client_id.eq(client))
        .filter(credits::currency.eq(currency))
        .filter(credits::remaining_cents.gt(0))
        .select((credits::id, credits::remaining_cents, credits::expires_on))
        .for_update()
        .load(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, remaining_cents, expires_on)| AvailableCredit {
            id,
            remaining_cents,
            expires_on,
        })
        .collect())
}

/// A credit.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = credits)]
pub struct Credit {
    /// Id.
    pub id: Uuid,
    /// The client.
    pub client_id: Uuid,
    /// Currency.
    pub currency: String,
    /// Granted.
    pub amount_cents: i64,
    /// Left to use.
    pub remaining_cents: i64,
    /// `manual`, `prepayment`, `negative_invoice` or `void`.
    pub origin: String,
    /// Why.
    pub reason: String,
    /// The first day it is no longer usable.
    pub expires_on: Option<NaiveDate>,
    /// The invoice it came from.
    pub invoice_id: Option<Uuid>,
    /// When it expired.
    pub expired_at: Option<DateTime<Utc>>,
    /// Granted at.
    pub created_at: DateTime<Utc>,
}

struct NewCredit {
    client_id: Uuid,
    currency: String,
    amount_cents: i64,
    origin: &'static str,
    reason: String,
    expires_on: Option<NaiveDate>,
    invoice_id: Option<Uuid>,
}

async fn insert_credit(
    tx: &mut TenantTx,
    credit: NewCredit,
    actor: Option<Uuid>,
) -> Result<Credit, DbError> {
    let tenant = tx.tenant().0;
    Ok(diesel::insert_into(credits::table)
        .values((
            credits::tenant.eq(tenant),
            credits::id.eq(Uuid::now_v7()),
            credits::client_id.eq(credit.client_id),
            credits::currency.eq(&credit.currency),
            credits::amount_cents.eq(credit.amount_cents),
            credits::remaining_cents.eq(credit.amount_cents),
            credits::origin.eq(credit.origin),
            credits::reason.eq(&credit.reason),
            credits::expires_on.eq(credit.expires_on),
            credits::invoice_id.eq(credit.invoice_id),
            credits::created_by.eq(actor),
        ))
        .returning(Credit::as_returning())
        .get_result(tx.conn())
        .await?)
}

fn credit_issued(credit: &Credit, client: Uuid, currency: &str) -> Movement {
    Movement {
        client_id: client,
        currency: currency.to_owned(),
        kind: TransactionKind::CreditIssued,
        amount_cents: 0,
        credit_cents: credit.amount_cents,
        invoice_id: credit.invoice_id,
        credit_id: Some(credit.id),
        payment_id: None,
        description: credit.reason.clone(),
    }
}

/// Grants a credit by hand and records it on the ledger.
pub async fn grant_credit(
    tx: &mut TenantTx,
    draft: &CreditDraft,
    today: NaiveDate,
    actor: Option<Uuid>,
) -> Result<Credit, RecordError> {
    let client = live_client(tx, draft.client_id).await?;
    if draft.expires_on.is_some_and(|e| e <= today) {
        return Err(RecordError::field("expires_on", "must be after today"));
    }
    ledger::lock_client(tx, client.id).await?;
    let currency = draft
        .currency
        .as_ref()
        .map_or(client.currency.trim().to_owned(), |c| c.code().to_owned());
    let credit = insert_credit(
        tx,
        NewCredit {
            client_id: client.id,
            currency: currency.clone(),
            amount_cents: draft.amount_cents,
            origin: draft.origin,
            reason: draft.reason.clone(),
            expires_on: draft.expires_on,
            invoice_id: None,
        },
        actor,
    )
    .await?;
    ledger::append(
        tx,
        vec![credit_issued(&credit, client.id, &currency)],
        actor,
    )
    .await?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "credit.granted",
            resource: "credit",
            resource_id: Some(credit.id),
            details: serde_json::json!({ "client_id": client.id, "amount_cents": credit.amount_cents }),
        },
    )
    .await?;
    Ok(credit)
}

/// A client's credits, newest first.
pub async fn list_credits(tx: &mut TenantTx, client: Uuid) -> Result<Vec<Credit>, DbError> {
    Ok(credits::table
        .filter(credits::client_id.eq(client))
        .select(Credit::as_select())
        .order(credits::id.desc())
        .limit(500)
        .load(tx.conn())
        .await?)
}

/// A payment.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = payments)]
pub struct Payment {
    /// Id.
    pub id: Uuid,
    /// The invoice paid.
    pub invoice_id: Uuid,
    /// The client.
    pub client_id: Uuid,
    /// Cents received.
    pub amount_cents: i64,
    /// The day it arrived.
    pub received_on: NaiveDate,
    /// Bank or card reference.
    pub reference: String,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
}

/// What recording a payment did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentOutcome {
    /// The payment.
    pub payment: Payment,
    /// What went beyond the balance due, kept as the client's credit.
    pub credit: Option<Credit>,
    /// The invoice after it.
    pub invoice: Invoice,
}

/// Records a payment of a finalized invoice; beyond the balance due becomes a
/// prepayment credit. Drafts, paid and void invoices are refused (409).
pub async fn record_payment(
    tx: &mut TenantTx,
    id: Uuid,
    draft: &PaymentDraft,
    today: NaiveDate,
    actor: Option<Uuid>,
) -> Result<PaymentOutcome, RecordError> {
    let row = lock_invoice(tx, id).await?;
    let number = row.number.clone().unwrap_or_default();
    match row.status.as_str() {
        "finalized" => {}
        "draft" => {
            return Err(RecordError::Conflict(
                "finalize the invoice before recording a payment".into(),
            ))
        }
        other => {
            return Err(RecordError::Conflict(format!(
                "invoice {number} is {other}: nothing is due"
            )))
        }
    }
    ledger::lock_client(tx, row.client_id).await?;
    let due = balance_due(row.total_cents, row.credit_applied_cents, row.paid_cents);
    let (applied, surplus) = split_payment(draft.amount_cents, due);
    let received_on = draft.received_on.unwrap_or(today);
    let tenant = tx.tenant().0;
    let payment: Payment = diesel::insert_into(payments::table)
        .values((
            payments::tenant.eq(tenant),
            payments::id.eq(Uuid::now_v7()),
            payments::invoice_id.eq(id),
            payments::client_id.eq(row.client_id),
            payments::amount_cents.eq(draft.amount_cents),
            payments::received_on.eq(received_on),
            payments::reference.eq(&draft.reference),
            payments::created_by.eq(actor),
        ))
        .returning(Payment::as_returning())
        .get_result(tx.conn())
        .await?;
    let mut movements = vec![Movement {
        client_id: row.client_id,
        currency: row.currency.clone(),
        kind: TransactionKind::Payment,
        amount_cents: -applied,
        credit_cents: 0,
        invoice_id: Some(id),
        credit_id: None,
        payment_id: Some(payment.id),
        description: format!("Payment for invoice {number} {}", draft.reference)
            .trim()
            .to_owned(),
    }];
    let credit = if surplus > 0 {
        let credit = insert_credit(
            tx,
            NewCredit {
                client_id: row.client_id,
                currency: row.currency.clone(),
                amount_cents: surplus,
                origin: "prepayment",
                reason: format!("Overpayment of invoice {number}"),
                expires_on: None,
                invoice_id: Some(id),
            },
            actor,
        )
        .await?;
        movements.push(Movement {
            payment_id: Some(payment.id),
            ..credit_issued(&credit, row.client_id, &row.currency)
        });
        Some(credit)
    } else {
        None
    };
    diesel::update(invoices::table.filter(invoices::id.eq(id)))
        .set((
            invoices::paid_cents.eq(row.paid_cents + applied),
            invoices::status.eq(if applied == due { "paid" } else { "finalized" }),
        ))
        .execute(tx.conn())
        .await?;
    ledger::append(tx, movements, actor).await?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "payment.recorded",
            resource: "invoice",
            resource_id: Some(id),
            details: serde_json::json!({ "amount_cents": draft.amount_cents, "surplus_cents": surplus }),
        },
    )
    .await?;
    let invoice = find_invoice(tx, id)
        .await?
        .ok_or(RecordError::NotFound("invoice"))?;
    Ok(PaymentOutcome {
        payment,
        credit,
        invoice,
    })
}

/// Voids an invoice. A draft just stops counting; a finalized one is no longer
/// owed, and the credit and payments it received come back as credit. Either
/// way its time and usage return to billing and its billed windows are freed,
/// so the next run bills them again. Voiding twice is refused (409).
pub async fn void_invoice(
    tx: &mut TenantTx,
    id: Uuid,
    reason: &str,
    actor: Option<Uuid>,
) -> Result<Invoice, RecordError> {
    let row = lock_invoice(tx, id).await?;
    if row.status == "void" {
        return Err(RecordError::Conflict("the invoice is already void".into()));
    }
    if row.status != "draft" {
        ledger::lock_client(tx, row.client_id).await?;
        let number = row.number.clone().unwrap_or_default();
        let due = balance_due(row.total_cents, row.credit_applied_cents, row.paid_cents);
        let mut movements = vec![Movement {
            client_id: row.client_id,
            currency: row.currency.clone(),
            kind: TransactionKind::InvoiceVoided,
            amount_cents: -due,
            credit_cents: 0,
            invoice_id: Some(id),
            credit_id: None,
            payment_id: None,
            description: format!("Invoice {number} voided: {reason}"),
        }];
        let returned = row.credit_applied_cents + row.paid_cents;
        if returned > 0 {
            let credit = insert_credit(
                tx,
                NewCredit {
                    client_id: row.client_id,
                    currency: row.currency.clone(),
                    amount_cents: returned,
                    origin: "void",
                    reason: format!("Received on voided invoice {number}"),
                    expires_on: None,
                    invoice_id: Some(id),
                },
                actor,
            )
            .await?;
            movements.push(credit_issued(&credit, row.client_id, &row.currency));
        }
        ledger::append(tx, movements, actor).await?;
    }
    release_billed(tx, id).await?;
    diesel::update(invoices::table.filter(invoices::id.eq(id)))
        .set((
            invoices::status.eq("void"),
            invoices::voided_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "invoice.voided",
            resource: "invoice",
            resource_id: Some(id),
            details: serde_json::json!({ "reason": reason, "was": row.status }),
        },
    )
    .await?;
    find_invoice(tx, id)
        .await?
        .ok_or(RecordError::NotFound("invoice"))
}

/// Returns an invoice's time and usage to billing and frees its windows.
async fn release_billed(tx: &mut TenantTx, invoice: Uuid) -> Result<(), DbError> {
    diesel::update(time_entries::table.filter(time_entries::invoice_id.eq(invoice)))
        .set(time_entries::invoice_id.eq(None::<Uuid>))
        .execute(tx.conn())
        .await?;
    diesel::update(usage_records::table.filter(usage_records::invoice_id.eq(invoice)))
        .set(usage_records::invoice_id.eq(None::<Uuid>))
        .execute(tx.conn())
        .await?;
    diesel::delete(billed_periods::table.filter(billed_periods::invoice_id.eq(invoice)))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Expires every credit whose expiry day has come, recording each on the ledger;
/// answers how many expired.
pub async fn expire_credits(tx: &mut TenantTx, today: NaiveDate) -> Result<u64, DbError> {
    // Clients first, then their credits: the order finalizing locks in.
    let clients: Vec<Uuid> = credits::table
        .filter(credits::remaining_cents.gt(0))
        .filter(credits::expires_on.le(today))
        .select(credits::client_id)
        .distinct()
        .order(credits::client_id)
        .load(tx.conn())
        .await?;
    let mut expired = 0u64;
    for client in clients {
        ledger::lock_client(tx, client).await?;
        let due: Vec<Credit> = credits::table
            .filter(credits::client_id.eq(client))
            .filter(credits::remaining_cents.gt(0))
            .filter(credits::expires_on.le(today))
            .select(Credit::as_select())
            .order(credits::id)
            .for_update()
            .load(tx.conn())
            .await?;
        let mut movements = Vec::with_capacity(due.len());
        for credit in &due {
            diesel::update(credits::table.filter(credits::id.eq(credit.id)))
                .set((
                    credits::remaining_cents.eq(0),
                    credits::expired_at.eq(Utc::now()),
                ))
                .execute(tx.conn())
                .await?;
            movements.push(Movement {
                client_id: credit.client_id,
                currency: credit.currency.clone(),
                kind: TransactionKind::CreditExpired,
                amount_cents: 0,
                credit_cents: -credit.remaining_cents,
                invoice_id: None,
                credit_id: Some(credit.id),
                payment_id: None,
                description: format!("Credit expired: {}", credit.reason),
            });
        }
        expired += due.len() as u64;
        ledger::append(tx, movements, None).await?;
    }
    Ok(expired)
}
