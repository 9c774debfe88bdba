//! The tenant's playbook limits (`/playbooks/limits`): runs at once and runs per
//! 24 hours with how many of each are used now, the fixed cap of durable calls per
//! run, and, for users with tenant:manage, the form that changes the limits. The
//! form is checked by `limits::set_limits`, the same check as
//! `PUT /api/v1/playbook-limits`, so a refused value is named by its field.

use super::forms::{FormErrors, Parse};
use super::pages::{forbidden_page, in_tx, nav, render, PageResult, Refusal};
use super::session::SignedIn;
use crate::AppState;
use activities::playbooks::limits::{self, RunLimits};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::validation::FieldIssue;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};

/// The form's fields, named as the API names them.
const FIELDS: &[&str] = &["max_concurrent_runs", "max_runs_per_day"];

/// `?saved=1` after a save.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LimitsQuery {
    saved: String,
}

/// The limits form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LimitsForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    max_concurrent_runs: String,
    max_runs_per_day: String,
}

impl LimitsForm {
    fn of(limits: RunLimits) -> LimitsForm {
        LimitsForm {
            csrf_token: String::new(),
            max_concurrent_runs: limits.max_concurrent_runs.to_string(),
            max_runs_per_day: limits.max_runs_per_day.to_string(),
        }
    }

    /// The typed numbers; their ranges are `set_limits`'s to check, so a number
    /// too large for the column reads as out of range rather than as no number.
    fn limits(&self) -> Result<RunLimits, Vec<FieldIssue>> {
        let mut parse = Parse::default();
        let mut number = |field: &str, text: &str| {
            let value = parse.number::<i64>(field, text);
            if value.is_none() && text.trim().is_empty() {
                parse.add(field, "is required");
            }
            value.map(|n| i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
        };
        let concurrent = number("max_concurrent_runs", &self.max_concurrent_runs);
        let daily = number("max_runs_per_day", &self.max_runs_per_day);
        match (concurrent, daily) {
            (Some(max_concurrent_runs), Some(max_runs_per_day)) if parse.0.is_empty() => {
                Ok(RunLimits {
                    max_concurrent_runs,
                    max_runs_per_day,
                })
            }
            _ => Err(parse.0),
        }
    }
}

pub async fn page(
    State(app): State<AppState>,
    user: SignedIn,
    query: Result<Query<LimitsQuery>, QueryRejection>,
) -> PageResult {
    if !user.0.can(Permission::PLAYBOOK_READ) {
        return forbidden_page(&app, &user, Permission::PLAYBOOK_READ);
    }
    let saved = query.is_ok_and(|Query(q)| !q.saved.is_empty());
    render_page(&app, &user, None, saved, StatusCode::OK).await
}

async fn render_page(
    app: &AppState,
    user: &SignedIn,
    refused: Option<(LimitsForm, FormErrors)>,
    saved: bool,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let current = limits::limits(&mut tx).await?;
    let usage = limits::usage(&mut tx).await?;
    tx.commit().await?;
    let (form, errors) =
        refused.unwrap_or_else(|| (LimitsForm::of(current), FormErrors::default()));
    let ctx = context! {
        nav => nav(user),
        limits => current, usage, form, errors, saved,
        max_calls_per_run => dsl::replay::MAX_DURABLE_CALLS,
        defaults => limits::DEFAULT_LIMITS,
        can_manage => user.0.can(Permission::TENANT_MANAGE),
    };
    Ok((status, render(app, "playbook_limits.html", ctx)?).into_response())
}

/// `POST /playbooks/limits`: saves the limits (tenant:manage).
pub async fn save(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<LimitsForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Refusal::Csrf.answer(&app, &user);
    }
    if !user.0.can(Permission::TENANT_MANAGE) {
        return Refusal::Forbidden(Permission::TENANT_MANAGE).answer(&app, &user);
    }
    let error = match form.limits() {
        Err(issues) => activities::records::RecordError::Invalid(issues),
        Ok(wanted) => {
            let actor = Some(user.0.user_id);
            let saved = in_tx(&app, &user, async |tx| {
                limits::set_limits(tx, wanted, actor).await
            })
            .await?;
            match saved {
                Ok(_) => return Ok(Redirect::to("/playbooks/limits?saved=1").into_response()),
                Err(error) => error,
            }
        }
    };
    let (errors, status) = FormErrors::refusal(error, FIELDS)?;
    render_page(&app, &user, Some((form, errors)), false, status).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(concurrent: &str, daily: &str) -> LimitsForm {
        LimitsForm {
            max_concurrent_runs: concurrent.into(),
            max_runs_per_day: daily.into(),
            ..LimitsForm::default()
        }
    }

    #[test]
    fn the_form_reads_whole_numbers_and_names_the_field_it_cannot_read() {
        assert_eq!(
            form(" 5 ", "100").limits(),
            Ok(RunLimits {
                max_concurrent_runs: 5,
                max_runs_per_day: 100
            })
        );
        let refused = |f: LimitsForm| -> Vec<String> {
            f.limits()
                .expect_err("refused")
                .into_iter()
                .map(|i| format!("{}: {}", i.field, i.message))
                .collect()
        };
        assert_eq!(
            refused(form("five", "")),
            vec![
                "max_concurrent_runs: must be a whole number",
                "max_runs_per_day: is required",
            ]
        );
        // Out of range is set_limits's to say, with the range.
        let huge = form("99999999999", "-99999999999")
            .limits()
            .expect("numbers");
        assert_eq!(
            (huge.max_concurrent_runs, huge.max_runs_per_day),
            (i32::MAX, i32::MIN)
        );
    }
}
