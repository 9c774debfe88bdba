//! Inbound webhooks: `POST /api/v1/webhooks/{tenant_slug}/{hook}` starts the
//! playbook whose trigger is that hook, with the JSON body as its `input`. No API
//! key: the request proves itself with `X-Keel-Signature` (see
//! [`activities::playbooks::webhooks`]). Authors read and rotate the secret under
//! `/api/v1/playbooks/{id}/webhook`.

use crate::api::playbooks::PlaybookRunStarted;
use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::AppState;
use activities::playbooks::manifest::{self, AdmissionRefused};
use activities::playbooks::webhooks::{self, HookTarget, Webhook, SIGNATURE_HEADER};
use activities::playbooks::{self, limits};
use activities::tenants;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use dsl::triggers::Trigger;
use dsl::workflow::PlaybookRunInput;
use engine::{Permission, TenantId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Largest body a webhook accepts.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// Starts a run of the playbook triggered by `hook`, once per signed request.
#[utoipa::path(post, path = "/webhooks/{tenant_slug}/{hook}", tag = "playbooks",
    request_body(content = Object, description = "Any JSON object; the run's `input`"),
    params(("tenant_slug" = String, Path, description = "The tenant's slug"),
           ("hook" = String, Path, description = "The hook named in the playbook's trigger"),
           ("X-Keel-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>; t within 5 minutes")),
    responses((status = 202, body = PlaybookRunStarted, description = "Started (or, for a repeated request, the run it started)"),
              (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 403, body = Problem, description = "The playbook's author lacks a permission it requires"),
              (status = 409, body = Problem, description = "The playbook is disabled"),
              (status = 413, body = Problem),
              (status = 422, body = Problem, description = "The body does not fit the playbook's input schema (`errors[].field`: `input.<field>`)"),
              (status = 429, body = Problem),
              (status = 503, body = Problem)))]
pub async fn receive(
    State(app): State<AppState>,
    axum::extract::Path((tenant_slug, hook)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<PlaybookRunStarted>), ApiError> {
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(ApiError::payload_too_large(MAX_WEBHOOK_BYTES));
    }
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(webhooks::SignatureError::Malformed)
        .and_then(webhooks::parse_header)
        .map_err(|e| ApiError::invalid_signature(e.to_string()))?;
    // Unknown tenants and hooks answer alike, so nobody can probe for either.
    let tenant = tenants::tenant_by_slug(&app.db, &tenant_slug)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let tenant = TenantId(tenant.id);
    let mut tx = app.db.tenant_tx(tenant).await?;
    let target = webhooks::find_hook(&mut tx, &hook)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let now = chrono::Utc::now().timestamp();
    webhooks::verify(&header, &target.secret, &body, now)
        .map_err(|e| ApiError::invalid_signature(e.to_string()))?;
    let input = json_object(&body)?;
    if !target.enabled {
        return Err(ApiError::conflict(
            "the playbook of this webhook is disabled",
        ));
    }
    let admitted = admit(&mut tx, &target, &input).await?;
    let allowed = limits::check_can_start(&mut tx).await?;
    if let Err(reached) = &allowed {
        limits::record_refusal(&mut tx, target.playbook_id, "webhook", reached).await?;
    }
    webhooks::mark_received(&mut tx, target.playbook_id).await?;
    tx.commit().await?;
    let input = admitted?;
    allowed.map_err(|reached| ApiError::limit_reached(reached.to_string()))?;
    start(&app, tenant, target, input, &header.signature).await
}

/// The input the version's manifest admits for the author, or the refusal as
/// the sender hears it (422 naming the input's fields, 403), audited on the
/// playbook so its author sees why the webhook started nothing.
async fn admit(
    tx: &mut activities::TenantTx,
    target: &HookTarget,
    input: &serde_json::Value,
) -> Result<Result<serde_json::Value, ApiError>, ApiError> {
    let Some(run_as) = target.run_as else {
        return Ok(Err(ApiError::conflict(
            "the playbook of this webhook has no author to run as",
        )));
    };
    let admitted = manifest::admit(tx, target.playbook_id, target.version, run_as, input).await?;
    Ok(match admitted {
        Ok(input) => Ok(input),
        Err(refused) => {
            limits::record_refusal(tx, target.playbook_id, "webhook", &refused).await?;
            Err(match refused {
                AdmissionRefused::Input(issues) => issues.into(),
                other => ApiError::refused(other.to_string()),
            })
        }
    })
}

