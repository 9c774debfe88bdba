//! Notification templates: what each may say (its declared variables), the system
//! templates shipped with Keel, strict validation at save time, and rendering.
//!
//! Templates are minijinja. Validation compiles all three parts, rejects any
//! variable the template's key does not declare, and renders them with sample data
//! under strict undefined-handling, so a mistake is an error with a line number when
//! the admin saves, never an empty string in a customer's inbox. HTML output is
//! autoescaped; subjects and plain text are not.

use super::Subtype;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The locale used when a template has no version in the wanted one.
pub const DEFAULT_LOCALE: &str = "en";
/// Locales Keel ships system templates for.
pub const LOCALES: &[&str] = &["en"];
/// The longest template part accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 100_000;
/// The longest rendered subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 400;
/// Work a render may do before it is stopped (minijinja fuel).
const RENDER_FUEL: u64 = 2_000_000;

/// What a template is for: a subtype's notification, or the daily digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateKey {
    /// The e-mail of one notification subtype.
    Subtype(Subtype),
    /// The daily digest that collects a user's digest notifications.
    DailyDigest,
}

impl TemplateKey {
    /// Every key, in catalogue order.
    pub fn all() -> impl Iterator<Item = TemplateKey> {
        Subtype::ALL
            .iter()
            .map(|s| TemplateKey::Subtype(*s))
            .chain(std::iter::once(TemplateKey::DailyDigest))
    }

    /// The stored name: the subtype's name, or `daily_digest`.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKey::Subtype(s) => s.as_str(),
            TemplateKey::DailyDigest => "daily_digest",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Result<TemplateKey, String> {
        if text.trim() == "daily_digest" {
            return Ok(TemplateKey::DailyDigest);
        }
        Subtype::parse(text)
            .map(TemplateKey::Subtype)
            .map_err(|_| "must be a notification subtype or daily_digest".to_owned())
    }

    /// The variables the template may use, with what they hold.
    pub fn variables(self) -> Vec<Variable> {
        let mut vars = common_variables();
        for (path, description) in specific_variables(self) {
            vars.push(Variable { path, description });
        }
        vars
    }

    /// A context with every declared variable set to a plausible value, for previews
    /// and for validation.
    pub fn sample_context(self) -> Value {
        let mut context = json!({
            "tenant": {"name": "Acme IT Services"},
            "recipient": {"name": "Dana Tech", "email": "dana@acme-it.example"},
            "link": "https://keel.example/tickets/0192f0c1",
            "unsubscribe_url": "https://keel.example/notifications/unsubscribe?token=sample",
        });
        let extra = match self {
            TemplateKey::Subtype(s) if s.category() == super::Category::Tickets => json!({
                "ticket": {
                    "number": "T-000123", "title": "Printer offline on 3rd floor",
                    "description": "The HP LaserJet near reception shows 'offline'.",
                    "status": "In progress", "priority": "High", "board": "Service desk",
                    "client_name": "Globex Ltd", "contact_name": "Hank Scorpio",
                    "assignee_name": "Dana Tech", "url": "https://keel.example/tickets/0192f0c1",
                },
                "changes": ["title", "priority"],
                "comment": {"body": "Replaced the toner; please confirm.", "author": "Dana Tech", "internal": false},
                "sla": {"measure": "resolution", "percent": 75, "due_at": "2026-12-01 17:00 UTC"},
                "escalation": {"level": 1, "manager_name": "Morgan Lead"},
            }),
            TemplateKey::Subtype(s) if s.category() == super::Category::Invoices => json!({
                "invoice": {
                    "number": "INV-000042", "client_name": "Globex Ltd", "total": "1,250.00 USD",
                    "currency": "USD", "due_on": "2026-12-31", "balance_due": "250.00 USD",
                    "url": "https://keel.example/invoices/0192f0c1",
                },
                "payment": {"amount": "1,000.00 USD", "received_on": "2026-12-15", "reference": "WIRE-7781"},
            }),
            TemplateKey::Subtype(s) if s.category() == super::Category::Projects => json!({
                "project": {"name": "Office move", "client_name": "Globex Ltd", "url": "https://keel.example/projects/0192f0c1"},
                "task": {"name": "Patch the new switch", "due_on": "2026-12-03"},
                "milestone": {"name": "Network live"},
            }),
            TemplateKey::Subtype(_) => json!({
                "timesheet": {
                    "user_name": "Dana Tech", "approver_name": "Morgan Lead",
                    "period_start": "2026-11-23", "period_end": "2026-11-29",
                    "total_hours": "38.5", "reason": "Tuesday's entries lack notes.",
                    "reversed": false, "waiting_hours": 24,
                    "url": "https://keel.example/timesheets/0192f0c1",
                },
            }),
            TemplateKey::DailyDigest => json!({
                "count": 2,
                "items": [
                    {"subject": "[T-000123] New ticket: Printer offline", "link": "https://keel.example/tickets/1", "at": "2026-11-28 09:12 UTC"},
                    {"subject": "[T-000124] SLA warning: response at 75%", "link": "https://keel.example/tickets/2", "at": "2026-11-28 11:40 UTC"},
                ],
            }),
        };
        merge(&mut context, extra);
        context
    }
}

fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(extra)) = (into, extra) {
        into.extend(extra);
    }
}

/// A variable a template may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// Dotted path, e.g. `ticket.number`.
    pub path: &'static str,
    /// What it holds.
    pub description: &'static str,
}

fn common_variables() -> Vec<Variable> {
    [
        ("tenant.name", "Your company's name"),
        ("recipient.name", "The recipient's name"),
        ("recipient.email", "The recipient's address"),
        ("link", "The record the notification is about"),
        (
            "unsubscribe_url",
            "Turns this kind of e-mail off for the recipient",
        ),
    ]
    .into_iter()
    .map(|(path, description)| Variable { path, description })
    .collect()
}

fn specific_variables(key: TemplateKey) -> Vec<(&'static str, &'static str)> {
    use Subtype::*;
    let ticket = [
        ("ticket.number", "Ticket number, e.g. T-000123"),
        ("ticket.title", "Ticket title"),
        ("ticket.description", "Ticket description"),
        ("ticket.status", "Current status"),
        ("ticket.priority", "Current priority"),
        ("ticket.board", "Board"),
        ("ticket.client_name", "Client"),
        ("ticket.contact_name", "Client contact (may be empty)"),
        ("ticket.assignee_name", "Assignee (may be empty)"),
        ("ticket.url", "Link to the ticket"),
    ];
    let invoice = [
        ("invoice.number", "Invoice number"),
        ("invoice.client_name", "Client"),
        ("invoice.total", "Total with currency"),
        ("invoice.currency", "ISO currency"),
        ("invoice.due_on", "Due date"),
        ("invoice.balance_due", "Open balance with currency"),
        ("invoice.url", "Link to the invoice"),
    ];
    let project = [
        ("project.name", "Project name"),
        ("project.client_name", "Client"),
        ("project.url", "Link to the project"),
    ];
    let timesheet = [
        ("timesheet.user_name", "Whose timesheet"),
        ("timesheet.approver_name", "Who decided"),
        ("timesheet.period_start", "First day"),
        ("timesheet.period_end", "Last day"),
        ("timesheet.total_hours", "Hours logged"),
        ("timesheet.url", "Link to the timesheet"),
    ];
    let mut vars: Vec<(&'static str, &'static str)> = match key {
        TemplateKey::Subtype(s) => match s.category() {
            super::Category::Tickets => ticket.to_vec(),
            super::Category::Invoices => invoice.to_vec(),
            super::Category::Projects => project.to_vec(),
            super::Category::Time => timesheet.to_vec(),
        },
        TemplateKey::DailyDigest => vec![
            ("count", "Number of notifications collected"),
            ("items", "The notifications: each has subject, link and at"),
        ],
    };
    let extra: &[(&'static str, &'static str)] = match key {
        TemplateKey::Subtype(TicketUpdated) => &[("changes", "Names of the changed fields")],
        TemplateKey::Subtype(TicketCommentAdded) => &[
            ("comment.body", "The comment"),
            ("comment.author", "Who wrote it"),
            ("comment.internal", "Whether it is an internal note"),
        ],
        TemplateKey::Subtype(TicketSlaWarning | TicketSlaBreach) => &[
            ("sla.measure", "response or resolution"),
            ("sla.percent", "Percent of the target used"),
            ("sla.due_at", "When the target is due"),
        ],
        TemplateKey::Subtype(TicketEscalated) => &[
            ("escalation.level", "Escalation level"),
            ("escalation.manager_name", "The escalation manager"),
        ],
        TemplateKey::Subtype(InvoicePaymentReceived) => &[
            ("payment.amount", "Amount with currency"),
            ("payment.received_on", "Date received"),
            ("payment.reference", "Payment reference"),
        ],
        TemplateKey::Subtype(ProjectTaskAssigned) => {
            &[("task.name", "Task name"), ("task.due_on", "Task due date")]
        }
        TemplateKey::Subtype(ProjectMilestoneCompleted) => &[("milestone.name", "Milestone")],
        TemplateKey::Subtype(TimesheetRejected) => &[
            ("timesheet.reason", "What to change"),
            ("timesheet.reversed", "Whether an approval was taken back"),
        ],
        TemplateKey::Subtype(TimesheetApprovalReminder) => {
            &[("timesheet.waiting_hours", "Hours since it was submitted")]
        }
        _ => &[],
    };
    vars.extend_from_slice(extra);
    vars
}

