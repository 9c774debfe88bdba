//! Contracts (`/billing/contracts`): the list, paged by keyset, and the form that
//! writes a new one with up to [`CONTRACT_ROWS`] lines. The form is read into the
//! API's `ContractInput` and saved with `create_contract`, so it is checked
//! exactly as `POST /contracts` checks it; a refused form comes back with each
//! message next to its input (`lines[0].rate`) and everything typed kept.

use super::billing::{may_manage, money, parse_money, today};
use super::forms::{
    choice, issues_on_rows, link, optional_text, page_after, parse_id, row_field, ticked,
    FormErrors, Parse,
};
use super::lookups::{client_names, client_options};
use super::pages::{forbidden_page, in_tx, nav, render, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::billing::catalogue::{self, ServiceFilter};
use activities::billing::contracts::{self, Contract};
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::records::RecordError;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::billing::periods::{BillingFrequency, BillingTiming};
use engine::billing::terms::{BucketInput, ContractInput, LineInput, LineKind};
use engine::Permission;
use minijinja::context;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Line rows the contract form offers.
pub const CONTRACT_ROWS: usize = 4;

const FREQUENCIES: &[&str] = &[
    "monthly",
    "quarterly",
    "semi_annually",
    "annually",
    "weekly",
    "bi_weekly",
];

/// The line kinds the form can express (tiers, minimums, overtime and shared fees
/// are the API's).
const KINDS: &[&str] = &["fixed", "hourly", "usage", "bucket"];

const TIMINGS: &[&str] = &["advance", "arrears"];

/// The domain's names for line fields the form names otherwise; a bucket's
/// allowance (hours or units) shows in one cell, `included`.
const LINE_RENAMES: &[(&str, &str)] = &[
    ("rate_cents", "rate"),
    ("bucket.overage_rate_cents", "overage_rate"),
    ("bucket", "included"),
];

/// The line fields the form shows messages next to.
const LINE_FIELDS: &[&str] = &[
    "kind",
    "service_id",
    "rate",
    "quantity",
    "billing_timing",
    "enable_proration",
    "included",
    "overage_rate",
];

/// The list's filter and cursor.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ContractListQuery {
    client_id: String,
    #[serde(skip_serializing)]
    cursor: String,
}

/// One line row of the form, as typed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ContractLineRow {
    kind: String,
    service_id: String,
    rate: String,
    quantity: String,
    billing_timing: String,
    enable_proration: Option<String>,
    included_hours: String,
    included_units: String,
    overage_rate: String,
    allow_rollover: Option<String>,
}

impl ContractLineRow {
    /// Nothing chosen or typed: the row is not a line.
    fn is_blank(&self) -> bool {
        [&self.kind, &self.service_id, &self.rate, &self.quantity]
            .iter()
            .chain(
                [
                    &self.included_hours,
                    &self.included_units,
                    &self.overage_rate,
                ]
                .iter(),
            )
            .all(|t| t.trim().is_empty())
    }

    fn set(&mut self, field: &str, value: String) {
        match field {
            "kind" => self.kind = value,
            "service_id" => self.service_id = value,
            "rate" => self.rate = value,
            "quantity" => self.quantity = value,
            "billing_timing" => self.billing_timing = value,
            "enable_proration" => self.enable_proration = Some(value),
            "included_hours" => self.included_hours = value,
            "included_units" => self.included_units = value,
            "overage_rate" => self.overage_rate = value,
            "allow_rollover" => self.allow_rollover = Some(value),
            _ => {}
        }
    }

    /// The API line; parse problems are recorded against `lines[row]`.
    fn input(&self, row: usize, parse: &mut Parse) -> LineInput {
        let field = |name: &str| format!("lines[{row}].{name}");
        LineInput {
            kind: parse.optional(&field("kind"), &self.kind, |t| {
                choice::<LineKind>(t).ok_or("is not a kind of line")
            }),
            service_id: parse.id(&field("service_id"), &self.service_id),
            rate_cents: parse.optional(&field("rate"), &self.rate, |t| {
                parse_money(t).ok_or("must be an amount like 125.00")
            }),
            quantity: parse.optional(&field("quantity"), &self.quantity, |t| {
                t.parse::<Decimal>()
                    .map_err(|_| "must be a number like 2.5")
            }),
            billing_timing: parse.optional(&field("billing_timing"), &self.billing_timing, |t| {
                choice::<BillingTiming>(t).ok_or("must be advance or arrears")
            }),
            enable_proration: ticked(&self.enable_proration),
            bucket: self.bucket(row, parse),
            ..LineInput::default()
        }
    }

