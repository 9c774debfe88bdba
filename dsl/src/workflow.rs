//! PlaybookRun: one run of a playbook version, made durable by replay. The
//! workflow evaluates the script (see [`crate::replay`]) and carries out each
//! request it stops on: an action becomes the `playbooks.action` activity, `sleep`
//! a timer, `wait_for_signal` a wait on the `signal` signal with a timer, `now` the
//! workflow clock and `uuid` the workflow's deterministic randomness. Each answer
//! goes into the journal and the script is evaluated again, so a worker that dies
//! anywhere is replaced by one that rebuilds the journal from history, repeating no
//! side effect. History stays bounded: every [`CALLS_PER_HISTORY`] durable calls
//! (or sooner when Temporal suggests it) the run continues as new, carrying its
//! journal, the signals it holds and the id of its first Temporal run, under which
//! the run record and its steps stay. A run makes at most
//! [`crate::replay::MAX_DURABLE_CALLS`] durable calls, which bounds the journal.
//!
//! Workflow id `<tenant>:playbook_run:<run key>`; query `state`.

use crate::catalogue;
use crate::replay::{evaluate, Evaluation, JournalEntry, Request};
use crate::validate::compile;
use chrono::{DateTime, SecondsFormat, Utc};
use engine::workflows::contracts::{
    PlaybookAction, PlaybookActionActivity, PlaybookAdmission, PlaybookAdmitActivity,
    PlaybookEventWait, PlaybookEventWaitActivity, StepRef,
};
use engine::workflows::{
    bookkeeping_options, database_write_options, http_request_options, run_record, WorkflowKind,
};
use engine::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflows::select;
use temporalio_sdk::{
    ApplicationFailure, ChildWorkflowOptions, ContinueAsNewOptions, ParentClosePolicy,
};
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};
use uuid::Uuid;

/// The workflow id of a run.
pub fn workflow_id(tenant: TenantId, run_key: Uuid) -> String {
    WorkflowKind::PlaybookRun.workflow_id(tenant, &run_key.to_string())
}

/// What a run executes: the pinned version's source travels in the input, so
/// history alone can replay the run whatever happens to the playbook later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookRunInput {
    /// The tenant.
    pub tenant: TenantId,
    /// The playbook.
    pub playbook_id: Uuid,
    /// The version run.
    pub version: i32,
    /// That version's source.
    pub source: String,
    /// The script's `input`.
    pub input: Value,
    /// Record actions and answer fixtures instead of executing them.
    pub dry_run: bool,
    /// Dry-run answers by action name (default: the catalogue's fixture).
    #[serde(default)]
    pub fixtures: BTreeMap<String, Value>,
    /// The user the run acts as.
    pub run_as: Uuid,
    /// What started it (`manual`, `api`, `event:ticket.created`, `schedule`,
    /// `webhook`, `playbook:<parent id>`).
    pub trigger: String,
    /// How many parent runs started this one through `start_playbook` (0: none).
    #[serde(default)]
    pub depth: u32,
    /// Where a run that continued as new picks up (`None` on its first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<Continuation>,
}

/// What a run carries into its next Temporal run when it continues as new.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// The Temporal run id of the first run: the run record and its steps are
    /// kept under it.
    pub origin_run_id: String,
    /// The calls answered so far, which the script replays through.
    pub journal: Vec<JournalEntry>,
    /// Signals delivered and not yet taken by a `wait_for_signal`.
    pub signals: Vec<PlaybookSignal>,
    /// Events delivered and not yet taken by a `wait_for_event`.
    pub events: Vec<PlaybookEventDelivery>,
    /// How many times the run has continued as new.
    pub continued: u32,
}

/// How many durable calls one Temporal run answers before the playbook run
/// continues as new (an action's activity adds about six history events).
pub const CALLS_PER_HISTORY: usize = 100;

/// The run being executed: its input and the Temporal run id its record is
/// kept under.
#[derive(Clone, Copy)]
struct RunContext<'a> {
    input: &'a PlaybookRunInput,
    origin_run_id: &'a str,
}

