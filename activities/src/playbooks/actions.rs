//! What each playbook action does, as the run's user. Arguments were checked
//! against the catalogue by the script runtime; here they are checked again
//! exactly as the REST API checks the same data, and the user's permissions bound
//! what a run may do.

use crate::assets::{self, AssetFilter};
use crate::clients::{self, ClientFilter};
use crate::db::{DbError, TenantTx};
use crate::notifications::InAppNotification;
use crate::pagination::PageRequest;
use crate::records::RecordError;
use crate::schema::{in_app_notifications, playbook_kv};
use crate::tickets::{self, comments, config, TicketFilter};
use crate::{contacts, interactions, time};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use dsl::catalogue;
use engine::assets::AssetPatch;
use engine::clients::{ClientInput, ClientPatch};
use engine::contacts::ContactInput;
use engine::interactions::InteractionInput;
use engine::tickets::{TicketInput, TicketPatch};
use engine::time::entries::TimeEntryInput;
use engine::validation::{contains_pattern, notes_text, required_text};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use uuid::Uuid;

/// Why an action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The call can never succeed as made (the script sees this message).
    #[error("{0}")]
    Refused(String),
    /// The database failed; the call may be retried.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<RecordError> for ActionError {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::Db(db) => ActionError::Db(db),
            RecordError::Invalid(issues) => {
                let parts: Vec<String> = issues
                    .iter()
                    .map(|i| format!("{} {}", i.field, i.message))
                    .collect();
                ActionError::Refused(parts.join("; "))
            }
            other => ActionError::Refused(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ActionError {
    fn from(error: diesel::result::Error) -> Self {
        ActionError::Db(error.into())
    }
}

/// Performs `action` with `args` as `run_as`.
pub async fn perform(
    tx: &mut TenantTx,
    action: &str,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let spec = catalogue::action(action)
        .ok_or_else(|| ActionError::Refused(format!("no action named {action}")))?;
    dsl::replay::check_fields(spec, args)
        .map_err(|m| ActionError::Refused(format!("{action}(): {m}")))?;
    // PostgreSQL text and jsonb cannot hold U+0000: refuse it rather than fail
    // the transaction and retry.
    if args.to_string().contains("\\u0000") {
        return Err(ActionError::Refused(format!(
            "{action}(): text must not contain the NUL character (U+0000)"
        )));
    }
    require_permission(tx, run_as, spec.permission.name).await?;
    dispatch(tx, action, args, run_as)
        .await
        .map_err(|error| match error {
            ActionError::Refused(m) if !m.starts_with(action) => {
                ActionError::Refused(format!("{action}(): {m}"))
            }
            other => other,
        })
}

async fn dispatch(
    tx: &mut TenantTx,
    action: &str,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    match action {
        "create_ticket" => create_ticket(tx, args, run_as).await,
        "find_tickets" => find_tickets(tx, args).await,
        "update_ticket" => update_ticket(tx, args, run_as).await,
        "add_comment" => add_comment(tx, args, run_as).await,
        "close_ticket" => close_ticket(tx, args, run_as).await,
        "assign_ticket" => assign_ticket(tx, args, run_as).await,
        "find_clients" => find_clients(tx, args).await,
        "create_client" => create_client(tx, args, run_as).await,
        "update_client" => update_client(tx, args, run_as).await,
        "create_contact" => create_contact(tx, args, run_as).await,
        "add_client_note" => add_client_note(tx, args, run_as).await,
        "find_assets" => find_assets(tx, args).await,
        "update_asset" => update_asset(tx, args, run_as).await,
        "create_time_entry" => create_time_entry(tx, args, run_as).await,
        "notify_user" => notify_user(tx, args).await,
        "kv_get" => kv_get(tx, args).await,
        "kv_set" => kv_set(tx, args).await,
        "kv_increment" => kv_increment(tx, args).await,
        other => Err(ActionError::Refused(format!("{other} is not implemented"))),
    }
}

/// The run's user must be active and hold `permission` through a role.
async fn require_permission(
    tx: &mut TenantTx,
    user: Uuid,
    permission: &str,
) -> Result<(), ActionError> {
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        held: bool,
    }
    let held: Held = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM users u \
           JOIN role_assignments ra ON ra.tenant = u.tenant AND ra.user_id = u.id \
           JOIN role_permissions rp ON rp.tenant = ra.tenant AND rp.role_id = ra.role_id \
          WHERE u.id = $1 AND u.is_active AND rp.permission = $2) AS held",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<diesel::sql_types::Text, _>(permission)
    .get_result(tx.conn())
    .await?;
    if held.held {
        Ok(())
    } else {
        Err(ActionError::Refused(format!(
            "the run's user lacks the {permission} permission (or is deactivated)"
        )))
    }
}

