//! Activity contracts: the stable name, input and output of every activity the
//! workflows call. Workflows depend only on these; the implementations live in the
//! `activities` crate (`#[activity(definition = ...)]`) and the worker registers them.
//! The `unimplemented!()` bodies are the SDK's form for a declaration: they are
//! never executed, because only the implementations are registered with a worker.
//! Names are versioned by adding a new name, never by changing a meaning.

use crate::TenantId;
use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

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

/// Bookkeeping of runs.
pub struct RunActivities;

#[activity_definitions]
impl RunActivities {
    /// Inserts the run's row (idempotent).
    #[activity(name = "runs.open")]
    pub fn open(input: OpenRun) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Marks the run closed with its status, result or error (idempotent).
    #[activity(name = "runs.close")]
    pub fn close(input: CloseRun) -> Result<(), ActivityError> {
        unimplemented!()
    }
}

/// What a seeding step did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedOutcome {
    /// Rows inserted (0 when everything already existed).
    pub inserted: u64,
}

/// The steps of tenant onboarding.
pub struct OnboardingActivities;

#[activity_definitions]
impl OnboardingActivities {
    /// Syncs the permission catalogue and creates the shipped roles with their
    /// permissions (existing roles are kept).
    #[activity(name = "tenants.seed_access")]
    pub fn seed_access(step: StepRef) -> Result<SeedOutcome, ActivityError> {
        unimplemented!()
    }

    /// Creates the default number sequences (tickets, invoices, credit notes).
    #[activity(name = "tenants.seed_sequences")]
    pub fn seed_sequences(step: StepRef) -> Result<SeedOutcome, ActivityError> {
        unimplemented!()
    }
}

/// `selftest.write_mark`: one row per step of a self test.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteMark {
    /// The step.
    pub step: StepRef,
    /// Its number, from 1.
    pub number: u32,
}

/// The steps of a self test.
pub struct SelfTestActivities;

#[activity_definitions]
impl SelfTestActivities {
    /// Writes one mark row, exactly once per step however often it is retried.
    #[activity(name = "selftest.write_mark")]
    pub fn write_mark(input: WriteMark) -> Result<u32, ActivityError> {
        unimplemented!()
    }
}

/// The marker type of each contract, for implementations elsewhere to name with
/// `#[activity(definition = ...)]` (the macro keeps its own modules private).
pub mod definition {
    pub use super::onboarding_activities::{SeedAccess, SeedSequences};
    pub use super::run_activities::{Close, Open};
    pub use super::self_test_activities::WriteMark;
}
