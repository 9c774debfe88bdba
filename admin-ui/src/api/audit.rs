//! `/api/v1/audit-log`: who did what, newest first.

use crate::auth::{require, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::AppState;
use activities::audit;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use engine::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One audit entry.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryBody {
    id: Uuid,
    actor_user_id: Option<Uuid>,
    /// e.g. `user.created`.
    action: String,
    resource: String,
    resource_id: Option<Uuid>,
    details: serde_json::Value,
    occurred_at: DateTime<Utc>,
}

/// Recent audit entries.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    data: Vec<AuditEntryBody>,
    next_cursor: Option<String>,
}

/// How many entries.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The newest audit entries of the tenant.
#[utoipa::path(get, path = "/audit-log", tag = "audit", params(AuditParams), security(("api_key" = [])),
    responses((status = 200, body = AuditList), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_audit_log(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditList>, ApiError> {
    require(&caller, Permission::AUDIT_READ)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 200",
        ));
    }
    let mut tx = app.db.tenant_tx(caller.tenant).await?;
    let entries = audit::recent_entries(&mut tx, limit).await?;
    tx.commit().await?;
    let data = entries
        .into_iter()
        .map(|e| AuditEntryBody {
            id: e.id,
            actor_user_id: e.actor_user_id,
            action: e.action,
            resource: e.resource,
            resource_id: e.resource_id,
            details: e.details,
            occurred_at: e.occurred_at,
        })
        .collect();
    Ok(Json(AuditList {
        data,
        next_cursor: None,
    }))
}