/// The three parts of an e-mail template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSet {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (a fragment; the layout wraps it).
    pub html: String,
}

/// Which part of a template a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    /// The subject.
    Subject,
    /// The plain-text body.
    Text,
    /// The HTML body.
    Html,
}

impl TemplatePart {
    /// The field name in the API (`subject`, `text_body`, `html_body`).
    pub fn field(self) -> &'static str {
        match self {
            TemplatePart::Subject => "subject",
            TemplatePart::Text => "text_body",
            TemplatePart::Html => "html_body",
        }
    }

    fn name(self) -> &'static str {
        match self {
            TemplatePart::Subject => "subject.txt",
            TemplatePart::Text => "body.txt",
            TemplatePart::Html => "body.html",
        }
    }

    fn source(self, set: &TemplateSet) -> &str {
        match self {
            TemplatePart::Subject => &set.subject,
            TemplatePart::Text => &set.text,
            TemplatePart::Html => &set.html,
        }
    }

    const ALL: [TemplatePart; 3] = [
        TemplatePart::Subject,
        TemplatePart::Text,
        TemplatePart::Html,
    ];
}

/// A problem found in a template, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TemplateIssue {
    /// The part.
    pub part: TemplatePart,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TemplateIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A rendered e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedEmail {
    /// One-line subject.
    pub subject: String,
    /// Plain-text body, footer included.
    pub text: String,
    /// Full HTML document, layout included.
    pub html: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(RENDER_FUEL));
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// The system template for `key` in `locale` (falling back to English).
pub fn system_template(key: TemplateKey, locale: &str) -> TemplateSet {
    let catalogue = system_catalogue();
    let in_locale = catalogue
        .get(locale)
        .and_then(|c| c.get(key.as_str()))
        .or_else(|| catalogue[DEFAULT_LOCALE].get(key.as_str()));
    in_locale
        .cloned()
        .expect("every template key has an English system template")
}

type Catalogue = BTreeMap<&'static str, BTreeMap<String, TemplateSet>>;

fn system_catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut catalogue = BTreeMap::new();
        let en: BTreeMap<String, TemplateSet> = toml::from_str(include_str!("templates/en.toml"))
            .expect("templates/en.toml is valid (checked by a unit test)");
        catalogue.insert("en", en);
        catalogue
    })
}

