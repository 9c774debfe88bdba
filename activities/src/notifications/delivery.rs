//! The fan-out's work: planning an event's notifications into `notification_log`
//! rows and in-app notifications, sending queued rows in rate-limited batches,
//! giving up on a batch, and collecting daily digests.

use super::mail::{build_message, Envelope, Mailer, Route, SendError};
use super::ratelimit::MailRateLimiter;
use super::unsubscribe::{self, Unsubscribe};
use crate::db::{Db, DbError, TenantTx};
use crate::schema::{
    boards, clients, contacts, in_app_notifications, notification_log, role_assignments,
    role_permissions, tenants, ticket_agents, ticket_comments, time_entries,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::notifications::recipients::{
    self, Candidate, PlannedDelivery, RecipientRole, Switches,
};
use engine::notifications::templates::{self, TemplateKey};
use engine::notifications::{Delivery, Subtype};
use engine::workflows::contracts::{NotificationPlan, SentBatch};
use engine::{DomainEvent, EventEnvelope, TenantId, TicketEvent, TimesheetEvent};
use futures::StreamExt;
use serde_json::{json, Value};
use uuid::Uuid;

/// E-mails of one batch sent at the same time.
const SEND_CONCURRENCY: usize = 8;
/// Rows per INSERT when planning.
const INSERT_CHUNK: usize = 500;

/// Why a delivery step failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The database failed (retry).
    #[error(transparent)]
    Db(#[from] DbError),
    /// Redis (the rate limit) failed (retry).
    #[error("rate limit: {0}")]
    Redis(#[from] redis::RedisError),
    /// The SMTP server could not take mail now (retry with backoff).
    #[error("SMTP: {0}")]
    Smtp(String),
    /// The input can never work (don't retry).
    #[error("{0}")]
    Invalid(String),
}

impl From<diesel::result::Error> for DeliveryError {
    fn from(e: diesel::result::Error) -> Self {
        DeliveryError::Db(DbError::from(e))
    }
}

/// The batch key of an event's fan-out.
pub fn event_batch_key(event_id: Uuid) -> String {
    format!("event:{event_id}")
}

/// What a notification is about, ready for templates and recipients.
struct Subject {
    context: Value,
    candidates: Vec<Candidate>,
    actor: Option<Uuid>,
    link: Option<String>,
    thread: Option<String>,
}

/// Plans `event`'s notifications of `subtype` (idempotent: rows are unique per batch
/// key and recipient; in-app rows per event and user).
pub async fn plan(
    tx: &mut TenantTx,
    mailer: &Mailer,
    event: &EventEnvelope,
    subtype: Subtype,
) -> Result<NotificationPlan, DeliveryError> {
    let batch_key = event_batch_key(event.event_id);
    let switches = super::switches(tx).await?;
    if switches.allows(subtype) {
        if let Some(subject) = load_subject(tx, mailer, event, subtype).await? {
            queue(tx, mailer, event, subtype, &switches, &batch_key, subject).await?;
        }
    }
    counts(tx, &batch_key, Some(event.event_id)).await
}

async fn counts(
    tx: &mut TenantTx,
    batch_key: &str,
    event_id: Option<Uuid>,
) -> Result<NotificationPlan, DeliveryError> {
    let statuses: Vec<String> = notification_log::table
        .filter(notification_log::batch_key.eq(batch_key))
        .select(notification_log::status)
        .load(tx.conn())
        .await?;
    let held = statuses
        .iter()
        .filter(|s| *s == "held" || *s == "digested")
        .count();
    let in_app: i64 = match event_id {
        Some(id) => {
            in_app_notifications::table
                .filter(in_app_notifications::event_id.eq(id))
                .count()
                .get_result(tx.conn())
                .await?
        }
        None => 0,
    };
    Ok(NotificationPlan {
        batch_key: batch_key.to_owned(),
        emails: u32::try_from(statuses.len() - held).unwrap_or(u32::MAX),
        digest: u32::try_from(held).unwrap_or(u32::MAX),
        in_app: u32::try_from(in_app).unwrap_or(u32::MAX),
    })
}

async fn tenant_name(tx: &mut TenantTx) -> Result<String, DbError> {
    Ok(tenants::table
        .find(tx.tenant().0)
        .select(tenants::name)
        .first(tx.conn())
        .await?)
}

async fn load_subject(
    tx: &mut TenantTx,
    mailer: &Mailer,
    event: &EventEnvelope,
    subtype: Subtype,
) -> Result<Option<Subject>, DeliveryError> {
    let ticket_event = match &event.event {
        DomainEvent::TicketCreated(t)
        | DomainEvent::TicketUpdated(t)
        | DomainEvent::TicketStatusChanged(t)
        | DomainEvent::TicketAssigned(t)
        | DomainEvent::TicketCommentAdded(t)
        | DomainEvent::TicketSlaWarning(t)
        | DomainEvent::TicketSlaBreached(t)
        | DomainEvent::TicketEscalated(t) => t,
        DomainEvent::TimesheetSubmitted(t)
        | DomainEvent::TimesheetApprovalReminder(t)
        | DomainEvent::TimesheetApproved(t)
        | DomainEvent::TimesheetChangesRequested(t) => {
            return timesheet_subject(tx, mailer, t, subtype, event.occurred_at).await
        }
        other => {
            tracing::warn!(
                event = other.type_name(),
                "no recipients known for this event"
            );
            return Ok(None);
        }
    };
    ticket_subject(tx, mailer, ticket_event, subtype).await
}

async fn ticket_subject(
    tx: &mut TenantTx,
    mailer: &Mailer,
    event: &TicketEvent,
    subtype: Subtype,
) -> Result<Option<Subject>, DeliveryError> {
    let Some(ticket) = crate::tickets::find_ticket(tx, event.id).await? else {
        return Ok(None);
    };
    let client_name: String = clients::table
        .find((tx.tenant().0, ticket.client_id))
        .select(clients::name)
        .first(tx.conn())
        .await?;
    let contact: Option<(Uuid, String, Option<String>)> = match ticket.contact_id {
        Some(id) => contacts::table
            .find((tx.tenant().0, id))
            .select((contacts::id, contacts::full_name, contacts::email))
            .first(tx.conn())
            .await
            .optional()?,
        None => None,
    };
    let board_manager: Option<Uuid> = boards::table
        .find((tx.tenant().0, ticket.board_id))
        .select(boards::manager_id)
        .first(tx.conn())
        .await?;
    let escalation_managers: Vec<Uuid> = ticket_agents::table
        .filter(ticket_agents::ticket_id.eq(ticket.id))
        .filter(ticket_agents::role.eq("escalation_manager"))
        .select(ticket_agents::user_id)
        .load(tx.conn())
        .await?;
    let comment = match event.comment_id {
        Some(id) => ticket_comments::table
            .find((tx.tenant().0, id))
            .select((
                ticket_comments::body,
                ticket_comments::is_internal,
                ticket_comments::author_kind,
                ticket_comments::author_id,
            ))
            .first::<(String, bool, String, Option<Uuid>)>(tx.conn())
            .await
            .optional()?,
        None => None,
    };
    let mut user_ids: Vec<Uuid> = ticket.additional_agents.clone();
    user_ids.extend(ticket.assigned_to);
    user_ids.extend(board_manager);
    user_ids.extend(event.user_id);
    user_ids.extend(escalation_managers.iter().copied());
    if let Some((_, _, kind, Some(author))) = &comment {
        if kind == "technician" {
            user_ids.push(*author);
        }
    }
    let people = super::active_users(tx, &user_ids).await?;
    let name_of = |id: Option<Uuid>| {
        id.and_then(|id| people.get(&id))
            .map(|(name, _)| name.clone())
            .unwrap_or_default()
    };
    let user = |id: Uuid, role: RecipientRole| {
        people.get(&id).map(|(name, email)| Candidate {
            user_id: Some(id),
            contact_id: None,
            name: name.clone(),
            email: Some(email.clone()),
            role,
        })
    };
    let internal_comment = comment
        .as_ref()
        .is_some_and(|(_, internal, _, _)| *internal);
    let mut candidates = Vec::new();
    for role in recipients::roles_for(subtype) {
        match role {
            RecipientRole::Assignee => {
                candidates.extend(ticket.assigned_to.and_then(|id| user(id, *role)))
            }
            RecipientRole::Watcher => candidates.extend(
                ticket
                    .additional_agents
                    .iter()
                    .filter_map(|id| user(*id, *role)),
            ),
            RecipientRole::ClientContact if !internal_comment => {
                candidates.extend(contact.as_ref().and_then(|(id, name, email)| {
                    email.as_ref().map(|email| Candidate {
                        user_id: None,
                        contact_id: Some(*id),
                        name: name.clone(),
                        email: Some(email.clone()),
                        role: *role,
                    })
                }))
            }
            RecipientRole::BoardManager => {
                candidates.extend(board_manager.and_then(|id| user(id, *role)))
            }
            RecipientRole::EscalationManager => {
                let mut managers: Vec<Uuid> = event.user_id.into_iter().collect();
                managers.extend(escalation_managers.iter().copied());
                candidates.extend(managers.into_iter().filter_map(|id| user(id, *role)));
            }
            _ => {}
        }
    }
    // A contact who wrote the comment is not mailed their own words; a technician
    // author is the actor, left out by the planner.
    let actor = match &comment {
        Some((_, _, kind, author)) if kind == "technician" => *author,
        Some((_, _, kind, Some(author))) if kind == "contact" => {
            candidates.retain(|c| c.contact_id != Some(*author));
            None
        }
        _ => None,
    };
    let url = format!(
        "{}/tickets/{}",
        mailer.config.public_url.trim_end_matches('/'),
        ticket.id
    );
    let comment_json = comment.as_ref().map(|(body, internal, kind, author)| {
        let author_name = match (kind.as_str(), author) {
            ("technician", Some(_)) => name_of(*author),
            ("contact", _) => contact.as_ref().map(|c| c.1.clone()).unwrap_or_default(),
            _ => "Keel".to_owned(),
        };
        json!({"body": body, "internal": internal, "author": author_name})
    });
    let context = json!({
        "ticket": {
            "number": ticket.number,
            "title": ticket.title,
            "description": ticket.description,
            "status": ticket.status,
            "priority": ticket.priority,
            "board": ticket.board,
            "client_name": client_name,
            "contact_name": contact.as_ref().map(|c| c.1.clone()).unwrap_or_default(),
            "assignee_name": name_of(ticket.assigned_to),
            "url": url,
        },
        "changes": event.changed,
        "comment": comment_json.unwrap_or_else(|| json!({"body": "", "internal": false, "author": ""})),
        "sla": {
            "measure": event.measure.clone().unwrap_or_default(),
            "percent": event.percent.unwrap_or(0),
            "due_at": match event.measure.as_deref() {
                Some("response") => ticket.response_due_at,
                _ => ticket.resolution_due_at,
            }
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        },
        "escalation": {
            "level": event.level.map(i64::from).unwrap_or(i64::from(ticket.escalation_level)),
            "manager_name": name_of(event.user_id),
        },
    });
    Ok(Some(Subject {
        context,
        candidates,
        actor,
        link: Some(url),
        thread: Some(format!("ticket-{}", ticket.id)),
    }))
}

/// Active users whose roles grant `timesheet:approve`.
async fn approvers(tx: &mut TenantTx) -> Result<Vec<Uuid>, DbError> {
    let roles: Vec<Uuid> = role_permissions::table
        .filter(role_permissions::permission.eq(engine::Permission::TIMESHEET_APPROVE.name))
        .select(role_permissions::role_id)
        .load(tx.conn())
        .await?;
    let mut users: Vec<Uuid> = role_assignments::table
        .filter(role_assignments::role_id.eq_any(&roles))
        .select(role_assignments::user_id)
        .load(tx.conn())
        .await?;
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

/// Approvers hear of submissions and reminders (the owner only where the tenant
/// allows self-approval); the owner hears of decisions.
async fn timesheet_subject(
    tx: &mut TenantTx,
    mailer: &Mailer,
    event: &TimesheetEvent,
    subtype: Subtype,
    occurred_at: DateTime<Utc>,
) -> Result<Option<Subject>, DeliveryError> {
    let Some(sheet) = crate::time::find_sheet(tx, event.id, false).await? else {
        return Ok(None);
    };
    let allow_self = crate::time::periods::settings(tx)
        .await?
        .allow_self_approval;
    let mut ids = approvers(tx).await?;
    if !allow_self {
        ids.retain(|id| *id != sheet.user_id);
    }
    let approver_ids = ids.clone();
    ids.push(sheet.user_id);
    ids.extend(event.actor);
    let people = super::active_users(tx, &ids).await?;
    let user = |id: Uuid, role: RecipientRole| {
        people.get(&id).map(|(name, email)| Candidate {
            user_id: Some(id),
            contact_id: None,
            name: name.clone(),
            email: Some(email.clone()),
            role,
        })
    };
    let mut candidates = Vec::new();
    for role in recipients::roles_for(subtype) {
        match role {
            RecipientRole::Approver => {
                candidates.extend(approver_ids.iter().filter_map(|id| user(*id, *role)))
            }
            RecipientRole::Owner => candidates.extend(user(sheet.user_id, *role)),
            _ => {}
        }
    }
    let minutes: Vec<i32> = time_entries::table
        .filter(time_entries::timesheet_id.eq(sheet.id))
        .filter(time_entries::deleted_at.is_null())
        .select(time_entries::minutes)
        .load(tx.conn())
        .await?;
    let total_minutes: i64 = minutes.iter().map(|m| i64::from(*m)).sum();
    let name_of = |id: Option<Uuid>| {
        id.and_then(|id| people.get(&id))
            .map(|(name, _)| name.clone())
            .unwrap_or_default()
    };
    let url = format!(
        "{}/time/approvals/{}",
        mailer.config.public_url.trim_end_matches('/'),
        sheet.id
    );
    let waiting_hours = sheet
        .submitted_at
        .map_or(0, |at| (occurred_at - at).num_hours().max(0));
    let context = json!({
        "timesheet": {
            "user_name": name_of(Some(sheet.user_id)),
            "approver_name": name_of(event.actor),
            "period_start": sheet.period_start.to_string(),
            "period_end": sheet.period_end.pred_opt().unwrap_or(sheet.period_end).to_string(),
            "total_hours": format!("{}.{:02}", total_minutes / 60, (total_minutes % 60) * 100 / 60),
            "reason": event.reason.clone().unwrap_or_default(),
            "reversed": event.reversed,
            "waiting_hours": waiting_hours,
            "url": url,
        },
    });
    Ok(Some(Subject {
        context,
        candidates,
        actor: event.actor,
        link: Some(url),
        thread: Some(format!("timesheet-{}-{}", sheet.id, event.submission)),
    }))
}

/// One row to insert into `notification_log`.
struct Row {
    id: Uuid,
    delivery: PlannedDelivery,
    email: String,
    rendered: templates::RenderedEmail,
    unsubscribe_url: Option<String>,
}

async fn queue(
    tx: &mut TenantTx,
    mailer: &Mailer,
    event: &EventEnvelope,
    subtype: Subtype,
    switches: &Switches,
    batch_key: &str,
    subject: Subject,
) -> Result<(), DeliveryError> {
    let user_ids: Vec<Uuid> = subject
        .candidates
        .iter()
        .filter_map(|c| c.user_id)
        .collect();
    let preferences = super::preferences_for(tx, subtype, &user_ids).await?;
    let planned = recipients::plan(
        subtype,
        switches,
        subject.candidates,
        &preferences,
        subject.actor,
    );
    if planned.is_empty() {
        return Ok(());
    }
    let key = TemplateKey::Subtype(subtype);
    let set = super::template_in_force(tx, key, templates::DEFAULT_LOCALE).await?;
    let tenant = tx.tenant();
    let mut context = subject.context;
    context["tenant"] = json!({"name": tenant_name(tx).await?});
    context["link"] = json!(subject.link.clone().unwrap_or_default());
    let domain = route_domain(tx, mailer).await;
    let mut rows = Vec::new();
    let mut in_app = Vec::new();
    for delivery in planned {
        let unsubscribe_url = delivery.recipient.user_id.map(|user_id| {
            unsubscribe::url(
                &mailer.config,
                Unsubscribe {
                    tenant,
                    user_id,
                    subtype,
                },
            )
        });
        context["recipient"] = json!({
            "name": delivery.recipient.name,
            "email": delivery.email.clone().or(delivery.recipient.email.clone()).unwrap_or_default(),
        });
        context["unsubscribe_url"] = json!(unsubscribe_url.clone().unwrap_or_default());
        let rendered = templates::render(&set, &context)
            .map_err(|e| DeliveryError::Invalid(format!("rendering {}: {e}", key.as_str())))?;
        if delivery.in_app {
            if let Some(user) = delivery.recipient.user_id {
                in_app.push((
                    in_app_notifications::tenant.eq(tenant.0),
                    in_app_notifications::id.eq(Uuid::now_v7()),
                    in_app_notifications::user_id.eq(user),
                    in_app_notifications::event_id.eq(event.event_id),
                    in_app_notifications::subtype.eq(subtype.as_str()),
                    in_app_notifications::title.eq(rendered.subject.clone()),
                    in_app_notifications::body.eq(summary(&rendered.text)),
                    in_app_notifications::link.eq(subject.link.clone()),
                ));
            }
        }
        if let Some(email) = delivery.email.clone() {
            rows.push(Row {
                id: Uuid::now_v7(),
                delivery,
                email,
                rendered,
                unsubscribe_url,
            });
        }
    }
    for chunk in in_app.chunks(INSERT_CHUNK) {
        diesel::insert_into(in_app_notifications::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(tx.conn())
            .await?;
    }
    let thread = subject.thread.map(|t| format!("<{t}@{domain}>"));
    for chunk in rows.chunks(INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|row| {
                let status = match row.delivery.delivery {
                    Delivery::Immediate => "queued",
                    Delivery::Digest => "held",
                };
                (
                    notification_log::tenant.eq(tenant.0),
                    notification_log::id.eq(row.id),
                    notification_log::batch_key.eq(batch_key),
                    notification_log::event_id.eq(event.event_id),
                    notification_log::template_key.eq(subtype.as_str()),
                    notification_log::recipient_user_id.eq(row.delivery.recipient.user_id),
                    notification_log::recipient_contact_id.eq(row.delivery.recipient.contact_id),
                    notification_log::recipient_name.eq(&row.delivery.recipient.name),
                    notification_log::recipient_email.eq(&row.email),
                    notification_log::status.eq(status),
                    notification_log::subject.eq(&row.rendered.subject),
                    notification_log::text_body.eq(&row.rendered.text),
                    notification_log::html_body.eq(&row.rendered.html),
                    (
                        notification_log::link.eq(subject.link.clone()),
                        notification_log::message_id.eq(format!("<{}@{domain}>", row.id.simple())),
                        notification_log::in_reply_to.eq(thread.clone()),
                        notification_log::thread_references
                            .eq(thread.iter().cloned().collect::<Vec<_>>()),
                        notification_log::unsubscribe_url.eq(row.unsubscribe_url.clone()),
                    ),
                )
            })
            .collect();
        diesel::insert_into(notification_log::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// The first lines of a text body, for in-app notifications.
fn summary(text: &str) -> String {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .skip(1)
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    body.chars().take(300).collect()
}

/// The domain of the tenant's sender, for Message-IDs (the route may be
/// unavailable while planning; ids still need a domain).
async fn route_domain(tx: &mut TenantTx, mailer: &Mailer) -> String {
    match mailer.route(tx).await {
        Ok(route) => route.domain().to_owned(),
        Err(_) => "keel.invalid".to_owned(),
    }
}

#[derive(Queryable)]
struct Queued {
    id: Uuid,
    recipient_name: String,
    recipient_email: String,
    subject: String,
    text_body: String,
    html_body: String,
    message_id: String,
    in_reply_to: Option<String>,
    thread_references: Vec<String>,
    unsubscribe_url: Option<String>,
}

async fn queued_count(tx: &mut TenantTx, batch_key: &str) -> Result<u32, DbError> {
    let n: i64 = notification_log::table
        .filter(notification_log::batch_key.eq(batch_key))
        .filter(notification_log::status.eq("queued"))
        .count()
        .get_result(tx.conn())
        .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Sends up to `max` queued e-mails of `batch_key` within the tenant's rate limit;
/// see the `notifications.send_batch` contract.
pub async fn send_batch(
    db: &Db,
    mailer: &Mailer,
    limiter: &MailRateLimiter,
    tenant: TenantId,
    batch_key: &str,
    max: u32,
    reserved: u32,
) -> Result<SentBatch, DeliveryError> {
    let mut tx = db.tenant_tx(tenant).await?;
    let queued = queued_count(&mut tx, batch_key).await?;
    if queued == 0 {
        return Ok(SentBatch::default());
    }
    let slots = if reserved > 0 {
        reserved
    } else {
        let limit = super::rate_limit(&mut tx).await?;
        let grant = limiter
            .take(tenant.0, limit, queued.min(max.max(1)))
            .await?;
        if !grant.wait.is_zero() {
            return Ok(SentBatch {
                remaining: queued,
                reserved: grant.slots,
                wait_ms: u64::try_from(grant.wait.as_millis()).unwrap_or(u64::MAX),
                ..SentBatch::default()
            });
        }
        grant.slots
    };
    let route = mailer.route(&mut tx).await.map_err(|e| match e {
        SendError::Transient(m) | SendError::Permanent(m) => DeliveryError::Smtp(m),
    })?;
    let rows: Vec<Queued> = notification_log::table
        .filter(notification_log::batch_key.eq(batch_key))
        .filter(notification_log::status.eq("queued"))
        .order(notification_log::id)
        .limit(i64::from(slots))
        .select((
            notification_log::id,
            notification_log::recipient_name,
            notification_log::recipient_email,
            notification_log::subject,
            notification_log::text_body,
            notification_log::html_body,
            notification_log::message_id,
            notification_log::in_reply_to,
            notification_log::thread_references,
            notification_log::unsubscribe_url,
        ))
        .load(tx.conn())
        .await?;
    tx.commit().await?;
    let outcomes: Vec<Result<bool, DeliveryError>> = futures::stream::iter(rows)
        .map(|row| send_one(db, mailer, &route, tenant, row))
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
    let mut sent = 0;
    let mut failed = 0;
    let mut transient = None;
    for outcome in outcomes {
        match outcome {
            Ok(true) => sent += 1,
            Ok(false) => failed += 1,
            Err(e) => transient = Some(e),
        }
    }
    if let Some(e) = transient {
        return Err(e);
    }
    let mut tx = db.tenant_tx(tenant).await?;
    let remaining = queued_count(&mut tx, batch_key).await?;
    tx.commit().await?;
    Ok(SentBatch {
        sent,
        failed,
        remaining,
        reserved: 0,
        wait_ms: 0,
    })
}

/// Sends one row and records the outcome at once, so a crash right after a send
/// leaves the smallest possible window for a duplicate. `Ok(true)` sent,
/// `Ok(false)` refused for good, `Err` try again later.
async fn send_one(
    db: &Db,
    mailer: &Mailer,
    route: &Route,
    tenant: TenantId,
    row: Queued,
) -> Result<bool, DeliveryError> {
    let envelope = Envelope {
        to_name: &row.recipient_name,
        to_email: &row.recipient_email,
        subject: &row.subject,
        text: &row.text_body,
        html: &row.html_body,
        message_id: &row.message_id,
        in_reply_to: row.in_reply_to.as_deref(),
        references: &row.thread_references,
        unsubscribe_url: row.unsubscribe_url.as_deref(),
    };
    let outcome = match build_message(route, &envelope) {
        Ok(message) => mailer.send(route, message).await,
        Err(e) => Err(e),
    };
    if let Ok(reply) = &outcome {
        // The commit that follows the server's 250 is one round trip: the shorter
        // this window, the smaller the chance that a worker dying in it sends the
        // e-mail again on retry.
        let sql = format!(
            "UPDATE notification_log SET status = 'sent', sent_at = now(), attempts = attempts + 1, \
             smtp_response = {}, last_error = NULL WHERE tenant = '{}' AND id = '{}' AND status = 'queued'",
            crate::db::quote_literal(reply),
            tenant.0,
            row.id
        );
        db.tenant_batch(tenant, &sql).await?;
        return Ok(true);
    }
    let mut tx = db.tenant_tx(tenant).await?;
    let this = notification_log::table
        .filter(notification_log::id.eq(row.id))
        .filter(notification_log::status.eq("queued"));
    let result = match &outcome {
        Ok(_) => Ok(true),
        Err(SendError::Permanent(reason)) => {
            diesel::update(this)
                .set((
                    notification_log::status.eq("failed"),
                    notification_log::failed_at.eq(Utc::now()),
                    notification_log::attempts.eq(notification_log::attempts + 1),
                    notification_log::smtp_response.eq(reason),
                    notification_log::last_error.eq(reason),
                ))
                .execute(tx.conn())
                .await?;
            Ok(false)
        }
        Err(SendError::Transient(reason)) => {
            diesel::update(this)
                .set((
                    notification_log::attempts.eq(notification_log::attempts + 1),
                    notification_log::last_error.eq(reason),
                ))
                .execute(tx.conn())
                .await?;
            Err(DeliveryError::Smtp(reason.clone()))
        }
    };
    tx.commit().await?;
    result
}

/// Marks the still-queued e-mails of `batch_key` failed with `reason`.
pub async fn abandon(tx: &mut TenantTx, batch_key: &str, reason: &str) -> Result<u32, DbError> {
    let n = diesel::update(
        notification_log::table
            .filter(notification_log::batch_key.eq(batch_key))
            .filter(notification_log::status.eq("queued")),
    )
    .set((
        notification_log::status.eq("failed"),
        notification_log::failed_at.eq(Utc::now()),
        notification_log::last_error.eq(reason),
    ))
    .execute(tx.conn())
    .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

#[derive(Queryable)]
struct Held {
    id: Uuid,
    recipient_user_id: Option<Uuid>,
    recipient_name: String,
    recipient_email: String,
    subject: String,
    link: Option<String>,
    queued_at: DateTime<Utc>,
}

/// Queues one digest e-mail per recipient of the rows held up to `up_to` under
/// `batch_key`, and marks those rows digested (idempotent: a retry finds them
/// digested and the digests queued).
pub async fn collect_digest(
    tx: &mut TenantTx,
    mailer: &Mailer,
    batch_key: &str,
    up_to: DateTime<Utc>,
) -> Result<NotificationPlan, DeliveryError> {
    let held: Vec<Held> = notification_log::table
        .filter(notification_log::status.eq("held"))
        .filter(notification_log::queued_at.le(up_to))
        .order((notification_log::recipient_email, notification_log::id))
        .select((
            notification_log::id,
            notification_log::recipient_user_id,
            notification_log::recipient_name,
            notification_log::recipient_email,
            notification_log::subject,
            notification_log::link,
            notification_log::queued_at,
        ))
        .load(tx.conn())
        .await?;
    if !held.is_empty() {
        let key = TemplateKey::DailyDigest;
        let set = super::template_in_force(tx, key, templates::DEFAULT_LOCALE).await?;
        let tenant = tx.tenant();
        let tenant_name = tenant_name(tx).await?;
        let domain = route_domain(tx, mailer).await;
        let preferences_url = format!(
            "{}/notifications/preferences",
            mailer.config.public_url.trim_end_matches('/')
        );
        let mut by_recipient: Vec<(String, Vec<&Held>)> = Vec::new();
        for row in &held {
            match by_recipient.last_mut() {
                Some((email, rows)) if *email == row.recipient_email => rows.push(row),
                _ => by_recipient.push((row.recipient_email.clone(), vec![row])),
            }
        }
        for (email, rows) in by_recipient {
            let first = rows[0];
            let items: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "subject": r.subject,
                        "link": r.link.clone().unwrap_or_default(),
                        "at": r.queued_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    })
                })
                .collect();
            let context = json!({
                "tenant": {"name": tenant_name},
                "recipient": {"name": first.recipient_name, "email": email},
                "link": preferences_url,
                "unsubscribe_url": preferences_url,
                "count": items.len(),
                "items": items,
            });
            let rendered = templates::render(&set, &context)
                .map_err(|e| DeliveryError::Invalid(format!("rendering the digest: {e}")))?;
            let id = Uuid::now_v7();
            diesel::insert_into(notification_log::table)
                .values((
                    notification_log::tenant.eq(tenant.0),
                    notification_log::id.eq(id),
                    notification_log::batch_key.eq(batch_key),
                    notification_log::template_key.eq(key.as_str()),
                    notification_log::recipient_user_id.eq(first.recipient_user_id),
                    notification_log::recipient_name.eq(&first.recipient_name),
                    notification_log::recipient_email.eq(&email),
                    notification_log::status.eq("queued"),
                    notification_log::subject.eq(&rendered.subject),
                    notification_log::text_body.eq(&rendered.text),
                    notification_log::html_body.eq(&rendered.html),
                    notification_log::link.eq(&preferences_url),
                    notification_log::message_id.eq(format!("<{}@{domain}>", id.simple())),
                ))
                .execute(tx.conn())
                .await?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            diesel::update(notification_log::table.filter(notification_log::id.eq_any(ids)))
                .set((
                    notification_log::status.eq("digested"),
                    notification_log::digest_id.eq(id),
                ))
                .execute(tx.conn())
                .await?;
        }
    }
    let mut plan = counts(tx, batch_key, None).await?;
    plan.digest = u32::try_from(held.len()).unwrap_or(u32::MAX);
    Ok(plan)
}
