//! `/api/v1/tenants`: creating tenants (platform admins only).

use super::workflow_runs::record_started;
use crate::auth::{require, Caller};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::ApiJson;
use crate::AppState;
use activities::tenants::{self, TenantError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use engine::workflows::onboarding::OnboardingInput;
use engine::workflows::WorkflowKind;
use engine::{Permission, Slug};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A tenant to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 2–63 lowercase letters, digits and dashes.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,62}$", example = "acme-it")]
    slug: String,
    /// Display name, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

/// A created tenant and its onboarding run.
#[derive(Serialize, ToSchema)]
pub struct TenantBody {
    id: Uuid,
    slug: String,
    name: String,
    created_at: DateTime<Utc>,
    /// The `TenantOnboarding` run seeding it.
    onboarding_run_id: Uuid,
}

/// Creates a tenant and starts its onboarding workflow. Only Admins of the platform
/// tenant (`KEEL_PLATFORM_TENANT`) may.
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = CreateTenant, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = TenantBody), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem)))]
pub async fn create_tenant(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<TenantBody>), ApiError> {
    require_platform_admin(&app, &caller).await?;
    let slug = Slug::parse(&body.slug);
    let mut errors = Vec::new();
    if let Err(e) = &slug {
        errors.push(FieldError {
            field: "slug".into(),
            message: e.to_string(),
            ..Default::default()
        });
    }
    if !(1..=200).contains(&body.name.trim().chars().count()) {
        errors.push(FieldError {
            field: "name".into(),
            message: "must be 1 to 200 characters".into(),
            ..Default::default()
        });
    }
    let slug = match slug {
        Ok(slug) if errors.is_empty() => slug,
        _ => return Err(ApiError::validation(errors)),
    };
    let temporal = app.temporal().await?;
    let tenant = tenants::insert_tenant(&app.db, &slug, &body.name)
        .await
        .map_err(|e| match e {
            TenantError::SlugTaken(_) => ApiError::conflict(e.to_string()),
            TenantError::InvalidName => ApiError::invalid_field("name", e.to_string()),
            TenantError::Db(db) => db.into(),
        })?;
    let started = temporal
        .start_onboarding(tenant.tenant_id(), &tenant.slug)
        .await
        .map_err(ApiError::unavailable)?;
    let input = OnboardingInput {
        tenant: tenant.tenant_id(),
        slug: tenant.slug.clone(),
    };
    let onboarding_run_id = record_started(
        &app,
        tenant.tenant_id(),
        &started,
        WorkflowKind::TenantOnboarding,
        &input,
    )
    .await?;
    let body = TenantBody {
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
        created_at: tenant.created_at,
        onboarding_run_id,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Admins of the platform tenant only; everyone else gets 403.
async fn require_platform_admin(
    app: &AppState,
    caller: &activities::access::Principal,
) -> Result<(), ApiError> {
    require(caller, Permission::TENANT_MANAGE)?;
    let platform = match &app.settings.platform_tenant {
        Some(slug) => tenants::tenant_by_slug(&app.db, slug).await?,
        None => None,
    };
    match platform {
        Some(tenant) if tenant.tenant_id() == caller.tenant => Ok(()),
        _ => Err(ApiError::forbidden("platform:admin")),
    }
}
