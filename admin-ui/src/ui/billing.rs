//! The billing catalogue page (`/billing/catalogue`): services with their prices
//! and tax category, tax regions and their rates, each with a create form. Amounts
//! are typed as money ("125.00") and become cents exactly; a refused form comes
//! back with its messages next to its inputs.

use super::forms::{optional_text, FormErrors, Parse};
use super::pages::{csrf_failure, forbidden_page, in_tx, nav, render, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::billing::catalogue::{self, ServiceFilter};
use activities::billing::tax;
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::records::RecordError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::billing::catalogue::{ServiceInput, ServiceKind, TaxRateInput, TaxRegionInput};
use engine::Permission;
use minijinja::context;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The new-service form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ServiceForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    kind: String,
    unit: String,
    price: String,
    currency: String,
    tax_category: String,
    description: String,
}

const SERVICE_FIELDS: &[&str] = &[
    "name",
    "kind",
    "unit",
    "price",
    "currency",
    "tax_category",
    "description",
];

/// The new-region form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RegionForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    code: String,
    name: String,
}

/// The new-rate form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RateForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    region_code: String,
    percent: String,
    starts_on: String,
    ends_on: String,
}

const RATE_FIELDS: &[&str] = &["region_code", "percent", "starts_on", "ends_on"];

#[derive(Default)]
struct Refused {
    service: Option<(ServiceForm, FormErrors)>,
    region: Option<(RegionForm, FormErrors)>,
    rate: Option<(RateForm, FormErrors)>,
}

/// Money typed in a form ("125", "125.5", "1,250.00") as cents; `None` unless it
/// is a non-negative amount with at most two decimals.
pub fn parse_money(text: &str) -> Option<i64> {
    let amount: Decimal = text.trim().replace(',', "").parse().ok()?;
    if amount < Decimal::ZERO || amount.normalize().scale() > 2 {
        return None;
    }
    amount.checked_mul(Decimal::ONE_HUNDRED)?.to_i64()
}

/// Cents as money text ("1250.00").
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        cents.unsigned_abs() / 100,
        cents.unsigned_abs() % 100
    )
}

pub async fn catalogue_page(State(app): State<AppState>, user: SignedIn) -> PageResult {
    if !user.0.can(Permission::BILLING_READ) {
        return forbidden_page(&app, &user, Permission::BILLING_READ);
    }
    render_page(&app, &user, Refused::default(), StatusCode::OK).await
}

async fn render_page(
    app: &AppState,
    user: &SignedIn,
    refused: Refused,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let request = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let mut services = catalogue::list_services(&mut tx, &ServiceFilter::default(), request)
        .await?
        .data;
    services.sort_by_key(|s| s.name.to_lowercase());
    let regions = tax::list_regions(&mut tx).await?;
    let rates = tax::list_rates(&mut tx, None).await?;
    tx.commit().await?;
    let rows: Vec<minijinja::Value> = services
        .iter()
        .map(|s| {
            let prices: Vec<String> = s
                .prices
                .iter()
                .map(|p| format!("{} {}", p.currency, money(p.rate_cents)))
                .collect();
            context! { service => s, prices }
        })
        .collect();
    let (service_form, service_errors) = refused.service.unwrap_or_else(|| {
        (
            ServiceForm {
                kind: "hourly".into(),
                currency: "USD".into(),
                ..ServiceForm::default()
            },
            FormErrors::default(),
        )
    });
    let (region_form, region_errors) = refused.region.unwrap_or_default();
    let (rate_form, rate_errors) = refused.rate.unwrap_or_default();
    let ctx = context! {
        nav => nav(user), rows, regions, rates,
        kinds => ["fixed", "hourly", "usage", "product"],
        can_manage => user.0.can(Permission::BILLING_MANAGE),
        service_form, service_errors, region_form, region_errors, rate_form, rate_errors,
    };
    Ok((status, render(app, "billing_catalogue.html", ctx)?).into_response())
}

/// The day money moves on: today in UTC, as the API takes it.
pub(super) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The answer to a billing form post refused before it acts (bad CSRF token, or
/// no billing:manage); `None` when it may go on.
pub(super) fn may_manage(app: &AppState, user: &SignedIn, csrf: &str) -> Option<PageResult> {
    if !user.csrf_ok(csrf) {
        return Some(Ok(csrf_failure()));
    }
    if !user.0.can(Permission::BILLING_MANAGE) {
        return Some(forbidden_page(app, user, Permission::BILLING_MANAGE));
    }
    None
}

/// The page again with a refused form (422, or 409 for an overlapping rate).
async fn refuse(
    app: &AppState,
    user: &SignedIn,
    error: RecordError,
    fields: &'static [&'static str],
    into_page: impl FnOnce(FormErrors) -> Refused,
) -> PageResult {
    let (errors, status) = FormErrors::refusal(error, fields)?;
    render_page(app, user, into_page(errors), status).await
}

