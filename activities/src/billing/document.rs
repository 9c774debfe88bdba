//! Invoice documents: the tenant's template, the invoice rendered through it into
//! a PDF (Helvetica, A4, paginated), and e-mailing it to the client's billing
//! address with the PDF attached.

use super::invoices::{find_invoice, Invoice};
use crate::clients::find_client;
use crate::db::{DbError, TenantTx};
use crate::notifications::mail::{self, Attachment, Envelope, Mailer, SendError};
use crate::records::RecordError;
use crate::schema::{invoice_deliveries, invoice_templates};
use crate::tenants;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::billing::document::{
    format_cents, render_invoice, validate_template, DEFAULT_INVOICE_TEMPLATE,
};
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The tenant's invoice template.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceTemplate {
    /// The minijinja text.
    pub body: String,
    /// False while the tenant uses the shipped default.
    pub is_custom: bool,
    /// Last saved.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The template in use: the tenant's, else the default.
pub async fn invoice_template(tx: &mut TenantTx) -> Result<InvoiceTemplate, DbError> {
    let saved: Option<(String, DateTime<Utc>)> = invoice_templates::table
        .filter(invoice_templates::name.eq("invoice"))
        .select((invoice_templates::body, invoice_templates::updated_at))
        .first(tx.conn())
        .await
        .optional()?;
    Ok(match saved {
        Some((body, updated_at)) => InvoiceTemplate {
            body,
            is_custom: true,
            updated_at: Some(updated_at),
        },
        None => InvoiceTemplate {
            body: DEFAULT_INVOICE_TEMPLATE.to_owned(),
            is_custom: false,
            updated_at: None,
        },
    })
}

/// Saves the tenant's template after rendering it against a sample invoice; a
/// template that does not render is refused with its line.
pub async fn save_invoice_template(
    tx: &mut TenantTx,
    body: &str,
    actor: Option<Uuid>,
) -> Result<InvoiceTemplate, RecordError> {
    validate_template(body).map_err(|e| RecordError::field("body", e.to_string()))?;
    let tenant = tx.tenant().0;
    diesel::insert_into(invoice_templates::table)
        .values((
            invoice_templates::tenant.eq(tenant),
            invoice_templates::name.eq("invoice"),
            invoice_templates::body.eq(body),
            invoice_templates::updated_by.eq(actor),
        ))
        .on_conflict((invoice_templates::tenant, invoice_templates::name))
        .do_update()
        .set((
            invoice_templates::body.eq(body),
            invoice_templates::updated_by.eq(actor),
            invoice_templates::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await?;
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action: "invoice_template.saved",
            resource: "invoice_template",
            resource_id: None,
            details: json!({ "bytes": body.len() }),
        },
    )
    .await?;
    Ok(invoice_template(tx).await?)
}

/// What the template sees of an invoice: money as text, dates as ISO days.
fn context(
    tenant: &str,
    client_name: &str,
    billing_email: Option<&str>,
    invoice: &Invoice,
) -> Value {
    let lines: Vec<Value> = invoice
        .lines
        .iter()
        .map(|l| {
            json!({
                "description": l.description,
                "quantity": l.quantity.normalize().to_string(),
                "unit_price": format_cents(l.unit_price_cents),
                "amount": format_cents(l.amount_cents),
                "tax": format_cents(l.tax_cents),
                "service_start": l.service_period.start.to_string(),
                "service_end": l.service_period.end.to_string(),
            })
        })
        .collect();
    json!({
        "tenant": {"name": tenant},
        "client": {"name": client_name, "billing_email": billing_email},
        "invoice": {
            "number": invoice.number, "status": invoice.status, "currency": invoice.currency,
            "invoice_date": invoice.invoice_date.to_string(),
            "due_on": invoice.due_on.map(|d| d.to_string()),
            "period_start": invoice.period_start.map(|d| d.to_string()),
            "period_end": invoice.period_end.map(|d| d.to_string()),
            "subtotal": format_cents(invoice.subtotal_cents),
            "tax": format_cents(invoice.tax_cents),
            "total": format_cents(invoice.total_cents),
            "credit_applied": format_cents(invoice.credit_applied_cents),
            "paid": format_cents(invoice.paid_cents),
            "balance_due": format_cents(invoice.balance_due_cents),
            "notes": invoice.notes,
        },
        "lines": lines,
    })
}

