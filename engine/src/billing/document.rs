//! The invoice document: a tenant-editable plain-text template (minijinja) that
//! lays out an invoice line by line; the PDF writer turns the lines into pages.
//! Templates are checked when saved by rendering them against a sample invoice
//! under strict undefined-handling, so a typo is an error with a line number,
//! never a blank on a client's invoice.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{json, Value};

/// The template every tenant starts with.
pub const DEFAULT_INVOICE_TEMPLATE: &str = r#"{{ tenant.name }}
INVOICE {{ invoice.number or "DRAFT" }}

Bill to: {{ client.name }}{% if client.billing_email %} <{{ client.billing_email }}>{% endif %}
Invoice date: {{ invoice.invoice_date }}{% if invoice.due_on %}    Due: {{ invoice.due_on }}{% endif %}
{% if invoice.period_start %}Period: {{ invoice.period_start }} to {{ invoice.period_end }}
{% endif %}
{% for line in lines %}{{ line.description }}
    {{ line.quantity }} x {{ line.unit_price }} = {{ line.amount }} {{ invoice.currency }}{% if line.tax != "0.00" %} (tax {{ line.tax }}){% endif %}    {{ line.service_start }} to {{ line.service_end }}
{% endfor %}
Subtotal: {{ invoice.subtotal }} {{ invoice.currency }}
Tax: {{ invoice.tax }} {{ invoice.currency }}
Total: {{ invoice.total }} {{ invoice.currency }}
{% if invoice.credit_applied != "0.00" %}Credit applied: {{ invoice.credit_applied }} {{ invoice.currency }}
{% endif %}{% if invoice.paid != "0.00" %}Paid: {{ invoice.paid }} {{ invoice.currency }}
{% endif %}Balance due: {{ invoice.balance_due }} {{ invoice.currency }}
{% if invoice.notes %}
{{ invoice.notes }}
{% endif %}"#;

/// The longest template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 50_000;

/// Work a render may do before it is stopped.
const RENDER_FUEL: u64 = 2_000_000;

/// Cents as money text: `123456` → `"1234.56"`, `-5` → `"-0.05"`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        cents.unsigned_abs() / 100,
        cents.unsigned_abs() % 100
    )
}

/// What a template may use, with a plausible value for each: the tenant, the
/// client, the invoice (money as text) and its lines.
pub fn sample_context() -> Value {
    json!({
        "tenant": {"name": "Acme IT Services"},
        "client": {"name": "Globex Corporation", "billing_email": "ap@globex.example"},
        "invoice": {
            "number": "INV-000042", "status": "finalized", "currency": "USD",
            "invoice_date": "2026-02-01", "due_on": "2026-03-03",
            "period_start": "2026-01-01", "period_end": "2026-02-01",
            "subtotal": "1225.00", "tax": "108.72", "total": "1333.72",
            "credit_applied": "0.00", "paid": "0.00", "balance_due": "1333.72",
            "notes": "Thank you for your business."
        },
        "lines": [
            {"description": "Managed workstation", "quantity": "10", "unit_price": "45.00",
             "amount": "450.00", "tax": "39.94", "service_start": "2026-02-01", "service_end": "2026-03-01"},
            {"description": "Remote support: 6.2 h", "quantity": "6.2", "unit_price": "125.00",
             "amount": "775.00", "tax": "68.78", "service_start": "2026-01-01", "service_end": "2026-02-01"}
        ]
    })
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(RENDER_FUEL));
    env
}

/// Why a template was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct TemplateError {
    /// The template line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn template_error(error: minijinja::Error) -> TemplateError {
    TemplateError {
        line: error.line(),
        message: error
            .detail()
            .map_or_else(|| error.kind().to_string(), str::to_owned),
    }
}

/// Renders `template` with `context` into the document's text.
pub fn render_invoice(template: &str, context: &Value) -> Result<String, TemplateError> {
    let env = environment();
    env.render_str(template, context).map_err(template_error)
}

/// Checks a template a tenant saves: not too long, compiles, and renders the
/// sample invoice without touching anything undeclared.
pub fn validate_template(template: &str) -> Result<(), TemplateError> {
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError {
            line: None,
            message: format!("must be at most {MAX_TEMPLATE_BYTES} bytes"),
        });
    }
    if template.trim().is_empty() {
        return Err(TemplateError {
            line: None,
            message: "is required".into(),
        });
    }
    render_invoice(template, &sample_context()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_renders_every_figure() {
        let text = render_invoice(DEFAULT_INVOICE_TEMPLATE, &sample_context()).expect("renders");
        for expected in [
            "INVOICE INV-000042",
            "Bill to: Globex Corporation <ap@globex.example>",
            "Due: 2026-03-03",
            "10 x 45.00 = 450.00 USD (tax 39.94)",
            "Total: 1333.72 USD",
            "Balance due: 1333.72 USD",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(!text.contains("Credit applied"), "zero credit is left out");
    }

    #[test]
    fn a_bad_template_is_refused_with_its_line() {
        let unknown = validate_template("Hello\n{{ invoice.nubmer }}").expect_err("undeclared");
        assert_eq!(unknown.line, Some(2));
        let broken = validate_template("{% for line in lines %}").expect_err("unclosed");
        assert!(broken.line.is_some(), "{broken}");
        assert!(validate_template("  ").is_err());
        assert!(validate_template(&"x".repeat(MAX_TEMPLATE_BYTES + 1)).is_err());
        assert!(validate_template(DEFAULT_INVOICE_TEMPLATE).is_ok());
    }

    #[test]
    fn cents_format_exactly() {
        assert_eq!(format_cents(123_456), "1234.56");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(-5), "-0.05");
        assert_eq!(format_cents(0), "0.00");
    }
}