impl RunContext<'_> {
    /// Step `step` of the run, under the run id its record is kept under.
    fn step_ref<W>(&self, ctx: &WorkflowContext<W>, step: &str) -> StepRef {
        run_record::step_ref_in(ctx, self.input.tenant, self.origin_run_id, step)
    }
}

/// Where [`PlaybookRun::execute`] stopped.
enum Progress {
    /// The script finished or failed.
    Ended(Result<PlaybookRunResult, String>),
    /// This Temporal run has answered enough calls: go on in a new one.
    Continue(Continuation),
}

/// How deep `start_playbook` may nest runs.
pub const MAX_PLAYBOOK_DEPTH: u32 = 5;

/// A signal to a waiting script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookSignal {
    /// The name the script waits for.
    pub name: String,
    /// What `wait_for_signal` answers.
    #[serde(default)]
    pub payload: Value,
}

/// A domain event the workflow starter delivers to a run waiting for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookEventDelivery {
    /// The wait it answers (see [`PlaybookEventWait`]).
    pub wait: u32,
    /// The event envelope, as JSON.
    pub event: Value,
}

/// What the `state` query answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaybookRunView {
    /// `running`, `sleeping`, `waiting` (for a signal or an event), `finished`
    /// or `failed`.
    pub state: String,
    /// The signal (or `event:<type>`) waited for, while waiting.
    pub waiting_for: Option<String>,
    /// Durable calls answered so far.
    pub steps: usize,
    /// Lines the script printed.
    pub logs: Vec<String>,
}

/// A `wait_for_event` as the workflow carries it out.
struct EventWait<'a> {
    index: usize,
    event_type: &'a str,
    filter: Option<&'a str>,
    timeout_seconds: Option<u64>,
}

/// What a finished run answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookRunResult {
    /// The script's last value.
    pub result: Value,
    /// Lines it printed.
    pub logs: Vec<String>,
    /// Durable calls it made.
    pub steps: usize,
    /// Whether it was a dry run.
    pub dry_run: bool,
}

/// One run of a tenant's playbook.
#[workflow]
pub struct PlaybookRun {
    input: PlaybookRunInput,
    signals: Vec<PlaybookSignal>,
    events: Vec<PlaybookEventDelivery>,
    view: PlaybookRunView,
}

#[workflow_methods]
impl PlaybookRun {
    #[init]
    fn new(_ctx: &WorkflowContextView, input: PlaybookRunInput) -> Self {
        let carried = input.continuation.clone().unwrap_or_default();
        PlaybookRun {
            input,
            signals: carried.signals,
            events: carried.events,
            view: PlaybookRunView {
                state: "running".into(),
                ..PlaybookRunView::default()
            },
        }
    }

    /// Runs the script to its end.
    #[run(name = "PlaybookRun")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<PlaybookRunResult> {
        let mut input = ctx.state(|s| s.input.clone());
        let continuation = input.continuation.take();
        let origin_run_id = match &continuation {
            Some(carried) => carried.origin_run_id.clone(),
            None => {
                if let Some(refusal) = Self::admit(ctx, &input).await? {
                    return Err(ApplicationFailure::non_retryable(refusal).into());
                }
                run_record::open(ctx, input.tenant, WorkflowKind::PlaybookRun, &input).await?;
                ctx.run_id().to_owned()
            }
        };
        let run = RunContext {
            input: &input,
            origin_run_id: &origin_run_id,
        };
        let outcome = match Self::execute(ctx, run, continuation).await {
            Progress::Ended(outcome) => outcome,
            Progress::Continue(carried) => {
                let next = PlaybookRunInput {
                    continuation: Some(carried),
                    ..input.clone()
                };
                match ctx.continue_as_new(next, ContinueAsNewOptions::default())? {}
            }
        };
        ctx.state_mut(|s| {
            s.view.state = if outcome.is_ok() {
                "finished"
            } else {
                "failed"
            }
            .into();
            s.view.waiting_for = None;
        });
        run_record::close_in(ctx, input.tenant, &origin_run_id, outcome).await
    }

    /// Delivers a signal to the script (kept until a `wait_for_signal` takes it).
    #[signal]
    pub fn signal(&mut self, _ctx: &mut SyncWorkflowContext<Self>, signal: PlaybookSignal) {
        self.signals.push(signal);
    }

    /// Delivers a domain event to a `wait_for_event` (the first delivery for a
    /// wait is kept; later ones are dropped).
    #[signal]
    pub fn event(&mut self, _ctx: &mut SyncWorkflowContext<Self>, delivery: PlaybookEventDelivery) {
        if !self.events.iter().any(|e| e.wait == delivery.wait) {
            self.events.push(delivery);
        }
    }

    /// Where the run stands.
    #[query]
    pub fn state(&self, _ctx: &WorkflowContextView) -> PlaybookRunView {
        self.view.clone()
    }
}

