//! The billing section of a client's page, for users with billing:read: what the
//! client owes and the credit they hold (in the client's currency, from the
//! ledger), their credits, recent invoices and latest ledger movements, and the
//! form that grants a credit (billing:manage).

use super::billing::{parse_money, today};
use super::client_detail::{render_detail, Refused};
use super::forms::{FormErrors, Parse};
use super::invoice_detail::rename_amount;
use super::pages::{in_tx, writable, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::billing::invoices::{self, InvoiceFilter};
use activities::billing::ledger;
use activities::clients::Client;
use activities::pagination::PageRequest;
use activities::records::RecordError;
use activities::{DbError, TenantTx};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::billing::documents::CreditInput;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};

/// Invoices and ledger rows the section shows; the full lists are linked.
const RECENT_INVOICES: i64 = 10;
const LEDGER_ROWS: i64 = 20;

/// The grant-credit form; the amount is money text.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CreditForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    amount: String,
    expires_on: String,
    reason: String,
}

const CREDIT_FIELDS: &[&str] = &["amount", "expires_on", "reason"];

/// The section for `client`, or none for a user without billing:read; `refused`
/// is a grant-credit form to show again with its errors.
pub(super) async fn section(
    tx: &mut TenantTx,
    user: &SignedIn,
    client: &Client,
    refused: Option<(CreditForm, FormErrors)>,
) -> Result<Option<minijinja::Value>, DbError> {
    if !user.0.can(Permission::BILLING_READ) {
        return Ok(None);
    }
    let currency = client.currency.trim();
    let balance = ledger::balance(tx, client.id, currency).await?;
    let credits = invoices::list_credits(tx, client.id).await?;
    let filter = InvoiceFilter {
        client_id: Some(client.id),
        ..InvoiceFilter::default()
    };
    let recent = PageRequest {
        limit: RECENT_INVOICES,
        after: None,
    };
    let invoices = invoices::list_invoices(tx, &filter, recent).await?;
    let rows = PageRequest {
        limit: LEDGER_ROWS,
        after: None,
    };
    let ledger = ledger::list(tx, client.id, rows).await?;
    let (credit_form, credit_errors) = refused.unwrap_or_default();
    Ok(Some(context! {
        balance,
        credits,
        invoices => invoices.data,
        more_invoices => invoices.next_cursor.is_some(),
        transactions => ledger.data,
        more_transactions => ledger.next_cursor.is_some(),
        credit_form,
        credit_errors,
        can_manage => user.0.can(Permission::BILLING_MANAGE),
    }))
}

pub async fn grant_credit(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CreditForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::BILLING_MANAGE,
        &id,
        "client",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let mut parse = Parse::default();
    let input = CreditInput {
        client_id: Some(id),
        amount_cents: parse.optional("amount", &form.amount, |t| {
            parse_money(t).ok_or("must be an amount like 125.00")
        }),
        currency: None,
        expires_on: parse.date("expires_on", &form.expires_on),
        reason: Some(form.reason.clone()),
        origin: None,
    };
    let outcome = match parse.merge(input.validate().map_err(rename_amount)) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(draft) => {
            let actor = Some(user.0.user_id);
            in_tx(&app, &user, async |tx| {
                invoices::grant_credit(tx, &draft, today(), actor).await
            })
            .await?
        }
    };
    let (errors, status) = match outcome {
        Ok(_) => return Ok(Redirect::to(&format!("/clients/{id}#billing")).into_response()),
        Err(RecordError::Invalid(issues)) => (
            FormErrors::from_issues(issues, CREDIT_FIELDS),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(RecordError::Conflict(message)) => (FormErrors::general(message), StatusCode::CONFLICT),
        Err(RecordError::NotFound(what)) => return super::pages::not_found_page(&app, &user, what),
        Err(RecordError::Db(error)) => return Err(error.into()),
    };
    let refused = Refused {
        credit: Some((form, errors)),
        ..Refused::default()
    };
    render_detail(&app, &user, id, refused, status).await
}
