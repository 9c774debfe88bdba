//! The server-rendered admin UI: login, dashboard, users, API keys, runs, the
//! client records (clients, contacts, assets, interactions, CSV import), tickets
//! with their SLA, the ticket settings (SLA policies, business hours, boards), and
//! time (my week with its timer, timesheets, the team approvals page), and billing
//! (dashboard, invoices and their review, contracts, the catalogue, a client's
//! balance and credits), and playbooks (the editor, versions, runs and signals,
//! the tenant's limits, and run forms on ticket and client pages).
//! Pages are minijinja templates compiled into the binary; forms carry CSRF tokens.

mod asset_detail;
mod assets;
mod billing;
mod billing_chart;
mod billing_dashboard;
mod client_billing;
mod client_detail;
mod clients;
mod contacts;
mod contracts;
mod countdown;
mod forms;
mod imports;
mod invoice_detail;
mod invoices;
mod lookups;
mod notification_settings;
mod notifications;
mod pages;
mod playbook_launch;
mod playbook_limits;
mod playbooks;
#[cfg(test)]
mod render_tests;
mod runs;
mod session;
mod sla_settings;
mod ticket_detail;
mod tickets;
mod time;
mod timesheets;
mod week_grid;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    ("users.html", include_str!("../../templates/users.html")),
    (
        "api_keys.html",
        include_str!("../../templates/api_keys.html"),
    ),
    ("runs.html", include_str!("../../templates/runs.html")),
    ("run.html", include_str!("../../templates/run.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("notice.html", include_str!("../../templates/notice.html")),
    ("clients.html", include_str!("../../templates/clients.html")),
    (
        "client_form.html",
        include_str!("../../templates/client_form.html"),
    ),
    ("client.html", include_str!("../../templates/client.html")),
    (
        "contacts.html",
        include_str!("../../templates/contacts.html"),
    ),
    (
        "contact_form.html",
        include_str!("../../templates/contact_form.html"),
    ),
    ("assets.html", include_str!("../../templates/assets.html")),
    ("asset.html", include_str!("../../templates/asset.html")),
    (
        "asset_form.html",
        include_str!("../../templates/asset_form.html"),
    ),
    ("import.html", include_str!("../../templates/import.html")),
    ("tickets.html", include_str!("../../templates/tickets.html")),
    ("ticket.html", include_str!("../../templates/ticket.html")),
    (
        "ticket_form.html",
        include_str!("../../templates/ticket_form.html"),
    ),
    (
        "sla_settings.html",
        include_str!("../../templates/sla_settings.html"),
    ),
    ("boards.html", include_str!("../../templates/boards.html")),
    (
        "notifications.html",
        include_str!("../../templates/notifications.html"),
    ),
    (
        "notification_preferences.html",
        include_str!("../../templates/notification_preferences.html"),
    ),
    (
        "unsubscribe.html",
        include_str!("../../templates/unsubscribe.html"),
    ),
    (
        "notification_settings.html",
        include_str!("../../templates/notification_settings.html"),
    ),
    (
        "notification_templates.html",
        include_str!("../../templates/notification_templates.html"),
    ),
    (
        "notification_template.html",
        include_str!("../../templates/notification_template.html"),
    ),
    (
        "billing_catalogue.html",
        include_str!("../../templates/billing_catalogue.html"),
    ),
    ("billing.html", include_str!("../../templates/billing.html")),
    (
        "invoices.html",
        include_str!("../../templates/invoices.html"),
    ),
    ("invoice.html", include_str!("../../templates/invoice.html")),
    (
        "contracts.html",
        include_str!("../../templates/contracts.html"),
    ),
    (
        "client_billing.html",
        include_str!("../../templates/client_billing.html"),
    ),
    (
        "time_week.html",
        include_str!("../../templates/time_week.html"),
    ),
    (
        "timesheet.html",
        include_str!("../../templates/timesheet.html"),
    ),
    (
        "time_approvals.html",
        include_str!("../../templates/time_approvals.html"),
    ),
    (
        "playbooks.html",
        include_str!("../../templates/playbooks.html"),
    ),
    (
        "playbook.html",
        include_str!("../../templates/playbook.html"),
    ),
    (
        "playbook_run.html",
        include_str!("../../templates/playbook_run.html"),
    ),
    (
        "playbook_limits.html",
        include_str!("../../templates/playbook_limits.html"),
    ),
];

/// The compiled page templates.
pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("datetime", datetime);
    env.add_filter("money", billing::money);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("templates shipped in the binary compile");
    }
    env
}

