//! UI page handlers.

use super::session::{cookie, set_cookie, SignedIn, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::ApiError;
use crate::AppState;
use activities::credentials::{self, parse_credential, random_secret, verify_password};
use activities::pagination::PageRequest;
use activities::{audit, tenants, users};
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use engine::{Email, Permission};
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

pub(super) type PageResult = Result<Response, ApiError>;

pub(super) fn render(
    app: &AppState,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Html<String>, ApiError> {
    let template = app
        .templates
        .get_template(name)
        .map_err(ApiError::internal)?;
    template.render(ctx).map(Html).map_err(ApiError::internal)
}

pub(super) fn nav(user: &SignedIn) -> minijinja::Value {
    context! {
        email => user.0.email,
        full_name => user.0.full_name,
        csrf_token => user.csrf_token(),
        can_manage_users => user.0.can(Permission::USER_CREATE),
        can_manage_tenant => user.0.can(Permission::TENANT_MANAGE),
        can_log_time => user.0.can(Permission::TIME_ENTRY_WRITE),
        can_approve_time => user.0.can(Permission::TIMESHEET_APPROVE),
        can_read_billing => user.0.can(Permission::BILLING_READ),
        can_read_playbooks => user.0.can(Permission::PLAYBOOK_READ),
        unread => user.1,
    }
}

pub(super) fn csrf_failure() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<p>The form expired or did not come from Keel. Go back, reload and try again.</p>"),
    )
        .into_response()
}

/// A full page (nav included) saying why the request could not be served, so the
/// user can go on from there instead of facing a bare message.
pub(super) fn notice(
    app: &AppState,
    user: &SignedIn,
    status: StatusCode,
    title: &str,
    message: &str,
) -> PageResult {
    let ctx = context! { nav => nav(user), title, message };
    Ok((status, render(app, "notice.html", ctx)?).into_response())
}

/// 403 for a user whose roles lack `permission`.
pub(super) fn forbidden_page(
    app: &AppState,
    user: &SignedIn,
    permission: Permission,
) -> PageResult {
    let message = format!("You lack the {} permission.", permission.name);
    notice(app, user, StatusCode::FORBIDDEN, "Not allowed", &message)
}

/// Runs `act` in a transaction that commits only when it succeeds.
pub(super) async fn in_tx<T>(
    app: &AppState,
    user: &SignedIn,
    act: impl AsyncFnOnce(&mut activities::TenantTx) -> Result<T, activities::records::RecordError>,
) -> Result<Result<T, activities::records::RecordError>, ApiError> {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match act(&mut tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(Ok(value))
        }
        Err(error) => {
            tx.rollback().await?;
            Ok(Err(error))
        }
    }
}

/// 409 for a change to an archived record: it is kept for history, not edited.
pub(super) fn archived_page(app: &AppState, user: &SignedIn, what: &str) -> PageResult {
    let message = format!("This {what} is archived and can no longer be changed.");
    notice(app, user, StatusCode::CONFLICT, "Archived", &message)
}

/// 404 for an unknown id, or one of another tenant (indistinguishable on purpose).
pub(super) fn not_found_page(app: &AppState, user: &SignedIn, what: &str) -> PageResult {
    let message = format!("There is no such {what}.");
    notice(app, user, StatusCode::NOT_FOUND, "Not found", &message)
}

