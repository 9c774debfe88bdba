//! An invoice's review page (`/billing/invoices/{id}`): its header, each line with
//! where its amount came from in words, the totals, and the actions its status
//! allows (finalize a draft, void, record a payment of a finalized invoice). The
//! actions call the same activities as the API; one the invoice's state refuses
//! ("already finalized") comes back on this page as a notice, never as an error
//! page.

use super::billing::{parse_money, today};
use super::forms::{FormErrors, Parse};
use super::pages::{
    forbidden_page, in_tx, nav, not_found_page, render, writable, CsrfForm, PageResult,
};
use super::session::SignedIn;
use crate::AppState;
use activities::billing::invoices::{self, InvoiceLine};
use activities::clients;
use activities::records::RecordError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::billing::charges::ChargeSource;
use engine::billing::documents::{PaymentInput, VoidInput};
use engine::billing::periods::ServicePeriod;
use engine::validation::FieldIssue;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The void form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct VoidForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    reason: String,
}

/// The payment form; the amount is money text.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PaymentForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    amount: String,
    received_on: String,
    reference: String,
}

/// What a refused action brings back to the page.
#[derive(Default)]
struct Refused {
    /// Why the invoice's state refused the action.
    notice: Option<String>,
    void: Option<(VoidForm, FormErrors)>,
    payment: Option<(PaymentForm, FormErrors)>,
}

pub async fn review(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    if !user.0.can(Permission::BILLING_READ) {
        return forbidden_page(&app, &user, Permission::BILLING_READ);
    }
    let Some(id) = super::forms::parse_id(&id) else {
        return not_found_page(&app, &user, "invoice");
    };
    render_review(&app, &user, id, Refused::default(), StatusCode::OK).await
}

async fn render_review(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    refused: Refused,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let Some(invoice) = invoices::find_invoice(&mut tx, id).await? else {
        tx.commit().await?;
        return not_found_page(app, user, "invoice");
    };
    let client = clients::find_client(&mut tx, invoice.client_id).await?;
    tx.commit().await?;
    let lines: Vec<minijinja::Value> = invoice.lines.iter().map(line_row).collect();
    let (void_form, void_errors) = refused.void.unwrap_or_default();
    let (payment_form, payment_errors) = refused.payment.unwrap_or_else(|| {
        let form = PaymentForm {
            amount: super::billing::money(invoice.balance_due_cents),
            received_on: today().to_string(),
            ..PaymentForm::default()
        };
        (form, FormErrors::default())
    });
    let can_manage = user.0.can(Permission::BILLING_MANAGE);
    let state = invoice.status.as_str();
    let ctx = context! {
        nav => nav(user),
        client_name => client.map(|c| c.name),
        lines,
        notice => refused.notice,
        void_form, void_errors, payment_form, payment_errors,
        can_finalize => can_manage && state == "draft",
        can_void => can_manage && state != "void",
        can_pay => can_manage && state == "finalized",
        invoice,
    };
    Ok((status, render(app, "invoice.html", ctx)?).into_response())
}

/// A line with its service period and the origin of its amount in words.
fn line_row(line: &InvoiceLine) -> minijinja::Value {
    context! {
        line,
        period => period_text(line.service_period),
        origin => explain(&line.source),
    }
}

/// Days as people read them: the last day included ("2026-03-01 to 2026-03-31"),
/// one day alone.
fn period_text(period: ServicePeriod) -> String {
    let last = period.end.pred_opt().unwrap_or(period.end);
    if last <= period.start {
        period.start.to_string()
    } else {
        format!("{} to {last}", period.start)
    }
}

/// "1 time entry", "3 time entries".
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Where a line's amount came from, in the words a reviewer checks it by.
pub fn explain(source: &ChargeSource) -> String {
    match source {
        ChargeSource::Fixed {
            covered_days: Some(days),
            period_days,
            ..
        } => format!("Fixed fee, prorated: {days} of {period_days} days"),
        ChargeSource::Fixed { period_days, .. } => {
            format!("Fixed fee for the whole period ({period_days} days)")
        }
        ChargeSource::Time {
            entry_ids,
            overtime,
            ..
        } => {
            let entries = count(entry_ids.len(), "time entry", "time entries");
            if *overtime {
                format!("{entries}, overtime")
            } else {
                entries
            }
        }
        ChargeSource::Usage {
            record_ids,
            tier_from,
            ..
        } => {
            let records = count(record_ids.len(), "usage record", "usage records");
            match tier_from {
                Some(from) => format!("{records}, tier from {}", from.normalize()),
                None => records,
            }
        }
        ChargeSource::Bucket {
            included,
            rollover_in,
            used,
            overage,
            ..
        } => {
            let what = if *overage {
                "Bucket overage"
            } else {
                "Bucket fee"
            };
            format!(
                "{what}: {} included, {} used, {} rolled over",
                included.normalize(),
                used.normalize(),
                rollover_in.normalize()
            )
        }
        ChargeSource::Discount { .. } => "Discount".to_owned(),
        ChargeSource::Manual => "Typed by hand".to_owned(),
    }
}

