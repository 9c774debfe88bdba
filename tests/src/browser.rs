//! A signed-in browser for tests of the UI's forms: a cookie jar, redirects not
//! followed (a test sees the 303 and where it points), and the session's CSRF
//! token read from a page, as a user's browser has it.

use crate::app::{TestApp, PASSWORD};

/// The marker of a form's CSRF field; the token follows it.
const CSRF_MARKER: &str = "name=\"csrf_token\" value=\"";

/// A browser signed in to the UI as one user.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    /// The session's CSRF token, which the UI's forms carry.
    pub csrf: String,
}

/// The CSRF token of the first form of `html`.
pub fn csrf_of(html: &str) -> Option<String> {
    let start = html.find(CSRF_MARKER)? + CSRF_MARKER.len();
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_owned())
}

impl Browser {
    /// Signs in through the login form as `email` (with the fixture password)
    /// of the tenant `slug`; panics when the UI refuses.
    pub async fn sign_in(app: &TestApp, slug: &str, email: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut browser = Browser {
            client,
            base: app.base.clone(),
            csrf: String::new(),
        };
        let (_, login) = browser.page("/login").await;
        let token = csrf_of(&login).expect("the login form's token");
        let fields = [
            ("tenant", slug),
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ];
        let response = browser
            .client
            .post(browser.url("/login"))
            .form(&fields)
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 303, "signed in as {email}");
        let (status, home) = browser.page("/").await;
        assert_eq!(status, 200, "{home}");
        browser.csrf = csrf_of(&home).expect("the session's token");
        browser
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs `path`: its status and body.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.expect("get");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// POSTs a form to `path` with the session's CSRF token added.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &self.csrf));
        self.post_raw(path, &form).await
    }

    /// POSTs exactly `fields` (no token added: for refused forms).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("post")
    }
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
