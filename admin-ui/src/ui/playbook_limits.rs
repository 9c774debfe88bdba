//! The tenant's playbook limits (`/playbooks/limits`): runs at once and runs per
//! 24 hours with how many of each are used now, the fixed cap of durable calls per
//! run, and, for users with tenant:manage, the form that changes the limits. The
//! form is checked by `limits::set_limits`, the same check as
//! `PUT /api/v1/playbook-limits`, so a refused value is named by its field. The
//! page also lists the HTTP hosts `http_request` may call, with forms to allow a
//! pattern and remove one (tenant:manage), checked as
//! `/api/v1/playbook-http-hosts` checks them.

use super::forms::{parse_id, FormErrors, Parse};
use super::pages::{forbidden_page, in_tx, nav, render, PageResult, Refusal};
use super::session::SignedIn;
use crate::AppState;
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::playbooks::http_hosts;
use activities::playbooks::limits::{self, RunLimits};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::validation::FieldIssue;
use engine::Permission;
use minijinja::context;
use serde::{Deserialize, Serialize};

/// The form's fields, named as the API names them.
const FIELDS: &[&str] = &["max_concurrent_runs", "max_runs_per_day"];

/// `?saved=1` after a save of the limits, `?hosts=added` or `?hosts=removed`
/// after a change to the HTTP hosts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LimitsQuery {
    saved: String,
    hosts: String,
}

/// The form allowing an HTTP host.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct HostForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    pattern: String,
}

/// A form sent back with what was wrong in it.
enum Refused {
    Limits(LimitsForm, FormErrors),
    Host(HostForm, FormErrors),
}

/// What the last change did, said at the top of its section.
#[derive(Clone, Copy, Default)]
struct Notices {
    limits_saved: bool,
    hosts: Option<&'static str>,
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
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let notices = Notices {
        limits_saved: !query.saved.is_empty(),
        hosts: match query.hosts.as_str() {
            "added" => Some("Allowed. Playbooks may call it from their next call."),
            "removed" => Some("Removed. Calls to it are refused from now on."),
            _ => None,
        },
    };
    render_page(&app, &user, None, notices, StatusCode::OK).await
}

async fn render_page(
    app: &AppState,
    user: &SignedIn,
    refused: Option<Refused>,
    notices: Notices,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let current = limits::limits(&mut tx).await?;
    let usage = limits::usage(&mut tx).await?;
    let every_host = PageRequest {
        limit: MAX_LIMIT.max(http_hosts::MAX_HOSTS),
        after: None,
    };
    let hosts = http_hosts::list_hosts(&mut tx, every_host).await?.data;
    tx.commit().await?;
    let (form, errors, host_form, host_errors) = match refused {
        Some(Refused::Limits(form, errors)) => {
            (form, errors, HostForm::default(), FormErrors::default())
        }
        Some(Refused::Host(host_form, host_errors)) => (
            LimitsForm::of(current),
            FormErrors::default(),
            host_form,
            host_errors,
        ),
        None => (
            LimitsForm::of(current),
            FormErrors::default(),
            HostForm::default(),
            FormErrors::default(),
        ),
    };
    let ctx = context! {
        nav => nav(user),
        limits => current, usage, form, errors, saved => notices.limits_saved,
        max_calls_per_run => dsl::replay::MAX_DURABLE_CALLS,
        defaults => limits::DEFAULT_LIMITS,
        can_manage => user.0.can(Permission::TENANT_MANAGE),
        hosts, host_form, host_errors, hosts_notice => notices.hosts,
        max_hosts => http_hosts::MAX_HOSTS,
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
    let refused = Refused::Limits(form, errors);
    render_page(&app, &user, Some(refused), Notices::default(), status).await
}

/// Checks the CSRF token and tenant:manage for a change to the HTTP hosts.
fn may_change_hosts(app: &AppState, user: &SignedIn, csrf_token: &str) -> Option<PageResult> {
    if !user.csrf_ok(csrf_token) {
        return Some(Refusal::Csrf.answer(app, user));
    }
    if !user.0.can(Permission::TENANT_MANAGE) {
        return Some(Refusal::Forbidden(Permission::TENANT_MANAGE).answer(app, user));
    }
    None
}

/// `POST /playbooks/limits/http-hosts`: allows a host pattern (tenant:manage).
pub async fn add_host(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<HostForm>,
) -> PageResult {
    if let Some(refusal) = may_change_hosts(&app, &user, &form.csrf_token) {
        return refusal;
    }
    let actor = Some(user.0.user_id);
    let pattern = form.pattern.clone();
    let added = in_tx(&app, &user, async |tx| {
        http_hosts::add_host(tx, &pattern, actor).await
    })
    .await?;
    let error = match added {
        Ok(_) => {
            return Ok(Redirect::to("/playbooks/limits?hosts=added#http-hosts").into_response())
        }
        Err(error) => error,
    };
    let (errors, status) = FormErrors::refusal(error, &["pattern"])?;
    let refused = Refused::Host(form, errors);
    render_page(&app, &user, Some(refused), Notices::default(), status).await
}

/// `POST /playbooks/limits/http-hosts/{id}/remove`: removes a pattern
/// (tenant:manage).
pub async fn remove_host(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<HostForm>,
) -> PageResult {
    if let Some(refusal) = may_change_hosts(&app, &user, &form.csrf_token) {
        return refusal;
    }
    let Some(id) = parse_id(&id) else {
        return Refusal::NotFound("HTTP host").answer(&app, &user);
    };
    let actor = Some(user.0.user_id);
    let removed = in_tx(&app, &user, async |tx| {
        http_hosts::remove_host(tx, id, actor).await
    })
    .await?;
    match removed {
        Ok(_) => Ok(Redirect::to("/playbooks/limits?hosts=removed#http-hosts").into_response()),
        Err(activities::records::RecordError::Db(error)) => Err(error.into()),
        Err(_) => Refusal::NotFound("HTTP host").answer(&app, &user),
    }
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
