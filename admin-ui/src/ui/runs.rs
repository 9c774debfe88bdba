//! UI pages of workflow runs: the list, one run's step timeline, a button that
//! starts a self test, and a form that sends a signal to a running playbook.

use super::forms::FormErrors;
use super::pages::{csrf_failure, nav, render, CsrfForm, PageResult};
use super::session::SignedIn;
use crate::api::workflow_runs::{launch_self_test, temporal_url};
use crate::AppState;
use activities::pagination::PageRequest;
use activities::runs;
use activities::temporal::TemporalError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::Form;
use dsl::workflow::PlaybookSignal;
use engine::validation::FieldIssue;
use engine::workflows::self_test::SelfTestInput;
use engine::workflows::WorkflowKind;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest signal payload, as JSON (what the API accepts).
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
pub struct RunsQuery {
    cursor: Option<Uuid>,
}

fn forbidden(permission: Permission) -> PageResult {
    Ok((
        StatusCode::FORBIDDEN,
        Html(format!(
            "<p>You lack the {} permission.</p>",
            permission.name
        )),
    )
        .into_response())
}

pub async fn runs(
    State(app): State<AppState>,
    user: SignedIn,
    Query(query): Query<RunsQuery>,
) -> PageResult {
    if !user.0.can(Permission::WORKFLOW_READ) {
        return forbidden(Permission::WORKFLOW_READ);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let page = runs::list_runs(
        &mut tx,
        PageRequest {
            limit: 50,
            after: query.cursor,
        },
        None,
    )
    .await?;
    tx.commit().await?;
    let ctx = context! {
        nav => nav(&user),
        runs => page.data,
        next_cursor => page.next_cursor.map(|c| c.to_string()),
        can_start => user.0.can(Permission::TENANT_MANAGE),
    };
    Ok(render(&app, "runs.html", ctx)?.into_response())
}

/// `?signalled=name` after a signal was sent.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RunQuery {
    signalled: String,
}

/// The signal form, as typed.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct SignalForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    payload: String,
}

impl Default for SignalForm {
    fn default() -> Self {
        SignalForm {
            csrf_token: String::new(),
            name: String::new(),
            payload: "{}".into(),
        }
    }
}

impl SignalForm {
    /// The signal a playbook waits for (`wait_for_signal("approval")`): a name of 1
    /// to 64 letters, digits, `_` or `-`, and any JSON payload up to 64 KiB (blank
    /// sends `null`), checked as `POST /api/v1/workflow-runs/{id}/signals/{name}`
    /// checks them.
    fn signal(&self) -> Result<PlaybookSignal, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let mut refuse = |field: &str, message: String| {
            issues.push(FieldIssue {
                field: field.into(),
                message,
            })
        };
        let name = self.name.trim();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            refuse("name", "must be 1 to 64 letters, digits, '_' or '-'".into());
        }
        let payload = if self.payload.trim().is_empty() {
            serde_json::Value::Null
        } else if self.payload.len() > MAX_PAYLOAD_BYTES {
            refuse("payload", "must be at most 64 KiB of JSON".into());
            serde_json::Value::Null
        } else {
            serde_json::from_str(&self.payload).unwrap_or_else(|error| {
                refuse("payload", format!("is not JSON: {error}"));
                serde_json::Value::Null
            })
        };
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(PlaybookSignal {
            name: name.to_owned(),
            payload,
        })
    }
}

pub async fn run(
    State(app): State<AppState>,
    user: SignedIn,
    Path(run_id): Path<Uuid>,
    query: Result<Query<RunQuery>, QueryRejection>,
) -> PageResult {
    if !user.0.can(Permission::WORKFLOW_READ) {
        return forbidden(Permission::WORKFLOW_READ);
    }
    let signalled = query.map(|Query(q)| q.signalled).unwrap_or_default();
    let signal = SignalState {
        notice: (!signalled.is_empty())
            .then(|| format!("Signal \u{201c}{signalled}\u{201d} sent.")),
        ..SignalState::default()
    };
    render_run(&app, &user, run_id, signal, StatusCode::OK).await
}

/// The signal form on the run page: as typed, why it was refused, or that it went.
#[derive(Default)]
struct SignalState {
    form: SignalForm,
    errors: FormErrors,
    notice: Option<String>,
}

async fn render_run(
    app: &AppState,
    user: &SignedIn,
    run_id: Uuid,
    signal: SignalState,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let found = runs::find_run(&mut tx, run_id).await?;
    tx.commit().await?;
    let Some((run, steps)) = found else {
        return Ok((StatusCode::NOT_FOUND, Html("<p>No such run.</p>")).into_response());
    };
    let link = temporal_url(app, &run.workflow_id, run.run_id);
    let can_signal = user.0.can(Permission::WORKFLOW_SIGNAL)
        && run.kind == WorkflowKind::PlaybookRun.name()
        && run.status == "running";
    let ctx = context! {
        nav => nav(user), run, steps, temporal_url => link, can_signal,
        signal_form => signal.form, signal_errors => signal.errors, signal_notice => signal.notice,
    };
    Ok((status, render(app, "run.html", ctx)?).into_response())
}

