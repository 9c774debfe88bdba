//! Notifications: the tenant's switches and rate limit, users' preferences,
//! template overrides, the delivery log and the in-app inbox (this module); SMTP
//! settings and sending ([`mail`]); the rate limit ([`ratelimit`]); planning,
//! sending and digests as the fan-out workflow's activities ([`delivery`]);
//! unsubscribe links ([`unsubscribe`]).

pub mod delivery;
pub mod mail;
pub mod ratelimit;
pub mod unsubscribe;

use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{
    in_app_notifications, notification_log, notification_preferences, notification_settings,
    notification_templates, users,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::notifications::recipients::{Preference, Switches};
use engine::notifications::templates::{self, TemplateKey, TemplateSet};
use engine::notifications::{Category, Delivery, Subtype, DEFAULT_RATE_LIMIT_PER_MINUTE};
use engine::validation::{FieldIssue, Issues};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// A tenant's notification settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NotificationSettings {
    /// Every category with its switch and its subtypes' switches.
    pub categories: Vec<CategorySetting>,
    /// E-mails per minute (0 = no limit).
    pub rate_limit_per_minute: u32,
    /// Hour of the day (UTC) daily digests go out.
    pub digest_hour_utc: u32,
}

/// One category's switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CategorySetting {
    /// `tickets`, `invoices`, `projects`, `time`.
    pub category: String,
    /// Label.
    pub label: String,
    /// Whether the category sends anything.
    pub enabled: bool,
    /// Its subtypes.
    pub subtypes: Vec<SubtypeSetting>,
}

/// One subtype's switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SubtypeSetting {
    /// E.g. `ticket_sla_breach`.
    pub subtype: String,
    /// Label.
    pub label: String,
    /// The tenant's own switch (a disabled category still disables it).
    pub enabled: bool,
}

/// A change to the settings; absent fields stay.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsPatch {
    /// Category switches, e.g. `{"invoices": false}`.
    #[serde(default)]
    pub categories: HashMap<String, bool>,
    /// Subtype switches, e.g. `{"ticket_updated": false}`.
    #[serde(default)]
    pub subtypes: HashMap<String, bool>,
    /// E-mails per minute, 0–100000 (0 = no limit).
    pub rate_limit_per_minute: Option<u32>,
    /// Hour (UTC, 0–23) daily digests go out.
    pub digest_hour_utc: Option<u32>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notification_settings)]
struct SettingsRow {
    disabled_categories: Vec<String>,
    disabled_subtypes: Vec<String>,
    rate_limit_per_minute: i32,
    digest_hour_utc: i16,
}

impl Default for SettingsRow {
    fn default() -> Self {
        SettingsRow {
            disabled_categories: Vec::new(),
            disabled_subtypes: Vec::new(),
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE as i32,
            digest_hour_utc: engine::workflows::notification_digest::DEFAULT_DIGEST_HOUR_UTC as i16,
        }
    }
}

impl SettingsRow {
    fn switches(&self) -> Switches {
        Switches {
            disabled_categories: self
                .disabled_categories
                .iter()
                .filter_map(|c| Category::parse(c).ok())
                .collect(),
            disabled_subtypes: self
                .disabled_subtypes
                .iter()
                .filter_map(|s| Subtype::parse(s).ok())
                .collect(),
        }
    }

    fn view(&self) -> NotificationSettings {
        let switches = self.switches();
        let categories = Category::ALL
            .iter()
            .map(|c| CategorySetting {
                category: c.as_str().to_owned(),
                label: c.label().to_owned(),
                enabled: !switches.disabled_categories.contains(c),
                subtypes: Subtype::of(*c)
                    .map(|s| SubtypeSetting {
                        subtype: s.as_str().to_owned(),
                        label: s.label().to_owned(),
                        enabled: !switches.disabled_subtypes.contains(&s),
                    })
                    .collect(),
            })
            .collect();
        NotificationSettings {
            categories,
            rate_limit_per_minute: u32::try_from(self.rate_limit_per_minute).unwrap_or(0),
            digest_hour_utc: u32::try_from(self.digest_hour_utc).unwrap_or(0),
        }
    }
}

async fn settings_row(tx: &mut TenantTx) -> Result<SettingsRow, DbError> {
    Ok(notification_settings::table
        .select(SettingsRow::as_select())
        .first(tx.conn())
        .await
        .optional()?
        .unwrap_or_default())
}