/// `value` as the REST input type `T`; a refusal names the first field that does
/// not fit (serde's own message does not).
fn parse<T: DeserializeOwned>(action: &str, value: Value) -> Result<T, ActionError> {
    serde_json::from_value(value.clone()).map_err(|error| {
        let culprit = value.as_object().and_then(|map| {
            map.iter().find_map(|(key, v)| {
                let alone = Value::Object([(key.clone(), v.clone())].into_iter().collect());
                serde_json::from_value::<T>(alone).is_err().then_some(key)
            })
        });
        ActionError::Refused(match culprit {
            Some(key) => format!("{action}(): {key} is invalid: {error}"),
            None => format!("{action}(): {error}"),
        })
    })
}

/// The record id under `id_field`, and the other fields as the patch type `T`.
fn id_and_patch<T: DeserializeOwned>(
    action: &str,
    args: &Value,
    id_field: &str,
) -> Result<(Uuid, T), ActionError> {
    let id = uuid_field(args, id_field)?;
    let mut fields = args.clone();
    if let Some(map) = fields.as_object_mut() {
        map.remove(id_field);
    }
    Ok((id, parse(action, fields)?))
}

fn text_field<'a>(args: &'a Value, field: &str) -> Option<&'a str> {
    args.get(field).and_then(Value::as_str)
}

fn uuid_field(args: &Value, field: &str) -> Result<Uuid, ActionError> {
    args.get(field)
        .and_then(Value::as_str)
        .and_then(|t| Uuid::try_parse(t).ok())
        .ok_or_else(|| ActionError::Refused(format!("{field} must be a UUID")))
}

fn to_json(value: impl serde::Serialize) -> Result<Value, ActionError> {
    serde_json::to_value(value).map_err(|e| ActionError::Refused(e.to_string()))
}

fn limit_of(args: &Value) -> i64 {
    args.get("limit")
        .and_then(Value::as_i64)
        .unwrap_or(20)
        .clamp(1, 50)
}

async fn create_ticket(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let mut fields = args.clone();
    fields["origin"] = json!("playbook");
    let input: TicketInput = parse("create_ticket", fields)?;
    let draft = input.validate().map_err(RecordError::Invalid)?;
    let ticket = tickets::create_ticket(tx, &draft, Some(run_as)).await?;
    to_json(ticket)
}

async fn find_tickets(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let text = args.get("text").and_then(Value::as_str);
    let search = contains_pattern(text).map_err(|e| ActionError::Refused(format!("text {e}")))?;
    let open = args.get("open").and_then(Value::as_bool);
    let filter = TicketFilter {
        client_id: args
            .get("client_id")
            .and_then(Value::as_str)
            .and_then(|t| Uuid::try_parse(t).ok()),
        status: args
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_owned),
        assigned_to: args
            .get("assigned_to")
            .and_then(Value::as_str)
            .and_then(|t| Uuid::try_parse(t).ok()),
        open_only: open == Some(true),
        search,
        ..TicketFilter::default()
    };
    let page = PageRequest {
        limit: limit_of(args),
        after: None,
    };
    let mut found = tickets::list_tickets(tx, &filter, page, 0).await?.data;
    if open == Some(false) {
        found.retain(|t| t.is_closed);
    }
    to_json(found)
}

async fn update_ticket(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let (id, patch): (_, TicketPatch) = id_and_patch("update_ticket", args, "ticket_id")?;
    let ticket = tickets::update_ticket(tx, id, patch, Some(run_as)).await?;
    to_json(ticket)
}

async fn add_comment(tx: &mut TenantTx, args: &Value, run_as: Uuid) -> Result<Value, ActionError> {
    let id = uuid_field(args, "ticket_id")?;
    let body = comment_text(args, "body")?;
    let internal = args
        .get("internal")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let (comment, _) = comments::add_comment(tx, id, body, internal, run_as).await?;
    to_json(comment)
}

fn comment_text<'a>(args: &'a Value, field: &str) -> Result<&'a str, ActionError> {
    let body = text_field(args, field).unwrap_or_default().trim();
    if body.is_empty() || body.len() > 65_536 {
        return Err(ActionError::Refused(format!(
            "{field} must be 1 to 65536 characters"
        )));
    }
    Ok(body)
}