/// Why a form post is refused before it acts: the answer is a page, built by
/// [`Refusal::answer`] (kept small so checks can return it by value).
pub(super) enum Refusal {
    /// The CSRF token is missing or wrong.
    Csrf,
    /// The user lacks this permission.
    Forbidden(Permission),
    /// The path names no such record.
    NotFound(&'static str),
}

impl Refusal {
    /// The page for this refusal.
    pub(super) fn answer(self, app: &AppState, user: &SignedIn) -> PageResult {
        match self {
            Refusal::Csrf => Ok(csrf_failure()),
            Refusal::Forbidden(permission) => forbidden_page(app, user, permission),
            Refusal::NotFound(what) => not_found_page(app, user, what),
        }
    }
}

/// Checks a form's CSRF token, then `permission`, then parses the path id of a
/// `what` record.
pub(super) fn writable(
    user: &SignedIn,
    csrf_token: &str,
    permission: Permission,
    id: &str,
    what: &'static str,
) -> Result<Uuid, Refusal> {
    if !user.csrf_ok(csrf_token) {
        return Err(Refusal::Csrf);
    }
    if !user.0.can(permission) {
        return Err(Refusal::Forbidden(permission));
    }
    super::forms::parse_id(id).ok_or(Refusal::NotFound(what))
}

pub async fn login_form(State(app): State<AppState>) -> PageResult {
    render_login(&app, StatusCode::OK, None, "", "")
}

fn render_login(
    app: &AppState,
    status: StatusCode,
    error: Option<&str>,
    tenant: &str,
    email: &str,
) -> PageResult {
    let csrf = random_secret();
    let page = render(
        app,
        "login.html",
        context! { csrf_token => csrf, error, tenant, email },
    )?;
    let cookie = set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, app.settings.secure_cookies);
    Ok((status, [(SET_COOKIE, cookie)], page).into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    tenant: String,
    email: String,
    password: String,
    csrf_token: String,
}

pub async fn login(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty()
        || !super::session::constant_time_eq(expected.as_bytes(), form.csrf_token.as_bytes())
    {
        return Ok(csrf_failure());
    }
    let tenant_slug = form.tenant.trim().to_lowercase();
    let account = format!("{tenant_slug}:{}", form.email.trim().to_lowercase());
    if let Some(wait) = app.login_limiter.locked_for(&account).await? {
        let message = format!(
            "Too many failed attempts. Try again in {} minutes.",
            wait.as_secs().div_ceil(60)
        );
        let mut response = render_login(
            &app,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&message),
            &tenant_slug,
            &form.email,
        )?;
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, wait.as_secs().into());
        return Ok(response);
    }
    match verify_login(&app, &tenant_slug, &form.email, form.password).await? {
        Some((tenant, user_id)) => {
            app.login_limiter.clear(&account).await?;
            let mut tx = app.db.tenant_tx(tenant).await?;
            let session =
                credentials::start_session(&mut tx, user_id, app.settings.session_ttl).await?;
            let entry = audit::AuditEntry {
                actor: Some(user_id),
                action: "session.login",
                resource: "user",
                resource_id: Some(user_id),
                details: serde_json::json!({}),
            };
            audit::record(&mut tx, entry).await?;
            tx.commit().await?;
            let max_age = app.settings.session_ttl.num_seconds();
            let cookies = axum::response::AppendHeaders([
                (
                    SET_COOKIE,
                    set_cookie(
                        SESSION_COOKIE,
                        &session.token,
                        max_age,
                        app.settings.secure_cookies,
                    ),
                ),
                (
                    SET_COOKIE,
                    set_cookie(LOGIN_CSRF_COOKIE, "", 0, app.settings.secure_cookies),
                ),
            ]);
            Ok((cookies, Redirect::to("/")).into_response())
        }
        None => {
            app.login_limiter.record_failure(&account).await?;
            render_login(
                &app,
                StatusCode::UNAUTHORIZED,
                Some("Wrong tenant, e-mail or password."),
                &tenant_slug,
                &form.email,
            )
        }
    }
}

/// The tenant and user when the password is right; the same `None` for an unknown
/// tenant, unknown user, inactive user or wrong password (no account oracle).
async fn verify_login(
    app: &AppState,
    slug: &str,
    email: &str,
    password: String,
) -> Result<Option<(engine::TenantId, Uuid)>, ApiError> {
    let (Ok(slug), Ok(email)) = (engine::Slug::parse(slug), Email::parse(email)) else {
        return Ok(None);
    };
    let Some(tenant) = tenants::tenant_by_slug(&app.db, slug.as_str()).await? else {
        return Ok(None);
    };
    let mut tx = app.db.tenant_tx(tenant.tenant_id()).await?;
    let candidate = users::login_candidate(&mut tx, &email).await?;
    tx.commit().await?;
    let Some(candidate) = candidate.filter(|c| c.is_active) else {
        return Ok(None);
    };
    let Some(hash) = candidate.password_hash else {
        return Ok(None);
    };
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(ApiError::internal)?;
    Ok(matches.then_some((tenant.tenant_id(), candidate.id)))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf_token: String,
}