/// The tenant's switches (what the fan-out applies).
pub async fn switches(tx: &mut TenantTx) -> Result<Switches, DbError> {
    Ok(settings_row(tx).await?.switches())
}

/// The tenant's rate limit in e-mails per minute (0 = none).
pub async fn rate_limit(tx: &mut TenantTx) -> Result<u32, DbError> {
    Ok(u32::try_from(settings_row(tx).await?.rate_limit_per_minute).unwrap_or(0))
}

/// The tenant's settings.
pub async fn settings(tx: &mut TenantTx) -> Result<NotificationSettings, DbError> {
    Ok(settings_row(tx).await?.view())
}

/// Applies `patch` to the tenant's settings, with an audit entry.
pub async fn update_settings(
    tx: &mut TenantTx,
    patch: NotificationSettingsPatch,
    actor: Option<Uuid>,
) -> Result<NotificationSettings, RecordError> {
    let mut row = settings_row(tx).await?;
    let mut issues = Issues::default();
    for (name, enabled) in &patch.categories {
        match Category::parse(name) {
            Ok(c) => toggle(&mut row.disabled_categories, c.as_str(), *enabled),
            Err(e) => issues.add(format!("categories.{name}"), e),
        }
    }
    for (name, enabled) in &patch.subtypes {
        match Subtype::parse(name) {
            Ok(s) => toggle(&mut row.disabled_subtypes, s.as_str(), *enabled),
            Err(e) => issues.add(format!("subtypes.{name}"), e),
        }
    }
    if let Some(limit) = patch.rate_limit_per_minute {
        if limit > 100_000 {
            issues.add(
                "rate_limit_per_minute",
                "must be between 0 (no limit) and 100000",
            );
        }
        row.rate_limit_per_minute = limit.min(100_000) as i32;
    }
    if let Some(hour) = patch.digest_hour_utc {
        if hour > 23 {
            issues.add("digest_hour_utc", "must be an hour between 0 and 23");
        }
        row.digest_hour_utc = hour.min(23) as i16;
    }
    issues.finish(|| ()).map_err(RecordError::Invalid)?;
    let values = (
        notification_settings::tenant.eq(tx.tenant().0),
        notification_settings::disabled_categories.eq(&row.disabled_categories),
        notification_settings::disabled_subtypes.eq(&row.disabled_subtypes),
        notification_settings::rate_limit_per_minute.eq(row.rate_limit_per_minute),
        notification_settings::digest_hour_utc.eq(row.digest_hour_utc),
        notification_settings::updated_at.eq(Utc::now()),
        notification_settings::updated_by.eq(actor),
    );
    diesel::insert_into(notification_settings::table)
        .values(values)
        .on_conflict(notification_settings::tenant)
        .do_update()
        .set((
            notification_settings::disabled_categories.eq(&row.disabled_categories),
            notification_settings::disabled_subtypes.eq(&row.disabled_subtypes),
            notification_settings::rate_limit_per_minute.eq(row.rate_limit_per_minute),
            notification_settings::digest_hour_utc.eq(row.digest_hour_utc),
            notification_settings::updated_at.eq(Utc::now()),
            notification_settings::updated_by.eq(actor),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let view = row.view();
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action: "notification_settings.updated",
            resource: "notification_settings",
            resource_id: None,
            details: serde_json::to_value(&view).unwrap_or_default(),
        },
    )
    .await?;
    Ok(view)
}

fn toggle(disabled: &mut Vec<String>, name: &str, enabled: bool) {
    disabled.retain(|d| d != name);
    if !enabled {
        disabled.push(name.to_owned());
        disabled.sort();
    }
}

/// A user's preference for one subtype, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PreferenceView {
    /// The subtype.
    pub subtype: String,
    /// Its label.
    pub label: String,
    /// Its category.
    pub category: String,
    /// Whether the tenant sends this subtype at all.
    pub tenant_enabled: bool,
    /// Whether the user wants e-mail of it.
    pub enabled: bool,
    /// `immediate` or `digest`.
    pub delivery: String,
    /// Where the e-mail goes instead of the user's own address.
    pub override_email: Option<String>,
}

