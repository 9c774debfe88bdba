//! CSV import of clients, contacts, assets and usage records. Every row is checked — first without
//! the database (`engine::import`), then against it (names resolve, tags and
//! e-mails are free) — before anything is written; then the valid rows go in with
//! batched INSERTs, each with its audit row and outbox event, in one transaction.

use crate::assets::AssetColumns;
use crate::audit::{self, AuditEntry};
use crate::billing::usage::{audit_details, wrong_kind};
use crate::clients::ClientColumns;
use crate::contacts::ContactColumns;
use crate::db::{DbError, TenantTx};
use crate::events;
use crate::schema::{
    asset_changes, asset_types, assets, client_locations, clients, contacts, services,
    usage_records, users,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::assets::{is_builtin_kind, FieldSchema};
use engine::billing::catalogue::ServiceKind;
use engine::billing::usage::UsageDraft;
use engine::import::{self, FileError, Parsed, RowIssue, ValidRow};
use engine::{DomainEvent, Permission, RecordRef};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Rows per INSERT statement.
const BATCH: usize = 500;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// Clients.
    Clients,
    /// Contacts.
    Contacts,
    /// Assets.
    Assets,
    /// Usage records (meter readings) of usage or product services.
    Usage,
}

impl ImportKind {
    /// Every kind, by its name.
    pub const ALL: [(&'static str, ImportKind); 4] = [
        ("clients", ImportKind::Clients),
        ("contacts", ImportKind::Contacts),
        ("assets", ImportKind::Assets),
        ("usage", ImportKind::Usage),
    ];

    /// Parses `clients`, `contacts`, `assets` or `usage`.
    pub fn parse(text: &str) -> Option<ImportKind> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, kind)| *kind)
    }

    /// The permission an import of this kind needs: usage is billing data.
    pub fn permission(self) -> Permission {
        match self {
            ImportKind::Usage => Permission::BILLING_MANAGE,
            _ => Permission::CLIENT_WRITE,
        }
    }
}

/// The outcome of an import.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// What was imported.
    pub kind: ImportKind,
    /// Data rows in the file.
    pub rows: usize,
    /// Rows written.
    pub imported: usize,
    /// Every invalid row, in line order (the header is line 1).
    pub invalid: Vec<RowIssue>,
    /// Whether valid rows were imported despite invalid ones.
    pub skip_invalid: bool,
}

impl ImportReport {
    /// Distinct invalid line numbers.
    pub fn invalid_lines(&self) -> Vec<u64> {
        let mut lines: Vec<u64> = self.invalid.iter().map(|i| i.line).collect();
        lines.dedup();
        lines
    }
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file itself is unusable.
    #[error(transparent)]
    File(#[from] FileError),
    /// Some rows are invalid and `skip_invalid` was not asked for; nothing was
    /// written.
    #[error("{} invalid row(s); nothing was imported", .0.invalid_lines().len())]
    InvalidRows(ImportReport),
    /// The database failed; nothing was written.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(error: diesel::result::Error) -> Self {
        ImportError::Db(error.into())
    }
}

/// Validates every row of `csv` and, when all are valid (or `skip_invalid`), writes
/// the valid ones. The caller commits.
pub async fn import_csv(
    tx: &mut TenantTx,
    kind: ImportKind,
    csv: &[u8],
    skip_invalid: bool,
    actor: Option<Uuid>,
) -> Result<ImportReport, ImportError> {
    match kind {
        ImportKind::Clients => {
            let mut parsed = import::parse_clients(csv)?;
            resolve_account_managers(tx, &mut parsed).await?;
            let rows = admit(kind, &mut parsed, skip_invalid)?;
            write_clients(tx, &parsed.rows, actor).await?;
            Ok(report(kind, rows, parsed, skip_invalid))
        }
        ImportKind::Contacts => {
            let mut parsed = import::parse_contacts(csv)?;
            resolve_clients(tx, &mut parsed, |c| &mut c.client_id).await?;
            reject_taken_emails(tx, &mut parsed).await?;
            let rows = admit(kind, &mut parsed, skip_invalid)?;
            write_contacts(tx, &parsed.rows, actor).await?;
            Ok(report(kind, rows, parsed, skip_invalid))
        }
        ImportKind::Assets => {
            let mut parsed = import::parse_assets(csv)?;
            resolve_clients(tx, &mut parsed, |a| &mut a.client_id).await?;
            resolve_locations(tx, &mut parsed).await?;
            check_asset_rows(tx, &mut parsed).await?;
            let rows = admit(kind, &mut parsed, skip_invalid)?;
            write_assets(tx, &parsed.rows, actor).await?;
            Ok(report(kind, rows, parsed, skip_invalid))
        }
        ImportKind::Usage => {
            let mut parsed = import::parse_usage(csv)?;
            resolve_clients(tx, &mut parsed, |u| &mut u.client_id).await?;
            resolve_usage_services(tx, &mut parsed).await?;
            let rows = admit(kind, &mut parsed, skip_invalid)?;
            write_usage(tx, &parsed.rows, actor).await?;
            Ok(report(kind, rows, parsed, skip_invalid))
        }
    }
}

