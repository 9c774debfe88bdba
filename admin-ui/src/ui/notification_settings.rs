//! Notification settings pages (TENANT_MANAGE): the tenant's switches, rate limit
//! and digest hour, its SMTP server and a test e-mail on `/settings/notifications`;
//! the e-mail templates with validation, preview and reset on
//! `/settings/notification-templates`.

use super::forms::{optional_text, FormErrors, Parse};
use super::pages::{forbidden_page, nav, not_found_page, notice, render, PageResult, Refusal};
use super::session::SignedIn;
use crate::AppState;
use activities::notifications::mail::{self, SmtpSettings, SmtpSettingsInput, TlsMode};
use activities::notifications::{
    self as notify, CategorySetting, NotificationSettingsPatch, TemplateInput,
};
use activities::records::RecordError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use engine::notifications::templates::{RenderedEmail, TemplateKey};
use engine::Permission;
use minijinja::{context, Value};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A submitted form: input name → text (a ticked checkbox is present).
type Fields = BTreeMap<String, String>;

fn text<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

/// Checks the CSRF token, then TENANT_MANAGE.
fn manageable(user: &SignedIn, csrf_token: &str) -> Result<(), Refusal> {
    if !user.csrf_ok(csrf_token) {
        return Err(Refusal::Csrf);
    }
    if !user.0.can(Permission::TENANT_MANAGE) {
        return Err(Refusal::Forbidden(Permission::TENANT_MANAGE));
    }
    Ok(())
}

fn tls_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::None => "none",
        TlsMode::Starttls => "starttls",
        TlsMode::Tls => "tls",
    }
}

/// What a posted form brings back to the settings page.
#[derive(Default)]
struct SettingsState {
    /// The switches form as typed, with its errors.
    switches: Option<(Vec<CategorySetting>, Fields, FormErrors)>,
    /// The SMTP form as typed (password dropped), with its errors.
    smtp: Option<(Fields, FormErrors)>,
    /// The test address, the outcome of the test (if sent), and errors.
    test: Option<(String, Option<Value>, FormErrors)>,
    /// A line saying what was saved.
    saved: Option<&'static str>,
}

/// The SMTP form of the stored settings (defaults when there are none).
fn smtp_form(stored: Option<&SmtpSettings>) -> Fields {
    let mut form = Fields::new();
    match stored {
        Some(s) => {
            form.insert("host".into(), s.host.clone());
            form.insert("port".into(), s.port.to_string());
            form.insert("tls_mode".into(), tls_name(s.tls_mode).into());
            form.insert("username".into(), s.username.clone().unwrap_or_default());
            form.insert("from_address".into(), s.from_address.clone());
            form.insert("from_name".into(), s.from_name.clone().unwrap_or_default());
        }
        None => {
            form.insert("port".into(), "587".into());
            form.insert("tls_mode".into(), "starttls".into());
        }
    }
    form
}

/// `GET /settings/notifications`.
pub async fn settings_page(State(app): State<AppState>, user: SignedIn) -> PageResult {
    if !user.0.can(Permission::TENANT_MANAGE) {
        return forbidden_page(&app, &user, Permission::TENANT_MANAGE);
    }
    render_settings(&app, &user, SettingsState::default(), StatusCode::OK).await
}

async fn render_settings(
    app: &AppState,
    user: &SignedIn,
    state: SettingsState,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let settings = notify::settings(&mut tx).await?;
    let smtp = mail::find_smtp_settings(&mut tx).await?;
    tx.commit().await?;
    let (categories, switches_form, switches_errors) = state.switches.unwrap_or_else(|| {
        let mut form = Fields::new();
        form.insert(
            "rate_limit_per_minute".into(),
            settings.rate_limit_per_minute.to_string(),
        );
        form.insert(
            "digest_hour_utc".into(),
            settings.digest_hour_utc.to_string(),
        );
        (settings.categories.clone(), form, FormErrors::default())
    });
    let (smtp_form, smtp_errors) = state
        .smtp
        .unwrap_or_else(|| (smtp_form(smtp.as_ref()), FormErrors::default()));
    let (test_to, test_outcome, test_errors) = state
        .test
        .unwrap_or_else(|| (user.0.email.to_string(), None, FormErrors::default()));
    let ctx = context! {
        nav => nav(user),
        categories, switches_form, switches_errors,
        smtp, smtp_form, smtp_errors,
        tls_modes => ["starttls", "tls", "none"],
        test_to, test_outcome, test_errors,
        saved => state.saved,
    };
    Ok((status, render(app, "notification_settings.html", ctx)?).into_response())
}