/// A change to one preference.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceInput {
    /// Whether e-mail of the subtype is wanted.
    pub enabled: bool,
    /// `immediate` (default) or `digest`.
    #[serde(default)]
    pub delivery: Option<String>,
    /// Send here instead (`null` or absent: the user's own address).
    #[serde(default)]
    pub override_email: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notification_preferences)]
struct PreferenceRow {
    user_id: Uuid,
    subtype: String,
    enabled: bool,
    delivery: String,
    override_email: Option<String>,
}

impl PreferenceRow {
    fn preference(&self) -> Preference {
        Preference {
            enabled: self.enabled,
            delivery: Delivery::parse(&self.delivery).unwrap_or(Delivery::Immediate),
            override_email: self.override_email.clone(),
        }
    }
}

/// Every subtype with `user`'s preference (defaults where none is stored).
pub async fn preferences(tx: &mut TenantTx, user: Uuid) -> Result<Vec<PreferenceView>, DbError> {
    let rows: Vec<PreferenceRow> = notification_preferences::table
        .filter(notification_preferences::user_id.eq(user))
        .select(PreferenceRow::as_select())
        .load(tx.conn())
        .await?;
    let switches = switches(tx).await?;
    Ok(Subtype::ALL
        .iter()
        .map(|s| {
            let p = rows
                .iter()
                .find(|r| r.subtype == s.as_str())
                .map(PreferenceRow::preference)
                .unwrap_or_default();
            PreferenceView {
                subtype: s.as_str().to_owned(),
                label: s.label().to_owned(),
                category: s.category().as_str().to_owned(),
                tenant_enabled: switches.allows(*s),
                enabled: p.enabled,
                delivery: p.delivery.as_str().to_owned(),
                override_email: p.override_email,
            }
        })
        .collect())
}

/// The preferences of `users` for `subtype`, for planning.
pub async fn preferences_for(
    tx: &mut TenantTx,
    subtype: Subtype,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Preference>, DbError> {
    let rows: Vec<PreferenceRow> = notification_preferences::table
        .filter(notification_preferences::subtype.eq(subtype.as_str()))
        .filter(notification_preferences::user_id.eq_any(users))
        .select(PreferenceRow::as_select())
        .load(tx.conn())
        .await?;
    Ok(rows.iter().map(|r| (r.user_id, r.preference())).collect())
}

/// Sets `user`'s preference for `subtype`.
pub async fn set_preference(
    tx: &mut TenantTx,
    user: Uuid,
    subtype: &str,
    input: PreferenceInput,
) -> Result<PreferenceView, RecordError> {
    let mut issues = Issues::default();
    let subtype = issues.check("subtype", Subtype::parse(subtype));
    let delivery = match input.delivery.as_deref() {
        None => Some(Delivery::Immediate),
        Some(d) => issues.check("delivery", Delivery::parse(d)),
    };
    let override_email = match input.override_email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => issues.check(
            "override_email",
            engine::Email::parse(e).map(|e| e.to_string()),
        ),
    };
    let (subtype, delivery) = match (subtype, delivery) {
        (Some(s), Some(d)) if issues.is_empty() => (s, d),
        _ => return Err(RecordError::Invalid(issues.into_vec())),
    };
    // An unsubscribe link may outlive its user.
    let exists: i64 = users::table
        .filter(users::id.eq(user))
        .count()
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    if exists == 0 {
        return Err(RecordError::NotFound("user"));
    }
    let values = (
        notification_preferences::tenant.eq(tx.tenant().0),
        notification_preferences::user_id.eq(user),
        notification_preferences::subtype.eq(subtype.as_str()),
        notification_preferences::enabled.eq(input.enabled),
        notification_preferences::delivery.eq(delivery.as_str()),
        notification_preferences::override_email.eq(&override_email),
        notification_preferences::updated_at.eq(Utc::now()),
    );
    diesel::insert_into(notification_preferences::table)
        .values(values)
        .on_conflict((
            notification_preferences::tenant,
            notification_preferences::user_id,
            notification_preferences::subtype,
        ))
        .do_update()
        .set((
            notification_preferences::enabled.eq(input.enabled),
            notification_preferences::delivery.eq(delivery.as_str()),
            notification_preferences::override_email.eq(&override_email),
            notification_preferences::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let all = preferences(tx, user).await?;
    Ok(all
        .into_iter()
        .find(|p| p.subtype == subtype.as_str())
        .expect("every subtype has a preference view"))
}

/// A template as the API shows it: the tenant's override or the system one.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationTemplate {
    /// Subtype name or `daily_digest`.
    pub key: String,
    /// Locale, e.g. `en`.
    pub locale: String,
    /// `tenant` when overridden, else `system`.
    pub source: String,
    /// Subject template.
    pub subject: String,
    /// Plain-text body template.
    pub text_body: String,
    /// HTML body template.
    pub html_body: String,
    /// Variables it may use.
    pub variables: Vec<TemplateVariable>,
    /// Last changed (overrides only).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A variable a template may use.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateVariable {
    /// Dotted path.
    pub path: String,
    /// What it holds.
    pub description: String,
}

/// A template override to save, or a draft to preview.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// Subject template.
    pub subject: String,
    /// Plain-text body template.
    pub text_body: String,
    /// HTML body template.
    pub html_body: String,
    /// Locale (default `en`).
    #[serde(default)]
    pub locale: Option<String>,
}

