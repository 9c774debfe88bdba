//! Invoices, payments, credits, the ledger and billing runs. Reading needs
//! `billing:read`; anything that writes or moves money needs `billing:manage`.

use crate::api::pagination::{page_of, Listed};
use crate::api::workflow_runs::{record_started, StartedRunBody};
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::billing::document::{self, InvoiceTemplate};
use activities::billing::invoices::{self, Credit, Invoice, InvoiceFilter, PaymentOutcome};
use activities::billing::ledger::{self, Balance, Mismatch, Transaction};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{NaiveDate, Utc};
use engine::billing::documents::{
    CreditInput, InvoicePatch, ManualInvoiceInput, PaymentInput, VoidInput,
};
use engine::workflows::billing_cycle::BillingCycleInput;
use engine::workflows::invoice_delivery::InvoiceDeliveryInput;
use engine::workflows::WorkflowKind;
use engine::Permission;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The statuses an invoice can be in.
const STATUSES: &[&str] = &["draft", "finalized", "paid", "void"];

/// Filters of the invoice list.
#[derive(Deserialize, IntoParams)]
pub struct InvoiceParams {
    /// Only this client's.
    client_id: Option<Uuid>,
    /// `draft`, `finalized`, `paid` or `void`.
    status: Option<String>,
    /// Only those this billing run drafted.
    billing_run_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Invoices, newest first.
#[utoipa::path(get, path = "/invoices", tag = "billing", security(("api_key" = [])), params(InvoiceParams),
    responses((status = 200, body = Listed<Invoice>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_invoices(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<InvoiceParams>,
) -> Result<Json<Listed<Invoice>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    if let Some(status) = params.status.as_deref() {
        if !STATUSES.contains(&status) {
            return Err(ApiError::invalid_field(
                "status",
                "must be draft, finalized, paid or void",
            ));
        }
    }
    let filter = InvoiceFilter {
        client_id: params.client_id,
        status: params.status,
        billing_run_id: params.billing_run_id,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let list = invoices::list_invoices(&mut tx, &filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(list)))
}

/// One invoice with its lines and where each amount came from.
#[utoipa::path(get, path = "/invoices/{id}", tag = "billing", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses((status = 200, body = Invoice), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_invoice(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Invoice>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let invoice = invoices::find_invoice(&mut tx, id).await?;
    tx.commit().await?;
    invoice
        .map(Json)
        .ok_or_else(|| ApiError::not_found("invoice"))
}

/// A manual draft with typed lines, priced and taxed like a run's.
#[utoipa::path(post, path = "/invoices/manual", tag = "billing", request_body = ManualInvoiceInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Invoice), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_manual_invoice(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ManualInvoiceInput>,
) -> Result<(StatusCode, Json<Invoice>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let invoice = invoices::create_manual(&mut tx, &draft, today(), Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(invoice)))
}

/// Changes a draft's notes or typed lines (priced again). A finalized, paid or
/// void invoice never changes (409).
#[utoipa::path(patch, path = "/invoices/{id}", tag = "billing", request_body = InvoicePatch, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses((status = 200, body = Invoice), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_invoice(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InvoicePatch>,
) -> Result<Json<Invoice>, ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let patch = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let invoice = invoices::update_draft(&mut tx, id, &patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(invoice))
}

/// Finalizes a draft: its number, due date, credit applied, ledger; then it is
/// immutable. Finalizing twice answers 409.
#[utoipa::path(post, path = "/invoices/{id}/finalize", tag = "billing", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Invoice id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 200, body = Invoice), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn finalize_invoice(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Invoice>, ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let invoice = invoices::finalize(&mut tx, id, today(), Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(invoice))
}

/// Voids an invoice; what it received comes back as credit and its time and
/// usage return to billing. Voiding twice answers 409.
#[utoipa::path(post, path = "/invoices/{id}/void", tag = "billing", request_body = VoidInput, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Invoice id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 200, body = Invoice), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn void_invoice(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VoidInput>,
) -> Result<Json<Invoice>, ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let reason = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let invoice = invoices::void_invoice(&mut tx, id, &reason, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(invoice))
}

