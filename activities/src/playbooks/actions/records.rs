//! Client, contact, note, asset and time entry actions.

use super::{
    id_and_patch, limit_of, parse, rename_field, text_field, to_json, uuid_field, ActionError,
};
use crate::assets::{self, AssetFilter};
use crate::clients::{self, ClientFilter};
use crate::db::TenantTx;
use crate::pagination::PageRequest;
use crate::records::RecordError;
use crate::{contacts, interactions, time};
use engine::assets::AssetPatch;
use engine::clients::{ClientInput, ClientPatch};
use engine::contacts::ContactInput;
use engine::interactions::InteractionInput;
use engine::time::entries::TimeEntryInput;
use engine::validation::contains_pattern;
use serde_json::Value;
use uuid::Uuid;

pub(super) async fn find_clients(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
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

pub(super) async fn create_client(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let input: ClientInput = parse("create_client", args.clone())?;
    let draft = input.validate().map_err(RecordError::Invalid)?;
    to_json(clients::create_client(tx, &draft, Some(run_as)).await?)
}

pub(super) async fn update_client(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let (id, patch): (_, ClientPatch) = id_and_patch("update_client", args, "client_id")?;
    to_json(clients::update_client(tx, id, patch, Some(run_as)).await?)
}

pub(super) async fn create_contact(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let input: ContactInput = parse("create_contact", args.clone())?;
    let draft = input.validate().map_err(RecordError::Invalid)?;
    to_json(contacts::create_contact(tx, &draft, Some(run_as)).await?)
}

/// A `note` interaction by the run's user, as `POST /interactions` logs it.
pub(super) async fn add_client_note(
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
        ticket_id: args
            .get("ticket_id")
            .filter(|v| !v.is_null())
            .map(|_| uuid_field(args, "ticket_id"))
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

pub(super) async fn find_assets(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
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

pub(super) async fn update_asset(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let (id, patch): (_, AssetPatch) = id_and_patch("update_asset", args, "asset_id")?;
    to_json(assets::update_asset(tx, id, patch, Some(run_as)).await?)
}

/// Time of the run's user only: logging for others needs `timesheet:approve` in the
/// API, which a playbook does not ask for.
pub(super) async fn create_time_entry(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let input: TimeEntryInput = parse("create_time_entry", args.clone())?;
    to_json(time::create_entry(tx, run_as, input, Some(run_as)).await?)
}
