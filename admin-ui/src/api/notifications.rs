//! Notifications: the tenant's switches, rate limit and SMTP settings, template
//! overrides with validation and preview, the delivery log, each user's preferences
//! and in-app inbox, and digests on demand.

use crate::api::pagination::{page_of, Listed};
use crate::api::ticket_settings::Items;
use crate::api::workflow_runs::StartedRunBody;
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use activities::notifications::mail::{self, Mailer, SendError, SmtpSettings, SmtpSettingsInput};
use activities::notifications::{
    self as notify, InAppNotification, LogEntry, LogFilter, NotificationSettings,
    NotificationSettingsPatch, NotificationTemplate, PreferenceInput, PreferenceView,
    TemplateInput,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::notifications::templates::RenderedEmail;
use engine::workflows::notification_digest::DigestInput;
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The tenant's notification settings.
#[utoipa::path(get, path = "/notification-settings", tag = "notifications", security(("api_key" = [])),
    responses((status = 200, body = NotificationSettings), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_settings(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<NotificationSettings>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let settings = notify::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(settings))
}

/// Switches categories and subtypes on or off, sets the rate limit and digest hour.
#[utoipa::path(patch, path = "/notification-settings", tag = "notifications", request_body = NotificationSettingsPatch, security(("api_key" = [])),
    responses((status = 200, body = NotificationSettings), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_settings(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(patch): ApiJson<NotificationSettingsPatch>,
) -> Result<Json<NotificationSettings>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let settings = notify::update_settings(&mut tx, patch, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(settings))
}

/// Every template key with the template in force (the tenant's or the system's).
#[utoipa::path(get, path = "/notification-templates", tag = "notifications", security(("api_key" = [])),
    responses((status = 200, body = Items<NotificationTemplate>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_templates(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Items<NotificationTemplate>>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = notify::list_templates(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Items { data }))
}

/// Locale of a template.
#[derive(Deserialize, IntoParams)]
pub struct LocaleParam {
    /// Locale (default `en`).
    locale: Option<String>,
}

/// The template in force for a subtype (or `daily_digest`), with its variables.
#[utoipa::path(get, path = "/notification-templates/{key}", tag = "notifications", security(("api_key" = [])),
    params(("key" = String, Path, description = "Subtype, e.g. `ticket_created`, or `daily_digest`"), LocaleParam),
    responses((status = 200, body = NotificationTemplate), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_template(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<String>,
    ApiQuery(params): ApiQuery<LocaleParam>,
) -> Result<Json<NotificationTemplate>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let template = notify::find_template(&mut tx, &key, params.locale.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(template))
}

/// Saves the tenant's override of a template. Every part must compile, use only the
/// declared variables and render with sample data; otherwise 422 names the part
/// (`subject`, `text_body`, `html_body`), the line and the reason.
#[utoipa::path(put, path = "/notification-templates/{key}", tag = "notifications", request_body = TemplateInput, security(("api_key" = [])),
    params(("key" = String, Path, description = "Subtype or `daily_digest`")),
    responses((status = 200, body = NotificationTemplate), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn save_template(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<String>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> Result<Json<NotificationTemplate>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let template = notify::save_template(&mut tx, &key, input, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(template))
}

/// Drops the tenant's override; the system template applies again.
#[utoipa::path(delete, path = "/notification-templates/{key}", tag = "notifications", security(("api_key" = [])),
    params(("key" = String, Path, description = "Subtype or `daily_digest`"), LocaleParam),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn reset_template(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<String>,
    ApiQuery(params): ApiQuery<LocaleParam>,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    notify::reset_template(
        &mut tx,
        &key,
        params.locale.as_deref(),
        Some(caller.user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Renders a draft template with sample data (validated as on save).
#[utoipa::path(post, path = "/notification-templates/{key}/preview", tag = "notifications", request_body = TemplateInput, security(("api_key" = [])),
    params(("key" = String, Path, description = "Subtype or `daily_digest`")),
    responses((status = 200, body = Object, description = "`{subject, text, html}`"), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn preview_template(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<String>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> Result<Json<RenderedEmail>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let rendered = notify::preview_template(&mut tx, &key, Some(input)).await?;
    tx.commit().await?;
    Ok(Json(rendered))
}

/// The tenant's own SMTP settings (404 when mail goes through the system relay).
#[utoipa::path(get, path = "/smtp-settings", tag = "notifications", security(("api_key" = [])),
    responses((status = 200, body = SmtpSettings), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_smtp(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<SmtpSettings>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let settings = mail::find_smtp_settings(&mut tx).await?;
    tx.commit().await?;
    settings
        .map(Json)
        .ok_or_else(|| ApiError::not_found("SMTP settings"))
}

/// Sets the tenant's SMTP server; the password is stored encrypted and never shown.
#[utoipa::path(put, path = "/smtp-settings", tag = "notifications", request_body = SmtpSettingsInput, security(("api_key" = [])),
    responses((status = 200, body = SmtpSettings), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save_smtp(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<SmtpSettingsInput>,
) -> Result<Json<SmtpSettings>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let settings =
        mail::save_smtp_settings(&mut tx, &app.settings.mail, input, Some(caller.user_id)).await?;
    tx.commit().await?;
    Ok(Json(settings))
}

/// Removes the tenant's SMTP settings (mail goes through the system relay).
#[utoipa::path(delete, path = "/smtp-settings", tag = "notifications", security(("api_key" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_smtp(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<StatusCode, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let deleted = mail::delete_smtp_settings(&mut tx).await?;
    tx.commit().await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("SMTP settings"))
    }
}

/// Where to send a test e-mail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEmail {
    /// Recipient address.
    to: String,
}

/// How a test e-mail went.
#[derive(Serialize, ToSchema)]
pub struct TestEmailOutcome {
    /// Whether the server accepted it.
    delivered: bool,
    /// The server's answer, or why it failed.
    detail: String,
}

/// Sends a test e-mail through the tenant's route now (not queued), and reports
/// the server's answer.
#[utoipa::path(post, path = "/smtp-settings/test", tag = "notifications", request_body = TestEmail, security(("api_key" = [])),
    responses((status = 200, body = TestEmailOutcome), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn send_test_email(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TestEmail>,
) -> Result<Json<TestEmailOutcome>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let to = engine::Email::parse(body.to.trim())
        .map_err(|e| ApiError::invalid_field("to", e.to_string()))?
        .to_string();
    let outcome = send_test(&app, caller.tenant, &to).await?;
    Ok(Json(outcome))
}

/// Sends the test e-mail of `tenant` to `to` (shared with the settings page).
pub async fn send_test(
    app: &AppState,
    tenant: engine::TenantId,
    to: &str,
) -> Result<TestEmailOutcome, ApiError> {
    let mailer = Mailer::new(app.settings.mail.clone());
    let mut tx = app.db.tenant_tx(tenant).await?;
    let route = mailer.route(&mut tx).await;
    tx.commit().await?;
    let id = Uuid::now_v7();
    let result = match route {
        Ok(route) => {
            let envelope = mail::Envelope {
                to_name: "",
                to_email: to,
                subject: "Keel test e-mail",
                text: "This is a test e-mail from Keel: your SMTP settings work.",
                html: "<p>This is a test e-mail from Keel: your SMTP settings work.</p>",
                message_id: &format!("<{}@{}>", id.simple(), route.domain()),
                in_reply_to: None,
                references: &[],
                unsubscribe_url: None,
            };
            match mail::build_message(&route, &envelope) {
                Ok(message) => mailer.send(&route, message).await,
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    Ok(match result {
        Ok(reply) => TestEmailOutcome {
            delivered: true,
            detail: reply,
        },
        Err(SendError::Transient(e) | SendError::Permanent(e)) => TestEmailOutcome {
            delivered: false,
            detail: e,
        },
    })
}

/// Filters of the delivery log.
#[derive(Deserialize, IntoParams)]
pub struct LogParams {
    /// `queued`, `sent`, `failed`, `held` or `digested`.
    status: Option<String>,
    /// Only the deliveries of this event.
    event_id: Option<Uuid>,
    /// Only this recipient address.
    recipient_email: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The delivery log, newest first: one row per e-mail with its status and the SMTP
/// server's answer.
#[utoipa::path(get, path = "/notification-log", tag = "notifications", security(("api_key" = [])),
    params(LogParams),
    responses((status = 200, body = Listed<LogEntry>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_log(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<LogParams>,
) -> Result<Json<Listed<LogEntry>>, ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let page = page_of(params.limit, params.cursor)?;
    if let Some(status) = &params.status {
        if !["queued", "sent", "failed", "held", "digested"].contains(&status.as_str()) {
            return Err(ApiError::invalid_field(
                "status",
                "must be one of queued, sent, failed, held, digested",
            ));
        }
    }
    let filter = LogFilter {
        status: params.status,
        event_id: params.event_id,
        recipient_email: params.recipient_email,
    };
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let rows = notify::list_log(&mut tx, filter, page).await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(rows)))
}

/// The caller's preferences, one per subtype.
#[utoipa::path(get, path = "/notification-preferences", tag = "notifications", security(("api_key" = [])),
    responses((status = 200, body = Items<PreferenceView>), (status = 401, body = Problem)))]
pub async fn list_preferences(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Items<PreferenceView>>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let data = notify::preferences(&mut tx, caller.user_id).await?;
    tx.commit().await?;
    Ok(Json(Items { data }))
}

/// Sets the caller's preference for one subtype: on/off, immediate or daily
/// digest, and an override address.
#[utoipa::path(put, path = "/notification-preferences/{subtype}", tag = "notifications", request_body = PreferenceInput, security(("api_key" = [])),
    params(("subtype" = String, Path, description = "Subtype, e.g. `ticket_assigned`")),
    responses((status = 200, body = PreferenceView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 422, body = Problem)))]
pub async fn set_preference(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(subtype): ApiPath<String>,
    ApiJson(input): ApiJson<PreferenceInput>,
) -> Result<Json<PreferenceView>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let view = notify::set_preference(&mut tx, caller.user_id, &subtype, input).await?;
    let hour = notify::settings(&mut tx).await?.digest_hour_utc;
    tx.commit().await?;
    if view.delivery == "digest" {
        ensure_daily_digest(&app, caller.tenant, hour).await;
    }
    Ok(Json(view))
}

/// Makes sure the tenant's daily digest runs (it is started with the tenant; this
/// covers tenants created before notifications existed).
pub async fn ensure_daily_digest(app: &AppState, tenant: engine::TenantId, hour_utc: u32) {
    let input = DigestInput {
        hour_utc,
        ..DigestInput::daily(tenant)
    };
    let started = match app.temporal().await {
        Ok(temporal) => temporal
            .start_notification_digest(input)
            .await
            .map_err(|e| e.to_string()),
        Err(_) => Err("Temporal is unavailable".to_owned()),
    };
    if let Err(error) = started {
        tracing::warn!(%error, "could not start the daily digest; it starts with the next tenant event");
    }
}

/// Filters of the inbox.
#[derive(Deserialize, IntoParams)]
pub struct InboxParams {
    /// Only unread notifications.
    unread: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's in-app notifications, newest first.
#[utoipa::path(get, path = "/notifications", tag = "notifications", security(("api_key" = [])),
    params(InboxParams),
    responses((status = 200, body = Listed<InAppNotification>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 422, body = Problem)))]
pub async fn inbox(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<InboxParams>,
) -> Result<Json<Listed<InAppNotification>>, ApiError> {
    let page = page_of(params.limit, params.cursor)?;
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let rows = notify::inbox(
        &mut tx,
        caller.user_id,
        params.unread.unwrap_or(false),
        page,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Listed::from_page(rows)))
}

