//! What each playbook action does, as the run's user. Arguments were checked
//! against the catalogue by the script runtime; here they are checked again
//! exactly as the REST API checks the same data, and the user's permissions bound
//! what a run may do.

mod admin;
mod billing;
pub mod http;
mod inbox;
mod kv;
mod mail;
mod records;
mod tickets;

use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use dsl::catalogue;
use serde::de::DeserializeOwned;
use serde_json::Value;
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
    check_call(tx, action, args, run_as).await?;
    dispatch(tx, action, args, run_as)
        .await
        .map_err(|error| match error {
            ActionError::Refused(m) if !m.starts_with(action) => {
                ActionError::Refused(format!("{action}(): {m}"))
            }
            other => other,
        })
}

/// Checks an `http_request` call as [`perform`] checks any call, then against the
/// tenant's HTTP allow-list. Sending it is the caller's job, with no transaction
/// open.
pub async fn prepare_http_request(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<http::HttpCall, ActionError> {
    check_call(tx, "http_request", args, run_as).await?;
    http::prepare(tx, args).await
}

/// The action exists, the arguments fit its fields, and the run's user holds its
/// permission.
async fn check_call(
    tx: &mut TenantTx,
    action: &str,
    args: &Value,
    run_as: Uuid,
) -> Result<(), ActionError> {
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
    require_permission(tx, run_as, spec.permission.name).await
}

async fn dispatch(
    tx: &mut TenantTx,
    action: &str,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    match action {
        "create_ticket" => tickets::create_ticket(tx, args, run_as).await,
        "find_tickets" => tickets::find_tickets(tx, args).await,
        "update_ticket" => tickets::update_ticket(tx, args, run_as).await,
        "add_comment" => tickets::add_comment(tx, args, run_as).await,
        "close_ticket" => tickets::close_ticket(tx, args, run_as).await,
        "assign_ticket" => tickets::assign_ticket(tx, args, run_as).await,
        "find_clients" => records::find_clients(tx, args).await,
        "create_client" => records::create_client(tx, args, run_as).await,
        "update_client" => records::update_client(tx, args, run_as).await,
        "create_contact" => records::create_contact(tx, args, run_as).await,
        "add_client_note" => records::add_client_note(tx, args, run_as).await,
        "find_assets" => records::find_assets(tx, args).await,
        "update_asset" => records::update_asset(tx, args, run_as).await,
        "create_time_entry" => records::create_time_entry(tx, args, run_as).await,
        "notify_user" => inbox::notify_user(tx, args).await,
        "send_email" => mail::send_email(tx, args).await,
        "find_invoices" => billing::find_invoices(tx, args).await,
        "kv_get" => kv::kv_get(tx, args).await,
        "kv_set" => kv::kv_set(tx, args).await,
        "kv_increment" => kv::kv_increment(tx, args).await,
        "disable_user" => admin::disable_user(tx, args, run_as).await,
        "start_playbook" => admin::start_playbook(tx, args, run_as).await,
        // Sent outside the transaction: see `prepare_http_request`.
        "http_request" => Err(ActionError::Refused(
            "http_request is sent by its own activity path, not inside a transaction".into(),
        )),
        other => Err(ActionError::Refused(format!("{other} is not implemented"))),
    }
}

/// The run's user must be active and hold `permission` through a role.
async fn require_permission(
    tx: &mut TenantTx,
    user: Uuid,
    permission: &str,
) -> Result<(), ActionError> {
    let wanted = [permission.to_owned()];
    if crate::playbooks::manifest::missing_permissions(tx, user, &wanted)
        .await?
        .is_empty()
    {
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