/// Checks a template for `key`: every part compiles, uses only declared variables,
/// and renders with sample data. Returns every problem found, each with its part and
/// line.
pub fn validate(key: TemplateKey, set: &TemplateSet) -> Result<(), Vec<TemplateIssue>> {
    let mut issues = Vec::new();
    let declared: Vec<&str> = key.variables().iter().map(|v| v.path).collect();
    let env = environment();
    let sample = key.sample_context();
    for part in TemplatePart::ALL {
        let source = part.source(set);
        if source.trim().is_empty() {
            issues.push(TemplateIssue {
                part,
                line: None,
                message: "must not be empty".into(),
            });
            continue;
        }
        if source.len() > MAX_TEMPLATE_BYTES {
            issues.push(TemplateIssue {
                part,
                line: None,
                message: format!("must be at most {MAX_TEMPLATE_BYTES} bytes"),
            });
            continue;
        }
        let template = match env.template_from_named_str(part.name(), source) {
            Ok(t) => t,
            Err(e) => {
                issues.push(issue_of(part, &e));
                continue;
            }
        };
        let unknown: Vec<String> = template
            .undeclared_variables(true)
            .into_iter()
            .filter(|used| !is_declared(used, &declared) && !is_builtin(used))
            .collect();
        let mut unknown = unknown;
        unknown.sort();
        for name in &unknown {
            issues.push(TemplateIssue {
                part,
                line: line_of(source, name),
                message: format!(
                    "unknown variable `{name}`; this template may use: {}",
                    declared.join(", ")
                ),
            });
        }
        if unknown.is_empty() {
            if let Err(e) = template.render(&sample) {
                issues.push(issue_of(part, &e));
            }
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Functions minijinja provides to every template.
fn is_builtin(used: &str) -> bool {
    let root = used.split('.').next().unwrap_or(used);
    ["range", "dict", "namespace", "debug", "loop", "self"].contains(&root)
}

/// A used path is declared when it names a declared variable, an object holding
/// declared variables (`ticket`), or something inside a declared list (`items`).
fn is_declared(used: &str, declared: &[&str]) -> bool {
    declared.iter().any(|d| {
        *d == used
            || d.strip_prefix(used)
                .is_some_and(|rest| rest.starts_with('.'))
            || used
                .strip_prefix(d)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

fn issue_of(part: TemplatePart, error: &minijinja::Error) -> TemplateIssue {
    let detail = error
        .detail()
        .map(|d| format!("{}: {d}", error.kind()))
        .unwrap_or_else(|| error.kind().to_string());
    TemplateIssue {
        part,
        line: error.line(),
        message: detail,
    }
}

/// The first line where `path` (or its first segment) appears as a whole word.
fn line_of(source: &str, path: &str) -> Option<usize> {
    let word = |needle: &str| {
        source.lines().position(|line| {
            line.match_indices(needle).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + needle.len()..].chars().next();
                let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !ident(before) && !ident(after)
            })
        })
    };
    let root = path.split('.').next().unwrap_or(path);
    word(path).or_else(|| word(root)).map(|i| i + 1)
}

/// Why a render failed at send time (a template that validated can still fail if
/// the data has an unexpected shape).
#[derive(Debug, thiserror::Error)]
#[error("{part:?}: {message}")]
pub struct RenderError {
    /// The part.
    pub part: TemplatePart,
    /// What went wrong.
    pub message: String,
}

/// Renders `set` with `context` and wraps the bodies in Keel's e-mail layout.
pub fn render(set: &TemplateSet, context: &Value) -> Result<RenderedEmail, RenderError> {
    let env = environment();
    let part = |part: TemplatePart| -> Result<String, RenderError> {
        env.render_named_str(part.name(), part.source(set), context)
            .map_err(|e| RenderError {
                part,
                message: issue_of(part, &e).to_string(),
            })
    };
    let subject: String = part(TemplatePart::Subject)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect();
    let text = part(TemplatePart::Text)?;
    let html = part(TemplatePart::Html)?;
    let layout = json!({
        "body": html,
        "subject": subject,
        "tenant": context.get("tenant").cloned().unwrap_or(Value::Null),
        "unsubscribe_url": context.get("unsubscribe_url").cloned().unwrap_or(Value::Null),
    });
    let html = env
        .render_named_str("layout.html", HTML_LAYOUT, &layout)
        .map_err(|e| RenderError {
            part: TemplatePart::Html,
            message: e.to_string(),
        })?;
    let text = env
        .render_named_str(
            "layout.txt",
            TEXT_LAYOUT,
            json!({"body": text.trim(), "ctx": layout}),
        )
        .map_err(|e| RenderError {
            part: TemplatePart::Text,
            message: e.to_string(),
        })?;
    Ok(RenderedEmail {
        subject,
        text,
        html,
    })
}

const HTML_LAYOUT: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933;line-height:1.5;max-width:640px;margin:0 auto;padding:16px">
{{ body|safe }}
<hr style="border:none;border-top:1px solid #d9e2ec;margin-top:24px">
<p style="color:#627d98;font-size:12px">{% if tenant and tenant.name %}{{ tenant.name }} · {% endif %}{% if unsubscribe_url %}<a href="{{ unsubscribe_url }}" style="color:#627d98">Unsubscribe from these e-mails</a>{% endif %}</p>
</body></html>
"#;

const TEXT_LAYOUT: &str = "{{ body }}\n\n-- \n{% if ctx.tenant and ctx.tenant.name %}{{ ctx.tenant.name }}\n{% endif %}{% if ctx.unsubscribe_url %}Unsubscribe: {{ ctx.unsubscribe_url }}\n{% endif %}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_template_validates_and_renders() {
        for key in TemplateKey::all() {
            let set = system_template(key, "en");
            validate(key, &set).unwrap_or_else(|e| panic!("{key:?}: {e:?}"));
            let out = render(&set, &key.sample_context()).unwrap();
            assert!(!out.subject.is_empty() && !out.subject.contains('\n'));
            assert!(out.html.starts_with("<!doctype html>"));
            assert!(out.text.contains("Unsubscribe: https://keel.example/"));
        }
        assert_eq!(
            system_template(TemplateKey::DailyDigest, "fr").subject,
            system_template(TemplateKey::DailyDigest, "en").subject
        );
    }

    #[test]
    fn a_syntax_error_is_reported_with_its_line() {
        let mut set = system_template(TemplateKey::Subtype(Subtype::TicketCreated), "en");
        set.html = "<p>ok</p>\n<p>{{ ticket.title </p>\n".into();
        let issues = validate(TemplateKey::Subtype(Subtype::TicketCreated), &set).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].part, TemplatePart::Html);
        assert_eq!(issues[0].line, Some(2));
        assert!(
            issues[0].message.contains("syntax error"),
            "{}",
            issues[0].message
        );
    }

    #[test]
    fn an_unknown_variable_is_reported_with_its_line_and_the_allowed_ones() {
        let key = TemplateKey::Subtype(Subtype::TicketClosed);
        let mut set = system_template(key, "en");
        set.text =
            "Hello {{ recipient.name }},\n\nYour invoice {{ invoice.number }} is ready.\n".into();
        set.subject = "{{ ticket.nmber }}".into();
        let issues = validate(key, &set).unwrap_err();
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert_eq!(issues[0].part, TemplatePart::Subject);
        assert!(issues[0].message.contains("`ticket.nmber`"));
        assert_eq!(issues[1].part, TemplatePart::Text);
        assert_eq!(issues[1].line, Some(3));
        assert!(issues[1].message.contains("`invoice.number`"));
        assert!(issues[1].message.contains("ticket.title"));
    }

    #[test]
    fn loops_over_declared_lists_and_locals_are_fine() {
        let key = TemplateKey::DailyDigest;
        let mut set = system_template(key, "en");
        set.text = "{% set n = count %}{% for item in items %}{{ loop.index }} {{ item.subject }} {{ n }}{% endfor %}".into();
        validate(key, &set).unwrap();
    }

    #[test]
    fn html_is_autoescaped_and_text_is_not() {
        let key = TemplateKey::Subtype(Subtype::TicketCommentAdded);
        let set = system_template(key, "en");
        let mut context = key.sample_context();
        context["comment"]["body"] = json!("<script>alert(1)</script> & more");
        let out = render(&set, &context).unwrap();
        assert!(
            out.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; more"),
            "{}",
            out.html
        );
        assert!(!out.html.contains("<script>"));
        assert!(out.text.contains("<script>alert(1)</script> & more"));
    }

    #[test]
    fn a_runaway_template_runs_out_of_fuel() {
        let key = TemplateKey::DailyDigest;
        let mut set = system_template(key, "en");
        set.text =
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}"
                .into();
        let issues = validate(key, &set).unwrap_err();
        assert!(issues[0].message.contains("fuel"), "{issues:?}");
    }
}
