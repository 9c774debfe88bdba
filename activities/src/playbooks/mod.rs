//! Playbooks as stored: the playbook row and its immutable versions. Saving new
//! source adds a version; a run pins the version it started with.

pub mod actions;
pub mod event_waits;
pub mod http_hosts;
pub mod limits;
pub mod manifest;
pub mod webhooks;

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::{playbook_versions, playbooks};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use dsl::manifest::PlaybookDraft;
use dsl::triggers::Trigger;
pub use manifest::Manifest;
use serde::Serialize;
use uuid::Uuid;

/// A playbook.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = playbooks)]
pub struct Playbook {
    /// Id.
    pub id: Uuid,
    /// Name, unique in the tenant.
    pub name: String,
    /// What it does.
    pub description: String,
    /// What starts it (`{"kind": "manual"}`: from the UI or the API).
    #[schema(value_type = Object)]
    pub trigger: serde_json::Value,
    /// Whether it may run.
    pub enabled: bool,
    /// The version new runs take.
    #[serde(rename = "version")]
    pub current_version: i32,
    /// Its author: event and scheduled runs act as this user.
    pub created_by: Option<Uuid>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A playbook with the source and manifest of its current version.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PlaybookDetail {
    /// The playbook.
    #[serde(flatten)]
    pub playbook: Playbook,
    /// The current version's source.
    pub source: String,
    /// The current version's input schema and declared permissions.
    #[serde(flatten)]
    pub manifest: Manifest,
    /// What whoever a run acts as must hold: the declared permissions and those
    /// the actions the source calls need.
    pub required_permissions: Vec<String>,
}

/// One saved version.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = playbook_versions)]
pub struct PlaybookVersion {
    /// 1, 2, …
    pub version: i32,
    /// Its source.
    pub source: String,
    /// Who saved it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The input it takes (see the playbook's `input_schema`).
    #[schema(value_type = Vec<Object>)]
    pub input_schema: serde_json::Value,
    /// Its declared permissions.
    pub permissions: Vec<String>,
}

async fn name_taken(tx: &mut TenantTx, name: &str, except: Option<Uuid>) -> Result<bool, DbError> {
    let found = playbook_id_by_name(tx, name).await?;
    Ok(found.is_some_and(|id| Some(id) != except))
}

/// Whether another playbook of the tenant is triggered by the webhook `hook`.
async fn hook_taken(tx: &mut TenantTx, hook: &str, except: Option<Uuid>) -> Result<bool, DbError> {
    let kind = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
        "playbooks.trigger ->> 'kind'",
    );
    let named = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
        "playbooks.trigger ->> 'hook'",
    );
    let mut query = playbooks::table
        .filter(kind.eq("webhook"))
        .filter(named.eq(hook))
        .select(playbooks::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(playbooks::id.ne(id));
    }
    Ok(query.first::<Uuid>(tx.conn()).await.optional()?.is_some())
}

/// Refuses a webhook trigger whose hook another playbook has, and gives a
/// playbook with a webhook trigger its signing secret.
async fn check_hook_free(
    tx: &mut TenantTx,
    trigger: Option<&Trigger>,
    except: Option<Uuid>,
) -> Result<(), RecordError> {
    if let Some(Trigger::Webhook { hook }) = trigger {
        if hook_taken(tx, hook, except).await? {
            return Err(RecordError::field(
                "trigger",
                format!("another playbook already uses the hook {hook:?}"),
            ));
        }
    }
    Ok(())
}

async fn ensure_webhook_secret(tx: &mut TenantTx, id: Uuid) -> Result<(), RecordError> {
    let trigger: serde_json::Value = playbooks::table
        .find((tx.tenant().0, id))
        .select(playbooks::trigger)
        .first(tx.conn())
        .await
        .map_err(DbError::from)?;
    if trigger["kind"] == "webhook" {
        webhooks::ensure_secret(tx, id).await?;
    }
    Ok(())
}

