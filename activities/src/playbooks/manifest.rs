//! A version's manifest (the input it takes, the permissions it declares) and the
//! admission every start goes through: whoever the run acts as holds the required
//! permissions, and the input fits the schema, defaults filled in. The API, the
//! pages, webhooks, events, schedules and parent runs all call [`admit`], so a
//! refusal reads the same whatever started the run.

use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use dsl::input_schema::InputSchema;
use dsl::manifest::PlaybookDraft;
use dsl::triggers::Trigger;
use engine::validation::FieldIssue;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use uuid::Uuid;

/// What a version declares besides its source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Manifest {
    /// The input it takes: `[{name, type, required, default, description}]`;
    /// empty: any object.
    #[schema(value_type = Vec<Object>)]
    pub input_schema: InputSchema,
    /// Permissions whoever a run acts as must hold besides those its actions need.
    pub permissions: Vec<String>,
}

impl Manifest {
    /// The manifest as stored; a schema this build cannot read (written by a
    /// newer one) declares nothing rather than failing every read.
    pub(crate) fn stored(schema: Value, permissions: Vec<String>) -> Manifest {
        Manifest {
            input_schema: serde_json::from_value(schema).unwrap_or_default(),
            permissions,
        }
    }

    pub(crate) fn schema_json(&self) -> Value {
        serde_json::to_value(&self.input_schema).unwrap_or_else(|_| Value::Array(Vec::new()))
    }

    /// This manifest with what the draft changes.
    pub(crate) fn changed_by(mut self, draft: &PlaybookDraft) -> Manifest {
        if let Some(schema) = &draft.input_schema {
            self.input_schema = schema.clone();
        }
        if let Some(permissions) = &draft.permissions {
            self.permissions = permissions.clone();
        }
        self
    }

    /// The declared permissions and those the actions `source` calls need,
    /// sorted. A script that calls an action indirectly (through `Fn`) escapes
    /// the derivation, but the action still checks its permission when it runs.
    pub fn required_permissions(&self, source: &str) -> Vec<String> {
        let mut required: BTreeSet<String> = self.permissions.iter().cloned().collect();
        if let Ok(program) = dsl::compile(source) {
            required.extend(program.derived_permissions().into_iter().map(str::to_owned));
        }
        required.into_iter().collect()
    }
}

/// A schedule starts its runs with no input: a schema that requires a field
/// without a default would refuse every one, so the save is refused instead.
pub(crate) fn check_schedulable(
    trigger: Option<&Trigger>,
    manifest: &Manifest,
) -> Result<(), RecordError> {
    match trigger {
        Some(Trigger::Schedule { .. }) => {
            dsl::manifest::starts_without_input(&manifest.input_schema)
                .map_err(|message| RecordError::field("input_schema", message))
        }
        _ => Ok(()),
    }
}

/// Why the manifest refuses a start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionRefused {
    /// Whoever the run would act as is deactivated (or gone).
    #[error("the run's user is deactivated")]
    InactiveUser,
    /// Whoever the run would act as lacks permissions it requires.
    #[error("the run's user lacks the permission(s) {}", .0.join(", "))]
    MissingPermissions(Vec<String>),
    /// The input does not fit the schema.
    #[error("the input does not fit the playbook's input schema: {}", describe(.0))]
    Input(Vec<FieldIssue>),
}

fn describe(issues: &[FieldIssue]) -> String {
    let parts: Vec<String> = issues
        .iter()
        .map(|i| format!("{} {}", i.field, i.message))
        .collect();
    parts.join("; ")
}

/// Admits a start of `version` of `playbook` acting as `run_as` with `input`:
/// the input with defaults filled in, or why not. Permissions are checked first,
/// so a caller who may not run the playbook learns nothing of its input.
pub async fn admit(
    tx: &mut TenantTx,
    playbook: Uuid,
    version: i32,
    run_as: Uuid,
    input: &Value,
) -> Result<Result<Value, AdmissionRefused>, DbError> {
    let (source, manifest) = super::version_manifest(tx, playbook, version)
        .await?
        .unwrap_or_default();
    if !is_active(tx, run_as).await? {
        return Ok(Err(AdmissionRefused::InactiveUser));
    }
    let required = manifest.required_permissions(&source);
    let missing = missing_permissions(tx, run_as, &required).await?;
    if !missing.is_empty() {
        return Ok(Err(AdmissionRefused::MissingPermissions(missing)));
    }
    Ok(manifest
        .input_schema
        .apply(input)
        .map_err(AdmissionRefused::Input))
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

/// Whether `user` is an active user of the tenant.
async fn is_active(tx: &mut TenantTx, user: Uuid) -> Result<bool, DbError> {
    let found: Found = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND is_active) AS found",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .get_result(tx.conn())
    .await?;
    Ok(found.found)
}

/// Those of `wanted` that `user` does not hold through a role; all of them when
/// the user is deactivated.
pub async fn missing_permissions(
    tx: &mut TenantTx,
    user: Uuid,
    wanted: &[String],
) -> Result<Vec<String>, DbError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Text)]
        permission: String,
    }
    let held: Vec<Held> = diesel::sql_query(
        "SELECT DISTINCT rp.permission FROM users u \
           JOIN role_assignments ra ON ra.tenant = u.tenant AND ra.user_id = u.id \
           JOIN role_permissions rp ON rp.tenant = ra.tenant AND rp.role_id = ra.role_id \
          WHERE u.id = $1 AND u.is_active AND rp.permission = ANY($2)",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(wanted)
    .load(tx.conn())
    .await?;
    let held: BTreeSet<String> = held.into_iter().map(|h| h.permission).collect();
    Ok(wanted
        .iter()
        .filter(|w| !held.contains(*w))
        .cloned()
        .collect())
}