impl PlaybookRun {
    /// Whether a run Temporal started by itself (a schedule) may go on under its
    /// version's manifest and the tenant's limits: `Some(reason)` when it may not. Other triggers were
    /// admitted by whoever started them.
    async fn admit(
        ctx: &WorkflowContext<Self>,
        input: &PlaybookRunInput,
    ) -> WorkflowResult<Option<String>> {
        if input.trigger != "schedule" || input.dry_run {
            return Ok(None);
        }
        let admission = PlaybookAdmission {
            tenant: input.tenant,
            playbook_id: input.playbook_id,
            trigger: input.trigger.clone(),
            version: Some(input.version),
            run_as: Some(input.run_as),
            input: Some(input.input.clone()),
        };
        let refusal = ctx
            .execute_activity(PlaybookAdmitActivity, admission, bookkeeping_options())
            .await?;
        Ok(refusal.map(|reason| format!("the run was refused: {reason}")))
    }

    /// Evaluates the script, carrying out what it asks for, until it ends or this
    /// Temporal run has answered enough calls to continue as new.
    async fn execute(
        ctx: &WorkflowContext<Self>,
        run: RunContext<'_>,
        continuation: Option<Continuation>,
    ) -> Progress {
        let input = run.input;
        let program = match compile(&input.source) {
            Ok(program) => program,
            Err(errors) => {
                let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let error = format!("the playbook does not compile: {}", lines.join("; "));
                return Progress::Ended(Err(error));
            }
        };
        let carried = continuation.unwrap_or_default();
        let mut journal = carried.journal;
        let answered_before = journal.len();
        loop {
            match evaluate(&program, &input.input, &journal) {
                Evaluation::Finished { result, logs } => {
                    return Progress::Ended(Ok(PlaybookRunResult {
                        result,
                        logs,
                        steps: journal.len(),
                        dry_run: input.dry_run,
                    }))
                }
                Evaluation::Failed { error, logs } => {
                    ctx.state_mut(|s| s.view.logs = logs);
                    return Progress::Ended(Err(error));
                }
                Evaluation::Suspended { request, logs } => {
                    let answered_here = journal.len() - answered_before;
                    if answered_here >= CALLS_PER_HISTORY
                        || (answered_here > 0 && ctx.continue_as_new_suggested())
                    {
                        return Progress::Continue(Continuation {
                            origin_run_id: run.origin_run_id.to_owned(),
                            journal,
                            signals: ctx.state(|s| s.signals.clone()),
                            events: ctx.state(|s| s.events.clone()),
                            continued: carried.continued + 1,
                        });
                    }
                    ctx.state_mut(|s| {
                        s.view.logs = logs;
                        s.view.steps = journal.len();
                    });
                    let outcome = match Self::fulfill(ctx, run, journal.len(), &request).await {
                        Ok(outcome) => outcome,
                        Err(error) => return Progress::Ended(Err(error)),
                    };
                    journal.push(JournalEntry {
                        call: request.call(),
                        outcome,
                    });
                }
            }
        }
    }

