//! The caller's notifications: the in-app inbox on `/notifications` (the bell in
//! the header links there), their e-mail preferences on
//! `/notifications/preferences`, and the public unsubscribe link of every e-mail
//! (`/notifications/unsubscribe?token=…`, RFC 8058 one-click: no session, no CSRF;
//! the signed token is the authority).

use super::forms::{link, page_after, parse_id, FormErrors};
use super::pages::{csrf_failure, nav, not_found_page, render, CsrfForm, PageResult};
use super::session::SignedIn;
use crate::AppState;
use activities::notifications::{self as notify, unsubscribe, PreferenceInput, PreferenceView};
use activities::records::RecordError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::notifications::Category;
use engine::validation::FieldIssue;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Filters and paging of the inbox.
#[derive(Deserialize, Default)]
pub struct InboxQuery {
    #[serde(default)]
    cursor: String,
    /// `1` for unread only.
    #[serde(default)]
    unread: String,
}

/// `GET /notifications`: the caller's in-app notifications, newest first.
pub async fn inbox(
    State(app): State<AppState>,
    user: SignedIn,
    query: Result<Query<InboxQuery>, QueryRejection>,
) -> PageResult {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let unread_only = !query.unread.is_empty() && query.unread != "0";
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let page = notify::inbox(
        &mut tx,
        user.0.user_id,
        unread_only,
        page_after(&query.cursor),
    )
    .await?;
    tx.commit().await?;
    let mut notifications = page.data;
    for n in &mut notifications {
        n.link = n.link.take().filter(|l| is_safe_link(l));
    }
    let unread_flag = if unread_only { "1" } else { "" };
    let next_url = page.next_cursor.map(|cursor| {
        link(
            "/notifications",
            &[("unread", unread_flag), ("cursor", &cursor.to_string())],
        )
    });
    let here = link(
        "/notifications",
        &[("unread", unread_flag), ("cursor", &query.cursor)],
    );
    let ctx = context! {
        nav => nav(&user),
        notifications,
        next_url,
        unread_only,
        here,
    };
    Ok(render(&app, "notifications.html", ctx)?.into_response())
}

/// Only links within Keel or to http(s) pages become `href`s (no `javascript:`).
fn is_safe_link(link: &str) -> bool {
    (link.starts_with('/') && !link.starts_with("//"))
        || link.starts_with("https://")
        || link.starts_with("http://")
}

/// A mark-read form: the CSRF token and the inbox page to go back to.
#[derive(Deserialize)]
pub struct MarkReadForm {
    csrf_token: String,
    #[serde(default)]
    back: String,
}

/// Where to go after marking: the inbox page the form came from, never elsewhere.
fn back_to(back: &str) -> String {
    let ours = back == "/notifications" || back.starts_with("/notifications?");
    if ours && !back.contains("//") {
        back.to_owned()
    } else {
        "/notifications".to_owned()
    }
}