/// Comments (if asked), then moves the ticket to the tenant's last closed status
/// through the same update as `PATCH /tickets/{id}`, so the SLA, audit and events
/// see an ordinary close.
async fn close_ticket(tx: &mut TenantTx, args: &Value, run_as: Uuid) -> Result<Value, ActionError> {
    let id = uuid_field(args, "ticket_id")?;
    if args.get("comment").is_some_and(|c| !c.is_null()) {
        let body = comment_text(args, "comment")?;
        let internal = args
            .get("internal")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        comments::add_comment(tx, id, body, internal, run_as).await?;
    }
    let closed = config::list_statuses(tx)
        .await?
        .into_iter()
        .rev()
        .find(|s| s.is_closed)
        .ok_or_else(|| ActionError::Refused("the tenant has no closed ticket status".into()))?;
    let patch = TicketPatch {
        status: Some(Some(closed.name)),
        ..TicketPatch::default()
    };
    to_json(tickets::update_ticket(tx, id, patch, Some(run_as)).await?)
}

async fn assign_ticket(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let id = uuid_field(args, "ticket_id")?;
    let patch = TicketPatch {
        assigned_to: Some(Some(uuid_field(args, "user_id")?)),
        ..TicketPatch::default()
    };
    let ticket = tickets::update_ticket(tx, id, patch, Some(run_as))
        .await
        .map_err(|e| rename_field(e, "assigned_to", "user_id"))?;
    to_json(ticket)
}

/// A field refusal from the REST input type, named as the action's field.
fn rename_field(error: RecordError, from: &str, to: &str) -> RecordError {
    match error {
        RecordError::Invalid(mut issues) => {
            for issue in &mut issues {
                if issue.field == from {
                    issue.field = to.into();
                }
            }
            RecordError::Invalid(issues)
        }
        other => other,
    }
}

async fn find_clients(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let name = args.get("name").and_then(Value::as_str);
    let search = contains_pattern(name).map_err(|e| ActionError::Refused(format!("name {e}")))?;
    let filter = ClientFilter {
        search,
        ..ClientFilter::default()
    };
    let page = PageRequest {
        limit: limit_of(args),
        after: None,
    };
    to_json(clients::list_clients(tx, &filter, page).await?.data)
}

async fn create_client(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let input: ClientInput = parse("create_client", args.clone())?;
    let draft = input.validate().map_err(RecordError::Invalid)?;
    to_json(clients::create_client(tx, &draft, Some(run_as)).await?)
}

async fn update_client(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let (id, patch): (_, ClientPatch) = id_and_patch("update_client", args, "client_id")?;
    to_json(clients::update_client(tx, id, patch, Some(run_as)).await?)
}

async fn create_contact(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let input: ContactInput = parse("create_contact", args.clone())?;
    let draft = input.validate().map_err(RecordError::Invalid)?;
    to_json(contacts::create_contact(tx, &draft, Some(run_as)).await?)
}

/// A `note` interaction by the run's user, as `POST /interactions` logs it.
async fn add_client_note(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let body = text_field(args, "body").unwrap_or_default();
    if body.trim().is_empty() {
        return Err(RecordError::field("body", "is required").into());
    }
    let input = InteractionInput {
        client_id: Some(uuid_field(args, "client_id")?),
        contact_id: args
            .get("contact_id")
            .filter(|v| !v.is_null())
            .map(|_| uuid_field(args, "contact_id"))
            .transpose()?,
        kind: Some("note".into()),
        subject: text_field(args, "subject").map(str::to_owned),
        notes: Some(body.to_owned()),
        user_id: Some(run_as),
        ..InteractionInput::default()
    };
    let note = match input.validate(chrono::Utc::now()) {
        Ok(draft) => interactions::create_interaction(tx, &draft, Some(run_as)).await,
        Err(issues) => Err(RecordError::Invalid(issues)),
    };
    to_json(note.map_err(|e| rename_field(e, "notes", "body"))?)
}

async fn find_assets(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let search = contains_pattern(text_field(args, "text"))
        .map_err(|e| ActionError::Refused(format!("text {e}")))?;
    let filter = AssetFilter {
        client_id: text_field(args, "client_id").and_then(|t| Uuid::try_parse(t).ok()),
        search,
        ..AssetFilter::default()
    };
    let page = PageRequest {
        limit: limit_of(args),
        after: None,
    };
    to_json(assets::list_assets(tx, &filter, page).await?.data)
}

async fn update_asset(tx: &mut TenantTx, args: &Value, run_as: Uuid) -> Result<Value, ActionError> {
    let (id, patch): (_, AssetPatch) = id_and_patch("update_asset", args, "asset_id")?;
    to_json(assets::update_asset(tx, id, patch, Some(run_as)).await?)
}