    /// Carries out one request; `Err` only when the run itself cannot go on.
    async fn fulfill(
        ctx: &WorkflowContext<Self>,
        run: RunContext<'_>,
        index: usize,
        request: &Request,
    ) -> Result<Result<Value, String>, String> {
        match request {
            Request::Action { name, args } if name == "start_playbook" => {
                Ok(Self::start_child(ctx, run, index, args).await)
            }
            Request::Action { name, args } => Ok(Self::act(ctx, run, index, name, args).await),
            Request::Sleep { seconds } => {
                ctx.state_mut(|s| s.view.state = "sleeping".into());
                ctx.timer(Duration::from_secs((*seconds).max(1))).await;
                ctx.state_mut(|s| s.view.state = "running".into());
                Ok(Ok(Value::Null))
            }
            Request::WaitForSignal {
                name,
                timeout_seconds,
            } => Ok(Ok(Self::wait(ctx, name, *timeout_seconds).await)),
            Request::WaitForEvent {
                event_type,
                filter,
                timeout_seconds,
            } => {
                let wait = EventWait {
                    index,
                    event_type,
                    filter: filter.as_deref(),
                    timeout_seconds: *timeout_seconds,
                };
                Self::wait_for_event(ctx, run, wait).await
            }
            Request::Now => {
                let now = ctx
                    .workflow_time()
                    .map(DateTime::<Utc>::from)
                    .ok_or("no workflow time")?;
                Ok(Ok(Value::String(
                    now.to_rfc3339_opts(SecondsFormat::Secs, true),
                )))
            }
            Request::Uuid => Ok(Ok(Value::String(ctx.uuid4()))),
        }
    }

    async fn act(
        ctx: &WorkflowContext<Self>,
        run: RunContext<'_>,
        index: usize,
        name: &str,
        args: &Value,
    ) -> Result<Value, String> {
        let input = run.input;
        let fixture = input.dry_run.then(|| {
            input.fixtures.get(name).cloned().unwrap_or_else(|| {
                catalogue::action(name)
                    .and_then(|a| serde_json::from_str(a.fixture).ok())
                    .unwrap_or(Value::Null)
            })
        });
        let call = PlaybookAction {
            step: run.step_ref(ctx, &format!("{:03}-{name}", index + 1)),
            action: name.to_owned(),
            args: args.clone(),
            run_as: input.run_as,
            dry_run: input.dry_run,
            fixture,
        };
        // An HTTP call may take its whole timeout and is retried only a few times.
        let options = if name == "http_request" {
            http_request_options()
        } else {
            database_write_options()
        };
        ctx.execute_activity(PlaybookActionActivity, call, options)
            .await
            .map_err(|e| match e.cause() {
                Some(cause) => cause.to_string(),
                None => e.to_string(),
            })
    }

    /// `start_playbook`: the action resolves the playbook (and checks it may run),
    /// then the child starts as `<this run>-child-<step>` and, with `wait`, its
    /// result is the answer. The child outlives a parent that does not wait.
    async fn start_child(
        ctx: &WorkflowContext<Self>,
        run: RunContext<'_>,
        index: usize,
        args: &Value,
    ) -> Result<Value, String> {
        let input = run.input;
        if input.depth + 1 >= MAX_PLAYBOOK_DEPTH {
            return Err(format!(
                "start_playbook(): runs nest at most {MAX_PLAYBOOK_DEPTH} deep"
            ));
        }
        let resolved = Self::act(ctx, run, index, "start_playbook", args).await?;
        if input.dry_run {
            return Ok(resolved);
        }
        let child = PlaybookRunInput {
            tenant: input.tenant,
            playbook_id: resolved["playbook_id"]
                .as_str()
                .and_then(|id| Uuid::try_parse(id).ok())
                .ok_or("start_playbook(): the playbook was not resolved")?,
            version: resolved["version"].as_i64().unwrap_or(1) as i32,
            source: resolved["source"].as_str().unwrap_or_default().to_owned(),
            // The input the child's manifest admitted (older histories recorded
            // no `input`: the script's own).
            input: match (&resolved["input"], &args["input"]) {
                (admitted @ Value::Object(_), _) => admitted.clone(),
                (_, Value::Null) => Value::Object(Default::default()),
                (_, given) => given.clone(),
            },
            dry_run: false,
            fixtures: BTreeMap::new(),
            run_as: input.run_as,
            trigger: format!("playbook:{}", input.playbook_id),
            depth: input.depth + 1,
            continuation: None,
        };
        let workflow_id = format!("{}-child-{:03}", ctx.workflow_id(), index + 1);
        let wait = args["wait"].as_bool().unwrap_or(false);
        let options = ChildWorkflowOptions::builder()
            .workflow_id(workflow_id.clone())
            .parent_close_policy(if wait {
                ParentClosePolicy::Terminate
            } else {
                ParentClosePolicy::Abandon
            })
            .build();
        let mut answer = serde_json::json!({
            "workflow_id": workflow_id,
            "playbook_id": child.playbook_id,
            "version": child.version,
            "result": null,
        });
        let started = ctx
            .start_child_workflow(PlaybookRun::run, child, options)
            .await
            .map_err(|e| format!("start_playbook(): the child did not start: {e}"))?;
        if wait {
            let finished = started
                .result()
                .await
                .map_err(|e| format!("start_playbook(): the child run failed: {e}"))?;
            answer["result"] = finished.result;
        }
        Ok(answer)
    }