/// An invoice as a document: its text, its PDF, and who it goes to.
pub struct RenderedInvoice {
    /// The invoice.
    pub invoice: Invoice,
    /// The text the template made.
    pub text: String,
    /// The PDF.
    pub pdf: Vec<u8>,
    /// The client's name.
    pub client_name: String,
    /// The client's billing address, if any.
    pub billing_email: Option<String>,
    /// The tenant's name.
    pub tenant_name: String,
}

/// Renders invoice `id` through the tenant's template into a PDF.
pub async fn render(tx: &mut TenantTx, id: Uuid) -> Result<RenderedInvoice, RecordError> {
    let invoice = find_invoice(tx, id)
        .await?
        .ok_or(RecordError::NotFound("invoice"))?;
    let client = find_client(tx, invoice.client_id)
        .await?
        .ok_or(RecordError::NotFound("client"))?;
    let tenant = tenants::tenant_by_id(tx, tx.tenant())
        .await?
        .ok_or(RecordError::NotFound("tenant"))?;
    let template = invoice_template(tx).await?;
    let context = context(
        &tenant.name,
        &client.name,
        client.billing_email.as_deref(),
        &invoice,
    );
    // A saved template rendered the sample; a real invoice may still trip it
    // (say, a loop over a field it assumed): the error names the line.
    let text = render_invoice(&template.body, &context)
        .map_err(|e| RecordError::Conflict(format!("the invoice template does not render: {e}")))?;
    let pdf = pdf_of(&text, invoice.number.as_deref().unwrap_or("Draft invoice"));
    Ok(RenderedInvoice {
        invoice,
        text,
        pdf,
        client_name: client.name,
        billing_email: client.billing_email,
        tenant_name: tenant.name,
    })
}

/// A4 in points, margins, and the text grid.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const FONT_SIZE: f32 = 10.0;
const LEADING: f32 = 14.0;
/// Characters per line at 10 pt Helvetica within the margins (average glyph
/// width about half the size): longer lines wrap.
const LINE_CHARS: usize = 92;

/// WinAnsi bytes of `text`: Latin-1 characters as themselves, others as `?`
/// (the standard fonts carry no glyphs beyond it).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            code @ 0x20..=0x7e | code @ 0xa0..=0xff => code as u8,
            _ => b'?',
        })
        .collect()
}

