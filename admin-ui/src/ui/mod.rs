//! The server-rendered admin UI: login, dashboard, users and API keys. Pages are
//! minijinja templates compiled into the binary; forms carry CSRF tokens.

mod pages;
mod runs;
mod session;

use crate::AppState;
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
];

/// The compiled page templates.
pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
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
        .route("/static/app.css", get(stylesheet))
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