/// The page again after a refused action: the invoice's state (409) as a notice,
/// bad fields (422) next to their inputs.
async fn refuse(
    app: &AppState,
    user: &SignedIn,
    id: Uuid,
    error: RecordError,
    into_page: impl FnOnce(FormErrors) -> Refused,
) -> PageResult {
    let (refused, status) = match error {
        RecordError::Conflict(message) => {
            let refused = Refused {
                notice: Some(message),
                ..Refused::default()
            };
            (refused, StatusCode::CONFLICT)
        }
        RecordError::Invalid(issues) => (
            into_page(FormErrors::from_issues(issues, ACTION_FIELDS)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RecordError::NotFound(what) => return not_found_page(app, user, what),
        RecordError::Db(error) => return Err(error.into()),
    };
    render_review(app, user, id, refused, status).await
}

/// Every input of the page's forms: a message for any other field goes above.
const ACTION_FIELDS: &[&str] = &["amount", "received_on", "reference", "reason"];

/// Where a successful action leaves the user: the invoice, as it now is.
fn back_to(id: Uuid) -> PageResult {
    Ok(Redirect::to(&format!("/billing/invoices/{id}")).into_response())
}

pub async fn finalize(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::BILLING_MANAGE,
        &id,
        "invoice",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let actor = Some(user.0.user_id);
    let outcome = in_tx(&app, &user, async |tx| {
        invoices::finalize(tx, id, today(), actor).await
    })
    .await?;
    match outcome {
        Ok(_) => back_to(id),
        Err(error) => refuse(&app, &user, id, error, |_| Refused::default()).await,
    }
}

pub async fn void(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<VoidForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::BILLING_MANAGE,
        &id,
        "invoice",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let input = VoidInput {
        reason: Some(form.reason.clone()),
    };
    let outcome = match input.validate() {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(reason) => {
            let actor = Some(user.0.user_id);
            in_tx(&app, &user, async |tx| {
                invoices::void_invoice(tx, id, &reason, actor).await
            })
            .await?
        }
    };
    match outcome {
        Ok(_) => back_to(id),
        Err(error) => {
            refuse(&app, &user, id, error, |errors| Refused {
                void: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

pub async fn record_payment(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PaymentForm>,
) -> PageResult {
    let id = match writable(
        &user,
        &form.csrf_token,
        Permission::BILLING_MANAGE,
        &id,
        "invoice",
    ) {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(&app, &user),
    };
    let mut parse = Parse::default();
    let input = PaymentInput {
        amount_cents: parse.optional("amount", &form.amount, |t| {
            parse_money(t).ok_or("must be an amount like 125.00")
        }),
        received_on: parse.date("received_on", &form.received_on),
        reference: Some(form.reference.clone()),
    };
    let outcome = match parse.merge(input.validate().map_err(rename_amount)) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(draft) => {
            let actor = Some(user.0.user_id);
            in_tx(&app, &user, async |tx| {
                invoices::record_payment(tx, id, &draft, today(), actor).await
            })
            .await?
        }
    };
    match outcome {
        Ok(_) => back_to(id),
        Err(error) => {
            refuse(&app, &user, id, error, |errors| Refused {
                payment: Some((form, errors)),
                ..Refused::default()
            })
            .await
        }
    }
}

/// The domain names the amount `amount_cents`; the forms call it `amount`.
pub(super) fn rename_amount(issues: Vec<FieldIssue>) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|mut issue| {
            if issue.field == "amount_cents" {
                issue.field = "amount".into();
            }
            issue
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).expect("valid date")
    }

    #[test]
    fn each_source_is_explained_in_words() {
        let line_id = Uuid::nil();
        let cases = [
            (
                "a prorated fee says its days",
                ChargeSource::Fixed {
                    line_id,
                    covered_days: Some(17),
                    period_days: 31,
                },
                "Fixed fee, prorated: 17 of 31 days",
            ),
            (
                "a whole fee says its period",
                ChargeSource::Fixed {
                    line_id,
                    covered_days: None,
                    period_days: 30,
                },
                "Fixed fee for the whole period (30 days)",
            ),
            (
                "time counts its entries",
                ChargeSource::Time {
                    line_id,
                    entry_ids: vec![Uuid::nil(); 3],
                    overtime: false,
                },
                "3 time entries",
            ),
            (
                "overtime says so",
                ChargeSource::Time {
                    line_id,
                    entry_ids: vec![Uuid::nil()],
                    overtime: true,
                },
                "1 time entry, overtime",
            ),
            (
                "a tier names its start",
                ChargeSource::Usage {
                    line_id,
                    record_ids: vec![Uuid::nil(); 2],
                    tier_from: Some(Decimal::new(1000, 1)),
                },
                "2 usage records, tier from 100",
            ),
            (
                "a bucket shows its allowance",
                ChargeSource::Bucket {
                    line_id,
                    included: Decimal::from(600),
                    rollover_in: Decimal::from(60),
                    used: Decimal::from(720),
                    overage: true,
                },
                "Bucket overage: 600 included, 720 used, 60 rolled over",
            ),
            (
                "a discount",
                ChargeSource::Discount {
                    discount_id: Uuid::nil(),
                },
                "Discount",
            ),
            ("a manual line", ChargeSource::Manual, "Typed by hand"),
        ];
        for (name, source, expected) in cases {
            assert_eq!(explain(&source), expected, "{name}");
        }
    }

    #[test]
    fn periods_show_their_last_day_included() {
        let month = ServicePeriod {
            start: day(3, 1),
            end: day(4, 1),
        };
        assert_eq!(period_text(month), "2026-03-01 to 2026-03-31");
        let one = ServicePeriod {
            start: day(3, 5),
            end: day(3, 6),
        };
        assert_eq!(period_text(one), "2026-03-05");
    }
}
