//! The REST API under `/api/v1` and its OpenAPI 3.1 document, generated from the
//! handlers so the two cannot drift.

pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod billing;
pub mod clients;
pub mod contacts;
pub mod imports;
pub mod interactions;
pub mod invoices;
pub mod notifications;
pub mod pagination;
pub mod playbook_http_hosts;
pub(crate) mod playbook_start;
pub mod playbooks;
pub mod tenants;
pub mod ticket_settings;
pub mod tickets;
pub mod time;
pub mod users;
pub mod webhooks;
pub mod workflow_runs;

use crate::auth::authenticate_bearer;
use crate::error::{ApiError, Problem};
use crate::idempotency::idempotent_posts;
use crate::AppState;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Keel API", version = "1", description = "The REST API of Keel PSA. Errors are application/problem+json; lists are cursor-paginated; POSTs accept an Idempotency-Key header."),
    modifiers(&BearerAuth),
    components(schemas(Problem)),
    tags((name = "users", description = "People of the tenant"), (name = "api-keys", description = "The caller's API keys"), (name = "audit", description = "The tenant's audit trail"), (name = "tenants", description = "Tenants (platform admins)"), (name = "workflow-runs", description = "Durable processes and their signals"), (name = "clients", description = "Clients, their locations, merges and timeline"), (name = "contacts", description = "People at clients"), (name = "interactions", description = "Calls, e-mails, meetings and notes"), (name = "assets", description = "Clients' devices, types and relationships"), (name = "imports", description = "CSV import"), (name = "tickets", description = "Tickets, comments and their SLA"), (name = "ticket-settings", description = "Statuses, priorities, boards, SLA policies, business hours"), (name = "time", description = "Time entries, timer, periods, timesheets and their approval"), (name = "playbooks", description = "Durable Rhai automations, their versions, runs and the action catalogue"), (name = "billing", description = "Service catalogue, tax, contracts, usage, invoices, payments, credits, the ledger and billing runs"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("keel API key")
                    .build(),
            ),
        );
    }
}

fn documented_routes() -> OpenApiRouter<AppState> {
    authenticated_routes().merge(public_routes())
}

/// Routes that prove themselves without an API key: signed inbound webhooks.
fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().nest(
        "/api/v1",
        OpenApiRouter::new().routes(routes!(webhooks::receive)),
    )
}

