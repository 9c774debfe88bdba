//! Ticket actions: open, find, change, comment on, close and assign.

use super::{
    id_and_patch, limit_of, parse, rename_field, text_field, to_json, uuid_field, ActionError,
};
use crate::db::TenantTx;
use crate::pagination::PageRequest;
use crate::records::RecordError;
use crate::tickets::{self, comments, config, TicketFilter};
use engine::tickets::{TicketInput, TicketPatch};
use engine::validation::contains_pattern;
use serde_json::{json, Value};
use uuid::Uuid;

pub(super) async fn create_ticket(
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

pub(super) async fn find_tickets(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
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

pub(super) async fn update_ticket(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let (id, patch): (_, TicketPatch) = id_and_patch("update_ticket", args, "ticket_id")?;
    let ticket = tickets::update_ticket(tx, id, patch, Some(run_as)).await?;
    to_json(ticket)
}

pub(super) async fn add_comment(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let id = uuid_field(args, "ticket_id")?;
    let body = comment_text(args, "body")?;
    let internal = args
        .get("internal")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let (comment, _) = comments::add_comment(tx, id, body, internal, run_as).await?;
    to_json(comment)
}

pub(super) fn comment_text<'a>(args: &'a Value, field: &str) -> Result<&'a str, ActionError> {
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
pub(super) async fn close_ticket(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
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

pub(super) async fn assign_ticket(
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