/// `POST /settings/notifications`: category and subtype switches, rate limit and
/// digest hour.
pub async fn save_settings(
    State(app): State<AppState>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let mut form: Fields = pairs.into_iter().collect();
    if let Err(refusal) = manageable(&user, text(&form, "csrf_token")) {
        return refusal.answer(&app, &user);
    }
    form.remove("csrf_token");
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let current = notify::settings(&mut tx).await?;
    let mut parse = Parse::default();
    let mut patch = NotificationSettingsPatch {
        rate_limit_per_minute: parse.number(
            "rate_limit_per_minute",
            text(&form, "rate_limit_per_minute"),
        ),
        digest_hour_utc: parse.number("digest_hour_utc", text(&form, "digest_hour_utc")),
        ..NotificationSettingsPatch::default()
    };
    // The categories as typed, for the page if the form is refused.
    let mut typed = current.categories.clone();
    for category in &mut typed {
        category.enabled = form.contains_key(&format!("category_{}", category.category));
        patch
            .categories
            .insert(category.category.clone(), category.enabled);
        for subtype in &mut category.subtypes {
            subtype.enabled = form.contains_key(&format!("subtype_{}", subtype.subtype));
            patch
                .subtypes
                .insert(subtype.subtype.clone(), subtype.enabled);
        }
    }
    let outcome = match parse.merge(Ok(())) {
        Err(issues) => Err(RecordError::Invalid(issues)),
        Ok(()) => notify::update_settings(&mut tx, patch, Some(user.0.user_id))
            .await
            .map(|_| ()),
    };
    match outcome {
        Ok(()) => {
            tx.commit().await?;
            let state = SettingsState {
                saved: Some("The notification settings were saved."),
                ..SettingsState::default()
            };
            render_settings(&app, &user, state, StatusCode::OK).await
        }
        Err(RecordError::Invalid(issues)) => {
            tx.rollback().await?;
            let errors =
                FormErrors::from_issues(issues, &["rate_limit_per_minute", "digest_hour_utc"]);
            let state = SettingsState {
                switches: Some((typed, form, errors)),
                ..SettingsState::default()
            };
            render_settings(&app, &user, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Inputs of the SMTP form that can carry an error.
const SMTP_FIELDS: &[&str] = &[
    "host",
    "port",
    "tls_mode",
    "username",
    "password",
    "from_address",
    "from_name",
];

/// The SMTP form as an input; parse problems go in `parse`.
fn smtp_input(form: &Fields, parse: &mut Parse) -> SmtpSettingsInput {
    let tls_mode = match text(form, "tls_mode") {
        "none" => TlsMode::None,
        "tls" => TlsMode::Tls,
        "starttls" => TlsMode::Starttls,
        _ => {
            parse.add("tls_mode", "must be none, starttls or tls");
            TlsMode::Starttls
        }
    };
    let port_text = text(form, "port");
    let port = if port_text.trim().is_empty() {
        parse.add("port", "is required");
        0
    } else {
        parse
            .optional("port", port_text, |t| {
                t.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or("must be between 1 and 65535")
            })
            .unwrap_or(0)
    };
    // Blank keeps the stored password; "remove password" drops it.
    let password = if form.contains_key("remove_password") {
        Some(String::new())
    } else {
        Some(text(form, "password").to_owned()).filter(|p| !p.is_empty())
    };
    SmtpSettingsInput {
        host: text(form, "host").to_owned(),
        port,
        tls_mode,
        username: optional_text(text(form, "username")),
        password,
        from_address: text(form, "from_address").to_owned(),
        from_name: optional_text(text(form, "from_name")),
    }
}

/// `POST /settings/notifications/smtp`.
pub async fn save_smtp(
    State(app): State<AppState>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let mut form: Fields = pairs.into_iter().collect();
    if let Err(refusal) = manageable(&user, text(&form, "csrf_token")) {
        return refusal.answer(&app, &user);
    }
    form.remove("csrf_token");
    let mut parse = Parse::default();
    let input = smtp_input(&form, &mut parse);
    // The password is never sent back to the browser.
    form.remove("password");
    if !parse.0.is_empty() {
        let errors = FormErrors::from_issues(parse.0, SMTP_FIELDS);
        let state = SettingsState {
            smtp: Some((form, errors)),
            ..SettingsState::default()
        };
        return render_settings(&app, &user, state, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    match mail::save_smtp_settings(&mut tx, &app.settings.mail, input, Some(user.0.user_id)).await {
        Ok(_) => {
            tx.commit().await?;
            let state = SettingsState {
                saved: Some("The SMTP settings were saved."),
                ..SettingsState::default()
            };
            render_settings(&app, &user, state, StatusCode::OK).await
        }
        Err(RecordError::Invalid(issues)) => {
            tx.rollback().await?;
            let errors = FormErrors::from_issues(issues, SMTP_FIELDS);
            let state = SettingsState {
                smtp: Some((form, errors)),
                ..SettingsState::default()
            };
            render_settings(&app, &user, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The test e-mail form.
#[derive(Deserialize)]
pub struct TestEmailForm {
    csrf_token: String,
    #[serde(default)]
    to: String,
}

/// `POST /settings/notifications/test-email`: sends now and shows the server's answer.
pub async fn send_test_email(
    State(app): State<AppState>,
    user: SignedIn,
    Form(form): Form<TestEmailForm>,
) -> PageResult {
    if let Err(refusal) = manageable(&user, &form.csrf_token) {
        return refusal.answer(&app, &user);
    }
    let to = form.to.trim().to_owned();
    let state = match engine::Email::parse(&to) {
        Err(e) => SettingsState {
            test: Some((
                to,
                None,
                FormErrors::from_issues(
                    vec![engine::validation::FieldIssue {
                        field: "to".into(),
                        message: e.to_string(),
                    }],
                    &["to"],
                ),
            )),
            ..SettingsState::default()
        },
        Ok(address) => {
            let outcome =
                crate::api::notifications::send_test(&app, user.0.tenant, &address.to_string())
                    .await?;
            SettingsState {
                test: Some((
                    to,
                    Some(Value::from_serialize(&outcome)),
                    FormErrors::default(),
                )),
                ..SettingsState::default()
            }
        }
    };
    let status = if state.test.as_ref().is_some_and(|t| t.1.is_none()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_settings(&app, &user, state, status).await
}

/// A human name of a template key.
fn key_label(key: &str) -> &'static str {
    match TemplateKey::parse(key) {
        Ok(TemplateKey::Subtype(s)) => s.label(),
        Ok(TemplateKey::DailyDigest) => "Daily digest",
        Err(_) => "",
    }
}

/// `GET /settings/notification-templates`.
pub async fn templates_page(State(app): State<AppState>, user: SignedIn) -> PageResult {
    if !user.0.can(Permission::TENANT_MANAGE) {
        return forbidden_page(&app, &user, Permission::TENANT_MANAGE);
    }
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let templates = notify::list_templates(&mut tx).await?;
    tx.commit().await?;
    let rows: Vec<Value> = templates
        .iter()
        .map(|t| {
            context! {
                key => t.key, label => key_label(&t.key), source => t.source,
                subject => t.subject, updated_at => t.updated_at,
            }
        })
        .collect();
    let ctx = context! { nav => nav(&user), templates => rows };
    Ok(render(&app, "notification_templates.html", ctx)?.into_response())
}

/// `?saved=1` / `?reset=1` after a redirect.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    saved: String,
    #[serde(default)]
    reset: String,
}

/// `GET /settings/notification-templates/{key}`.
pub async fn template_page(
    State(app): State<AppState>,
    user: SignedIn,
    Path(key): Path<String>,
    query: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    if !user.0.can(Permission::TENANT_MANAGE) {
        return forbidden_page(&app, &user, Permission::TENANT_MANAGE);
    }
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let saved = if !query.saved.is_empty() {
        Some("The template was saved.")
    } else if !query.reset.is_empty() {
        Some("The template was reset to the system template.")
    } else {
        None
    };
    render_template(
        &app,
        &user,
        &key,
        TemplateState {
            saved,
            ..TemplateState::default()
        },
        StatusCode::OK,
    )
    .await
}

/// What a posted template form brings back.
#[derive(Default)]
struct TemplateState {
    /// The form as typed (else the template in force).
    form: Option<Fields>,
    errors: FormErrors,
    preview: Option<RenderedEmail>,
    saved: Option<&'static str>,
}

async fn render_template(
    app: &AppState,
    user: &SignedIn,
    key: &str,
    state: TemplateState,
    status: StatusCode,
) -> PageResult {
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let found = notify::find_template(&mut tx, key, None).await;
    tx.commit().await?;
    let template = match found {
        Ok(template) => template,
        Err(RecordError::NotFound(what)) => return not_found_page(app, user, what),
        Err(error) => return Err(error.into()),
    };
    let form = state.form.unwrap_or_else(|| {
        Fields::from([
            ("subject".to_owned(), template.subject.clone()),
            ("text_body".to_owned(), template.text_body.clone()),
            ("html_body".to_owned(), template.html_body.clone()),
        ])
    });
    let ctx = context! {
        nav => nav(user),
        template,
        label => key_label(key),
        form,
        errors => state.errors,
        preview => state.preview,
        saved => state.saved,
    };
    Ok((status, render(app, "notification_template.html", ctx)?).into_response())
}

/// `POST /settings/notification-templates/{key}`: `action` is `save`, `preview` or
/// `reset`.
pub async fn template_action(
    State(app): State<AppState>,
    user: SignedIn,
    Path(key): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let mut form: Fields = pairs.into_iter().collect();
    if let Err(refusal) = manageable(&user, text(&form, "csrf_token")) {
        return refusal.answer(&app, &user);
    }
    form.remove("csrf_token");
    let action = form.remove("action").unwrap_or_default();
    let input = TemplateInput {
        subject: text(&form, "subject").to_owned(),
        text_body: text(&form, "text_body").to_owned(),
        html_body: text(&form, "html_body").to_owned(),
        locale: None,
    };
    let path = format!("/settings/notification-templates/{}", key.trim());
    let mut tx = app.db.tenant_tx(user.0.tenant).await?;
    let outcome = match action.as_str() {
        "save" => notify::save_template(&mut tx, &key, input, Some(user.0.user_id))
            .await
            .map(|_| None),
        "reset" => notify::reset_template(&mut tx, &key, None, Some(user.0.user_id))
            .await
            .map(|_| None),
        "preview" => notify::preview_template(&mut tx, &key, Some(input))
            .await
            .map(Some),
        _ => {
            tx.rollback().await?;
            let message = "Use the Save, Preview or Reset button of the template form.";
            return notice(
                &app,
                &user,
                StatusCode::BAD_REQUEST,
                "Unknown action",
                message,
            );
        }
    };
    match outcome {
        Ok(None) => {
            tx.commit().await?;
            let done = if action == "reset" { "reset" } else { "saved" };
            Ok(Redirect::to(&format!("{path}?{done}=1")).into_response())
        }
        Ok(Some(preview)) => {
            tx.rollback().await?;
            let state = TemplateState {
                form: Some(form),
                preview: Some(preview),
                ..TemplateState::default()
            };
            render_template(&app, &user, &key, state, StatusCode::OK).await
        }
        Err(RecordError::Invalid(issues)) => {
            tx.rollback().await?;
            let errors = FormErrors::from_issues(issues, &["subject", "text_body", "html_body"]);
            let state = TemplateState {
                form: Some(form),
                errors,
                ..TemplateState::default()
            };
            render_template(&app, &user, &key, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(RecordError::NotFound(what)) => {
            tx.rollback().await?;
            not_found_page(&app, &user, what)
        }
        Err(error) => Err(error.into()),
    }
}
