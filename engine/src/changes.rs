//! Field-by-field differences between two versions of a record, for change
//! histories, audit details and the `changed` list of update events.

use serde_json::Value;

/// The fields that differ between two JSON objects, as
/// `{"field": {"from": old, "to": new}}`; for an asset's change history.
pub fn field_changes(before: &Value, after: &Value) -> serde_json::Map<String, Value> {
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let old = before.get(key).unwrap_or(&Value::Null);
            let new = after.get(key).unwrap_or(&Value::Null);
            (old != new).then(|| (key.clone(), serde_json::json!({ "from": old, "to": new })))
        })
        .collect()
}

/// The names of the fields that differ, sorted.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    field_changes(before, after)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_list_only_differing_fields() {
        let diff = field_changes(
            &json!({"status": "active", "name": "A", "serial": null}),
            &json!({"status": "retired", "name": "A", "serial": "S1"}),
        );
        assert_eq!(
            serde_json::Value::Object(diff),
            json!({"serial": {"from": null, "to": "S1"}, "status": {"from": "active", "to": "retired"}})
        );
    }
}
