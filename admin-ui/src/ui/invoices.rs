//! The invoice list (`/billing/invoices`): filtered by status and client, paged by
//! keyset like the other lists, and the form that types a manual draft (up to
//! [`LINE_ROWS`] lines, prices as money text "125.00"). The draft is priced and
//! taxed by `create_manual`, as `POST /invoices/manual` does; a refused form
//! comes back with each message next to its input and everything typed kept.

use super::billing::{may_manage, parse_money, today};
use super::forms::{
    issues_on_rows, link, optional_text, page_after, parse_id, row_field, FormErrors, Parse,
};
use super::lookups::{client_names, client_options};
use super::pages::{forbidden_page, in_tx, nav, render, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::billing::invoices::{self, InvoiceFilter};
use activities::records::RecordError;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::billing::documents::{ManualInvoiceInput, ManualLineInput};
use engine::Permission;
use minijinja::context;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Line rows the manual invoice form offers.
pub const LINE_ROWS: usize = 5;

/// The statuses an invoice can be in, as the filter offers them.
const STATUSES: &[&str] = &["draft", "finalized", "paid", "void"];

/// The domain's names for line fields the form names otherwise.
const LINE_RENAMES: &[(&str, &str)] = &[("unit_price_cents", "unit_price")];

/// The list's filters and cursor, as text so a hand-edited URL still gives a page.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct InvoiceListQuery {
    status: String,
    client_id: String,
    #[serde(skip_serializing)]
    cursor: String,
}

/// One line row of the manual invoice form, as typed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LineRow {
    description: String,
    quantity: String,
    unit_price: String,
    tax_category: String,
}

impl LineRow {
    fn is_blank(&self) -> bool {
        [
            &self.description,
            &self.quantity,
            &self.unit_price,
            &self.tax_category,
        ]
        .iter()
        .all(|t| t.trim().is_empty())
    }
}

/// The manual invoice form, as typed; its rows arrive as `lines[i].field`.
#[derive(Debug, Default, Serialize)]
pub struct ManualInvoiceForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    client_id: String,
    invoice_date: String,
    notes: String,
    lines: Vec<LineRow>,
}

impl ManualInvoiceForm {
    /// An empty form dated today.
    fn blank() -> ManualInvoiceForm {
        ManualInvoiceForm {
            invoice_date: today().to_string(),
            lines: vec![LineRow::default(); LINE_ROWS],
            ..ManualInvoiceForm::default()
        }
    }

    /// The form from the posted pairs; fields of rows beyond [`LINE_ROWS`] are ignored.
    fn from_pairs(pairs: Vec<(String, String)>) -> ManualInvoiceForm {
        let mut form = ManualInvoiceForm {
            lines: vec![LineRow::default(); LINE_ROWS],
            ..ManualInvoiceForm::default()
        };
        for (name, value) in pairs {
            if let Some((row, field)) = row_field(&name, "lines") {
                let Some(line) = form.lines.get_mut(row) else {
                    continue;
                };
                match field {
                    "description" => line.description = value,
                    "quantity" => line.quantity = value,
                    "unit_price" => line.unit_price = value,
                    "tax_category" => line.tax_category = value,
                    _ => {}
                }
                continue;
            }
            match name.as_str() {
                "csrf_token" => form.csrf_token = value,
                "client_id" => form.client_id = value,
                "invoice_date" => form.invoice_date = value,
                "notes" => form.notes = value,
                _ => {}
            }
        }
        form
    }

    /// The API input of the rows typed on, and which form row each came from;
    /// parse problems are recorded against the form's own field names.
    fn input(&self, parse: &mut Parse) -> (ManualInvoiceInput, Vec<usize>) {
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for (i, row) in self.lines.iter().enumerate() {
            if row.is_blank() {
                continue;
            }
            rows.push(i);
            let field = |name: &str| format!("lines[{i}].{name}");
            lines.push(ManualLineInput {
                description: Some(row.description.clone()),
                quantity: parse.optional(&field("quantity"), &row.quantity, |t| {
                    t.parse::<Decimal>()
                        .map_err(|_| "must be a number like 2.5")
                }),
                unit_price_cents: parse.optional(&field("unit_price"), &row.unit_price, |t| {
                    parse_money(t).ok_or("must be an amount like 125.00")
                }),
                tax_category: optional_text(&row.tax_category),
                ..ManualLineInput::default()
            });
        }
        let input = ManualInvoiceInput {
            client_id: parse.id("client_id", &self.client_id),
            currency: None,
            invoice_date: parse.date("invoice_date", &self.invoice_date),
            notes: optional_text(&self.notes),
            lines,
        };
        (input, rows)
    }
}