/// `POST /runs/{run_id}/signal`: sends a signal to a running playbook run and
/// comes back to its page.
pub async fn signal(
    State(app): State<AppState>,
    user: SignedIn,
    Path(run_id): Path<Uuid>,
    Form(form): Form<SignalForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::WORKFLOW_SIGNAL) {
        return forbidden(Permission::WORKFLOW_SIGNAL);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let found = runs::find_run(&mut tx, run_id).await?;
    tx.commit().await?;
    let Some((run, _)) = found else {
        return Ok((StatusCode::NOT_FOUND, Html("<p>No such run.</p>")).into_response());
    };
    let (errors, status) = if run.kind != WorkflowKind::PlaybookRun.name() {
        let message = format!("a {} run takes no signals from this form", run.kind);
        (FormErrors::general(message), StatusCode::NOT_FOUND)
    } else {
        match form.signal() {
            Err(issues) => (
                FormErrors::from_issues(issues, &["name", "payload"]),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Ok(_) if run.status != "running" => {
                let message = format!("the run is {}; only running runs take signals", run.status);
                (FormErrors::general(message), StatusCode::CONFLICT)
            }
            Ok(signal) => match send(&app, &run, signal).await {
                Ok(name) => {
                    let back = format!("/runs/{run_id}");
                    let to = super::forms::link(&back, &[("signalled", &name)]);
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(refusal) => refusal,
            },
        }
    };
    let state = SignalState {
        form,
        errors,
        notice: None,
    };
    render_run(&app, &user, run_id, state, status).await
}

/// Sends the signal; answers its name, or why it could not go (the run finished
/// meanwhile, or Temporal is unreachable) as a message for the form.
async fn send(
    app: &AppState,
    run: &runs::Run,
    signal: PlaybookSignal,
) -> Result<String, (FormErrors, StatusCode)> {
    let unavailable = |detail: String| {
        let message = format!("The signal could not be sent: {detail}");
        (
            FormErrors::general(message),
            StatusCode::SERVICE_UNAVAILABLE,
        )
    };
    let temporal = app
        .temporal()
        .await
        .map_err(|e| unavailable(e.detail().to_owned()))?;
    let name = signal.name.clone();
    match temporal.signal_playbook_run(&run.workflow_id, signal).await {
        Ok(()) => Ok(name),
        Err(TemporalError::NotFound) => Err((
            FormErrors::general("the run has already finished"),
            StatusCode::CONFLICT,
        )),
        Err(other) => Err(unavailable(other.to_string())),
    }
}

pub async fn start_self_test(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::TENANT_MANAGE) {
        return forbidden(Permission::TENANT_MANAGE);
    }
    let input = SelfTestInput {
        tenant: user.0.tenant,
        steps: 3,
        pause_ms: 200,
        wait_for_note_seconds: 0,
    };
    let (run_id, _) = launch_self_test(&app, input).await?;
    Ok(Redirect::to(&format!("/runs/{run_id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(name: &str, payload: &str) -> SignalForm {
        SignalForm {
            name: name.into(),
            payload: payload.into(),
            ..SignalForm::default()
        }
    }

    #[test]
    fn a_signal_has_a_plain_name_and_any_json_payload() {
        let cases = [
            (
                "object",
                " approval ",
                r#"{"ok": true}"#,
                serde_json::json!({"ok": true}),
            ),
            ("number", "step-2_b", "7", serde_json::json!(7)),
            ("blank is null", "go", "  ", serde_json::Value::Null),
        ];
        for (case, name, payload, expected) in cases {
            let signal = typed(name, payload).signal().expect(case);
            assert_eq!(signal.name, name.trim(), "{case}");
            assert_eq!(signal.payload, expected, "{case}");
        }
    }

    #[test]
    fn a_bad_name_or_payload_is_refused_next_to_its_field() {
        let cases = [
            ("blank name", "", "{}", vec!["name"]),
            ("space in name", "say yes", "{}", vec!["name"]),
            ("long name", &"a".repeat(65), "{}", vec!["name"]),
            ("not json", "approval", "{ok: true}", vec!["payload"]),
            ("both", "a.b", "[", vec!["name", "payload"]),
        ];
        for (case, name, payload, expected) in cases {
            let issues = typed(name, payload).signal().expect_err(case);
            let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
            assert_eq!(fields, expected, "{case}");
        }
        let huge = format!("\"{}\"", "a".repeat(MAX_PAYLOAD_BYTES));
        let issues = typed("big", &huge).signal().expect_err("too big");
        assert_eq!(issues[0].message, "must be at most 64 KiB of JSON");
    }

    #[test]
    fn a_running_playbook_run_offers_the_signal_form_with_its_errors() {
        let run = context! {
            run_id => "r1", workflow_id => "w", kind => "playbook_run", status => "running",
            started_at => "t0", closed_at => (), input => context! {}, result => (), error => (),
        };
        let errors = FormErrors::from_issues(
            vec![FieldIssue {
                field: "payload".into(),
                message: "is not JSON: EOF".into(),
            }],
            &["name", "payload"],
        );
        let html = super::super::templates()
            .get_template("run.html")
            .expect("registered")
            .render(context! {
                nav => context! { csrf_token => "tok" }, run, steps => Vec::<()>::new(),
                temporal_url => "http://t", can_signal => true,
                signal_form => typed("approval", "{"), signal_errors => errors,
                signal_notice => "Signal sent.",
            })
            .expect("renders");
        assert!(html.contains(r#"action="/runs/r1/signal""#), "{html}");
        assert!(html.contains(r#"value="approval""#), "{html}");
        assert!(
            html.contains(r#"data-field="payload">is not JSON: EOF</p>"#),
            "{html}"
        );
        assert!(html.contains(r#"name="csrf_token" value="tok""#), "{html}");
        assert!(html.contains("Signal sent."), "{html}");
    }
}