impl TemplateInput {
    fn set(&self) -> TemplateSet {
        TemplateSet {
            subject: self.subject.clone(),
            text: self.text_body.clone(),
            html: self.html_body.clone(),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notification_templates)]
struct TemplateRow {
    template_key: String,
    locale: String,
    subject: String,
    text_body: String,
    html_body: String,
    updated_at: DateTime<Utc>,
}

fn parse_key(key: &str) -> Result<TemplateKey, RecordError> {
    TemplateKey::parse(key).map_err(|_| RecordError::NotFound("notification template"))
}

fn parse_locale(locale: Option<&str>) -> Result<String, RecordError> {
    let locale = locale.unwrap_or(templates::DEFAULT_LOCALE).trim();
    if templates::LOCALES.contains(&locale) {
        Ok(locale.to_owned())
    } else {
        Err(RecordError::field(
            "locale",
            format!("must be one of {}", templates::LOCALES.join(", ")),
        ))
    }
}

fn view(key: TemplateKey, locale: &str, row: Option<TemplateRow>) -> NotificationTemplate {
    let variables = key
        .variables()
        .into_iter()
        .map(|v| TemplateVariable {
            path: v.path.to_owned(),
            description: v.description.to_owned(),
        })
        .collect();
    match row {
        Some(row) => NotificationTemplate {
            key: row.template_key,
            locale: row.locale,
            source: "tenant".into(),
            subject: row.subject,
            text_body: row.text_body,
            html_body: row.html_body,
            variables,
            updated_at: Some(row.updated_at),
        },
        None => {
            let system = templates::system_template(key, locale);
            NotificationTemplate {
                key: key.as_str().to_owned(),
                locale: locale.to_owned(),
                source: "system".into(),
                subject: system.subject,
                text_body: system.text,
                html_body: system.html,
                variables,
                updated_at: None,
            }
        }
    }
}

/// Every template key with the template in force (override or system).
pub async fn list_templates(tx: &mut TenantTx) -> Result<Vec<NotificationTemplate>, DbError> {
    let rows: Vec<TemplateRow> = notification_templates::table
        .filter(notification_templates::locale.eq(templates::DEFAULT_LOCALE))
        .select(TemplateRow::as_select())
        .load(tx.conn())
        .await?;
    let mut rows: HashMap<String, TemplateRow> = rows
        .into_iter()
        .map(|r| (r.template_key.clone(), r))
        .collect();
    Ok(TemplateKey::all()
        .map(|k| view(k, templates::DEFAULT_LOCALE, rows.remove(k.as_str())))
        .collect())
}

/// The template in force for `key`.
pub async fn find_template(
    tx: &mut TenantTx,
    key: &str,
    locale: Option<&str>,
) -> Result<NotificationTemplate, RecordError> {
    let key = parse_key(key)?;
    let locale = parse_locale(locale)?;
    let row = template_row(tx, key, &locale).await?;
    Ok(view(key, &locale, row))
}

async fn template_row(
    tx: &mut TenantTx,
    key: TemplateKey,
    locale: &str,
) -> Result<Option<TemplateRow>, DbError> {
    Ok(notification_templates::table
        .filter(notification_templates::template_key.eq(key.as_str()))
        .filter(notification_templates::locale.eq(locale))
        .select(TemplateRow::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// The set to render for `key` (the tenant's override, else the system template).
pub async fn template_in_force(
    tx: &mut TenantTx,
    key: TemplateKey,
    locale: &str,
) -> Result<TemplateSet, DbError> {
    Ok(match template_row(tx, key, locale).await? {
        Some(row) => TemplateSet {
            subject: row.subject,
            text: row.text_body,
            html: row.html_body,
        },
        None => templates::system_template(key, locale),
    })
}

/// Turns template issues into field issues: `html_body`, "line 3: unknown variable …".
pub fn template_issues(issues: Vec<templates::TemplateIssue>) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|i| FieldIssue {
            field: i.part.field().to_owned(),
            message: i.to_string(),
        })
        .collect()
}

/// Validates and saves the tenant's override of `key`.
pub async fn save_template(
    tx: &mut TenantTx,
    key: &str,
    input: TemplateInput,
    actor: Option<Uuid>,
) -> Result<NotificationTemplate, RecordError> {
    let key = parse_key(key)?;
    let locale = parse_locale(input.locale.as_deref())?;
    templates::validate(key, &input.set())
        .map_err(|issues| RecordError::Invalid(template_issues(issues)))?;
    let now = Utc::now();
    diesel::insert_into(notification_templates::table)
        .values((
            notification_templates::tenant.eq(tx.tenant().0),
            notification_templates::id.eq(Uuid::now_v7()),
            notification_templates::template_key.eq(key.as_str()),
            notification_templates::locale.eq(&locale),
            notification_templates::subject.eq(&input.subject),
            notification_templates::text_body.eq(&input.text_body),
            notification_templates::html_body.eq(&input.html_body),
            notification_templates::updated_by.eq(actor),
        ))
        .on_conflict((
            notification_templates::tenant,
            notification_templates::template_key,
            notification_templates::locale,
        ))
        .do_update()
        .set((
            notification_templates::subject.eq(&input.subject),
            notification_templates::text_body.eq(&input.text_body),
            notification_templates::html_body.eq(&input.html_body),
            notification_templates::updated_at.eq(now),
            notification_templates::updated_by.eq(actor),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action: "notification_template.saved",
            resource: "notification_template",
            resource_id: None,
            details: serde_json::json!({ "key": key.as_str(), "locale": locale }),
        },
    )
    .await?;
    find_template(tx, key.as_str(), Some(&locale)).await
}

/// Drops the tenant's override of `key` (the system template applies again).
pub async fn reset_template(
    tx: &mut TenantTx,
    key: &str,
    locale: Option<&str>,
    actor: Option<Uuid>,
) -> Result<NotificationTemplate, RecordError> {
    let key = parse_key(key)?;
    let locale = parse_locale(locale)?;
    diesel::delete(
        notification_templates::table
            .filter(notification_templates::template_key.eq(key.as_str()))
            .filter(notification_templates::locale.eq(&locale)),
    )
    .execute(tx.conn())
    .await
    .map_err(DbError::from)?;
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action: "notification_template.reset",
            resource: "notification_template",
            resource_id: None,
            details: serde_json::json!({ "key": key.as_str(), "locale": locale }),
        },
    )
    .await?;
    Ok(view(key, &locale, None))
}