/// Total data rows; refuses the import when rows are invalid and not to be skipped.
fn admit<T>(
    kind: ImportKind,
    parsed: &mut Parsed<T>,
    skip_invalid: bool,
) -> Result<usize, ImportError> {
    parsed.issues.sort_by_key(|i| i.line);
    let invalid_lines = {
        let mut lines: Vec<u64> = parsed.issues.iter().map(|i| i.line).collect();
        lines.dedup();
        lines.len()
    };
    let rows = parsed.rows.len() + invalid_lines;
    if invalid_lines > 0 && !skip_invalid {
        return Err(ImportError::InvalidRows(ImportReport {
            kind,
            rows,
            imported: 0,
            invalid: std::mem::take(&mut parsed.issues),
            skip_invalid,
        }));
    }
    Ok(rows)
}

fn report<T>(kind: ImportKind, rows: usize, parsed: Parsed<T>, skip_invalid: bool) -> ImportReport {
    ImportReport {
        kind,
        rows,
        imported: parsed.rows.len(),
        invalid: parsed.issues,
        skip_invalid,
    }
}

/// Moves rows for which `check` names a problem into the issues.
fn reject<T>(
    parsed: &mut Parsed<T>,
    mut check: impl FnMut(&mut ValidRow<T>) -> Option<(String, String)>,
) {
    let mut kept = Vec::with_capacity(parsed.rows.len());
    for mut row in std::mem::take(&mut parsed.rows) {
        match check(&mut row) {
            Some((field, message)) => parsed.issues.push(RowIssue {
                line: row.line,
                field,
                message,
            }),
            None => kept.push(row),
        }
    }
    parsed.rows = kept;
}

async fn resolve_account_managers(
    tx: &mut TenantTx,
    parsed: &mut Parsed<engine::clients::ClientDraft>,
) -> Result<(), DbError> {
    let emails: Vec<String> = referenced(parsed, "account_manager_email")
        .into_iter()
        .map(|e| e.to_lowercase())
        .collect();
    let found: HashMap<String, Uuid> = users::table
        .filter(users::email.eq_any(&emails))
        .select((users::email, users::id))
        .load::<(String, Uuid)>(tx.conn())
        .await?
        .into_iter()
        .collect();
    reject(parsed, |row| {
        let email = row.references.get("account_manager_email")?.to_lowercase();
        match found.get(&email) {
            Some(id) => {
                row.draft.account_manager_id = Some(*id);
                None
            }
            None => Some((
                "account_manager_email".into(),
                format!("no user with e-mail {email}"),
            )),
        }
    });
    Ok(())
}

fn referenced<T>(parsed: &Parsed<T>, column: &str) -> Vec<String> {
    let mut values: Vec<String> = parsed
        .rows
        .iter()
        .filter_map(|r| r.references.get(column).cloned())
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Resolves `client_name` (case- and accent-insensitive, must be unique among live
/// clients) or checks `client_id`.
async fn resolve_clients<T>(
    tx: &mut TenantTx,
    parsed: &mut Parsed<T>,
    client_of: impl Fn(&mut T) -> &mut Uuid + Copy,
) -> Result<(), DbError> {
    let names = referenced(parsed, "client_name");
    let folded = fold_names(tx, &names).await?;
    let keys: Vec<String> = folded.values().cloned().collect();
    let by_name: Vec<(String, Uuid)> = clients::table
        .filter(clients::archived_at.is_null())
        .filter(crate::clients::keel_search_key(clients::name).eq_any(&keys))
        .select((crate::clients::keel_search_key(clients::name), clients::id))
        .load(tx.conn())
        .await?;
    let mut ids: Vec<Uuid> = parsed
        .rows
        .iter_mut()
        .map(|r| *client_of(&mut r.draft))
        .filter(|id| !id.is_nil())
        .collect();
    ids.sort();
    ids.dedup();
    let live: Vec<Uuid> = clients::table
        .filter(clients::id.eq_any(&ids))
        .filter(clients::archived_at.is_null())
        .select(clients::id)
        .load(tx.conn())
        .await?;
    reject(parsed, |row| {
        if let Some(name) = row.references.get("client_name").cloned() {
            let key = folded.get(&name).cloned().unwrap_or_default();
            let matches: Vec<Uuid> = by_name
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, id)| *id)
                .collect();
            return match matches.as_slice() {
                [id] => {
                    *client_of(&mut row.draft) = *id;
                    None
                }
                [] => Some(("client_name".into(), format!("no client named {name:?}"))),
                _ => Some((
                    "client_name".into(),
                    format!(
                        "{} clients are named {name:?}; use client_id",
                        matches.len()
                    ),
                )),
            };
        }
        let id = *client_of(&mut row.draft);
        (!live.contains(&id)).then(|| ("client_id".into(), "no such client".into()))
    });
    Ok(())
}