/// The body as a JSON object without NUL characters.
fn json_object(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_field("body", format!("is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    if value.to_string().contains("\\u0000") {
        return Err(ApiError::invalid_field(
            "body",
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(value)
}

async fn start(
    app: &AppState,
    tenant: TenantId,
    target: HookTarget,
    input: serde_json::Value,
    signature: &[u8],
) -> Result<(StatusCode, Json<PlaybookRunStarted>), ApiError> {
    let run_as = target.run_as.ok_or_else(|| {
        ApiError::conflict("the playbook of this webhook has no author to run as")
    })?;
    let run = PlaybookRunInput {
        tenant,
        playbook_id: target.playbook_id,
        version: target.version,
        source: target.source,
        input,
        dry_run: false,
        fixtures: Default::default(),
        run_as,
        trigger: "webhook".into(),
        depth: 0,
        continuation: None,
    };
    // The same signed request, replayed inside the window, joins its first run.
    let delivery = hex::encode(&Sha256::digest(signature)[..16]);
    let started = app
        .temporal()
        .await?
        .start_playbook_run_once(run.clone(), &format!("wh{delivery}"))
        .await
        .map_err(ApiError::unavailable)?;
    let kind = engine::workflows::WorkflowKind::PlaybookRun;
    super::workflow_runs::record_started(app, tenant, &started, kind, &run).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PlaybookRunStarted {
            run_id: started.run_id,
            workflow_id: started.workflow_id,
            version: target.version,
        }),
    ))
}

/// The playbook's webhook: its path and signing secret.
#[utoipa::path(get, path = "/playbooks/{id}/webhook", tag = "playbooks", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Playbook id")),
    responses((status = 200, body = Webhook), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "The playbook's trigger is not a webhook")))]
pub async fn get_webhook(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Webhook>, ApiError> {
    require(&caller, Permission::PLAYBOOK_WRITE)?;
    webhook(&app, caller.tenant, id, None).await.map(Json)
}

/// Replaces the playbook's signing secret; the old one stops working at once.
#[utoipa::path(post, path = "/playbooks/{id}/webhook/rotate", tag = "playbooks", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "Playbook id")),
    responses((status = 200, body = Webhook), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "The playbook's trigger is not a webhook")))]
pub async fn rotate_webhook_secret(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Webhook>, ApiError> {
    require(&caller, Permission::PLAYBOOK_WRITE)?;
    webhook(&app, caller.tenant, id, Some(caller.user_id))
        .await
        .map(Json)
}

/// The webhook of playbook `id`, after `rotated_by` rotated its secret, if given.
pub(crate) async fn webhook(
    app: &AppState,
    tenant: TenantId,
    id: Uuid,
    rotated_by: Option<Uuid>,
) -> Result<Webhook, ApiError> {
    let mut tx = app.db.tenant_tx(tenant).await?;
    let slug = tenants::tenant_by_id(&mut tx, tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?
        .slug;
    let playbook = playbooks::find_playbook(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("playbook"))?;
    let Ok(Trigger::Webhook { hook }) = serde_json::from_value(playbook.playbook.trigger) else {
        return Err(ApiError::conflict(
            "the playbook's trigger is not a webhook",
        ));
    };
    if let Some(actor) = rotated_by {
        webhooks::rotate_secret(&mut tx, id).await?;
        activities::audit::record(
            &mut tx,
            activities::audit::AuditEntry {
                actor: Some(actor),
                action: "playbook.webhook_secret_rotated",
                resource: "playbook",
                resource_id: Some(id),
                details: serde_json::json!({ "hook": hook }),
            },
        )
        .await?;
    }
    let found = webhooks::webhook_of(&mut tx, id, &hook, &slug).await?;
    tx.commit().await?;
    found.ok_or_else(|| ApiError::not_found("webhook"))
}