/// Records a payment (full or partial) of a finalized invoice; beyond the balance
/// due becomes the client's credit.
#[utoipa::path(post, path = "/invoices/{id}/payments", tag = "billing", request_body = PaymentInput, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Invoice id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h: send one per payment")),
    responses((status = 201, body = PaymentOutcome), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn record_payment(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PaymentInput>,
) -> Result<(StatusCode, Json<PaymentOutcome>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let outcome =
        invoices::record_payment(&mut tx, id, &draft, today(), Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

/// Grants a client credit (goodwill or a prepayment), optionally expiring.
#[utoipa::path(post, path = "/credits", tag = "billing", request_body = CreditInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Credit), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn grant_credit(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreditInput>,
) -> Result<(StatusCode, Json<Credit>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let draft = body.validate()?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let credit = invoices::grant_credit(&mut tx, &draft, today(), Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(credit)))
}

/// Which client's credits.
#[derive(Deserialize, IntoParams)]
pub struct CreditParams {
    /// The client.
    client_id: Uuid,
}

/// A client's credits, newest first, used and expired ones included.
#[utoipa::path(get, path = "/credits", tag = "billing", security(("api_key" = [])), params(CreditParams),
    responses((status = 200, body = Vec<Credit>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
pub async fn list_credits(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<CreditParams>,
) -> Result<Json<Vec<Credit>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let list = invoices::list_credits(&mut tx, params.client_id).await?;
    tx.commit().await?;
    Ok(Json(list))
}

/// Which currency's balance.
#[derive(Deserialize, IntoParams)]
pub struct BalanceParams {
    /// ISO 4217 code (default the client's currency).
    currency: Option<String>,
}

/// What a client owes and the credit they hold, from the ledger.
#[utoipa::path(get, path = "/clients/{id}/balance", tag = "billing", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id"), BalanceParams),
    responses((status = 200, body = Balance), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn client_balance(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<BalanceParams>,
) -> Result<Json<Balance>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    if let Some(code) = params.currency.as_deref() {
        engine::billing::money::Currency::parse(code)
            .map_err(|e| ApiError::invalid_field("currency", e.to_string()))?;
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let client = activities::clients::find_client(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    let currency = params
        .currency
        .unwrap_or_else(|| client.currency.trim().to_owned());
    let balance = ledger::balance(&mut tx, id, &currency).await?;
    tx.commit().await?;
    Ok(Json(balance))
}

/// Paging of the ledger.
#[derive(Deserialize, IntoParams)]
pub struct LedgerParams {
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A client's ledger, newest first: every money movement with the balance after it.
#[utoipa::path(get, path = "/clients/{id}/transactions", tag = "billing", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Client id"), LedgerParams),
    responses((status = 200, body = Listed<Transaction>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn client_transactions(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<LedgerParams>,
) -> Result<Json<Listed<Transaction>>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let page = page_of(params.limit, params.cursor)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let list = ledger::list(&mut tx, id, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(list)))
}

/// The reconciliation of the books.
#[derive(serde::Serialize, ToSchema)]
pub struct Reconciliation {
    /// True when every ledger agrees with itself and with the documents.
    pub balanced: bool,
    /// Every client and currency that does not.
    pub mismatches: Vec<Mismatch>,
}

/// Checks every client's ledger against itself and against the invoices and
/// credits; reports differences, never repairs them.
#[utoipa::path(get, path = "/billing/reconciliation", tag = "billing", security(("api_key" = [])),
    responses((status = 200, body = Reconciliation), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn reconciliation(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Reconciliation>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let mismatches = ledger::reconcile(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Reconciliation {
        balanced: mismatches.is_empty(),
        mismatches,
    }))
}

/// A billing run to start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBillingRun {
    /// Bill every window ending on or before this day (default today, UTC).
    period_end: Option<NaiveDate>,
    /// Only these clients.
    #[serde(default)]
    client_ids: Option<Vec<Uuid>>,
    /// Clients per batch, 1 to 5000 (default 250).
    #[serde(default)]
    batch_size: Option<u32>,
}

/// Starts the BillingCycle workflow now. Its progress (clients done of total) is
/// the run's `result` at `GET /workflow-runs/{run_id}` while it runs.
#[utoipa::path(post, path = "/billing-runs", tag = "billing", request_body = StartBillingRun, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 202, body = StartedRunBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn start_billing_run(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<StartBillingRun>,
) -> Result<(StatusCode, Json<StartedRunBody>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    if body
        .period_end
        .is_some_and(|d| !engine::billing::date_in_range(d))
    {
        return Err(ApiError::invalid_field(
            "period_end",
            engine::billing::DATE_RANGE,
        ));
    }
    if body.batch_size.is_some_and(|b| !(1..=5_000).contains(&b)) {
        return Err(ApiError::invalid_field("batch_size", "must be 1 to 5000"));
    }
    if body.client_ids.as_ref().is_some_and(|c| c.len() > 10_000) {
        return Err(ApiError::invalid_field(
            "client_ids",
            "at most 10000; leave it out to bill every client",
        ));
    }
    let input = BillingCycleInput {
        tenant: caller.tenant,
        period_end: Some(body.period_end.unwrap_or_else(today)),
        client_ids: body.client_ids,
        batch_size: body.batch_size,
    };
    let (run_id, workflow_id) = launch_billing_run(&app, input).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StartedRunBody::new(run_id, workflow_id)),
    ))
}