/// How many notifications are unread.
#[derive(Serialize, ToSchema)]
pub struct UnreadCount {
    /// Unread notifications of the caller.
    unread: i64,
}

/// The caller's unread count (the bell).
#[utoipa::path(get, path = "/notifications/unread-count", tag = "notifications", security(("api_key" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = Problem)))]
pub async fn unread_count(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<UnreadCount>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let unread = notify::unread_count(&mut tx, caller.user_id).await?;
    tx.commit().await?;
    Ok(Json(UnreadCount { unread }))
}

/// Marks one notification read.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, body = InAppNotification), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn mark_read(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InAppNotification>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let n = notify::mark_read(&mut tx, caller.user_id, id).await?;
    tx.commit().await?;
    Ok(Json(n))
}

/// How many notifications were marked read.
#[derive(Serialize, ToSchema)]
pub struct MarkedRead {
    /// Notifications that were unread.
    marked: usize,
}

/// Marks all the caller's notifications read.
#[utoipa::path(post, path = "/notifications/read-all", tag = "notifications", security(("api_key" = [])),
    responses((status = 200, body = MarkedRead), (status = 401, body = Problem)))]
pub async fn mark_all_read(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<MarkedRead>, ApiError> {
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let marked = notify::mark_all_read(&mut tx, caller.user_id).await?;
    tx.commit().await?;
    Ok(Json(MarkedRead { marked }))
}

/// Sends the digests of everything held so far now, instead of at the digest hour.
#[utoipa::path(post, path = "/notification-digests", tag = "notifications", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = StartedRunBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn send_digests_now(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<(StatusCode, Json<StartedRunBody>), ApiError> {
    require(&caller, Permission::TENANT_MANAGE)?;
    let input = DigestInput {
        once: true,
        ..DigestInput::daily(caller.tenant)
    };
    let started = app
        .temporal()
        .await?
        .start_notification_digest(input)
        .await
        .map_err(ApiError::unavailable)?;
    let run_id = started
        .run_id
        .as_deref()
        .and_then(|r| Uuid::try_parse(r).ok())
        .ok_or_else(|| ApiError::unavailable("Temporal returned no run id"))?;
    Ok((
        StatusCode::CREATED,
        Json(StartedRunBody::new(run_id, started.workflow_id)),
    ))
}
