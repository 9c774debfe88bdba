//! The billing dashboard (`/billing`): revenue per month as a chart, invoices per
//! status, whether the books reconcile, and the form that starts a billing run.
//! A run is started exactly as `POST /billing-runs` starts it, and its page
//! (`/runs/{id}`) shows its progress.

use super::billing::{may_manage, today};
use super::billing_chart::charts;
use super::forms::{FormErrors, Parse};
use super::lookups::client_names;
use super::pages::{forbidden_page, nav, render, PageResult};
use super::session::SignedIn;
use crate::api::invoices::launch_billing_run;
use crate::AppState;
use activities::billing::ledger;
use activities::billing::reports::{self, StatusCount};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::workflows::billing_cycle::BillingCycleInput;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};

/// Months the revenue chart shows, the current one included.
const CHART_MONTHS: u32 = 12;

/// The statuses counted on the dashboard, in the order an invoice goes through.
const COUNTED: &[&str] = &["draft", "finalized", "paid", "void"];

/// The run-billing form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RunForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    period_end: String,
}

pub async fn dashboard(State(app): State<AppState>, user: SignedIn) -> PageResult {
    if !user.0.can(Permission::BILLING_READ) {
        return forbidden_page(&app, &user, Permission::BILLING_READ);
    }
    let form = RunForm {
        period_end: today().to_string(),
        ..RunForm::default()
    };
    render_dashboard(&app, &user, form, FormErrors::default(), StatusCode::OK).await
}

async fn render_dashboard(
    app: &AppState,
    user: &SignedIn,
    run_form: RunForm,
    run_errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let revenue = reports::revenue_by_month(&mut tx, CHART_MONTHS, today()).await?;
    let counts = reports::invoice_counts(&mut tx).await?;
    let mismatches = ledger::reconcile(&mut tx).await?;
    let names = client_names(&mut tx, mismatches.iter().map(|m| m.client_id).collect()).await?;
    tx.commit().await?;
    let ctx = context! {
        nav => nav(user),
        charts => charts(&revenue),
        months => CHART_MONTHS,
        counts => counted(&counts),
        balanced => mismatches.is_empty(),
        mismatches,
        names,
        run_form,
        run_errors,
        can_manage => user.0.can(Permission::BILLING_MANAGE),
    };
    Ok((status, render(app, "billing.html", ctx)?).into_response())
}

/// Every counted status with its number, zero when there is none.
fn counted(counts: &[StatusCount]) -> Vec<minijinja::Value> {
    COUNTED
        .iter()
        .map(|status| {
            let invoices = counts
                .iter()
                .find(|c| c.status == *status)
                .map_or(0, |c| c.invoices);
            context! { status, invoices }
        })
        .collect()
}

pub async fn start_run(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<RunForm>,
) -> PageResult {
    if let Some(refused) = may_manage(&app, &user, &form.csrf_token) {
        return refused;
    }
    let mut parse = Parse::default();
    let period_end = parse.date("period_end", &form.period_end);
    if period_end.is_some_and(|d| !engine::billing::date_in_range(d)) {
        parse.add("period_end", engine::billing::DATE_RANGE);
    }
    if !parse.0.is_empty() {
        let errors = FormErrors::from_issues(parse.0, &["period_end"]);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_dashboard(&app, &user, form, errors, status).await;
    }
    let input = BillingCycleInput {
        tenant: user.0.tenant,
        period_end: Some(period_end.unwrap_or_else(today)),
        client_ids: None,
        batch_size: None,
    };
    match launch_billing_run(&app, input).await {
        Ok((run_id, _)) => Ok(Redirect::to(&format!("/runs/{run_id}")).into_response()),
        // Temporal down (503) is the user's to retry; the page says so in place.
        Err(error)
            if error.status().is_client_error()
                || error.status() == StatusCode::SERVICE_UNAVAILABLE =>
        {
            let status = error.status();
            let errors = FormErrors::general(format!(
                "The billing run could not start: {}",
                error.detail()
            ));
            render_dashboard(&app, &user, form, errors, status).await
        }
        Err(error) => Err(error),
    }
}
