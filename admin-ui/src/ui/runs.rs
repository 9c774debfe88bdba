//! UI pages of workflow runs: the list, one run's step timeline, and a button that
//! starts a self test.

use super::pages::{csrf_failure, nav, render, CsrfForm, PageResult};
use super::session::SignedIn;
use crate::api::workflow_runs::{launch_self_test, temporal_url};
use crate::AppState;
use activities::pagination::PageRequest;
use activities::runs;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::Form;
use engine::workflows::self_test::SelfTestInput;
use engine::Permission;
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

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

pub async fn run(
    State(app): State<AppState>,
    user: SignedIn,
    Path(run_id): Path<Uuid>,
) -> PageResult {
    if !user.0.can(Permission::WORKFLOW_READ) {
        return forbidden(Permission::WORKFLOW_READ);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let found = runs::find_run(&mut tx, run_id).await?;
    tx.commit().await?;
    let Some((run, steps)) = found else {
        return Ok((StatusCode::NOT_FOUND, Html("<p>No such run.</p>")).into_response());
    };
    let link = temporal_url(&app, &run.workflow_id, run.run_id);
    let ctx = context! { nav => nav(&user), run, steps, temporal_url => link };
    Ok(render(&app, "run.html", ctx)?.into_response())
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