/// The UI routes.
pub fn router(_state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/users", get(pages::users).post(pages::create_user))
        .route(
            "/api-keys",
            get(pages::api_keys).post(pages::create_api_key),
        )
        .route("/api-keys/{id}/revoke", post(pages::revoke_api_key))
        .route("/runs", get(runs::runs))
        .route("/runs/self-test", post(runs::start_self_test))
        .route("/runs/{run_id}", get(runs::run))
        .route("/runs/{run_id}/signal", post(runs::signal))
        .route("/playbooks", get(playbooks::list).post(playbooks::create))
        .route(
            "/playbooks/limits",
            get(playbook_limits::page).post(playbook_limits::save),
        )
        .route(
            "/playbooks/limits/http-hosts",
            post(playbook_limits::add_host),
        )
        .route(
            "/playbooks/limits/http-hosts/{id}/remove",
            post(playbook_limits::remove_host),
        )
        .route(
            "/playbooks/{id}",
            get(playbooks::editor).post(playbooks::save),
        )
        .route("/playbooks/{id}/runs", post(playbooks::start_run))
        .route(
            "/playbooks/{id}/webhook/rotate",
            post(playbooks::rotate_webhook_secret),
        )
        .route("/clients", get(clients::list).post(clients::create))
        .route("/clients/new", get(clients::new_form))
        .route("/clients/{id}", get(client_detail::detail))
        .route(
            "/clients/{id}/edit",
            get(clients::edit_form).post(clients::update),
        )
        .route("/clients/{id}/archive", post(client_detail::archive))
        .route(
            "/clients/{id}/playbook-runs",
            post(playbook_launch::from_client),
        )
        .route("/clients/{id}/locations", post(client_detail::add_location))
        .route(
            "/clients/{id}/locations/{location_id}",
            post(client_detail::update_location),
        )
        .route(
            "/clients/{id}/locations/{location_id}/archive",
            post(client_detail::archive_location),
        )
        .route(
            "/clients/{id}/interactions",
            post(client_detail::log_interaction),
        )
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route("/contacts/new", get(contacts::new_form))
        .route(
            "/contacts/{id}/edit",
            get(contacts::edit_form).post(contacts::update),
        )
        .route("/assets", get(assets::list).post(assets::create))
        .route("/assets/new", get(assets::new_form))
        .route("/assets/{id}", get(asset_detail::detail))
        .route(
            "/assets/{id}/relationships",
            post(asset_detail::add_relationship),
        )
        .route(
            "/assets/{id}/relationships/remove",
            post(asset_detail::remove_relationship),
        )
        .route(
            "/assets/{id}/edit",
            get(assets::edit_form).post(assets::update),
        )
        .route(
            "/import",
            get(imports::form)
                .post(imports::upload)
                // Files are far larger than forms; only this route gets the CSV limit
                // (plus room for the form's other fields and part headers).
                .layer(DefaultBodyLimit::max(imports::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/new", get(tickets::new_form))
        .route("/tickets/{id}", get(ticket_detail::detail))
        .route("/tickets/{id}/status", post(ticket_detail::change_status))
        .route("/tickets/{id}/triage", post(ticket_detail::triage))
        .route("/tickets/{id}/comments", post(ticket_detail::add_comment))
        .route(
            "/tickets/{id}/playbook-runs",
            post(playbook_launch::from_ticket),
        )
        .route("/settings/sla", get(sla_settings::sla_page))
        .route("/settings/sla/policies", post(sla_settings::create_policy))
        .route(
            "/settings/sla/business-hours",
            post(sla_settings::create_hours),
        )
        .route("/settings/boards", get(sla_settings::boards_page))
        .route("/settings/boards/{id}", post(sla_settings::update_board))
        .route("/notifications", get(notifications::inbox))
        .route(
            "/notifications/read-all",
            post(notifications::mark_all_read),
        )
        .route("/notifications/{id}/read", post(notifications::mark_read))
        .route(
            "/notifications/preferences",
            get(notifications::preferences_page).post(notifications::save_preferences),
        )
        // Public: the signed token is the authority (RFC 8058 one-click posts carry
        // no session cookie and no CSRF token), so these handlers take no SignedIn.
        .route(
            "/notifications/unsubscribe",
            get(notifications::unsubscribe_form).post(notifications::unsubscribe),
        )
        .route(
            "/settings/notifications",
            get(notification_settings::settings_page).post(notification_settings::save_settings),
        )
        .route(
            "/settings/notifications/smtp",
            post(notification_settings::save_smtp),
        )
        .route(
            "/settings/notifications/test-email",
            post(notification_settings::send_test_email),
        )
        .route(
            "/settings/notification-templates",
            get(notification_settings::templates_page),
        )
        .route(
            "/settings/notification-templates/{key}",
            get(notification_settings::template_page).post(notification_settings::template_action),
        )
        .route("/billing", get(billing_dashboard::dashboard))
        .route("/billing/runs", post(billing_dashboard::start_run))
        .route(
            "/billing/invoices",
            get(invoices::list).post(invoices::create),
        )
        .route("/billing/invoices/{id}", get(invoice_detail::review))
        .route(
            "/billing/invoices/{id}/finalize",
            post(invoice_detail::finalize),
        )
        .route("/billing/invoices/{id}/void", post(invoice_detail::void))
        .route(
            "/billing/invoices/{id}/payments",
            post(invoice_detail::record_payment),
        )
        .route(
            "/billing/contracts",
            get(contracts::list).post(contracts::create),
        )
        .route("/clients/{id}/credits", post(client_billing::grant_credit))
        .route("/billing/catalogue", get(billing::catalogue_page))
        .route("/billing/services", post(billing::create_service))
        .route("/billing/tax-regions", post(billing::create_region))
        .route("/billing/tax-rates", post(billing::create_rate))
        .route("/time", get(time::week))
        .route("/time/entries", post(time::log_time))
        .route("/time/entries/{id}/delete", post(time::delete_entry))
        .route("/time/timer/start", post(time::start_timer))
        .route("/time/timer/stop", post(time::stop_timer))
        .route("/time/timer/discard", post(time::discard_timer))
        .route("/time/approvals", get(timesheets::approvals))
        .route("/time/sheets/{id}", get(timesheets::sheet))
        .route("/time/sheets/{id}/submit", post(timesheets::submit))
        .route("/time/sheets/{id}/approve", post(timesheets::approve))
        .route("/time/sheets/{id}/reject", post(timesheets::reject))
        .route("/time/sheets/{id}/comments", post(timesheets::comment))
        .route("/static/app.css", get(stylesheet))
}

/// `{{ t | datetime }}`: a stored timestamp (RFC 3339, as serialised) to the minute,
/// "2026-03-02 10:15 UTC"; anything else as it is, none as blank.
fn datetime(value: minijinja::Value) -> String {
    if value.is_none() || value.is_undefined() {
        return String::new();
    }
    let text = value.to_string();
    match chrono::DateTime::parse_from_rfc3339(&text) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => text,
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_file_is_compiled_into_the_binary() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let env = super::templates();
        for entry in std::fs::read_dir(dir).expect("templates dir").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                env.get_template(&name).is_ok(),
                "{name} is not registered in TEMPLATES"
            );
        }
    }

    #[test]
    fn timestamps_show_to_the_minute() {
        let env = super::templates();
        let render = |t: &str, v: minijinja::Value| {
            env.render_str(t, minijinja::context! { v })
                .expect("renders")
        };
        assert_eq!(
            render("{{ v | datetime }}", "2026-11-29T10:10:02.415325Z".into()),
            "2026-11-29 10:10 UTC"
        );
        assert_eq!(render("{{ v | datetime }}", "soon".into()), "soon");
        assert_eq!(render("{{ v | datetime }}", ().into()), "");
    }

    #[test]
    fn the_run_page_renders_steps_with_their_json() {
        use minijinja::context;
        let env = super::templates();
        let step = context! {
            name => "write_mark_1", status => "completed", attempt => 1,
            input => context! { number => 1 }, output => 1, error => (),
            started_at => "t0", closed_at => "t1",
        };
        let run = context! {
            run_id => "r", workflow_id => "w", kind => "self_test", status => "completed",
            started_at => "t0", closed_at => "t1", input => context! { steps => 2 },
            result => context! { marks => 2 }, error => (),
        };
        let html = env
            .get_template("run.html")
            .expect("registered")
            .render(context! { run, steps => vec![step], temporal_url => "http://t" })
            .expect("renders");
        assert!(html.contains("write_mark_1"), "{html}");
        assert!(
            html.contains("&quot;marks&quot;: 2") || html.contains("\"marks\": 2"),
            "{html}"
        );
    }
}
