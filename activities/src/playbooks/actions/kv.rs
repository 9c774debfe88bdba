//! The tenant's key/value store: `kv_get`, `kv_set`, `kv_increment`.

use super::ActionError;
use crate::db::TenantTx;
use crate::schema::playbook_kv;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

pub(super) fn kv_key(args: &Value) -> Result<String, ActionError> {
    let key = args.get("key").and_then(Value::as_str).unwrap_or_default();
    if key.is_empty() || key.chars().count() > 200 || key.contains('\0') {
        return Err(ActionError::Refused(
            "key must be 1 to 200 characters".into(),
        ));
    }
    Ok(key.to_owned())
}

pub(super) async fn kv_get(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let key = kv_key(args)?;
    let value: Option<Value> = playbook_kv::table
        .find((tx.tenant().0, key))
        .select(playbook_kv::value)
        .first(tx.conn())
        .await
        .optional()?;
    Ok(value.unwrap_or(Value::Null))
}

pub(super) async fn kv_set(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
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

pub(super) async fn kv_increment(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
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