/// Starts a billing run and records it; answers (run id, workflow id).
pub async fn launch_billing_run(
    app: &AppState,
    input: BillingCycleInput,
) -> Result<(Uuid, String), ApiError> {
    let temporal = app.temporal().await?;
    let started = temporal
        .start_billing_cycle(input.clone())
        .await
        .map_err(ApiError::unavailable)?;
    let run_id = record_started(
        app,
        input.tenant,
        &started,
        WorkflowKind::BillingCycle,
        &input,
    )
    .await?;
    Ok((run_id, started.workflow_id))
}

/// The invoice as a PDF, laid out by the tenant's invoice template.
#[utoipa::path(get, path = "/invoices/{id}/pdf", tag = "billing", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses((status = 200, description = "The invoice as a PDF", content_type = "application/pdf"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn invoice_pdf(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let rendered = document::render(&mut tx, id).await?;
    tx.commit().await?;
    let name = rendered
        .invoice
        .number
        .clone()
        .unwrap_or_else(|| format!("draft-{}", id.simple()));
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.pdf\""),
            ),
        ],
        rendered.pdf,
    )
        .into_response())
}

/// Where to send an invoice.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInvoiceBody {
    /// The address (default the client's billing e-mail).
    #[serde(default)]
    to: Option<String>,
}

/// E-mails a finalized invoice with its PDF attached, through the durable
/// InvoiceDelivery workflow (retried while the mail server is away). A draft or
/// void invoice, or a client without a billing e-mail and no `to`, answers 409.
#[utoipa::path(post, path = "/invoices/{id}/send", tag = "billing", request_body = SendInvoiceBody, security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Invoice id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 202, body = StartedRunBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn send_invoice(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SendInvoiceBody>,
) -> Result<(StatusCode, Json<StartedRunBody>), ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let to = match body.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => Some(
            engine::Email::parse(text)
                .map_err(|e| ApiError::invalid_field("to", e.to_string()))?
                .to_string(),
        ),
        None => None,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    if activities::billing::invoices::find_invoice(&mut tx, id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("invoice"));
    }
    let sendable = document::check_sendable(&mut tx, id, to.as_deref()).await;
    tx.commit().await?;
    sendable.map_err(|e| match e {
        document::DeliveryError::Db(db) => ApiError::from(db),
        other => ApiError::conflict(other.to_string()),
    })?;
    let input = InvoiceDeliveryInput {
        tenant: caller.tenant,
        invoice_id: id,
        to,
    };
    let temporal = app.temporal().await?;
    let started = temporal
        .start_invoice_delivery(input.clone())
        .await
        .map_err(ApiError::unavailable)?;
    let run_id = record_started(
        &app,
        caller.tenant,
        &started,
        WorkflowKind::InvoiceDelivery,
        &input,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StartedRunBody::new(run_id, started.workflow_id)),
    ))
}

/// The invoice template in use (the shipped default until the tenant saves one).
#[utoipa::path(get, path = "/invoice-template", tag = "billing", security(("api_key" = [])),
    responses((status = 200, body = InvoiceTemplate), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_invoice_template(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<InvoiceTemplate>, ApiError> {
    require(&caller, Permission::BILLING_READ)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let template = document::invoice_template(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(template))
}

/// A new invoice template.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceTemplateBody {
    /// minijinja text; variables: tenant, client, invoice, lines.
    body: Option<String>,
}

/// Saves the tenant's invoice template; one that does not render against a
/// sample invoice is refused (422, with its line).
#[utoipa::path(put, path = "/invoice-template", tag = "billing", request_body = InvoiceTemplateBody, security(("api_key" = [])),
    responses((status = 200, body = InvoiceTemplate), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_invoice_template(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<InvoiceTemplateBody>,
) -> Result<Json<InvoiceTemplate>, ApiError> {
    require(&caller, Permission::BILLING_MANAGE)?;
    let text = body.body.unwrap_or_default();
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let template = document::save_invoice_template(&mut tx, &text, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(template))
}
