//! Contracts: one client, one currency, lines priced from the line or the
//! catalogue. Creating one checks what the input alone cannot: the client and
//! services exist, each line has a price in the contract currency (never a silent
//! zero), the client's active contracts share one currency, and no service is
//! billed twice for the same days.

use super::catalogue::{find_services, Service};
use crate::audit::{self, AuditEntry};
use crate::clients::{find_client, require_live_client};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{contract_lines, contracts};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::billing::catalogue::ServiceKind;
use engine::billing::contracts::{check_currency, check_overlapping_lines, ContractSpan, LineSpan};
use engine::billing::discounts::Discount;
use engine::billing::money::Currency;
use engine::billing::periods::{BillingAnchor, BillingFrequency};
use engine::billing::terms::{ContractDraft, LineInput, LineKind};
use engine::validation::FieldIssue;
use serde::Serialize;
use uuid::Uuid;

/// A contract line as stored.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ContractLine {
    /// Id.
    pub id: Uuid,
    /// Its place in the contract.
    pub position: i32,
    /// Its terms.
    #[serde(flatten)]
    pub terms: LineInput,
}

/// A contract with its lines.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Contract {
    /// Id.
    pub id: Uuid,
    /// The client billed.
    pub client_id: Uuid,
    /// Name.
    pub name: String,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// First day billed.
    pub starts_on: NaiveDate,
    /// The day billing stops (exclusive); none = open.
    pub ends_on: Option<NaiveDate>,
    /// How often it bills.
    pub billing_frequency: BillingFrequency,
    /// Day of the month periods start on.
    pub anchor_day: Option<u32>,
    /// Where periods start.
    pub anchor: BillingAnchor,
    /// The lines, in order.
    pub lines: Vec<ContractLine>,
    /// Discounts, per line or on the whole invoice.
    pub discounts: Vec<Discount>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = contracts)]
struct ContractRow {
    id: Uuid,
    client_id: Uuid,
    name: String,
    currency: String,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    billing_frequency: String,
    anchor: serde_json::Value,
    discounts: serde_json::Value,
    created_at: DateTime<Utc>,
}

fn frequency(text: &str) -> BillingFrequency {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .unwrap_or(BillingFrequency::Monthly)
}

async fn assemble(tx: &mut TenantTx, rows: Vec<ContractRow>) -> Result<Vec<Contract>, DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let lines: Vec<(Uuid, Uuid, i32, serde_json::Value)> = contract_lines::table
        .filter(contract_lines::contract_id.eq_any(&ids))
        .order((contract_lines::contract_id, contract_lines::position))
        .select((
            contract_lines::contract_id,
            contract_lines::id,
            contract_lines::position,
            contract_lines::terms,
        ))
        .load(tx.conn())
        .await?;
    rows.into_iter()
        .map(|row| {
            let anchor: BillingAnchor = super::stored(row.anchor)?;
            Ok(Contract {
                id: row.id,
                client_id: row.client_id,
                name: row.name,
                currency: row.currency,
                starts_on: row.starts_on,
                ends_on: row.ends_on,
                billing_frequency: frequency(&row.billing_frequency),
                anchor_day: anchor.day_of_month,
                anchor,
                discounts: super::stored(row.discounts)?,
                lines: lines
                    .iter()
                    .filter(|l| l.0 == row.id)
                    .map(|(_, id, position, terms)| {
                        Ok(ContractLine {
                            id: *id,
                            position: *position,
                            terms: super::stored(terms.clone())?,
                        })
                    })
                    .collect::<Result<_, DbError>>()?,
                created_at: row.created_at,
            })
        })
        .collect()
}