    /// The bucket terms, when any of them is typed: included hours become
    /// minutes, and parse problems land on the row's `included` or `overage_rate`.
    fn bucket(&self, row: usize, parse: &mut Parse) -> Option<BucketInput> {
        let typed = [
            &self.included_hours,
            &self.included_units,
            &self.overage_rate,
        ]
        .iter()
        .any(|t| !t.trim().is_empty());
        if !typed && self.allow_rollover.is_none() {
            return None;
        }
        let included = format!("lines[{row}].included");
        let included_minutes = parse.optional(&included, &self.included_hours, |t| {
            let minutes = t.parse::<Decimal>().ok().map(|h| h * Decimal::from(60));
            minutes
                .filter(|m| m.fract().is_zero())
                .and_then(|m| i64::try_from(m).ok())
                .ok_or("hours must be a number of whole minutes, like 10 or 7.5")
        });
        let included_units = parse.optional(&included, &self.included_units, |t| {
            t.parse::<Decimal>()
                .map_err(|_| "units must be a number like 500")
        });
        let overage = format!("lines[{row}].overage_rate");
        let overage_rate_cents = parse.optional(&overage, &self.overage_rate, |t| {
            parse_money(t).ok_or("must be an amount like 150.00")
        });
        if self.overage_rate.trim().is_empty() {
            parse.add(&overage, "is required for a bucket (0 for none)");
        }
        Some(BucketInput {
            included_minutes,
            included_units,
            overage_rate_cents: overage_rate_cents.unwrap_or_default(),
            allow_rollover: ticked(&self.allow_rollover),
        })
    }
}

/// The new-contract form, as typed; its rows arrive as `lines[i].field`.
#[derive(Debug, Default, Serialize)]
pub struct ContractForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    client_id: String,
    name: String,
    currency: String,
    starts_on: String,
    ends_on: String,
    billing_frequency: String,
    anchor_day: String,
    lines: Vec<ContractLineRow>,
}

impl ContractForm {
    /// An empty form: monthly from today, billed from the 1st.
    fn blank() -> ContractForm {
        ContractForm {
            starts_on: today().to_string(),
            billing_frequency: "monthly".into(),
            anchor_day: "1".into(),
            lines: vec![ContractLineRow::default(); CONTRACT_ROWS],
            ..ContractForm::default()
        }
    }

    /// The form from the posted pairs; rows beyond [`CONTRACT_ROWS`] are ignored.
    fn from_pairs(pairs: Vec<(String, String)>) -> ContractForm {
        let mut form = ContractForm {
            lines: vec![ContractLineRow::default(); CONTRACT_ROWS],
            ..ContractForm::default()
        };
        for (name, value) in pairs {
            if let Some((row, field)) = row_field(&name, "lines") {
                if let Some(line) = form.lines.get_mut(row) {
                    line.set(field, value);
                }
                continue;
            }
            match name.as_str() {
                "csrf_token" => form.csrf_token = value,
                "client_id" => form.client_id = value,
                "name" => form.name = value,
                "currency" => form.currency = value,
                "starts_on" => form.starts_on = value,
                "ends_on" => form.ends_on = value,
                "billing_frequency" => form.billing_frequency = value,
                "anchor_day" => form.anchor_day = value,
                _ => {}
            }
        }
        form
    }

    /// The API input of the rows filled in, and which form row each came from.
    fn input(&self, parse: &mut Parse) -> (ContractInput, Vec<usize>) {
        let (rows, lines): (Vec<usize>, Vec<LineInput>) = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, row)| !row.is_blank())
            .map(|(i, row)| (i, row.input(i, parse)))
            .unzip();
        let input = ContractInput {
            client_id: parse.id("client_id", &self.client_id),
            name: optional_text(&self.name),
            currency: optional_text(&self.currency).map(|c| c.to_uppercase()),
            starts_on: parse.date("starts_on", &self.starts_on),
            ends_on: parse.date("ends_on", &self.ends_on),
            billing_frequency: parse.optional("billing_frequency", &self.billing_frequency, |t| {
                choice::<BillingFrequency>(t).ok_or("is not a billing frequency")
            }),
            anchor_day: parse.number("anchor_day", &self.anchor_day),
            anchor: None,
            lines,
            discounts: Vec::new(),
        };
        (input, rows)
    }
}

