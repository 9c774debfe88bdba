//! Activity contracts: the stable name, input and output of every activity the
//! workflows call. Workflows depend only on these marker types; the implementations
//! live in the `activities` crate (`#[activity(definition = ...)]`) and the worker
//! registers them. Names are versioned by adding a new name, never by changing a
//! meaning.

use crate::TenantId;
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityDefinition;

/// Declares a contract: a marker type naming one activity with its input and output.
macro_rules! contract {
    ($(#[$doc:meta])* $marker:ident = $name:literal, $input:ty => $output:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $marker;

        impl ActivityDefinition for $marker {
            type Input = $input;
            type Output = $output;
            fn name(&self) -> &str {
                $name
            }
        }
    };
}

/// Which step of which run an activity call is, and its idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRef {
    /// The run's tenant.
    pub tenant: TenantId,
    /// Temporal workflow id.
    pub workflow_id: String,
    /// Temporal run id.
    pub run_id: String,
    /// The step's name within the run (unique per run).
    pub step: String,
}

impl StepRef {
    /// The key under which the step's effect is recorded.
    pub fn idempotency_key(&self) -> String {
        super::idempotency_key(&self.workflow_id, &self.run_id, &self.step)
    }
}

/// `runs.open`: records that a run started.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenRun {
    /// The run.
    pub step: StepRef,
    /// `WorkflowKind::name()`.
    pub kind: String,
    /// The run's input, as shown on the run page.
    pub input: serde_json::Value,
}

/// `runs.close`: records how a run ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CloseRun {
    /// The run.
    pub step: StepRef,
    /// `RunStatus::name()`.
    pub status: String,
    /// The result, for completed runs.
    pub result: Option<serde_json::Value>,
    /// The error, for failed runs.
    pub error: Option<String>,
}

contract! {
    /// `runs.open`: inserts the run's row (idempotent).
    OpenRunActivity = "runs.open", OpenRun => ()
}

contract! {
    /// `runs.close`: marks the run closed with its status, result or error (idempotent).
    CloseRunActivity = "runs.close", CloseRun => ()
}

/// What a seeding step did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedOutcome {
    /// Rows inserted (0 when everything already existed).
    pub inserted: u64,
}

contract! {
    /// `tenants.seed_access`: syncs the permission catalogue and creates the shipped
    /// roles with their permissions (existing roles are kept).
    SeedAccessActivity = "tenants.seed_access", StepRef => SeedOutcome
}

contract! {
    /// `tenants.seed_sequences`: creates the default number sequences (tickets,
    /// invoices, credit notes).
    SeedSequencesActivity = "tenants.seed_sequences", StepRef => SeedOutcome
}

/// `selftest.write_mark`: one row per step of a self test.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteMark {
    /// The step.
    pub step: StepRef,
    /// Its number, from 1.
    pub number: u32,
}

contract! {
    /// `selftest.write_mark`: writes one mark row, exactly once per step however
    /// often it is retried.
    WriteMarkActivity = "selftest.write_mark", WriteMark => u32
}

/// `assets.flag_expiring_warranties`: one tenant's warranty scan.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlagWarranties {
    /// The step (its tenant is the tenant scanned).
    pub step: StepRef,
    /// Flag warranties ending within this many days of today (UTC).
    pub notice_days: u32,
}

contract! {
    /// `assets.flag_expiring_warranties`: emits `asset.warranty_expiring` for assets
    /// whose warranty ends soon and were not flagged for that date yet; answers how
    /// many (exactly once per step).
    FlagWarrantiesActivity = "assets.flag_expiring_warranties", FlagWarranties => u64
}