async fn insert_version(
    tx: &mut TenantTx,
    id: Uuid,
    version: i32,
    (source, manifest): (&str, &Manifest),
    actor: Option<Uuid>,
) -> Result<(), DbError> {
    diesel::insert_into(playbook_versions::table)
        .values((
            playbook_versions::tenant.eq(tx.tenant().0),
            playbook_versions::playbook_id.eq(id),
            playbook_versions::version.eq(version),
            playbook_versions::source.eq(source),
            playbook_versions::created_by.eq(actor),
            playbook_versions::input_schema.eq(manifest.schema_json()),
            playbook_versions::permissions.eq(&manifest.permissions),
        ))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Creates a playbook with its version 1. The draft's source has compiled.
pub async fn create_playbook(
    tx: &mut TenantTx,
    draft: &PlaybookDraft,
    actor: Option<Uuid>,
) -> Result<PlaybookDetail, RecordError> {
    let name = draft.name.clone().unwrap_or_default();
    let source = draft.source.clone().unwrap_or_default();
    if name_taken(tx, &name, None).await? {
        return Err(RecordError::field(
            "name",
            format!("a playbook is already named {name:?}"),
        ));
    }
    check_hook_free(tx, draft.trigger.as_ref(), None).await?;
    let manifest = Manifest::default().changed_by(draft);
    manifest::check_schedulable(draft.trigger.as_ref(), &manifest)?;
    let id = Uuid::now_v7();
    diesel::insert_into(playbooks::table)
        .values((
            playbooks::tenant.eq(tx.tenant().0),
            playbooks::id.eq(id),
            playbooks::name.eq(&name),
            playbooks::description.eq(draft.description.clone().unwrap_or_default()),
            playbooks::enabled.eq(draft.enabled.unwrap_or(true)),
            playbooks::trigger.eq(trigger_json(draft.trigger.clone().unwrap_or_default())),
            playbooks::current_version.eq(1),
            playbooks::created_by.eq(actor),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    insert_version(tx, id, 1, (&source, &manifest), actor).await?;
    ensure_webhook_secret(tx, id).await?;
    record(
        tx,
        actor,
        "playbook.created",
        id,
        serde_json::json!({ "name": name, "version": 1 }),
    )
    .await?;
    find_playbook(tx, id)
        .await?
        .ok_or(RecordError::NotFound("playbook"))
}

/// Changes a playbook; new source becomes the next version.
pub async fn update_playbook(
    tx: &mut TenantTx,
    id: Uuid,
    draft: &PlaybookDraft,
    actor: Option<Uuid>,
) -> Result<PlaybookDetail, RecordError> {
    let current: Playbook = playbooks::table
        .find((tx.tenant().0, id))
        .select(Playbook::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("playbook"))?;
    if let Some(name) = &draft.name {
        if name_taken(tx, name, Some(id)).await? {
            return Err(RecordError::field(
                "name",
                format!("a playbook is already named {name:?}"),
            ));
        }
    }
    check_hook_free(tx, draft.trigger.as_ref(), Some(id)).await?;
    let mut version = current.current_version;
    let (old_source, old_manifest) = version_manifest(tx, id, version).await?.unwrap_or_default();
    let source = draft.source.clone().unwrap_or_else(|| old_source.clone());
    let manifest = old_manifest.clone().changed_by(draft);
    let trigger = match &draft.trigger {
        Some(trigger) => Some(trigger.clone()),
        None => serde_json::from_value(current.trigger.clone()).ok(),
    };
    manifest::check_schedulable(trigger.as_ref(), &manifest)?;
    if source != old_source || manifest != old_manifest {
        version += 1;
        insert_version(tx, id, version, (&source, &manifest), actor).await?;
    }
    diesel::update(playbooks::table.find((tx.tenant().0, id)))
        .set((
            playbooks::name.eq(draft.name.clone().unwrap_or(current.name)),
            playbooks::description.eq(draft.description.clone().unwrap_or(current.description)),
            playbooks::enabled.eq(draft.enabled.unwrap_or(current.enabled)),
            playbooks::trigger.eq(draft.trigger.clone().map_or(current.trigger, trigger_json)),
            playbooks::current_version.eq(version),
            playbooks::updated_at.eq(Utc::now()),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    ensure_webhook_secret(tx, id).await?;
    record(
        tx,
        actor,
        "playbook.updated",
        id,
        serde_json::json!({ "version": version }),
    )
    .await?;
    find_playbook(tx, id)
        .await?
        .ok_or(RecordError::NotFound("playbook"))
}

fn trigger_json(trigger: Trigger) -> serde_json::Value {
    serde_json::to_value(trigger).unwrap_or_else(|_| serde_json::json!({"kind": "manual"}))
}

/// An enabled playbook an event starts.
#[derive(Clone, Debug)]
pub struct Subscriber {
    /// The playbook.
    pub id: Uuid,
    /// Its current version.
    pub version: i32,
    /// That version's source.
    pub source: String,
    /// The event filter, if any.
    pub filter: Option<String>,
    /// Who runs it: its author.
    pub run_as: Option<Uuid>,
}

/// The enabled playbooks triggered by events of `event_type`.
pub async fn event_subscribers(
    tx: &mut TenantTx,
    event_type: &str,
) -> Result<Vec<Subscriber>, DbError> {
    let kind = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
        "playbooks.trigger ->> 'kind'",
    );
    let event = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
        "playbooks.trigger ->> 'event'",
    );
    let rows: Vec<(Uuid, i32, String, serde_json::Value, Option<Uuid>)> = playbooks::table
        .inner_join(
            playbook_versions::table.on(playbook_versions::playbook_id
                .eq(playbooks::id)
                .and(playbook_versions::version.eq(playbooks::current_version))),
        )
        .filter(playbooks::enabled.eq(true))
        .filter(kind.eq("event"))
        .filter(event.eq(event_type))
        .select((
            playbooks::id,
            playbooks::current_version,
            playbook_versions::source,
            playbooks::trigger,
            playbooks::created_by,
        ))
        .load(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, version, source, trigger, run_as)| Subscriber {
            id,
            version,
            source,
            filter: trigger["filter"].as_str().map(str::to_owned),
            run_as,
        })
        .collect())
}

/// Most playbooks a "Run playbook" picker offers.
pub const MAX_MANUAL_PLAYBOOKS: i64 = 200;

/// The enabled playbooks whose trigger is manual, by name: what a user may start
/// by hand from a ticket or client page (at most [`MAX_MANUAL_PLAYBOOKS`]).
pub async fn manual_playbooks(tx: &mut TenantTx) -> Result<Vec<Playbook>, DbError> {
    let kind = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
        "playbooks.trigger ->> 'kind'",
    );
    Ok(playbooks::table
        .filter(playbooks::enabled.eq(true))
        .filter(kind.eq("manual"))
        .order((playbooks::name.asc(), playbooks::id.asc()))
        .limit(MAX_MANUAL_PLAYBOOKS)
        .select(Playbook::as_select())
        .load(tx.conn())
        .await?)
}

