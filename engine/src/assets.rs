//! Assets: the devices an MSP manages for its clients, their types (built-in or
//! tenant-defined with a JSON Schema for their fields) and relationships.

use crate::clients::text_enum;
use crate::validation::{self, input_and_patch, FieldIssue, Issues};
use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

/// The asset types every tenant has; their `properties` are free-form.
pub const BUILTIN_KINDS: &[(&str, &str)] = &[
    ("workstation", "Workstation"),
    ("server", "Server"),
    ("network", "Network device"),
    ("mobile", "Mobile device"),
    ("printer", "Printer"),
    ("other", "Other"),
];

/// Whether `key` is a built-in asset type.
pub fn is_builtin_kind(key: &str) -> bool {
    BUILTIN_KINDS.iter().any(|(k, _)| *k == key)
}

text_enum! {
    /// Where an asset is in its life.
    AssetStatus, "status" {
        /// In use (the default).
        Active = "active",
        /// Owned but not deployed.
        InStock = "in_stock",
        /// Away for repair.
        InRepair = "in_repair",
        /// Decommissioned.
        Retired = "retired",
        /// Lost or stolen.
        Lost = "lost",
    }
}

text_enum! {
    /// How one asset relates to another.
    RelationshipKind, "relationship kind" {
        /// The other asset contains this one (a VM's host, a blade's chassis). An asset
        /// has at most one parent.
        Parent = "parent",
        /// This asset needs the other one to work (a server on its switch).
        DependsOn = "depends_on",
    }
}

input_and_patch! {
    /// An asset as submitted.
    AssetInput,
    /// A partial change to an asset.
    AssetPatch {
        /// The owning client. Required.
        client_id: Uuid,
        /// A location of that client.
        location_id: Uuid,
        /// Unique in the tenant (case-insensitive), 1–64 characters. Required.
        asset_tag: String,
        /// 1–200 characters. Required.
        name: String,
        /// A built-in type (`workstation`, `server`, `network`, `mobile`, `printer`,
        /// `other`) or a tenant asset type's key. Default `other`.
        kind: String,
        /// Manufacturer serial number.
        serial: String,
        /// `active` (default), `in_stock`, `in_repair`, `retired`, `lost`.
        status: AssetStatus,
        /// Purchase date.
        purchased_on: NaiveDate,
        /// Warranty end date; not before the purchase date.
        warranty_expires_on: NaiveDate,
        /// Fields of the asset's type: a JSON object, validated against a custom type's
        /// schema.
        properties: Value,
        /// Free text.
        notes: String,
    }
}

/// A validated asset (its `properties` are checked against the type's schema
/// separately, since custom schemas live in the database).
#[derive(Clone, Debug, PartialEq)]
pub struct AssetDraft {
    /// Client.
    pub client_id: Uuid,
    /// Location.
    pub location_id: Option<Uuid>,
    /// Tag.
    pub asset_tag: String,
    /// Name.
    pub name: String,
    /// Type key.
    pub kind: String,
    /// Serial.
    pub serial: Option<String>,
    /// Status.
    pub status: AssetStatus,
    /// Purchase date.
    pub purchased_on: Option<NaiveDate>,
    /// Warranty end.
    pub warranty_expires_on: Option<NaiveDate>,
    /// Properties.
    pub properties: Value,
    /// Notes.
    pub notes: String,
}

impl AssetInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<AssetDraft, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        if self.client_id.is_none() {
            issues.add("client_id", "is required");
        }
        let asset_tag = issues.check(
            "asset_tag",
            validation::required_text(self.asset_tag.as_deref(), 64),
        );
        let name = issues.check("name", validation::required_text(self.name.as_deref(), 200));
        let kind = issues.check(
            "kind",
            crate::interactions::kind_key(self.kind.as_deref().unwrap_or("other")),
        );
        let serial = issues.check(
            "serial",
            validation::optional_text(self.serial.as_deref(), 100),
        );
        if let (Some(bought), Some(ends)) = (self.purchased_on, self.warranty_expires_on) {
            if ends < bought {
                issues.add("warranty_expires_on", "must not be before purchased_on");
            }
        }
        let properties = issues.check(
            "properties",
            crate::clients::properties(self.properties.as_ref().unwrap_or(&serde_json::json!({}))),
        );
        let notes = issues.check(
            "notes",
            validation::notes_text(self.notes.as_deref(), 10_000),
        );
        issues.finish(|| AssetDraft {
            client_id: self.client_id.unwrap_or_default(),
            location_id: self.location_id,
            asset_tag: asset_tag.unwrap_or_default(),
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            serial: serial.flatten(),
            status: self.status.unwrap_or(AssetStatus::Active),
            purchased_on: self.purchased_on,
            warranty_expires_on: self.warranty_expires_on,
            properties: properties.unwrap_or_default(),
            notes: notes.unwrap_or_default(),
        })
    }
}

/// A tenant asset type's field schema: a JSON Schema (draft 2020-12 unless it says
/// otherwise) whose root describes an object.
#[derive(Debug)]
pub struct FieldSchema(jsonschema::Validator);

impl FieldSchema {
    /// Compiles `schema`; fails when it is not a valid JSON Schema for objects, or
    /// refers to external documents (those are never fetched).
    pub fn compile(schema: &Value) -> Result<FieldSchema, String> {
        if !schema.is_object() {
            return Err("must be a JSON Schema object".into());
        }
        if schema.get("type").is_some_and(|t| t != "object") {
            return Err("must describe an object (\"type\": \"object\")".into());
        }
        if schema.to_string().len() > 64 * 1024 {
            return Err("must be at most 64 KiB".into());
        }
        jsonschema::validator_for(schema)
            .map(FieldSchema)
            .map_err(|e| format!("is not a valid JSON Schema: {e}"))
    }

    /// Every violation in `properties`, as issues on `properties.<path>`.
    pub fn check(&self, properties: &Value) -> Vec<FieldIssue> {
        self.0
            .iter_errors(properties)
            .map(|error| {
                let path = error.instance_path().to_string();
                let field = if path.is_empty() {
                    "properties".to_owned()
                } else {
                    format!("properties{}", path.replace('/', "."))
                };
                FieldIssue {
                    field,
                    message: error.to_string(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_schemas_validate_properties_with_field_paths() {
        let schema = FieldSchema::compile(&json!({
            "type": "object",
            "properties": {"ram_gb": {"type": "integer", "minimum": 1}, "os": {"type": "string"}},
            "required": ["os"]
        }))
        .unwrap();
        assert!(schema
            .check(&json!({"os": "Linux", "ram_gb": 8}))
            .is_empty());
        let issues = schema.check(&json!({"ram_gb": 0}));
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields.len(), 2);
        assert!(fields.contains(&"properties"), "{fields:?}");
        assert!(fields.contains(&"properties.ram_gb"), "{fields:?}");
    }

    #[test]
    fn broken_schemas_are_refused() {
        assert!(FieldSchema::compile(&json!({"type": "string"})).is_err());
        assert!(FieldSchema::compile(&json!({"type": "object", "minProperties": "x"})).is_err());
        assert!(FieldSchema::compile(&json!([1])).is_err());
    }

    #[test]
    fn warranty_cannot_end_before_purchase() {
        let issues = AssetInput {
            client_id: Some(Uuid::nil()),
            asset_tag: Some("A-1".into()),
            name: Some("Laptop".into()),
            purchased_on: NaiveDate::from_ymd_opt(2026, 5, 1),
            warranty_expires_on: NaiveDate::from_ymd_opt(2026, 4, 1),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(issues[0].field, "warranty_expires_on");
    }
}