fn authenticated_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(
        "/api/v1",
        OpenApiRouter::new()
            .routes(routes!(users::list_users, users::create_user))
            .routes(routes!(users::get_user, users::update_user))
            .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
            .routes(routes!(api_keys::revoke_api_key))
            .routes(routes!(audit::list_audit_log))
            .routes(routes!(tenants::create_tenant))
            .routes(routes!(workflow_runs::list_runs))
            .routes(routes!(workflow_runs::get_run))
            .routes(routes!(workflow_runs::signal_run))
            .routes(routes!(workflow_runs::start_self_test))
            .routes(routes!(clients::list_clients, clients::create_client))
            .routes(routes!(
                clients::get_client,
                clients::update_client,
                clients::delete_client
            ))
            .routes(routes!(clients::merge_client))
            .routes(routes!(clients::client_timeline))
            .routes(routes!(clients::list_locations, clients::create_location))
            .routes(routes!(clients::update_location, clients::delete_location))
            .routes(routes!(contacts::list_contacts, contacts::create_contact))
            .routes(routes!(
                contacts::get_contact,
                contacts::update_contact,
                contacts::delete_contact
            ))
            .routes(routes!(
                interactions::list_interactions,
                interactions::create_interaction
            ))
            .routes(routes!(
                interactions::get_interaction,
                interactions::update_interaction,
                interactions::delete_interaction
            ))
            .routes(routes!(interactions::list_kinds, interactions::create_kind))
            .routes(routes!(assets::list_assets, assets::create_asset))
            .routes(routes!(
                assets::get_asset,
                assets::update_asset,
                assets::delete_asset
            ))
            .routes(routes!(assets::asset_history))
            .routes(routes!(assets::add_relationship))
            .routes(routes!(assets::remove_relationship))
            .routes(routes!(assets::list_asset_types, assets::create_asset_type))
            .routes(routes!(assets::update_asset_type))
            .routes(routes!(tickets::list_tickets, tickets::create_ticket))
            .routes(routes!(tickets::get_ticket, tickets::update_ticket))
            .routes(routes!(tickets::list_comments, tickets::add_comment))
            .routes(routes!(tickets::edit_comment))
            .routes(routes!(tickets::sla_audit))
            .routes(routes!(tickets::live_sla))
            .routes(routes!(
                ticket_settings::list_statuses,
                ticket_settings::create_status
            ))
            .routes(routes!(
                ticket_settings::list_priorities,
                ticket_settings::create_priority
            ))
            .routes(routes!(
                ticket_settings::list_boards,
                ticket_settings::create_board
            ))
            .routes(routes!(ticket_settings::update_board))
            .routes(routes!(ticket_settings::configure_numbering))
            .routes(routes!(
                ticket_settings::list_policies,
                ticket_settings::create_policy
            ))
            .routes(routes!(
                ticket_settings::list_business_hours,
                ticket_settings::create_business_hours
            ))
            .routes(routes!(
                notifications::get_settings,
                notifications::update_settings
            ))
            .routes(routes!(notifications::list_templates))
            .routes(routes!(
                notifications::get_template,
                notifications::save_template,
                notifications::reset_template
            ))
            .routes(routes!(notifications::preview_template))
            .routes(routes!(
                notifications::get_smtp,
                notifications::save_smtp,
                notifications::delete_smtp
            ))
            .routes(routes!(notifications::send_test_email))
            .routes(routes!(notifications::list_log))
            .routes(routes!(notifications::list_preferences))
            .routes(routes!(notifications::set_preference))
            .routes(routes!(notifications::inbox))
            .routes(routes!(notifications::unread_count))
            .routes(routes!(notifications::mark_read))
            .routes(routes!(notifications::mark_all_read))
            .routes(routes!(notifications::send_digests_now))
            .routes(routes!(time::list_entries, time::create_entry))
            .routes(routes!(
                time::get_entry,
                time::update_entry,
                time::delete_entry
            ))
            .routes(routes!(time::get_timesheet))
            .routes(routes!(time::list_timesheets))
            .routes(routes!(time::get_timesheet_by_id))
            .routes(routes!(time::submit_timesheet))
            .routes(routes!(time::approve_timesheet))
            .routes(routes!(time::reject_timesheet))
            .routes(routes!(time::list_comments, time::add_comment))
            .routes(routes!(time::list_periods))
            .routes(routes!(time::get_settings, time::put_settings))
            .routes(routes!(time::get_timer, time::discard_timer))
            .routes(routes!(time::start_timer))
            .routes(routes!(time::stop_timer))
            .routes(routes!(
                playbooks::list_playbooks,
                playbooks::create_playbook
            ))
            .routes(routes!(playbooks::get_playbook, playbooks::update_playbook))
            .routes(routes!(playbooks::list_versions))
            .routes(routes!(playbooks::start_run))
            .routes(routes!(playbooks::list_actions))
            .routes(routes!(playbooks::get_limits, playbooks::set_limits))
            .routes(routes!(
                playbook_http_hosts::list_http_hosts,
                playbook_http_hosts::add_http_host
            ))
            .routes(routes!(playbook_http_hosts::remove_http_host))
            .routes(routes!(webhooks::get_webhook))
            .routes(routes!(webhooks::rotate_webhook_secret))
            .routes(routes!(billing::list_services, billing::create_service))
            .routes(routes!(billing::get_service, billing::update_service))
            .routes(routes!(billing::list_regions, billing::create_region))
            .routes(routes!(billing::list_rates, billing::create_rate))
            .routes(routes!(billing::list_contracts, billing::create_contract))
            .routes(routes!(billing::get_contract))
            .routes(routes!(billing::list_usage, billing::record_usage))
            .routes(routes!(invoices::list_invoices))
            .routes(routes!(invoices::create_manual_invoice))
            .routes(routes!(invoices::get_invoice, invoices::update_invoice))
            .routes(routes!(invoices::finalize_invoice))
            .routes(routes!(invoices::void_invoice))
            .routes(routes!(invoices::record_payment))
            .routes(routes!(invoices::list_credits, invoices::grant_credit))
            .routes(routes!(invoices::client_balance))
            .routes(routes!(invoices::client_transactions))
            .routes(routes!(invoices::reconciliation))
            .routes(routes!(invoices::start_billing_run))
            .routes(routes!(invoices::invoice_pdf))
            .routes(routes!(invoices::send_invoice))
            .routes(routes!(
                invoices::get_invoice_template,
                invoices::put_invoice_template
            ))
            .merge(
                OpenApiRouter::new()
                    .routes(routes!(imports::import_csv))
                    .layer(axum::extract::DefaultBodyLimit::max(imports::MAX_CSV_BYTES)),
            ),
    )
}

/// The API routes (authenticated, idempotent POSTs) and `/api/v1/openapi.json`.
pub fn router(state: AppState) -> Router<AppState> {
    let document = std::sync::Arc::new(openapi_document());
    let (public, _) = public_routes().split_for_parts();
    let (routes, _) = authenticated_routes().split_for_parts();
    routes
        .layer(from_fn_with_state(state.clone(), idempotent_posts))
        .layer(from_fn_with_state(state, authenticate_bearer))
        .merge(public)
        .route(
            "/api/v1/openapi.json",
            get(move || std::future::ready(Json(document.as_ref().clone()))),
        )
}

/// The OpenAPI document, for tests and tooling.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented_routes().split_for_parts().1
}

/// Unknown routes: 404 problem+json.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

/// Known path, wrong method: 405 problem+json.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