async fn record(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    id: Uuid,
    details: serde_json::Value,
) -> Result<(), DbError> {
    audit::record(
        tx,
        AuditEntry {
            actor,
            action,
            resource: "playbook",
            resource_id: Some(id),
            details,
        },
    )
    .await
}

/// The id of the playbook named `name` (case-insensitive).
pub async fn playbook_id_by_name(tx: &mut TenantTx, name: &str) -> Result<Option<Uuid>, DbError> {
    let lower = diesel::dsl::sql::<diesel::sql_types::Text>("lower(name)");
    Ok(playbooks::table
        .filter(lower.eq(name.to_lowercase()))
        .select(playbooks::id)
        .first(tx.conn())
        .await
        .optional()?)
}

/// A playbook with its current source.
pub async fn find_playbook(tx: &mut TenantTx, id: Uuid) -> Result<Option<PlaybookDetail>, DbError> {
    let found: Option<Playbook> = playbooks::table
        .find((tx.tenant().0, id))
        .select(Playbook::as_select())
        .first(tx.conn())
        .await
        .optional()?;
    let Some(playbook) = found else {
        return Ok(None);
    };
    let (source, manifest) = version_manifest(tx, id, playbook.current_version)
        .await?
        .unwrap_or_default();
    let required_permissions = manifest.required_permissions(&source);
    Ok(Some(PlaybookDetail {
        playbook,
        source,
        manifest,
        required_permissions,
    }))
}

/// The source and manifest of one version.
pub async fn version_manifest(
    tx: &mut TenantTx,
    id: Uuid,
    version: i32,
) -> Result<Option<(String, Manifest)>, DbError> {
    let row: Option<(String, serde_json::Value, Vec<String>)> = playbook_versions::table
        .find((tx.tenant().0, id, version))
        .select((
            playbook_versions::source,
            playbook_versions::input_schema,
            playbook_versions::permissions,
        ))
        .first(tx.conn())
        .await
        .optional()?;
    Ok(row.map(|(source, schema, permissions)| (source, Manifest::stored(schema, permissions))))
}

/// The source of one version.
pub async fn version_source(
    tx: &mut TenantTx,
    id: Uuid,
    version: i32,
) -> Result<Option<String>, DbError> {
    Ok(playbook_versions::table
        .find((tx.tenant().0, id, version))
        .select(playbook_versions::source)
        .first(tx.conn())
        .await
        .optional()?)
}

/// Every version of a playbook, newest first.
pub async fn list_versions(tx: &mut TenantTx, id: Uuid) -> Result<Vec<PlaybookVersion>, DbError> {
    Ok(playbook_versions::table
        .filter(playbook_versions::playbook_id.eq(id))
        .order(playbook_versions::version.desc())
        .select(PlaybookVersion::as_select())
        .load(tx.conn())
        .await?)
}

/// Playbooks, newest first.
pub async fn list_playbooks(
    tx: &mut TenantTx,
    page: PageRequest,
) -> Result<Page<Playbook>, DbError> {
    let mut query = playbooks::table
        .select(Playbook::as_select())
        .order(playbooks::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(playbooks::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |p| p.id))
}
