//! WarrantyWatch: once a day, per tenant, flags assets whose warranty ends within the
//! notice window (`asset.warranty_expiring` events, once per asset and expiry date).
//!
//! Workflow id `<tenant>:warranty_watch:<tenant>`, one per tenant, started by the
//! worker's workflow starter when the tenant's first asset event arrives (starting it
//! again is harmless). Each scan is a run record of its own; after a scan the
//! workflow sleeps on a durable timer and continues as new, so its history stays a
//! few events long however many years it runs.

use super::contracts::{FlagWarranties, FlagWarrantiesActivity};
use super::{database_write_options, run_record, WorkflowKind};
use crate::TenantId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ContinueAsNewOptions, WorkflowContext, WorkflowContextView, WorkflowResult};

/// Days of notice before a warranty ends, by default.
pub const DEFAULT_NOTICE_DAYS: u32 = 30;
/// Seconds between scans, by default (a day).
pub const DEFAULT_INTERVAL_SECONDS: u64 = 86_400;

/// What to watch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarrantyWatchInput {
    /// The tenant.
    pub tenant: TenantId,
    /// Flag warranties ending within this many days.
    pub notice_days: u32,
    /// Pause between scans, in seconds.
    pub interval_seconds: u64,
}

impl WarrantyWatchInput {
    /// The defaults for `tenant`: 30 days' notice, a scan a day.
    pub fn daily(tenant: TenantId) -> Self {
        WarrantyWatchInput {
            tenant,
            notice_days: DEFAULT_NOTICE_DAYS,
            interval_seconds: DEFAULT_INTERVAL_SECONDS,
        }
    }
}

/// What one scan did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarrantyScan {
    /// Assets flagged by this scan.
    pub flagged: u64,
}

/// The warranty watch workflow.
#[workflow]
pub struct WarrantyWatch {
    input: WarrantyWatchInput,
}

#[workflow_methods]
impl WarrantyWatch {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: WarrantyWatchInput) -> Self {
        WarrantyWatch { input }
    }

    /// Scans, sleeps, and continues as new.
    #[run(name = "WarrantyWatch")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<WarrantyScan> {
        let input = ctx.state(|s| s.input.clone());
        run_record::open(ctx, input.tenant, WorkflowKind::WarrantyWatch, &input).await?;
        let flag = FlagWarranties {
            step: run_record::step_ref(ctx, input.tenant, "flag_expiring_warranties"),
            notice_days: input.notice_days,
        };
        let outcome = ctx
            .execute_activity(FlagWarrantiesActivity, flag, database_write_options())
            .await
            .map(|flagged| WarrantyScan { flagged })
            .map_err(|e| format!("flagging warranties failed: {e}"));
        // A failed scan is recorded; the watch itself goes on to the next one.
        let _ = run_record::close(ctx, input.tenant, outcome).await;
        ctx.timer(Duration::from_secs(input.interval_seconds.max(1)))
            .await;
        match ctx.continue_as_new(input, ContinueAsNewOptions::default()) {
            Err(termination) => Err(termination),
            Ok(never) => match never {},
        }
    }
}