/// The inputs of the form, where messages are shown next to their field.
fn shown_fields() -> Vec<String> {
    let mut fields: Vec<String> = [
        "client_id",
        "name",
        "currency",
        "starts_on",
        "ends_on",
        "billing_frequency",
        "anchor_day",
    ]
    .iter()
    .map(|f| (*f).to_owned())
    .collect();
    for i in 0..CONTRACT_ROWS {
        for name in LINE_FIELDS {
            fields.push(format!("lines[{i}].{name}"));
        }
    }
    fields
}

pub async fn list(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<ContractListQuery>,
) -> PageResult {
    if !user.0.can(Permission::BILLING_READ) {
        return forbidden_page(&app, &user, Permission::BILLING_READ);
    }
    let form = ContractForm::blank();
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
    query: &ContractListQuery,
    form: ContractForm,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    let client = parse_id(&query.client_id);
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let page = contracts::list_contracts(&mut tx, client, page_after(&query.cursor)).await?;
    let names = client_names(&mut tx, page.data.iter().map(|c| c.client_id).collect()).await?;
    let clients = client_options(&mut tx, client).await?;
    let request = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let mut services = catalogue::list_services(&mut tx, &ServiceFilter::default(), request)
        .await?
        .data;
    tx.commit().await?;
    services.sort_by_key(|s| s.name.to_lowercase());
    let service_names: HashMap<String, String> = services
        .iter()
        .map(|s| (s.id.to_string(), s.name.clone()))
        .collect();
    let next_url = page.next_cursor.map(|cursor| {
        let cursor = cursor.to_string();
        link(
            "/billing/contracts",
            &[("client_id", &query.client_id), ("cursor", &cursor)],
        )
    });
    let rows: Vec<minijinja::Value> = page.data.iter().map(contract_row).collect();
    let open_form = !errors.fields.is_empty() || !errors.general.is_empty();
    let ctx = context! {
        nav => nav(user),
        rows, names, clients, services, service_names, query, next_url, form, errors, open_form,
        paged => !query.cursor.is_empty(),
        frequencies => FREQUENCIES, kinds => KINDS, timings => TIMINGS,
        can_manage => user.0.can(Permission::BILLING_MANAGE),
    };
    Ok((status, render(app, "contracts.html", ctx)?).into_response())
}

/// A contract with each line's rate as money text ("catalogue price" when the
/// line takes the catalogue's).
fn contract_row(contract: &Contract) -> minijinja::Value {
    let lines: Vec<minijinja::Value> = contract
        .lines
        .iter()
        .map(|line| {
            let terms = &line.terms;
            context! {
                kind => terms.kind.map_or("?", LineKind::as_str),
                service_id => terms.service_id,
                rate => terms.rate_cents.map(money),
                quantity => terms.quantity.map(|q| q.normalize().to_string()),
                timing => terms.billing_timing,
                prorated => terms.enable_proration,
                bucket => terms.bucket.as_ref().map(bucket_summary),
            }
        })
        .collect();
    context! { contract, lines }
}

/// "10 h included, overage 150.00, unused hours roll over once".
fn bucket_summary(bucket: &BucketInput) -> String {
    let included = match (bucket.included_minutes, bucket.included_units) {
        (Some(minutes), _) => {
            let hours = Decimal::from(minutes) / Decimal::from(60);
            format!("{} h", hours.round_dp(2).normalize())
        }
        (None, Some(units)) => format!("{} units", units.normalize()),
        (None, None) => "nothing".to_owned(),
    };
    let rollover = if bucket.allow_rollover {
        ", unused allowance rolls over once"
    } else {
        ""
    };
    format!(
        "{included} included, overage {}{rollover}",
        money(bucket.overage_rate_cents)
    )
}