/// Renders a draft (or the template in force when `draft` is `None`) with sample data.
pub async fn preview_template(
    tx: &mut TenantTx,
    key: &str,
    draft: Option<TemplateInput>,
) -> Result<templates::RenderedEmail, RecordError> {
    let key = parse_key(key)?;
    let set = match draft {
        Some(draft) => {
            let set = draft.set();
            templates::validate(key, &set)
                .map_err(|issues| RecordError::Invalid(template_issues(issues)))?;
            set
        }
        None => template_in_force(tx, key, templates::DEFAULT_LOCALE).await?,
    };
    templates::render(&set, &key.sample_context())
        .map_err(|e| RecordError::field(e.part.field(), e.message))
}

/// An in-app notification.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = in_app_notifications)]
pub struct InAppNotification {
    /// Id.
    pub id: Uuid,
    /// The subtype.
    pub subtype: String,
    /// Headline (the e-mail's subject).
    pub title: String,
    /// Short text.
    pub body: String,
    /// Where it points.
    pub link: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it was read; `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

/// `user`'s in-app notifications, newest first.
pub async fn inbox(
    tx: &mut TenantTx,
    user: Uuid,
    unread_only: bool,
    page: PageRequest,
) -> Result<Page<InAppNotification>, DbError> {
    let mut query = in_app_notifications::table
        .filter(in_app_notifications::user_id.eq(user))
        .select(InAppNotification::as_select())
        .order(in_app_notifications::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if unread_only {
        query = query.filter(in_app_notifications::read_at.is_null());
    }
    if let Some(after) = page.after {
        query = query.filter(in_app_notifications::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |n| n.id))
}

/// How many of `user`'s notifications are unread.
pub async fn unread_count(tx: &mut TenantTx, user: Uuid) -> Result<i64, DbError> {
    Ok(in_app_notifications::table
        .filter(in_app_notifications::user_id.eq(user))
        .filter(in_app_notifications::read_at.is_null())
        .count()
        .get_result(tx.conn())
        .await?)
}

/// Marks one of `user`'s notifications read (idempotent).
pub async fn mark_read(
    tx: &mut TenantTx,
    user: Uuid,
    id: Uuid,
) -> Result<InAppNotification, RecordError> {
    let found: Option<InAppNotification> = diesel::update(
        in_app_notifications::table
            .filter(in_app_notifications::id.eq(id))
            .filter(in_app_notifications::user_id.eq(user)),
    )
    .set(in_app_notifications::read_at.eq(diesel::dsl::sql::<
        diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
    >("coalesce(read_at, now())")))
    .returning(InAppNotification::as_returning())
    .get_result(tx.conn())
    .await
    .optional()
    .map_err(DbError::from)?;
    found.ok_or(RecordError::NotFound("notification"))
}

/// Marks all of `user`'s notifications read; answers how many changed.
pub async fn mark_all_read(tx: &mut TenantTx, user: Uuid) -> Result<usize, DbError> {
    Ok(diesel::update(
        in_app_notifications::table
            .filter(in_app_notifications::user_id.eq(user))
            .filter(in_app_notifications::read_at.is_null()),
    )
    .set(in_app_notifications::read_at.eq(Utc::now()))
    .execute(tx.conn())
    .await?)
}

/// A delivery in the log, as admins see it.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = notification_log)]
pub struct LogEntry {
    /// Id.
    pub id: Uuid,
    /// The event it came from (none for digests).
    pub event_id: Option<Uuid>,
    /// Subtype or `daily_digest`.
    pub template_key: String,
    /// Recipient user, if a user.
    pub recipient_user_id: Option<Uuid>,
    /// Recipient contact, if a contact.
    pub recipient_contact_id: Option<Uuid>,
    /// Recipient address.
    pub recipient_email: String,
    /// `queued`, `sent`, `failed`, `held` (for a digest) or `digested`.
    pub status: String,
    /// Subject.
    pub subject: String,
    /// The Message-ID header.
    pub message_id: String,
    /// Send attempts.
    pub attempts: i32,
    /// The SMTP server's answer to the last attempt.
    pub smtp_response: Option<String>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Queued at.
    pub queued_at: DateTime<Utc>,
    /// Sent at.
    pub sent_at: Option<DateTime<Utc>>,
    /// Failed at.
    pub failed_at: Option<DateTime<Utc>>,
}

/// Filters of the delivery log.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this event.
    pub event_id: Option<Uuid>,
    /// Only this recipient address.
    pub recipient_email: Option<String>,
}

/// The delivery log, newest first.
pub async fn list_log(
    tx: &mut TenantTx,
    filter: LogFilter,
    page: PageRequest,
) -> Result<Page<LogEntry>, DbError> {
    let mut query = notification_log::table
        .select(LogEntry::as_select())
        .order(notification_log::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(notification_log::status.eq(status));
    }
    if let Some(event) = filter.event_id {
        query = query.filter(notification_log::event_id.eq(event));
    }
    if let Some(email) = filter.recipient_email {
        query = query.filter(notification_log::recipient_email.eq(email));
    }
    if let Some(after) = page.after {
        query = query.filter(notification_log::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |n| n.id))
}

/// Names and addresses of active users, for recipients.
pub(crate) async fn active_users(
    tx: &mut TenantTx,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (String, String)>, DbError> {
    let rows: Vec<(Uuid, String, String)> = users::table
        .filter(users::id.eq_any(ids))
        .filter(users::is_active.eq(true))
        .select((users::id, users::full_name, users::email))
        .load(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email)| (id, (name, email)))
        .collect())
}