/// `POST /notifications/{id}/read`.
pub async fn mark_read(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<MarkReadForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    let Some(id) = parse_id(&id) else {
        return not_found_page(&app, &user, "notification");
    };
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match notify::mark_read(&mut tx, user.0.user_id, id).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&back_to(&form.back)).into_response())
        }
        Err(RecordError::NotFound(what)) => {
            tx.rollback().await?;
            not_found_page(&app, &user, what)
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /notifications/read-all`.
pub async fn mark_all_read(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    notify::mark_all_read(&mut tx, user.0.user_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// One row of the preferences table as shown (stored, or as the user typed it).
#[derive(Serialize)]
struct PreferenceRow {
    subtype: String,
    label: String,
    tenant_enabled: bool,
    enabled: bool,
    delivery: String,
    override_email: String,
}

impl PreferenceRow {
    fn stored(p: &PreferenceView) -> PreferenceRow {
        PreferenceRow {
            subtype: p.subtype.clone(),
            label: p.label.clone(),
            tenant_enabled: p.tenant_enabled,
            enabled: p.enabled,
            delivery: p.delivery.clone(),
            override_email: p.override_email.clone().unwrap_or_default(),
        }
    }

    fn submitted(p: &PreferenceView, form: &BTreeMap<String, String>) -> PreferenceRow {
        let field = |what: &str| form.get(&format!("{}_{what}", p.subtype)).cloned();
        PreferenceRow {
            enabled: field("enabled").is_some(),
            delivery: field("delivery").unwrap_or_else(|| "immediate".into()),
            override_email: field("override_email").unwrap_or_default(),
            ..PreferenceRow::stored(p)
        }
    }
}

/// The rows grouped by category, in catalogue order.
fn grouped(
    views: &[PreferenceView],
    row: impl Fn(&PreferenceView) -> PreferenceRow,
) -> Vec<minijinja::Value> {
    Category::ALL
        .iter()
        .map(|c| {
            let rows: Vec<PreferenceRow> = views
                .iter()
                .filter(|p| p.category == c.as_str())
                .map(&row)
                .collect();
            context! { category => c.as_str(), label => c.label(), rows }
        })
        .collect()
}

/// `GET /notifications/preferences`.
pub async fn preferences_page(State(app): State<AppState>, user: SignedIn) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let views = notify::preferences(&mut tx, user.0.user_id).await?;
    tx.commit().await?;
    let groups = grouped(&views, PreferenceRow::stored);
    render_preferences(
        &app,
        &user,
        groups,
        FormErrors::default(),
        false,
        StatusCode::OK,
    )
}

fn render_preferences(
    app: &AppState,
    user: &SignedIn,
    groups: Vec<minijinja::Value>,
    errors: FormErrors,
    saved: bool,
    status: StatusCode,
) -> PageResult {
    let ctx = context! {
        nav => nav(user),
        groups,
        errors,
        saved,
        deliveries => ["immediate", "digest"],
    };
    Ok((status, render(app, "notification_preferences.html", ctx)?).into_response())
}

/// `POST /notifications/preferences`: saves every row (all or nothing).
pub async fn save_preferences(
    State(app): State<AppState>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let form: BTreeMap<String, String> = pairs.into_iter().collect();
    let csrf = form
        .get("csrf_token")
        .map(String::as_str)
        .unwrap_or_default();
    if !user.csrf_ok(csrf) {
        return Ok(csrf_failure());
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let views = notify::preferences(&mut tx, user.0.user_id).await?;
    let mut issues: Vec<FieldIssue> = Vec::new();
    let mut digest = false;
    for view in &views {
        let row = PreferenceRow::submitted(view, &form);
        let input = PreferenceInput {
            enabled: row.enabled,
            delivery: Some(row.delivery.clone()),
            override_email: Some(row.override_email.clone()),
        };
        match notify::set_preference(&mut tx, user.0.user_id, &view.subtype, input).await {
            Ok(saved) => digest |= saved.enabled && saved.delivery == "digest",
            Err(RecordError::Invalid(found)) => {
                issues.extend(found.into_iter().map(|issue| FieldIssue {
                    field: format!("{}_{}", view.subtype, issue.field),
                    message: issue.message,
                }))
            }
            Err(error) => return Err(error.into()),
        }
    }
    if !issues.is_empty() {
        tx.rollback().await?;
        let shown: Vec<String> = views
            .iter()
            .flat_map(|v| {
                ["enabled", "delivery", "override_email"].map(|f| format!("{}_{f}", v.subtype))
            })
            .collect();
        let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
        let errors = FormErrors::from_issues(issues, &shown);
        let groups = grouped(&views, |v| PreferenceRow::submitted(v, &form));
        return render_preferences(
            &app,
            &user,
            groups,
            errors,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hour = notify::settings(&mut tx).await?.digest_hour_utc;
    let views = notify::preferences(&mut tx, user.0.user_id).await?;
    tx.commit().await?;
    if digest {
        crate::api::notifications::ensure_daily_digest(&app, user.0.tenant, hour).await;
    }
    let groups = grouped(&views, PreferenceRow::stored);
    render_preferences(
        &app,
        &user,
        groups,
        FormErrors::default(),
        true,
        StatusCode::OK,
    )
}

/// The token of an unsubscribe link.
#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The public unsubscribe page (no nav: the reader may not be signed in).
fn unsubscribe_page(
    app: &AppState,
    status: StatusCode,
    state: &str,
    label: &str,
    action: &str,
) -> PageResult {
    let ctx = context! { state, label, action };
    Ok((status, render(app, "unsubscribe.html", ctx)?).into_response())
}

fn invalid_link(app: &AppState) -> PageResult {
    unsubscribe_page(app, StatusCode::BAD_REQUEST, "invalid", "", "")
}

/// `GET /notifications/unsubscribe?token=…`: asks before switching anything off
/// (link scanners follow GET links; only the POST acts).
pub async fn unsubscribe_form(
    State(app): State<AppState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> PageResult {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let Some(target) = unsubscribe::verify(&app.settings.mail, query.token.trim()) else {
        return invalid_link(&app);
    };
    let action = link(
        "/notifications/unsubscribe",
        &[("token", query.token.trim())],
    );
    unsubscribe_page(
        &app,
        StatusCode::OK,
        "confirm",
        target.subtype.label(),
        &action,
    )
}

/// `POST /notifications/unsubscribe?token=…`: the confirm button and RFC 8058
/// one-click (`List-Unsubscribe=One-Click` in the body, which is not needed). No
/// session or CSRF token: the signed token names the user and the subtype.
pub async fn unsubscribe(
    State(app): State<AppState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> PageResult {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let Some(target) = unsubscribe::verify(&app.settings.mail, query.token.trim()) else {
        return invalid_link(&app);
    };
    let mut tx = app.db.tenant_tx(target.tenant).await?;
    let current = notify::preferences(&mut tx, target.user_id)
        .await?
        .into_iter()
        .find(|p| p.subtype == target.subtype.as_str());
    let input = PreferenceInput {
        enabled: false,
        delivery: current.as_ref().map(|p| p.delivery.clone()),
        override_email: current.and_then(|p| p.override_email),
    };
    match notify::set_preference(&mut tx, target.user_id, target.subtype.as_str(), input).await {
        Ok(_) => tx.commit().await?,
        Err(RecordError::Invalid(_) | RecordError::NotFound(_)) => {
            tx.rollback().await?;
            return invalid_link(&app);
        }
        Err(error) => return Err(error.into()),
    }
    unsubscribe_page(&app, StatusCode::OK, "done", target.subtype.label(), "")
}

#[cfg(test)]
mod tests {
    use super::back_to;

    #[test]
    fn mark_read_goes_back_only_to_the_inbox() {
        assert_eq!(
            back_to("/notifications?cursor=x"),
            "/notifications?cursor=x"
        );
        assert_eq!(back_to("https://evil.example/"), "/notifications");
        assert_eq!(back_to("/notifications//evil"), "/notifications");
        assert_eq!(back_to(""), "/notifications");
    }

    #[test]
    fn only_plain_links_are_linked() {
        assert!(super::is_safe_link("/tickets/1"));
        assert!(super::is_safe_link("https://keel.example/tickets/1"));
        assert!(!super::is_safe_link("javascript:alert(1)"));
        assert!(!super::is_safe_link("//evil.example"));
    }
}
