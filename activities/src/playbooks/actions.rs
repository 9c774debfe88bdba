//! What each playbook action does, as the run's user. Arguments were checked
//! against the catalogue by the script runtime; here they are checked again
//! exactly as the REST API checks the same data, and the user's permissions bound
//! what a run may do.

use crate::clients::{self, ClientFilter};
use crate::db::{DbError, TenantTx};
use crate::pagination::PageRequest;
use crate::records::RecordError;
use crate::schema::playbook_kv;
use crate::tickets::{self, comments, TicketFilter};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use dsl::catalogue;
use engine::tickets::{TicketInput, TicketPatch};
use engine::validation::contains_pattern;
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
    match action {
        "create_ticket" => create_ticket(tx, args, run_as).await,
        "find_tickets" => find_tickets(tx, args).await,
        "update_ticket" => update_ticket(tx, args, run_as).await,
        "add_comment" => add_comment(tx, args, run_as).await,
        "find_clients" => find_clients(tx, args).await,
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

fn parse<T: DeserializeOwned>(action: &str, value: Value) -> Result<T, ActionError> {
    serde_json::from_value(value).map_err(|e| ActionError::Refused(format!("{action}(): {e}")))
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
    let id = uuid_field(args, "ticket_id")?;
    let mut fields = args.clone();
    if let Some(map) = fields.as_object_mut() {
        map.remove("ticket_id");
    }
    let patch: TicketPatch = parse("update_ticket", fields)?;
    let ticket = tickets::update_ticket(tx, id, patch, Some(run_as)).await?;
    to_json(ticket)
}

async fn add_comment(tx: &mut TenantTx, args: &Value, run_as: Uuid) -> Result<Value, ActionError> {
    let id = uuid_field(args, "ticket_id")?;
    let body = args
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if body.is_empty() || body.len() > 65_536 {
        return Err(ActionError::Refused(
            "body must be 1 to 65536 characters".into(),
        ));
    }
    let internal = args
        .get("internal")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let (comment, _) = comments::add_comment(tx, id, body, internal, run_as).await?;
    to_json(comment)
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