pub async fn logout(
    State(app): State<AppState>,
    user: SignedIn,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if let Some(credential) = cookie(&headers, SESSION_COOKIE)
        .as_deref()
        .and_then(parse_credential)
    {
        let mut tx = app.db.tenant_tx(credential.tenant).await?;
        credentials::end_session(&mut tx, &credential.hash).await?;
        tx.commit().await?;
    }
    let clear = set_cookie(SESSION_COOKIE, "", 0, app.settings.secure_cookies);
    Ok(([(SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

pub async fn dashboard(State(app): State<AppState>, user: SignedIn) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let first_users = users::list_users(
        &mut tx,
        PageRequest {
            limit: 200,
            after: None,
        },
    )
    .await?;
    let keys = credentials::api_keys_of(&mut tx, user.0.user_id).await?;
    let recent = if user.0.can(Permission::AUDIT_READ) {
        audit::recent_entries(&mut tx, 10).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let ctx = context! {
        nav => nav(&user),
        user_count => first_users.data.len(),
        more_users => first_users.next_cursor.is_some(),
        live_keys => keys.iter().filter(|k| k.revoked_at.is_none()).count(),
        recent,
        temporal_ui => app.settings.temporal_ui_url,
    };
    Ok(render(&app, "dashboard.html", ctx)?.into_response())
}

pub async fn users(State(app): State<AppState>, user: SignedIn) -> PageResult {
    render_users(&app, &user, StatusCode::OK, None).await
}

async fn render_users(
    app: &AppState,
    user: &SignedIn,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    if !user.0.can(Permission::USER_READ) {
        return Ok((
            StatusCode::FORBIDDEN,
            Html("<p>You lack the user:read permission.</p>"),
        )
            .into_response());
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let page = users::list_users(
        &mut tx,
        PageRequest {
            limit: 200,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let roles: Vec<&str> = engine::SHIPPED_ROLES.iter().map(|r| r.name).collect();
    let ctx = context! { nav => nav(user), users => page.data, roles, error };
    Ok((status, render(app, "users.html", ctx)?).into_response())
}

#[derive(Deserialize)]
pub struct NewUserForm {
    csrf_token: String,
    email: String,
    full_name: String,
    role: String,
    password: String,
}

pub async fn create_user(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<NewUserForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    if !user.0.can(Permission::USER_CREATE) {
        return render_users(
            &app,
            &user,
            StatusCode::FORBIDDEN,
            Some("You lack the user:create permission.".into()),
        )
        .await;
    }
    let Ok(email) = Email::parse(&form.email) else {
        return render_users(
            &app,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("E-mail: must be an address like name@example.com.".into()),
        )
        .await;
    };
    if form.password.chars().count() < 12 || form.full_name.trim().is_empty() {
        return render_users(
            &app,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Name is required and the password needs at least 12 characters.".into()),
        )
        .await;
    }
    let password = form.password;
    let hash = tokio::task::spawn_blocking(move || credentials::hash_password(&password))
        .await
        .map_err(ApiError::internal)?;
    let roles = [form.role];
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let new = users::NewUser {
        email: &email,
        full_name: form.full_name.trim(),
        password_hash: Some(hash),
        roles: &roles,
    };
    match users::create_user(&mut tx, new, Some(user.0.user_id)).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/users").into_response())
        }
        Err(users::UserError::Db(e)) => Err(e.into()),
        Err(e) => {
            render_users(
                &app,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.to_string()),
            )
            .await
        }
    }
}

pub async fn api_keys(State(app): State<AppState>, user: SignedIn) -> PageResult {
    render_api_keys(&app, &user, None).await
}

async fn render_api_keys(app: &AppState, user: &SignedIn, new_key: Option<String>) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let keys = credentials::api_keys_of(&mut tx, user.0.user_id).await?;
    tx.commit().await?;
    let ctx = context! { nav => nav(user), keys, new_key, can_manage => user.0.can(Permission::API_KEY_MANAGE) };
    Ok(render(app, "api_keys.html", ctx)?.into_response())
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    csrf_token: String,
    name: String,
}

pub async fn create_api_key(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<NewKeyForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    let name = form.name.trim();
    if !user.0.can(Permission::API_KEY_MANAGE) || !(1..=100).contains(&name.chars().count()) {
        return render_api_keys(&app, &user, None).await;
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let (info, key) = credentials::issue_api_key(&mut tx, user.0.user_id, name).await?;
    let entry = audit::AuditEntry {
        actor: Some(user.0.user_id),
        action: "api_key.created",
        resource: "api_key",
        resource_id: Some(info.id),
        details: serde_json::json!({ "name": info.name }),
    };
    audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    render_api_keys(&app, &user, Some(key)).await
}

pub async fn revoke_api_key(
    State(app): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    if !user.csrf_ok(&form.csrf_token) {
        return Ok(csrf_failure());
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    if credentials::revoke_api_key(&mut tx, user.0.user_id, id).await? {
        let entry = audit::AuditEntry {
            actor: Some(user.0.user_id),
            action: "api_key.revoked",
            resource: "api_key",
            resource_id: Some(id),
            details: serde_json::json!({}),
        };
        audit::record(&mut tx, entry).await?;
    }
    tx.commit().await?;
    app.credentials_changed().await;
    Ok(Redirect::to("/api-keys").into_response())
}
