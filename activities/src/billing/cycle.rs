//! A billing run's database work: which clients have contracts to look at, and
//! billing a batch of clients in one transaction with a fixed number of
//! set-based statements (never a query per client or per time entry). The
//! charges come from `engine::billing::cycle`; `billed_periods` makes every
//! (contract, window) billable once, however often a run is repeated or resumed.

use super::catalogue::find_services;
use super::contracts::{contracts_of_clients, Contract};
use super::invoices::{insert_invoices, NewInvoice};
use crate::db::{DbError, TenantTx};
use crate::schema::{billed_periods, contracts};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use engine::billing::cycle::{
    bill_window, unapproved_before, windows_due, ContractTerms, ServiceTerms, Taken, UnbilledTime,
    UnbilledUsage, WindowBill,
};
use engine::billing::invoice::price_invoice;
use engine::billing::periods::ServicePeriod;
use engine::billing::tax::{TaxContext, TaxRate};
use engine::workflows::contracts::{BatchOutcome, FailedClient, HeldClient};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// The most held or failed clients one batch lists by name (all are counted).
const MAX_LISTED: usize = 50;

/// The clients a run up to `period_end` looks at, in id order: those with a
/// contract starting before the year after `period_end` (advance lines bill a
/// period ahead), limited to `only` when given.
pub async fn clients_to_bill(
    tx: &mut TenantTx,
    period_end: NaiveDate,
    only: Option<&[Uuid]>,
) -> Result<Vec<Uuid>, DbError> {
    let horizon = period_end + chrono::Duration::days(400);
    let mut query = contracts::table
        .filter(contracts::starts_on.lt(horizon))
        .select(contracts::client_id)
        .distinct()
        .order(contracts::client_id)
        .into_boxed();
    if let Some(only) = only {
        query = query.filter(contracts::client_id.eq_any(only.to_vec()));
    }
    Ok(query.load(tx.conn()).await?)
}

#[derive(QueryableByName)]
struct TimeRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    client_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    service_id: Option<Uuid>,
    #[diesel(sql_type = Date)]
    work_date: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    billable_minutes: i32,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    approved: bool,
}

#[derive(QueryableByName)]
struct UsageRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    client_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    service_id: Uuid,
    #[diesel(sql_type = Date)]
    recorded_on: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    quantity: Decimal,
}

#[derive(QueryableByName)]
struct ClientRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    tax_region: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_tax_exempt: bool,
}

/// Everything a batch needs, loaded in a fixed number of queries.
struct BatchInputs {
    clients: Vec<ClientRow>,
    contracts: Vec<Contract>,
    services: HashMap<Uuid, super::catalogue::Service>,
    rates: HashMap<String, Vec<TaxRate>>,
    billed: HashMap<Uuid, Vec<(NaiveDate, serde_json::Value)>>,
    time: HashMap<Uuid, Vec<UnbilledTime>>,
    usage: HashMap<Uuid, Vec<UnbilledUsage>>,
}