    /// The first event the starter delivers for this wait, or null on timeout. The
    /// wait is recorded before the run waits and removed after, so the starter
    /// only signals runs that wait. A dry run waits for nothing: it answers the
    /// `wait_for_event` fixture (null: a timeout).
    async fn wait_for_event(
        ctx: &WorkflowContext<Self>,
        run: RunContext<'_>,
        wait: EventWait<'_>,
    ) -> Result<Result<Value, String>, String> {
        let input = run.input;
        if input.dry_run {
            let fixture = input.fixtures.get("wait_for_event").cloned();
            return Ok(Ok(fixture.unwrap_or(Value::Null)));
        }
        let number = u32::try_from(wait.index).map_err(|e| e.to_string())?;
        let record = |open: bool| PlaybookEventWait {
            step: run.step_ref(
                ctx,
                &format!(
                    "{:03}-{}",
                    wait.index + 1,
                    if open {
                        "wait_for_event"
                    } else {
                        "wait_closed"
                    }
                ),
            ),
            wait: number,
            event_type: wait.event_type.to_owned(),
            filter: wait.filter.map(str::to_owned),
            open,
        };
        ctx.execute_activity(
            PlaybookEventWaitActivity,
            record(true),
            database_write_options(),
        )
        .await
        .map_err(|e| format!("could not record the wait for {}: {e}", wait.event_type))?;
        ctx.state_mut(|s| {
            s.view.state = "waiting".into();
            s.view.waiting_for = Some(format!("event:{}", wait.event_type));
        });
        let arrived = |s: &PlaybookRun| s.events.iter().any(|e| e.wait == number);
        match wait.timeout_seconds {
            None => drop(ctx.wait_condition(arrived).await),
            Some(seconds) => select! {
                _ = ctx.timer(Duration::from_secs(seconds.max(1))) => {},
                _ = ctx.wait_condition(arrived) => {},
            },
        }
        ctx.execute_activity(
            PlaybookEventWaitActivity,
            record(false),
            database_write_options(),
        )
        .await
        .map_err(|e| format!("could not close the wait for {}: {e}", wait.event_type))?;
        Ok(Ok(ctx.state_mut(|s| {
            s.view.state = "running".into();
            s.view.waiting_for = None;
            let at = s.events.iter().position(|e| e.wait == number);
            at.map(|i| s.events.remove(i).event).unwrap_or(Value::Null)
        })))
    }

    /// The payload of the first `name` signal, waiting at most `timeout_seconds`;
    /// null on timeout.
    async fn wait(ctx: &WorkflowContext<Self>, name: &str, timeout_seconds: Option<u64>) -> Value {
        ctx.state_mut(|s| {
            s.view.state = "waiting".into();
            s.view.waiting_for = Some(name.to_owned());
        });
        let arrived = |s: &PlaybookRun| s.signals.iter().any(|signal| signal.name == name);
        let signalled = match timeout_seconds {
            None => ctx.wait_condition(arrived).await.is_ok(),
            Some(seconds) => select! {
                _ = ctx.timer(Duration::from_secs(seconds.max(1))) => false,
                _ = ctx.wait_condition(arrived) => true,
            },
        };
        ctx.state_mut(|s| {
            s.view.state = "running".into();
            s.view.waiting_for = None;
            if !signalled && !s.signals.iter().any(|signal| signal.name == name) {
                return Value::Null;
            }
            let at = s.signals.iter().position(|signal| signal.name == name);
            at.map(|i| s.signals.remove(i).payload)
                .unwrap_or(Value::Null)
        })
    }
}
