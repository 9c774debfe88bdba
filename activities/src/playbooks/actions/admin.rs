//! Actions on the tenant itself: deactivating a user, resolving a playbook to start
//! as a child run (the `PlaybookRun` workflow starts the child).

use super::{to_json, uuid_field, ActionError};
use crate::db::TenantTx;
use crate::playbooks::{self, limits, manifest};
use crate::users;
use serde_json::{json, Value};
use uuid::Uuid;

pub(super) async fn disable_user(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let user_id = uuid_field(args, "user_id")?;
    if user_id == run_as {
        return Err(ActionError::Refused(
            "a run cannot deactivate the user it runs as".into(),
        ));
    }
    let user = users::set_active(tx, user_id, false, Some(run_as))
        .await?
        .ok_or_else(|| ActionError::Refused("user_id: no such user".into()))?;
    to_json(json!({
        "id": user.id, "email": user.email, "full_name": user.full_name,
        "is_active": user.is_active,
    }))
}

/// The playbook to start, its current version's source and the input its
/// manifest admits (defaults filled in); the workflow starts the child run with
/// them. Checks what a start from the API checks: the playbook exists, is
/// enabled, its manifest admits the run's user and the input, and the tenant is
/// within its limits.
pub(super) async fn start_playbook(
    tx: &mut TenantTx,
    args: &Value,
    run_as: Uuid,
) -> Result<Value, ActionError> {
    let wanted = args["playbook"].as_str().unwrap_or_default().trim();
    if !args["input"].is_null() && !args["input"].is_object() {
        return Err(ActionError::Refused("input must be a map".into()));
    }
    let id = match Uuid::try_parse(wanted) {
        Ok(id) => Some(id),
        Err(_) => playbooks::playbook_id_by_name(tx, wanted).await?,
    };
    let found = match id {
        Some(id) => playbooks::find_playbook(tx, id).await?,
        None => None,
    };
    let detail =
        found.ok_or_else(|| ActionError::Refused(format!("playbook: no playbook {wanted:?}")))?;
    if !detail.playbook.enabled {
        return Err(ActionError::Refused(format!(
            "playbook: {:?} is disabled",
            detail.playbook.name
        )));
    }
    let given = match &args["input"] {
        Value::Null => json!({}),
        given => given.clone(),
    };
    let (id, version) = (detail.playbook.id, detail.playbook.current_version);
    let input = manifest::admit(tx, id, version, run_as, &given)
        .await?
        .map_err(|refused| ActionError::Refused(format!("playbook: {refused}")))?;
    if let Err(reached) = limits::check_can_start(tx).await? {
        return Err(ActionError::Refused(reached.to_string()));
    }
    to_json(json!({
        "playbook_id": id,
        "version": version,
        "source": detail.source,
        "input": input,
    }))
}