async fn load_inputs(
    tx: &mut TenantTx,
    client_ids: &[Uuid],
    period_end: NaiveDate,
) -> Result<BatchInputs, DbError> {
    let clients: Vec<ClientRow> = diesel::sql_query(
        "SELECT id, tax_region, is_tax_exempt FROM clients WHERE id = ANY($1) ORDER BY id",
    )
    .bind::<Array<SqlUuid>, _>(client_ids)
    .load(tx.conn())
    .await?;
    let contracts = contracts_of_clients(tx, client_ids).await?;
    let service_ids: Vec<Uuid> = contracts
        .iter()
        .flat_map(|c| c.lines.iter())
        .flat_map(|l| {
            l.terms
                .service_id
                .into_iter()
                .chain(l.terms.also_covers.iter().copied())
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let services = find_services(tx, &service_ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut rates: HashMap<String, Vec<TaxRate>> = HashMap::new();
    for rate in super::tax::list_rates(tx, None).await? {
        rates
            .entry(rate.region_code.clone())
            .or_default()
            .push(rate.into_rate());
    }
    let contract_ids: Vec<Uuid> = contracts.iter().map(|c| c.id).collect();
    let mut billed: HashMap<Uuid, Vec<(NaiveDate, serde_json::Value)>> = HashMap::new();
    let rows: Vec<(Uuid, NaiveDate, serde_json::Value)> = billed_periods::table
        .filter(billed_periods::contract_id.eq_any(&contract_ids))
        .select((
            billed_periods::contract_id,
            billed_periods::period_start,
            billed_periods::rollover,
        ))
        .order((billed_periods::contract_id, billed_periods::period_start))
        .load(tx.conn())
        .await?;
    for (contract, start, rollover) in rows {
        billed.entry(contract).or_default().push((start, rollover));
    }
    let time_rows: Vec<TimeRow> = diesel::sql_query(
        "SELECT id, client_id, service_id, work_date, billable_minutes, approval_status = 'APPROVED' AS approved
         FROM time_entries
         WHERE client_id = ANY($1) AND invoice_id IS NULL AND deleted_at IS NULL
           AND billable_minutes > 0 AND work_date < $2",
    )
    .bind::<Array<SqlUuid>, _>(client_ids)
    .bind::<Date, _>(period_end)
    .load(tx.conn())
    .await?;
    let mut time: HashMap<Uuid, Vec<UnbilledTime>> = HashMap::new();
    for row in time_rows {
        time.entry(row.client_id).or_default().push(UnbilledTime {
            entry_id: row.id,
            service_id: row.service_id,
            work_date: row.work_date,
            minutes: i64::from(row.billable_minutes),
            approved: row.approved,
        });
    }
    let usage_rows: Vec<UsageRow> = diesel::sql_query(
        "SELECT id, client_id, service_id, recorded_on, quantity FROM usage_records
         WHERE client_id = ANY($1) AND invoice_id IS NULL AND recorded_on < $2",
    )
    .bind::<Array<SqlUuid>, _>(client_ids)
    .bind::<Date, _>(period_end)
    .load(tx.conn())
    .await?;
    let mut usage: HashMap<Uuid, Vec<UnbilledUsage>> = HashMap::new();
    for row in usage_rows {
        usage.entry(row.client_id).or_default().push(UnbilledUsage {
            record_id: row.id,
            service_id: row.service_id,
            recorded_on: row.recorded_on,
            quantity: row.quantity,
        });
    }
    Ok(BatchInputs {
        clients,
        contracts,
        services,
        rates,
        billed,
        time,
        usage,
    })
}

fn contract_terms(contract: &Contract) -> ContractTerms {
    ContractTerms {
        id: contract.id,
        starts_on: contract.starts_on,
        ends_on: contract.ends_on,
        frequency: contract.billing_frequency,
        anchor: contract.anchor,
        lines: contract
            .lines
            .iter()
            .map(|l| (l.id, l.terms.clone()))
            .collect(),
    }
}

fn services_in(
    services: &HashMap<Uuid, super::catalogue::Service>,
    currency: &str,
) -> HashMap<Uuid, ServiceTerms> {
    services
        .iter()
        .map(|(id, s)| {
            (
                *id,
                ServiceTerms {
                    name: s.name.clone(),
                    kind: s.kind,
                    unit: s.unit.clone(),
                    tax_category: s.tax_category.clone(),
                    price_cents: s.price_in(currency),
                },
            )
        })
        .collect()
}

/// One contract's window, billed.
struct Billed {
    contract_id: Uuid,
    bill: WindowBill,
}

/// What one client's windows came to: invoices to write, windows to mark.
#[derive(Default)]
struct ClientBills {
    invoices: Vec<NewInvoice>,
    /// (contract, window, invoice, rollover)
    windows: Vec<(Uuid, ServicePeriod, Option<Uuid>, serde_json::Value)>,
    time: Vec<(Uuid, Uuid)>,
    usage: Vec<(Uuid, Uuid)>,
}

/// Bills one client: every due window of every contract, grouped into one
/// invoice per window. A window with unapproved time before its end is held.
fn bill_client(
    client: &ClientRow,
    inputs: &BatchInputs,
    period_end: NaiveDate,
    run_id: Uuid,
) -> Result<(ClientBills, Option<HeldClient>), String> {
    let time = inputs
        .time
        .get(&client.id)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let usage = inputs
        .usage
        .get(&client.id)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // The first day with unapproved time: windows ending after it wait.
    let first_unapproved = time
        .iter()
        .filter(|t| !t.approved)
        .map(|t| t.work_date)
        .min();
    let mut held: Option<HeldClient> = None;
    let mut taken = Taken::default();
    let mut billed: Vec<Billed> = Vec::new();
    // In id order, so which contract takes shared time is the same on every run.
    let contracts: BTreeMap<Uuid, &Contract> = inputs
        .contracts
        .iter()
        .filter(|c| c.client_id == client.id)
        .map(|c| (c.id, c))
        .collect();
    for contract in contracts.values().copied() {
        let terms = contract_terms(contract);
        let done = inputs.billed.get(&contract.id);
        let starts: HashSet<NaiveDate> = done
            .map(|d| d.iter().map(|(s, _)| *s).collect())
            .unwrap_or_default();
        let mut rollover: BTreeMap<Uuid, Decimal> = done
            .and_then(|d| d.last())
            .map(|(_, r)| serde_json::from_value(r.clone()).unwrap_or_default())
            .unwrap_or_default();
        let services = services_in(&inputs.services, &contract.currency);
        let windows = windows_due(&terms, period_end, &starts).map_err(|e| e.to_string())?;
        for window in windows {
            if first_unapproved.is_some_and(|day| day < window.end) {
                let waiting = unapproved_before(time, window.end);
                held.get_or_insert(HeldClient {
                    client_id: client.id,
                    period_start: window.start,
                    period_end: window.end,
                    unapproved_entries: waiting.len() as u64,
                });
                break;
            }
            let bill = bill_window(
                &terms, &services, window, time, usage, &rollover, &mut taken,
            )
            .map_err(|e| format!("contract {}: {e}", contract.id))?;
            rollover = bill.rollover_out.clone();
            billed.push(Billed {
                contract_id: contract.id,
                bill,
            });
        }
    }
    let tax = TaxContext {
        exempt: client.is_tax_exempt,
        rates: client
            .tax_region
            .as_ref()
            .map(|r| inputs.rates.get(r).cloned().unwrap_or_default()),
    };
    let mut out = ClientBills::default();
    // One invoice per (window, currency): contracts sharing a window share it.
    let mut groups: BTreeMap<(ServicePeriod, String), Vec<&Billed>> = BTreeMap::new();
    for b in &billed {
        let currency = contracts[&b.contract_id].currency.clone();
        groups.entry((b.bill.window, currency)).or_default().push(b);
    }
    for ((window, currency), parts) in groups {
        let charges: Vec<_> = parts
            .iter()
            .flat_map(|b| b.bill.charges.iter().cloned())
            .collect();
        let invoice_id = (!charges.is_empty()).then(Uuid::now_v7);
        if let Some(id) = invoice_id {
            let discounts: Vec<_> = parts
                .iter()
                .flat_map(|b| contracts[&b.contract_id].discounts.iter().cloned())
                .collect();
            // A discount applies to the invoices dated within its dates.
            let priced = price_invoice(charges, &discounts, &tax, window.end, window)
                .map_err(|e| e.to_string())?;
            let contract_of_line = parts
                .iter()
                .flat_map(|b| {
                    contracts[&b.contract_id]
                        .lines
                        .iter()
                        .map(|l| (l.id, b.contract_id))
                })
                .collect();
            out.invoices.push(NewInvoice {
                id,
                client_id: client.id,
                origin: "billing_run",
                currency,
                invoice_date: window.end,
                period: Some(window),
                priced,
                contract_of_line,
                notes: String::new(),
                billing_run_id: Some(run_id),
                created_by: None,
            });
            for b in &parts {
                out.time
                    .extend(b.bill.time_entries.iter().map(|t| (*t, id)));
                out.usage
                    .extend(b.bill.usage_records.iter().map(|u| (*u, id)));
            }
        }
        for b in parts {
            let rollover = serde_json::to_value(&b.bill.rollover_out).unwrap_or_default();
            out.windows
                .push((b.contract_id, window, invoice_id, rollover));
        }
    }
    Ok((out, held))
}

/// Bills `client_ids` up to `period_end` in this transaction. Clients whose
/// contracts cannot be billed (a price gone, a tax rate missing) are reported
/// and skipped; the others are written in a handful of multi-row statements.
pub async fn bill_clients(
    tx: &mut TenantTx,
    run_id: Uuid,
    period_end: NaiveDate,
    client_ids: &[Uuid],
) -> Result<BatchOutcome, DbError> {
    let inputs = load_inputs(tx, client_ids, period_end).await?;
    let mut outcome = BatchOutcome {
        clients: client_ids.len() as u64,
        ..BatchOutcome::default()
    };
    let mut all = ClientBills::default();
    for client in &inputs.clients {
        match bill_client(client, &inputs, period_end, run_id) {
            Ok((bills, held)) => {
                if let Some(held) = held {
                    outcome.held_count += 1;
                    if outcome.held.len() < MAX_LISTED {
                        outcome.held.push(held);
                    }
                }
                all.invoices.extend(bills.invoices);
                all.windows.extend(bills.windows);
                all.time.extend(bills.time);
                all.usage.extend(bills.usage);
            }
            Err(message) => {
                outcome.failed_count += 1;
                if outcome.failed.len() < MAX_LISTED {
                    outcome.failed.push(FailedClient {
                        client_id: client.id,
                        error: message,
                    });
                }
            }
        }
    }
    outcome.invoices = all.invoices.len() as u64;
    outcome.lines = all
        .invoices
        .iter()
        .map(|i| i.priced.lines.len() as u64)
        .sum();
    outcome.windows = all.windows.len() as u64;
    insert_invoices(tx, &all.invoices).await?;
    mark_windows(tx, run_id, &all.windows, &inputs.contracts).await?;
    mark_billed(tx, "time_entries", &all.time).await?;
    mark_billed(tx, "usage_records", &all.usage).await?;
    Ok(outcome)
}

/// Records the billed windows. A window another run billed meanwhile makes the
/// insert fail on the key, and the whole batch is retried against what is billed.
async fn mark_windows(
    tx: &mut TenantTx,
    run_id: Uuid,
    windows: &[(Uuid, ServicePeriod, Option<Uuid>, serde_json::Value)],
    contracts: &[Contract],
) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let client_of: HashMap<Uuid, Uuid> = contracts.iter().map(|c| (c.id, c.client_id)).collect();
    for chunk in windows.chunks(5_000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(contract, window, invoice, rollover)| {
                (
                    billed_periods::tenant.eq(tenant),
                    billed_periods::contract_id.eq(*contract),
                    billed_periods::period_start.eq(window.start),
                    billed_periods::period_end.eq(window.end),
                    billed_periods::client_id
                        .eq(client_of.get(contract).copied().unwrap_or_default()),
                    billed_periods::invoice_id.eq(*invoice),
                    billed_periods::billing_run_id.eq(run_id),
                    billed_periods::rollover.eq(rollover.clone()),
                )
            })
            .collect();
        diesel::insert_into(billed_periods::table)
            .values(rows)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Points billed time entries or usage records at their invoice, one statement
/// per 10,000 rows.
async fn mark_billed(
    tx: &mut TenantTx,
    table: &str,
    pairs: &[(Uuid, Uuid)],
) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE {table} t SET invoice_id = v.invoice FROM unnest($1::uuid[], $2::uuid[]) AS v(id, invoice)
         WHERE t.id = v.id AND t.invoice_id IS NULL"
    );
    for chunk in pairs.chunks(10_000) {
        let ids: Vec<Uuid> = chunk.iter().map(|p| p.0).collect();
        let invoices: Vec<Uuid> = chunk.iter().map(|p| p.1).collect();
        let updated = diesel::sql_query(&sql)
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<SqlUuid>, _>(&invoices)
            .execute(tx.conn())
            .await?;
        if updated != chunk.len() {
            // Something billed them meanwhile: retry the batch against what is billed.
            return Err(DbError::Unavailable(format!(
                "{} of {} {table} rows were billed by another run; retrying",
                chunk.len() - updated,
                chunk.len()
            )));
        }
    }
    Ok(())
}