/// Each name folded by the database's `keel_search_key`, so names match exactly
/// as search does (case and accents ignored), in one round trip.
async fn fold_names(
    tx: &mut TenantTx,
    names: &[String],
) -> Result<HashMap<String, String>, DbError> {
    #[derive(QueryableByName)]
    struct Folded {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    let rows: Vec<Folded> = diesel::sql_query(
        "SELECT n AS name, keel_search_key(btrim(n)) AS key FROM unnest($1::text[]) AS n",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
    .load(tx.conn())
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.key)).collect())
}

async fn reject_taken_emails(
    tx: &mut TenantTx,
    parsed: &mut Parsed<engine::contacts::ContactDraft>,
) -> Result<(), DbError> {
    let emails: Vec<String> = parsed
        .rows
        .iter()
        .filter_map(|r| r.draft.primary_email().map(str::to_owned))
        .collect();
    let taken: Vec<String> = contacts::table
        .filter(contacts::email.eq_any(&emails))
        .filter(contacts::archived_at.is_null())
        .select(contacts::email.assume_not_null())
        .load(tx.conn())
        .await?;
    reject(parsed, |row| {
        let email = row.draft.primary_email()?;
        taken.iter().any(|t| t == email).then(|| {
            (
                "email".into(),
                format!("{email} is already the primary e-mail of another contact"),
            )
        })
    });
    Ok(())
}

async fn resolve_locations(
    tx: &mut TenantTx,
    parsed: &mut Parsed<engine::assets::AssetDraft>,
) -> Result<(), DbError> {
    let clients: Vec<Uuid> = parsed
        .rows
        .iter()
        .filter(|r| r.references.contains_key("location_name"))
        .map(|r| r.draft.client_id)
        .collect();
    let locations: Vec<(Uuid, String, Uuid)> = client_locations::table
        .filter(client_locations::client_id.eq_any(&clients))
        .filter(client_locations::archived_at.is_null())
        .select((
            client_locations::client_id,
            client_locations::name,
            client_locations::id,
        ))
        .load(tx.conn())
        .await?;
    reject(parsed, |row| {
        let name = row.references.get("location_name")?.to_lowercase();
        let found = locations
            .iter()
            .find(|(client, n, _)| *client == row.draft.client_id && n.to_lowercase() == name);
        match found {
            Some((_, _, id)) => {
                row.draft.location_id = Some(*id);
                None
            }
            None => Some((
                "location_name".into(),
                "the client has no location of this name".into(),
            )),
        }
    });
    Ok(())
}

async fn check_asset_rows(
    tx: &mut TenantTx,
    parsed: &mut Parsed<engine::assets::AssetDraft>,
) -> Result<(), DbError> {
    let tags: Vec<String> = parsed
        .rows
        .iter()
        .map(|r| r.draft.asset_tag.to_lowercase())
        .collect();
    let taken: Vec<String> = assets::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Text>("lower(asset_tag)").eq_any(&tags))
        .select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "lower(asset_tag)",
        ))
        .load(tx.conn())
        .await?;
    let custom: HashMap<String, serde_json::Value> = asset_types::table
        .select((asset_types::key, asset_types::field_schema))
        .load::<(String, serde_json::Value)>(tx.conn())
        .await?
        .into_iter()
        .collect();
    let schemas: HashMap<&String, Option<FieldSchema>> = custom
        .iter()
        .map(|(k, s)| (k, FieldSchema::compile(s).ok()))
        .collect();
    reject(parsed, |row| {
        let draft = &row.draft;
        if taken.contains(&draft.asset_tag.to_lowercase()) {
            return Some((
                "asset_tag".into(),
                format!("{:?} is already the tag of another asset", draft.asset_tag),
            ));
        }
        if is_builtin_kind(&draft.kind) {
            return None;
        }
        match schemas.get(&draft.kind) {
            None => Some((
                "kind".into(),
                format!("{:?} is not a built-in or tenant asset type", draft.kind),
            )),
            Some(None) => Some(("kind".into(), "the type's schema does not compile".into())),
            Some(Some(schema)) => schema
                .check(&draft.properties)
                .into_iter()
                .next()
                .map(|issue| (issue.field, issue.message)),
        }
    });
    Ok(())
}