/// The contract with `id`.
pub async fn find_contract(tx: &mut TenantTx, id: Uuid) -> Result<Option<Contract>, DbError> {
    let row: Option<ContractRow> = contracts::table
        .filter(contracts::id.eq(id))
        .select(ContractRow::as_select())
        .first(tx.conn())
        .await
        .optional()?;
    match row {
        Some(row) => Ok(assemble(tx, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// Contracts, of one client or all, newest first.
pub async fn list_contracts(
    tx: &mut TenantTx,
    client: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<Contract>, DbError> {
    let mut query = contracts::table
        .select(ContractRow::as_select())
        .order(contracts::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(client) = client {
        query = query.filter(contracts::client_id.eq(client));
    }
    if let Some(after) = page.after {
        query = query.filter(contracts::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    let page = Page::from_overfetch(rows, page.limit, |r| r.id);
    Ok(Page {
        data: assemble(tx, page.data).await?,
        next_cursor: page.next_cursor,
    })
}

/// The days a line bills each of its services: the main one and those a fixed fee
/// also covers, so no service is billed twice by any route.
fn spans_of(
    line_id: Uuid,
    terms: &LineInput,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
) -> Vec<LineSpan> {
    terms
        .service_id
        .into_iter()
        .chain(terms.also_covers.iter().copied())
        .map(|service_id| LineSpan {
            line_id,
            service_id,
            starts_on,
            ends_on,
        })
        .collect()
}

/// Every contract of `clients`, for a billing run.
pub async fn contracts_of_clients(
    tx: &mut TenantTx,
    clients: &[Uuid],
) -> Result<Vec<Contract>, DbError> {
    let rows: Vec<ContractRow> = contracts::table
        .filter(contracts::client_id.eq_any(clients))
        .select(ContractRow::as_select())
        .order(contracts::id)
        .load(tx.conn())
        .await?;
    assemble(tx, rows).await
}

/// Every contract of `client` (the checks must see all of them, not a page).
async fn client_contracts(tx: &mut TenantTx, client: Uuid) -> Result<Vec<Contract>, DbError> {
    let rows: Vec<ContractRow> = contracts::table
        .filter(contracts::client_id.eq(client))
        .select(ContractRow::as_select())
        .order(contracts::id)
        .load(tx.conn())
        .await?;
    assemble(tx, rows).await
}

/// Which catalogue kinds a line kind may bill.
fn fits(line: LineKind, service: ServiceKind) -> bool {
    match line {
        LineKind::Fixed => matches!(service, ServiceKind::Fixed | ServiceKind::Product),
        LineKind::Hourly => service == ServiceKind::Hourly,
        LineKind::Usage => matches!(service, ServiceKind::Usage | ServiceKind::Product),
        LineKind::Bucket => matches!(service, ServiceKind::Hourly | ServiceKind::Usage),
    }
}

/// Checks each line against the catalogue: its services exist and are live, fit
/// the line's kind, and are priced in `currency` wherever the line relies on
/// the catalogue's price.
fn check_lines(lines: &[LineInput], services: &[Service], currency: &Currency) -> Vec<FieldIssue> {
    let mut issues = Vec::new();
    let mut add = |field: String, message: String| issues.push(FieldIssue { field, message });
    for (i, line) in lines.iter().enumerate() {
        let (Some(kind), Some(service_id)) = (line.kind, line.service_id) else {
            continue;
        };
        let Some(service) = services
            .iter()
            .find(|s| s.id == service_id && !s.is_archived)
        else {
            add(format!("lines[{i}].service_id"), "no such service".into());
            continue;
        };
        if let Some(bucket) = line.bucket.as_ref().filter(|_| kind == LineKind::Bucket) {
            let counts_time = bucket.included_minutes.is_some();
            if counts_time != (service.kind == ServiceKind::Hourly) {
                let wanted = if service.kind == ServiceKind::Hourly {
                    "included_minutes"
                } else {
                    "included_units"
                };
                add(
                    format!("lines[{i}].bucket"),
                    format!(
                        "{} is a {} service: its bucket counts {wanted}",
                        service.name,
                        service.kind.as_str()
                    ),
                );
            }
        }
        if !fits(kind, service.kind) {
            add(
                format!("lines[{i}].service_id"),
                format!(
                    "{} is a {} service; a {} line cannot bill it",
                    service.name,
                    service.kind.as_str(),
                    kind.as_str()
                ),
            );
        }
        let tiered = kind == LineKind::Usage && !line.tiers.is_empty();
        if line.rate_cents.is_none() && !tiered && service.price_in(currency.code()).is_none() {
            add(
                format!("lines[{i}].rate_cents"),
                format!("{} has no price in {currency}: give rate_cents or price the service in {currency}", service.name),
            );
        }
        for (j, other) in line.also_covers.iter().enumerate() {
            match services.iter().find(|s| s.id == *other && !s.is_archived) {
                None => add(
                    format!("lines[{i}].also_covers[{j}]"),
                    "no such service".into(),
                ),
                Some(s) if !fits(kind, s.kind) => add(
                    format!("lines[{i}].also_covers[{j}]"),
                    format!(
                        "{} is a {} service; a {} line cannot bill it",
                        s.name,
                        s.kind.as_str(),
                        kind.as_str()
                    ),
                ),
                Some(s) if s.price_in(currency.code()).is_none() => add(
                    format!("lines[{i}].also_covers[{j}]"),
                    format!(
                        "{} has no price in {currency}; the fee is split by catalogue value",
                        s.name
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    issues
}

/// Creates a contract after checking it against the client, the catalogue and the
/// client's other contracts.
pub async fn create_contract(
    tx: &mut TenantTx,
    draft: &ContractDraft,
    actor: Option<Uuid>,
) -> Result<Contract, RecordError> {
    require_live_client(tx, draft.client_id, "client_id").await?;
    // One contract change per client at a time: the currency and overlap checks
    // read the client's other contracts.
    diesel::sql_query("SELECT 1 FROM clients WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Uuid, _>(draft.client_id)
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let client = find_client(tx, draft.client_id)
        .await?
        .ok_or(RecordError::NotFound("client"))?;
    let currency = match &draft.currency {
        Some(c) => c.clone(),
        None => Currency::parse(&client.currency)
            .map_err(|e| RecordError::field("currency", e.to_string()))?,
    };
    let others = client_contracts(tx, draft.client_id).await?;
    let spans: Vec<ContractSpan> = others
        .iter()
        .filter_map(|c| {
            Currency::parse(&c.currency)
                .ok()
                .map(|currency| ContractSpan {
                    contract_id: c.id,
                    currency,
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                })
        })
        .collect();
    let candidate = ContractSpan {
        contract_id: Uuid::nil(),
        currency: currency.clone(),
        starts_on: draft.starts_on,
        ends_on: draft.ends_on,
    };
    check_currency(&candidate, &spans)
        .map_err(|e| RecordError::field("currency", e.to_string()))?;
    let wanted: Vec<Uuid> = draft
        .lines
        .iter()
        .flat_map(|l| {
            l.service_id
                .into_iter()
                .chain(l.also_covers.iter().copied())
        })
        .collect();
    let services = find_services(tx, &wanted).await?;
    let issues = check_lines(&draft.lines, &services, &currency);
    if !issues.is_empty() {
        return Err(RecordError::Invalid(issues));
    }
    let id = Uuid::now_v7();
    let new_lines: Vec<(Uuid, &LineInput)> =
        draft.lines.iter().map(|l| (Uuid::now_v7(), l)).collect();
    let mut spans: Vec<LineSpan> = others
        .iter()
        .flat_map(|c| {
            c.lines
                .iter()
                .flat_map(move |l| spans_of(l.id, &l.terms, c.starts_on, c.ends_on))
        })
        .collect();
    spans.extend(
        new_lines
            .iter()
            .flat_map(|(line_id, l)| spans_of(*line_id, l, draft.starts_on, draft.ends_on)),
    );
    check_overlapping_lines(&spans).map_err(|e| RecordError::field("lines", e.to_string()))?;
    let line_ids: Vec<Uuid> = new_lines.iter().map(|(line_id, _)| *line_id).collect();
    let discounts: Vec<Discount> = draft
        .discounts
        .iter()
        .map(|d| d.resolve(&line_ids))
        .collect();

    diesel::insert_into(contracts::table)
        .values((
            contracts::tenant.eq(tx.tenant().0),
            contracts::id.eq(id),
            contracts::client_id.eq(draft.client_id),
            contracts::name.eq(&draft.name),
            contracts::currency.eq(currency.code()),
            contracts::starts_on.eq(draft.starts_on),
            contracts::ends_on.eq(draft.ends_on),
            contracts::billing_frequency.eq(draft.billing_frequency.as_str()),
            contracts::anchor.eq(serde_json::to_value(draft.anchor).unwrap_or_default()),
            contracts::discounts.eq(serde_json::to_value(&discounts).unwrap_or_default()),
            contracts::created_by.eq(actor),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let tenant = tx.tenant().0;
    let rows: Vec<_> = new_lines
        .iter()
        .enumerate()
        .map(|(position, (line_id, line))| {
            let timing = serde_json::to_value(line.billing_timing).unwrap_or_default();
            (
                contract_lines::tenant.eq(tenant),
                contract_lines::id.eq(*line_id),
                contract_lines::contract_id.eq(id),
                contract_lines::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
                contract_lines::kind.eq(line.kind.map_or("fixed", |k| k.as_str())),
                contract_lines::service_id.eq(line.service_id.unwrap_or_default()),
                contract_lines::billing_timing.eq(timing.as_str().unwrap_or("arrears").to_owned()),
                contract_lines::rate_cents.eq(line.rate_cents),
                contract_lines::terms.eq(serde_json::to_value(line).unwrap_or_default()),
            )
        })
        .collect();
    diesel::insert_into(contract_lines::table)
        .values(rows)
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    audit::record(
        tx,
        AuditEntry {
            actor,
            action: "contract.created",
            resource: "contract",
            resource_id: Some(id),
            details: serde_json::json!({
                "client_id": draft.client_id, "currency": currency.code(), "lines": draft.lines.len(),
            }),
        },
    )
    .await?;
    find_contract(tx, id)
        .await?
        .ok_or(RecordError::NotFound("contract"))
}