/// Time of the run's user only: logging for others needs `timesheet:approve` in the
/// API, which a playbook does not ask for.
async fn create_time_entry(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let input: TimeEntryInput = parse("create_time_entry", args.clone())?;
    to_json(time::create_entry(tx, run_as, input, Some(run_as)).await?)
}

/// An in-app notification outside the event fan-out (no event, subtype
/// `playbook`), stored as the fan-out stores its own.
async fn notify_user(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let user = uuid_field(args, "user_id")?;
    let title = required_text(text_field(args, "title"), 200)
        .map_err(|e| RecordError::field("title", e.to_string()))?;
    let body = notes_text(text_field(args, "body"), 1_000)
        .map_err(|e| RecordError::field("body", e.to_string()))?;
    let link = text_field(args, "link")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| inbox_link(l).map(str::to_owned))
        .transpose()?;
    config::require_user(tx, user, "user_id").await?;
    let notification: InAppNotification = diesel::insert_into(in_app_notifications::table)
        .values((
            in_app_notifications::tenant.eq(tx.tenant().0),
            in_app_notifications::id.eq(Uuid::now_v7()),
            in_app_notifications::user_id.eq(user),
            in_app_notifications::subtype.eq("playbook"),
            in_app_notifications::title.eq(title),
            in_app_notifications::body.eq(body),
            in_app_notifications::link.eq(link),
        ))
        .returning(InAppNotification::as_returning())
        .get_result(tx.conn())
        .await?;
    to_json(notification)
}

/// The inbox renders `link` as an `href`: only a path in Keel or an http(s) URL,
/// never `javascript:` or a protocol-relative `//host`.
fn inbox_link(link: &str) -> Result<&str, RecordError> {
    let local = link.starts_with('/') && !link.starts_with("//") && !link.starts_with("/\\");
    let web = link.starts_with("https://") || link.starts_with("http://");
    let clean = link.len() <= 2_000 && !link.chars().any(|c| c.is_whitespace() || c.is_control());
    if (local || web) && clean {
        Ok(link)
    } else {
        Err(RecordError::field(
            "link",
            "must be a path in Keel (/tickets/…) or an http(s) URL, at most 2000 characters",
        ))
    }
}

fn kv_key(args: &Value) -> Result<String, ActionError> {
    let key = args.get("key").and_then(Value::as_str).unwrap_or_default();
    if key.is_empty() || key.chars().count() > 200 || key.contains('\0') {
        return Err(ActionError::Refused(
            "key must be 1 to 200 characters".into(),
        ));
    }
    Ok(key.to_owned())
}

async fn kv_get(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let key = kv_key(args)?;
    let value: Option<Value> = playbook_kv::table
        .find((tx.tenant().0, key))
        .select(playbook_kv::value)
        .first(tx.conn())
        .await
        .optional()?;
    Ok(value.unwrap_or(Value::Null))
}

async fn kv_set(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let key = kv_key(args)?;
    let value = args.get("value").cloned().unwrap_or(Value::Null);
    if value.to_string().len() > 65_536 {
        return Err(ActionError::Refused(
            "value must be at most 64 KiB as JSON".into(),
        ));
    }
    diesel::insert_into(playbook_kv::table)
        .values((
            playbook_kv::tenant.eq(tx.tenant().0),
            playbook_kv::key.eq(&key),
            playbook_kv::value.eq(&value),
        ))
        .on_conflict((playbook_kv::tenant, playbook_kv::key))
        .do_update()
        .set((
            playbook_kv::value.eq(&value),
            playbook_kv::updated_at.eq(chrono::Utc::now()),
        ))
        .execute(tx.conn())
        .await?;
    Ok(Value::Null)
}

async fn kv_increment(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let key = kv_key(args)?;
    let by = args.get("by").and_then(Value::as_i64).unwrap_or(1);
    let current: Option<Value> = playbook_kv::table
        .find((tx.tenant().0, &key))
        .select(playbook_kv::value)
        .for_update()
        .first(tx.conn())
        .await
        .optional()?;
    let start = match current {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or(0),
        Some(_) => {
            return Err(ActionError::Refused(format!(
                "{key} does not hold a whole number"
            )))
        }
    };
    let next = start
        .checked_add(by)
        .ok_or_else(|| ActionError::Refused("the counter would overflow".into()))?;
    kv_set(tx, &json!({ "key": key, "value": next })).await?;
    Ok(json!(next))
}