/// Resolves `service_name` (case-insensitive, as the catalogue keeps names unique)
/// or checks `service_id`, and refuses services that are archived or not billed by
/// usage.
async fn resolve_usage_services(
    tx: &mut TenantTx,
    parsed: &mut Parsed<UsageDraft>,
) -> Result<(), DbError> {
    let names: Vec<String> = referenced(parsed, "service_name")
        .iter()
        .map(|n| n.to_lowercase())
        .collect();
    let ids: Vec<Uuid> = parsed
        .rows
        .iter()
        .map(|r| r.draft.service_id)
        .filter(|id| !id.is_nil())
        .collect();
    let lower_name = diesel::dsl::sql::<diesel::sql_types::Text>("lower(name)");
    let known: Vec<(Uuid, String, String, bool)> = services::table
        .filter(services::id.eq_any(&ids).or(lower_name.eq_any(&names)))
        .select((
            services::id,
            services::name,
            services::kind,
            services::is_archived,
        ))
        .load(tx.conn())
        .await?;
    reject(parsed, |row| {
        let (field, found) = match row.references.get("service_name") {
            Some(name) => {
                let name = name.to_lowercase();
                let found = known.iter().find(|s| s.1.to_lowercase() == name);
                ("service_name", found)
            }
            None => {
                let id = row.draft.service_id;
                ("service_id", known.iter().find(|s| s.0 == id))
            }
        };
        let problem = match found {
            None => Some("no such service in the catalogue".to_owned()),
            Some((_, name, _, true)) => Some(format!("{name} is archived")),
            Some((id, name, kind, false)) => {
                row.draft.service_id = *id;
                let kind = ServiceKind::parse(kind).unwrap_or(ServiceKind::Fixed);
                wrong_kind(name, kind)
            }
        };
        problem.map(|problem| (field.to_owned(), problem))
    });
    Ok(())
}

async fn write_clients(
    tx: &mut TenantTx,
    rows: &[ValidRow<engine::clients::ClientDraft>],
    actor: Option<Uuid>,
) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    for (chunk, chunk_ids) in rows.chunks(BATCH).zip(ids.chunks(BATCH)) {
        let values: Vec<_> = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(row, id)| {
                (
                    clients::tenant.eq(tenant),
                    clients::id.eq(*id),
                    ClientColumns::from(&row.draft),
                )
            })
            .collect();
        diesel::insert_into(clients::table)
            .values(values)
            .execute(tx.conn())
            .await?;
    }
    let created = Created {
        resource: "client",
        details: |row: &ValidRow<engine::clients::ClientDraft>| serde_json::json!({ "name": row.draft.name }),
        event: |id, _: &ValidRow<engine::clients::ClientDraft>| {
            DomainEvent::ClientCreated(RecordRef::new(id, id))
        },
    };
    created.record(tx, actor, &ids, rows).await
}

async fn write_contacts(
    tx: &mut TenantTx,
    rows: &[ValidRow<engine::contacts::ContactDraft>],
    actor: Option<Uuid>,
) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    for (chunk, chunk_ids) in rows.chunks(BATCH).zip(ids.chunks(BATCH)) {
        let values: Vec<_> = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(row, id)| {
                (
                    contacts::tenant.eq(tenant),
                    contacts::id.eq(*id),
                    ContactColumns::from(&row.draft),
                )
            })
            .collect();
        diesel::insert_into(contacts::table)
            .values(values)
            .execute(tx.conn())
            .await?;
    }
    let created = Created {
        resource: "contact",
        details: |row: &ValidRow<engine::contacts::ContactDraft>| serde_json::json!({ "client_id": row.draft.client_id }),
        event: |id, row: &ValidRow<engine::contacts::ContactDraft>| {
            DomainEvent::ContactCreated(RecordRef::new(id, row.draft.client_id))
        },
    };
    created.record(tx, actor, &ids, rows).await
}

