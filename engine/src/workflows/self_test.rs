//! SelfTest: the canary of the durable path. Writes one mark row per step through an
//! idempotent activity, pausing on a durable timer between steps, and optionally
//! waits for a `note` signal. Admins start it to check that workers, Temporal and
//! Postgres work together; the crash-safety tests kill workers in the middle of it.
//!
//! Workflow id `<tenant>:self_test:<key>`. Signal `note {text}` (1–500 characters).
//! Guarantees: exactly one mark row per step, whatever crashes and retries happen.

use super::contracts::{WriteMark, WriteMarkActivity};
use super::{database_write_options, run_record, WorkflowKind};
use crate::TenantId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflows::select;
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

/// The most steps one self test may take.
pub const MAX_STEPS: u32 = 1000;
/// The longest pause between steps.
pub const MAX_PAUSE_MS: u64 = 60_000;

/// How to run a self test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTestInput {
    /// The tenant.
    pub tenant: TenantId,
    /// Marks to write (1..=1000).
    pub steps: u32,
    /// Durable pause after each step, in milliseconds (0..=60000).
    pub pause_ms: u64,
    /// Wait this long (seconds) for a `note` signal before finishing (0: don't wait).
    pub wait_for_note_seconds: u64,
}

impl SelfTestInput {
    /// Checks the limits; answers the offending field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return Err(("steps", format!("must be between 1 and {MAX_STEPS}")));
        }
        if self.pause_ms > MAX_PAUSE_MS {
            return Err(("pause_ms", format!("must be at most {MAX_PAUSE_MS}")));
        }
        if self.wait_for_note_seconds > 86_400 {
            return Err(("wait_for_note_seconds", "must be at most 86400".to_owned()));
        }
        Ok(())
    }
}

/// The payload of the `note` signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// The note, 1 to 500 characters.
    pub text: String,
}

impl Note {
    /// Checks the note's length.
    pub fn validate(&self) -> Result<(), String> {
        let length = self.text.chars().count();
        if (1..=500).contains(&length) {
            Ok(())
        } else {
            Err("must be 1 to 500 characters".to_owned())
        }
    }
}

/// What a self test did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTestResult {
    /// Marks written.
    pub marks: u32,
    /// Notes received by signal.
    pub notes: Vec<String>,
}

/// The self-test workflow.
#[workflow]
pub struct SelfTest {
    input: SelfTestInput,
    notes: Vec<String>,
}

#[workflow_methods]
impl SelfTest {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: SelfTestInput) -> Self {
        SelfTest {
            input,
            notes: Vec::new(),
        }
    }

    /// Writes the marks, then waits for a note if asked to.
    #[run(name = "SelfTest")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<SelfTestResult> {
        let input = ctx.state(|s| s.input.clone());
        run_record::open(ctx, input.tenant, WorkflowKind::SelfTest, &input).await?;
        let outcome = Self::write_marks(ctx, &input).await;
        let outcome = match outcome {
            Ok(marks) => {
                Self::await_note(ctx, input.wait_for_note_seconds).await;
                Ok(SelfTestResult {
                    marks,
                    notes: ctx.state(|s| s.notes.clone()),
                })
            }
            Err(error) => Err(error),
        };
        run_record::close(ctx, input.tenant, outcome).await
    }

    /// Appends a note (signal `note`).
    #[signal]
    pub fn note(&mut self, _ctx: &mut SyncWorkflowContext<Self>, note: Note) {
        self.notes.push(note.text);
    }
}

impl SelfTest {
    async fn write_marks(
        ctx: &WorkflowContext<Self>,
        input: &SelfTestInput,
    ) -> Result<u32, String> {
        for number in 1..=input.steps {
            let step = run_record::step_ref(ctx, input.tenant, &format!("write_mark_{number}"));
            ctx.execute_activity(
                WriteMarkActivity,
                WriteMark { step, number },
                database_write_options(),
            )
            .await
            .map_err(|e| format!("step {number} failed: {e}"))?;
            if input.pause_ms > 0 {
                ctx.timer(Duration::from_millis(input.pause_ms)).await;
            }
        }
        Ok(input.steps)
    }

    async fn await_note(ctx: &WorkflowContext<Self>, seconds: u64) {
        if seconds == 0 {
            return;
        }
        select! {
            _ = ctx.wait_condition(|s: &SelfTest| !s.notes.is_empty()) => {}
            _ = ctx.timer(Duration::from_secs(seconds)) => {}
        };
    }
}