pub async fn create(
    State(app): State<AppState>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let form = ContractForm::from_pairs(pairs);
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
                contracts::create_contract(tx, &draft, actor).await
            })
            .await?
            .map_err(|error| match error {
                RecordError::Invalid(issues) => RecordError::Invalid(on_rows(issues)),
                other => other,
            })
        }
    };
    let (errors, status) = match outcome {
        Ok(_) => return Ok(Redirect::to("/billing/contracts").into_response()),
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
    let query = ContractListQuery::default();
    render_list(&app, &user, &query, form, errors, status).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> ContractForm {
        ContractForm::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn blank_rows_are_skipped_and_errors_land_on_the_row_typed() {
        let form = posted(&[
            ("client_id", "0190d1c2-0000-7000-8000-000000000001"),
            ("starts_on", "2026-03-01"),
            ("billing_frequency", "bi_weekly"),
            ("lines[0].kind", ""),
            ("lines[1].kind", "hourly"),
            (
                "lines[1].service_id",
                "0190d1c2-0000-7000-8000-000000000002",
            ),
            ("lines[1].rate", "95.5"),
            ("lines[1].quantity", "2"),
            ("lines[1].enable_proration", "on"),
        ]);
        let mut parse = Parse::default();
        let (input, rows) = form.input(&mut parse);
        assert_eq!(rows, vec![1]);
        assert_eq!(input.lines[0].rate_cents, Some(9_550));
        assert_eq!(input.billing_frequency, Some(BillingFrequency::BiWeekly));
        let on_rows = |issues| issues_on_rows(issues, "lines", &rows, LINE_RENAMES);
        let issues = parse
            .merge(input.validate().map_err(on_rows))
            .expect_err("an hourly line takes no quantity nor proration");
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["lines[1].enable_proration", "lines[1].quantity"]
        );
    }

    #[test]
    fn a_bad_rate_is_reported_once_on_its_row() {
        let form = posted(&[
            ("client_id", "0190d1c2-0000-7000-8000-000000000001"),
            ("starts_on", "2026-03-01"),
            ("lines[2].kind", "fixed"),
            (
                "lines[2].service_id",
                "0190d1c2-0000-7000-8000-000000000002",
            ),
            ("lines[2].rate", "12.345"),
        ]);
        let mut parse = Parse::default();
        let (input, rows) = form.input(&mut parse);
        let on_rows = |issues| issues_on_rows(issues, "lines", &rows, LINE_RENAMES);
        let issues = parse
            .merge(input.validate().map_err(on_rows))
            .expect_err("the rate has three decimals");
        let messages: Vec<String> = issues
            .iter()
            .map(|i| format!("{}: {}", i.field, i.message))
            .collect();
        assert_eq!(
            messages,
            vec!["lines[2].rate: must be an amount like 125.00"]
        );
    }

    #[test]
    fn a_bucket_row_becomes_minutes_and_its_problems_land_in_its_cells() {
        let form = posted(&[
            ("client_id", "0190d1c2-0000-7000-8000-000000000001"),
            ("starts_on", "2026-03-01"),
            ("lines[0].kind", "bucket"),
            (
                "lines[0].service_id",
                "0190d1c2-0000-7000-8000-000000000002",
            ),
            ("lines[0].rate", "900"),
            ("lines[0].included_hours", "7.5"),
            ("lines[0].overage_rate", "150"),
            ("lines[0].allow_rollover", "on"),
            ("lines[1].kind", "bucket"),
            (
                "lines[1].service_id",
                "0190d1c2-0000-7000-8000-000000000003",
            ),
            ("lines[1].rate", "100"),
            ("lines[1].included_hours", "2"),
            ("lines[1].included_units", "500"),
        ]);
        let mut parse = Parse::default();
        let (input, rows) = form.input(&mut parse);
        let bucket = input.lines[0].bucket.clone().expect("bucket");
        assert_eq!(bucket.included_minutes, Some(450));
        assert_eq!(bucket.overage_rate_cents, 15_000);
        assert!(bucket.allow_rollover);
        assert_eq!(
            bucket_summary(&bucket),
            "7.5 h included, overage 150.00, unused allowance rolls over once"
        );
        let on_rows = |issues| issues_on_rows(issues, "lines", &rows, LINE_RENAMES);
        let issues = parse
            .merge(input.validate().map_err(on_rows))
            .expect_err("the second bucket has both allowances and no overage");
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["lines[1].overage_rate", "lines[1].included"]);
    }
}