const BACK: &str = "/billing/catalogue";

pub async fn create_service(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<ServiceForm>,
) -> PageResult {
    if let Some(refused) = may_manage(&app, &user, &form.csrf_token) {
        return refused;
    }
    let mut parse = Parse::default();
    let rate_cents = parse.optional("price", &form.price, |t| {
        parse_money(t).ok_or("must be an amount like 125.00")
    });
    let kind = parse.optional("kind", &form.kind, |t| {
        ServiceKind::parse(t).ok_or("is not a kind of service")
    });
    let input = ServiceInput {
        name: Some(form.name.clone()),
        kind,
        unit: optional_text(&form.unit),
        rate_cents,
        currency: rate_cents.and(optional_text(&form.currency)),
        prices: Vec::new(),
        tax_category: optional_text(&form.tax_category),
        description: optional_text(&form.description),
    };
    let outcome = match parse.merge(input.validate()) {
        Err(issues) => Err(RecordError::Invalid(rename_rate(issues))),
        Ok(draft) => {
            let actor = Some(user.0.user_id);
            in_tx(&app, &user, async |tx| {
                catalogue::create_service(tx, &draft, actor)
                    .await
                    .map(|_| ())
            })
            .await?
        }
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(BACK).into_response()),
        Err(error) => {
            refuse(&app, &user, error, SERVICE_FIELDS, |errors| Refused {
                service: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

/// The domain names the price `rate_cents`; the form calls it `price`.
fn rename_rate(issues: Vec<engine::validation::FieldIssue>) -> Vec<engine::validation::FieldIssue> {
    issues
        .into_iter()
        .map(|mut issue| {
            if issue.field == "rate_cents" {
                issue.field = "price".into();
            }
            issue
        })
        .collect()
}

pub async fn create_region(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<RegionForm>,
) -> PageResult {
    if let Some(refused) = may_manage(&app, &user, &form.csrf_token) {
        return refused;
    }
    let input = TaxRegionInput {
        code: Some(form.code.clone()),
        name: Some(form.name.clone()),
    };
    let outcome = match input.validate() {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok((code, name)) => {
            let actor = Some(user.0.user_id);
            in_tx(&app, &user, async |tx| {
                tax::create_region(tx, &code, &name, actor)
                    .await
                    .map(|_| ())
            })
            .await?
        }
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(BACK).into_response()),
        Err(error) => {
            refuse(&app, &user, error, &["code", "name"], |errors| Refused {
                region: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn create_rate(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<RateForm>,
) -> PageResult {
    if let Some(refused) = may_manage(&app, &user, &form.csrf_token) {
        return refused;
    }
    let mut parse = Parse::default();
    let percent = parse.optional("percent", &form.percent, |t| {
        t.parse::<Decimal>()
            .map_err(|_| "must be a percentage like 8.875")
    });
    let starts_on = parse.date("starts_on", &form.starts_on);
    let ends_on = parse.date("ends_on", &form.ends_on);
    let input = TaxRateInput {
        region_code: optional_text(&form.region_code),
        percent,
        starts_on,
        ends_on,
        components: Vec::new(),
    };
    let outcome = match parse.merge(input.validate()) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(draft) => {
            let actor = Some(user.0.user_id);
            in_tx(&app, &user, async |tx| {
                tax::create_rate(tx, &draft, actor).await.map(|_| ())
            })
            .await?
        }
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(BACK).into_response()),
        Err(error) => {
            refuse(&app, &user, error, RATE_FIELDS, |errors| Refused {
                rate: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_and_writes_exactly() {
        assert_eq!(parse_money("125"), Some(12_500));
        assert_eq!(parse_money(" 1,250.05 "), Some(125_005));
        assert_eq!(parse_money("0.1"), Some(10));
        assert_eq!(parse_money("0.001"), None);
        assert_eq!(parse_money("-3"), None);
        assert_eq!(parse_money("abc"), None);
        assert_eq!(parse_money("79228162514264337593543950335"), None);
        assert_eq!(money(125_005), "1250.05");
        assert_eq!(money(-5), "-0.05");
        for cents in [0, 1, 99, 100, 123_456_789] {
            assert_eq!(parse_money(&money(cents)), Some(cents));
        }
    }
}