/// Wraps a line at word boundaries to `LINE_CHARS`.
fn wrap(line: &str) -> Vec<String> {
    if line.chars().count() <= LINE_CHARS {
        return vec![line.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > LINE_CHARS {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

/// Lays `text` out as a PDF: one line per line, wrapped, as many A4 pages as it
/// takes, titled `title`.
pub fn pdf_of(text: &str, title: &str) -> Vec<u8> {
    let lines: Vec<String> = text.lines().flat_map(wrap).collect();
    let per_page = ((PAGE_HEIGHT - 2.0 * MARGIN) / LEADING) as usize;
    let pages: Vec<&[String]> = if lines.is_empty() {
        vec![&[]]
    } else {
        lines.chunks(per_page).collect()
    };
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let info = Ref::new(4);
    let first_page = 5;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(pdf_writer::TextStr(title))
        .producer(pdf_writer::TextStr("Keel"));
    for (page_lines, page_id) in pages.iter().zip(&page_ids) {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(tree)
            .contents(content_id);
        page.resources().fonts().pair(Name(b"F1"), font);
        drop(page);
        let mut content = Content::new();
        content.begin_text();
        content.set_font(Name(b"F1"), FONT_SIZE);
        content.set_leading(LEADING);
        content.next_line(MARGIN, PAGE_HEIGHT - MARGIN);
        for line in page_lines.iter() {
            content.show(Str(&win_ansi(line)));
            content.next_line_using_leading();
        }
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

/// A sent invoice.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Delivery {
    /// Id.
    pub id: Uuid,
    /// The invoice.
    pub invoice_id: Uuid,
    /// Where it went.
    pub to_email: String,
    /// The e-mail's Message-ID.
    pub message_id: String,
}

/// Why an invoice could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The invoice cannot be sent as it is (draft, void, no address, template).
    #[error("{0}")]
    Refused(String),
    /// Sending failed; a retry may work.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<RecordError> for DeliveryError {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::Db(e) => DeliveryError::Db(e),
            other => DeliveryError::Refused(other.to_string()),
        }
    }
}

/// The address an invoice goes to: `to` when given, else the client's billing
/// address. Drafts and void invoices are not sent.
fn recipient(
    status: &str,
    billing_email: Option<&str>,
    to: Option<&str>,
) -> Result<String, DeliveryError> {
    if matches!(status, "draft" | "void") {
        return Err(DeliveryError::Refused(format!(
            "a {status} invoice is not sent; finalize it first"
        )));
    }
    to.or(billing_email)
        .map(str::to_owned)
        .ok_or_else(|| DeliveryError::Refused("the client has no billing e-mail; give `to`".into()))
}

/// Checks that invoice `id` can be sent (to `to`, or the client's address)
/// without rendering it; answers the address.
pub async fn check_sendable(
    tx: &mut TenantTx,
    id: Uuid,
    to: Option<&str>,
) -> Result<String, DeliveryError> {
    let (status, client_id): (String, Uuid) = crate::schema::invoices::table
        .filter(crate::schema::invoices::id.eq(id))
        .select((
            crate::schema::invoices::status,
            crate::schema::invoices::client_id,
        ))
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| DeliveryError::Refused("no such invoice".into()))?;
    let client = find_client(tx, client_id)
        .await?
        .ok_or_else(|| DeliveryError::Refused("no such client".into()))?;
    recipient(&status, client.billing_email.as_deref(), to)
}

/// Renders invoice `id`, e-mails it with the PDF attached and records the
/// delivery, all in `tx` (the caller commits, so a failed send records nothing).
pub async fn send(
    tx: &mut TenantTx,
    mailer: &Mailer,
    id: Uuid,
    to: Option<&str>,
) -> Result<Delivery, DeliveryError> {
    let rendered = render(tx, id).await?;
    let to_email = recipient(
        &rendered.invoice.status,
        rendered.billing_email.as_deref(),
        to,
    )?;
    let route = mailer.route(tx).await?;
    let delivery_id = Uuid::now_v7();
    let message_id = format!("<{}@{}>", delivery_id.simple(), route.domain());
    let number = rendered.invoice.number.clone().unwrap_or_default();
    let subject = format!("Invoice {number} from {}", rendered.tenant_name);
    let text = format!(
        "Hello {},\n\nplease find invoice {number} attached: {} {} due {}.\n\n{}",
        rendered.client_name,
        format_cents(rendered.invoice.balance_due_cents),
        rendered.invoice.currency,
        rendered
            .invoice
            .due_on
            .map_or_else(|| "on receipt".to_owned(), |d| d.to_string()),
        rendered.tenant_name
    );
    let html = format!("<pre>{}</pre>", html_escape(&text));
    let envelope = Envelope {
        to_name: &rendered.client_name,
        to_email: &to_email,
        subject: &subject,
        text: &text,
        html: &html,
        message_id: &message_id,
        in_reply_to: None,
        references: &[],
        unsubscribe_url: None,
    };
    let pdf_bytes = i32::try_from(rendered.pdf.len()).unwrap_or(i32::MAX);
    let attachment = Attachment {
        filename: &format!(
            "{}.pdf",
            if number.is_empty() {
                "invoice"
            } else {
                &number
            }
        ),
        content_type: "application/pdf",
        bytes: rendered.pdf,
    };
    let message = mail::build_message_with_attachment(&route, &envelope, attachment)?;
    mailer.send(&route, message).await?;
    let tenant = tx.tenant().0;
    diesel::insert_into(invoice_deliveries::table)
        .values((
            invoice_deliveries::tenant.eq(tenant),
            invoice_deliveries::id.eq(delivery_id),
            invoice_deliveries::invoice_id.eq(id),
            invoice_deliveries::to_email.eq(&to_email),
            invoice_deliveries::message_id.eq(&message_id),
            invoice_deliveries::pdf_bytes.eq(pdf_bytes),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    Ok(Delivery {
        id: delivery_id,
        invoice_id: id,
        to_email,
        message_id,
    })
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The deliveries of an invoice, oldest first.
pub async fn deliveries(tx: &mut TenantTx, invoice: Uuid) -> Result<Vec<Delivery>, DbError> {
    let rows: Vec<(Uuid, Uuid, String, String)> = invoice_deliveries::table
        .filter(invoice_deliveries::invoice_id.eq(invoice))
        .select((
            invoice_deliveries::id,
            invoice_deliveries::invoice_id,
            invoice_deliveries::to_email,
            invoice_deliveries::message_id,
        ))
        .order(invoice_deliveries::id)
        .load(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, invoice_id, to_email, message_id)| Delivery {
            id,
            invoice_id,
            to_email,
            message_id,
        })
        .collect())
}
