//! `keel billing …`: start a billing run and follow it with a progress bar, make
//! sure a tenant's daily schedules exist, check the books.

use crate::commands::{connect_db, find_tenant};
use crate::config::Config;
use activities::billing::ledger;
use activities::runs;
use activities::temporal::Temporal;
use anyhow::{anyhow, bail, Result};
use engine::workflows::billing_cycle::{BillingCycleInput, BillingRunSummary};
use engine::workflows::WorkflowKind;
use std::io::Write;
use std::time::Duration;

async fn temporal(config: &Config) -> Result<Temporal> {
    Temporal::connect(
        &config.temporal_address(),
        &config.temporal_namespace,
        &config.task_queue_prefix,
    )
    .await
    .map_err(|e| anyhow!("{e}"))
}

/// `keel billing run`: starts the BillingCycle workflow and, unless `detach`,
/// draws its progress (clients done of total) until it ends, then prints the
/// summary as JSON. Fails when the run fails.
pub async fn run(
    config: &Config,
    tenant: &str,
    period_end: Option<&str>,
    batch_size: Option<u32>,
    detach: bool,
) -> Result<()> {
    let period_end = period_end
        .map(|d| {
            d.parse::<chrono::NaiveDate>()
                .map_err(|_| anyhow!("invalid --period-end {d:?}: expected YYYY-MM-DD"))
        })
        .transpose()?;
    if period_end.is_some_and(|d| !engine::billing::date_in_range(d)) {
        bail!("invalid --period-end: {}", engine::billing::DATE_RANGE);
    }
    if batch_size.is_some_and(|b| !(1..=5_000).contains(&b)) {
        bail!("invalid --batch-size: must be 1 to 5000");
    }
    let db = connect_db(config)?;
    let tenant = find_tenant(&db, tenant).await?;
    let temporal = temporal(config).await?;
    let input = BillingCycleInput {
        tenant: tenant.tenant_id(),
        period_end: Some(period_end.unwrap_or_else(|| chrono::Utc::now().date_naive())),
        client_ids: None,
        batch_size,
    };
    let started = temporal.start_billing_cycle(input.clone()).await?;
    let run_id = started
        .run_id
        .as_deref()
        .and_then(|r| uuid::Uuid::try_parse(r).ok())
        .ok_or_else(|| anyhow!("Temporal did not report a run id"))?;
    let mut tx = db.tenant_tx(tenant.tenant_id()).await?;
    let json = serde_json::to_value(&input)?;
    runs::open_run(
        &mut tx,
        run_id,
        &started.workflow_id,
        WorkflowKind::BillingCycle.name(),
        &json,
    )
    .await?;
    tx.commit().await?;
    eprintln!("billing run {run_id} (workflow {})", started.workflow_id);
    if detach {
        println!("{run_id}");
        return Ok(());
    }
    let result = temporal.billing_cycle_result(&started.workflow_id);
    tokio::pin!(result);
    let summary: BillingRunSummary = loop {
        tokio::select! {
            outcome = &mut result => break outcome?,
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                let mut tx = db.tenant_tx(tenant.tenant_id()).await?;
                let run = runs::find_run(&mut tx, run_id).await?;
                tx.commit().await?;
                if let Some(progress) = run.and_then(|(r, _)| r.result) {
                    draw(&progress);
                }
            }
        }
    };
    draw(&serde_json::to_value(&summary.progress)?);
    eprintln!();
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// One line, redrawn: `[#####-----] 1200/2500 clients, 1180 invoices`.
fn draw(progress: &serde_json::Value) {
    let number = |key: &str| {
        progress
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let (done, total) = (number("clients_done"), number("clients_total"));
    let width = 30u64;
    let filled = (done * width).checked_div(total).unwrap_or(0).min(width);
    let bar: String = (0..width)
        .map(|i| if i < filled { '#' } else { '-' })
        .collect();
    eprint!(
        "\r[{bar}] {done}/{total} clients, {} invoices, {} held, {} failed",
        number("invoices"),
        number("held"),
        number("failed")
    );
    let _ = std::io::stderr().flush();
}

/// `keel billing schedule`: creates the tenant's daily billing and credit-expiry
/// schedules unless they exist.
pub async fn schedule(config: &Config, tenant: &str) -> Result<()> {
    let db = connect_db(config)?;
    let tenant = find_tenant(&db, tenant).await?;
    let created = temporal(config)
        .await?
        .ensure_billing_schedules(tenant.tenant_id())
        .await?;
    println!("{created} schedule(s) created for {}", tenant.slug);
    Ok(())
}

/// `keel billing reconcile`: prints every ledger that disagrees with itself or
/// with the documents; exits non-zero when any does.
pub async fn reconcile(config: &Config, tenant: &str) -> Result<()> {
    let db = connect_db(config)?;
    let tenant = find_tenant(&db, tenant).await?;
    let mut tx = db.tenant_tx(tenant.tenant_id()).await?;
    let mismatches = ledger::reconcile(&mut tx).await?;
    tx.commit().await?;
    if mismatches.is_empty() {
        println!("the books of {} reconcile", tenant.slug);
        return Ok(());
    }
    for m in &mismatches {
        println!("{}", serde_json::to_string(m)?);
    }
    bail!("{} ledger(s) do not reconcile", mismatches.len())
}