/// The inputs of the form, where messages are shown next to their field.
fn shown_fields() -> Vec<String> {
    let mut fields: Vec<String> = ["client_id", "invoice_date", "notes"]
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    for i in 0..LINE_ROWS {
        for name in ["description", "quantity", "unit_price", "tax_category"] {
            fields.push(format!("lines[{i}].{name}"));
        }
    }
    fields
}

pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<InvoiceListQuery>,
) -> PageResult {
    if !user.0.can(Permission::BILLING_READ) {
        return forbidden_page(&app, &user, Permission::BILLING_READ);
    }
    let form = ManualInvoiceForm::blank();
    render_list(
        &app,
        &user,
        &query,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_list(
    app: &AppState,
    user: &SignedIn,
    query: &InvoiceListQuery,
    form: ManualInvoiceForm,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    let filter = InvoiceFilter {
        client_id: parse_id(&query.client_id),
        status: Some(query.status.trim())
            .filter(|s| STATUSES.contains(s))
            .map(str::to_owned),
        billing_run_id: None,
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let page = invoices::list_invoices(&mut tx, &filter, page_after(&query.cursor)).await?;
    let names = client_names(&mut tx, page.data.iter().map(|i| i.client_id).collect()).await?;
    let clients = client_options(&mut tx, filter.client_id).await?;
    tx.commit().await?;
    let next_url = page.next_cursor.map(|cursor| {
        let cursor = cursor.to_string();
        link(
            "/billing/invoices",
            &[
                ("status", &query.status),
                ("client_id", &query.client_id),
                ("cursor", &cursor),
            ],
        )
    });
    let open_form = !errors.fields.is_empty() || !errors.general.is_empty();
    let ctx = context! {
        nav => nav(user),
        invoices => page.data,
        names, clients, query, next_url, form, errors, open_form,
        paged => !query.cursor.is_empty(),
        statuses => STATUSES,
        can_manage => user.0.can(Permission::BILLING_MANAGE),
    };
    Ok((status, render(app, "invoices.html", ctx)?).into_response())
}

pub async fn create(
    State(app): State<AppState>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let form = ManualInvoiceForm::from_pairs(pairs);
    if let Some(refused) = may_manage(&app, &user, &form.csrf_token) {
        return refused;
    }
    let mut parse = Parse::default();
    let (input, rows) = form.input(&mut parse);
    let on_rows = |issues| issues_on_rows(issues, "lines", &rows, LINE_RENAMES);
    let outcome = match parse.merge(input.validate().map_err(on_rows)) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(draft) => {
            let actor = Some(user.0.user_id);
            in_tx(&app, &user, async |tx| {
                invoices::create_manual(tx, &draft, today(), actor).await
            })
            .await?
            .map_err(|error| match error {
                RecordError::Invalid(issues) => RecordError::Invalid(on_rows(issues)),
                other => other,
            })
        }
    };
    let (errors, status) = match outcome {
        Ok(invoice) => {
            let to = format!("/billing/invoices/{}", invoice.id);
            return Ok(Redirect::to(&to).into_response());
        }
        Err(RecordError::Invalid(issues)) => {
            let shown = shown_fields();
            let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
            (
                FormErrors::from_issues(issues, &shown),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(RecordError::Conflict(message)) => (FormErrors::general(message), StatusCode::CONFLICT),
        Err(RecordError::NotFound(what)) => (
            FormErrors::general(format!("no such {what}")),
            StatusCode::NOT_FOUND,
        ),
        Err(RecordError::Db(error)) => return Err(error.into()),
    };
    let query = InvoiceListQuery::default();
    render_list(&app, &user, &query, form, errors, status).await
}