async fn write_assets(
    tx: &mut TenantTx,
    rows: &[ValidRow<engine::assets::AssetDraft>],
    actor: Option<Uuid>,
) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    for (chunk, chunk_ids) in rows.chunks(BATCH).zip(ids.chunks(BATCH)) {
        let values: Vec<_> = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(row, id)| {
                (
                    assets::tenant.eq(tenant),
                    assets::id.eq(*id),
                    AssetColumns::from(&row.draft),
                )
            })
            .collect();
        diesel::insert_into(assets::table)
            .values(values)
            .execute(tx.conn())
            .await?;
        let history: Vec<_> = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(row, id)| {
                (
                    asset_changes::tenant.eq(tenant),
                    asset_changes::id.eq(Uuid::now_v7()),
                    asset_changes::asset_id.eq(*id),
                    asset_changes::actor_user_id.eq(actor),
                    asset_changes::action.eq("created"),
                    asset_changes::changes
                        .eq(serde_json::json!({ "import_line": {"from": null, "to": row.line} })),
                )
            })
            .collect();
        diesel::insert_into(asset_changes::table)
            .values(history)
            .execute(tx.conn())
            .await?;
    }
    let created = Created {
        resource: "asset",
        details: |row: &ValidRow<engine::assets::AssetDraft>| serde_json::json!({ "asset_tag": row.draft.asset_tag }),
        event: |id, row: &ValidRow<engine::assets::AssetDraft>| {
            DomainEvent::AssetCreated(RecordRef::new(id, row.draft.client_id))
        },
    };
    created.record(tx, actor, &ids, rows).await
}

/// Usage rows go in like `POST /usage-records` writes them, each with its
/// `usage.recorded` audit entry; usage has no domain event.
async fn write_usage(
    tx: &mut TenantTx,
    rows: &[ValidRow<UsageDraft>],
    actor: Option<Uuid>,
) -> Result<(), DbError> {
    let tenant = tx.tenant().0;
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    for (chunk, chunk_ids) in rows.chunks(BATCH).zip(ids.chunks(BATCH)) {
        let values: Vec<_> = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(row, id)| {
                let usage = &row.draft;
                (
                    usage_records::tenant.eq(tenant),
                    usage_records::id.eq(*id),
                    usage_records::client_id.eq(usage.client_id),
                    usage_records::service_id.eq(usage.service_id),
                    usage_records::quantity.eq(usage.quantity),
                    usage_records::recorded_on.eq(usage.recorded_on),
                    usage_records::note.eq(&usage.note),
                    usage_records::created_by.eq(actor),
                )
            })
            .collect();
        diesel::insert_into(usage_records::table)
            .values(values)
            .execute(tx.conn())
            .await?;
    }
    let entries = ids.iter().zip(rows).map(|(id, row)| {
        let usage = &row.draft;
        AuditEntry {
            actor,
            action: "usage.recorded",
            resource: "usage_record",
            resource_id: Some(*id),
            details: {
                let mut details = audit_details(usage);
                details["import_line"] = row.line.into();
                details
            },
        }
    });
    audit::record_many(tx, entries.collect()).await
}

/// What every imported record gets besides its row: an audit entry
/// (`<resource>.created`, with the file line) and its `created` event.
struct Created<D, E> {
    resource: &'static str,
    details: D,
    event: E,
}

impl<D, E> Created<D, E> {
    async fn record<T>(
        &self,
        tx: &mut TenantTx,
        actor: Option<Uuid>,
        ids: &[Uuid],
        rows: &[ValidRow<T>],
    ) -> Result<(), DbError>
    where
        D: Fn(&ValidRow<T>) -> serde_json::Value,
        E: Fn(Uuid, &ValidRow<T>) -> DomainEvent,
    {
        let action = format!("{}.created", self.resource);
        let entries = ids.iter().zip(rows).map(|(id, row)| {
            let mut details = (self.details)(row);
            details["import_line"] = row.line.into();
            AuditEntry {
                actor,
                action: &action,
                resource: self.resource,
                resource_id: Some(*id),
                details,
            }
        });
        audit::record_many(tx, entries.collect()).await?;
        let events = ids.iter().zip(rows).map(|(id, row)| (self.event)(*id, row));
        events::emit_many(tx, events.collect()).await
    }
}
