//! Invoice documents: a finalized invoice as a real PDF that `pdftotext` reads
//! back, laid out by a tenant-editable template (a bad one refused with its
//! line), and e-mailed with the PDF attached through the InvoiceDelivery workflow.

use super::{books, created, error_fields, id};
use keel_tests::app::json_with_status;
use keel_tests::smtp::SmtpSink;
use keel_tests::worker::TestWorker;
use keel_tests::TestApp;
use mail_parser::MimeHeaders;
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The text `pdftotext` (poppler) reads from `pdf`.
fn pdf_text(pdf: &[u8]) -> String {
    let mut child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pdftotext is installed (./x setup --test)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pdf)
        .expect("write");
    let out = child.wait_with_output().expect("pdftotext");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn pdf_of(app: &TestApp, key: &str, invoice: &str) -> Vec<u8> {
    let response = app
        .get(key, &format!("/api/v1/invoices/{invoice}/pdf"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    response.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn an_invoice_is_a_pdf_from_the_tenants_template_and_is_emailed() {
    let app = TestApp::spawn().await;
    let b = books(&app, "documents").await;
    let admin = &b.admin;
    let sink = SmtpSink::start().await.expect("sink");
    json_with_status(
        app.put(
            admin,
            "/api/v1/smtp-settings",
            &json!({"host": sink.host(), "port": sink.port(),
            "tls_mode": "none", "from_address": "billing@msp.test", "from_name": "MSP Billing"}),
        )
        .await,
        200,
    )
    .await;
    let client = id(&created(
        &app,
        admin,
        "/api/v1/clients",
        json!({"name": "Zürich Dental", "currency": "CHF", "billing_email": "ap@zd.test"}),
    )
    .await);
    let mut lines =
        vec![json!({"description": "Onboarding", "quantity": "2", "unit_price_cents": 60000})];
    for n in 0..70 {
        lines.push(json!({"description": format!("Licence seat {n}"), "unit_price_cents": 1000}));
    }
    let invoice = id(&created(
        &app,
        admin,
        "/api/v1/invoices/manual",
        json!({"client_id": client, "invoice_date": "2026-02-01", "lines": lines}),
    )
    .await);
    // A draft is not sent.
    json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/send"),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;

    let pdf = pdf_of(&app, admin, &invoice).await;
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let text = pdf_text(&pdf);
    for expected in [
        "INVOICE INV-000001",
        "Bill to: Zürich Dental <ap@zd.test>",
        "Due: 2026-03-03",
        "2 x 600.00 = 1200.00 CHF",
        "Licence seat 69",
        "Total: 1900.00 CHF",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(text.contains('\u{c}'), "75 lines take more than one page");

    // The tenant's own template; a broken one is refused with its line.
    let refused = json_with_status(
        app.put(
            admin,
            "/api/v1/invoice-template",
            &json!({"body": "Hello\n{{ invoice.nubmer }}"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["body"]);
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("line 2"),
        "{refused}"
    );
    let saved = json_with_status(
        app.put(admin, "/api/v1/invoice-template", &json!({"body":
            "Rechnung {{ invoice.number }} an {{ client.name }}\n{% for l in lines[:1] %}{{ l.description }}{% endfor %}\nSumme {{ invoice.total }} {{ invoice.currency }}"})).await,
        200,
    )
    .await;
    assert_eq!(saved["is_custom"], true);
    let custom = pdf_text(&pdf_of(&app, admin, &invoice).await);
    assert!(
        custom.contains("Rechnung INV-000001 an Zürich Dental"),
        "{custom}"
    );
    assert!(custom.contains("Summe 1900.00 CHF"), "{custom}");

    // E-mailed through its workflow, the PDF attached.
    let _worker = TestWorker::start(&app);
    let started = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/send"),
            &json!({}),
        )
        .await,
        202,
    )
    .await;
    assert!(started["workflow_id"]
        .as_str()
        .expect("id")
        .contains(":invoice_delivery:"));
    let mail = sink
        .wait_for(1, Duration::from_secs(60))
        .await
        .expect("the invoice e-mail");
    assert_eq!(mail[0].to, vec!["ap@zd.test"]);
    assert_eq!(mail[0].subject, "Invoice INV-000001 from documents MSP");
    let raw = std::fs::read_dir(sink.dir())
        .expect("sink dir")
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| std::fs::read(e.path()).expect("eml"))
        .expect("one message file");
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("parses");
    let attachment = parsed.attachments().next().expect("an attachment");
    assert_eq!(attachment.attachment_name(), Some("INV-000001.pdf"));
    assert!(pdf_text(attachment.contents()).contains("Rechnung INV-000001"));
    let bad_to = json_with_status(
        app.post(
            admin,
            &format!("/api/v1/invoices/{invoice}/send"),
            &json!({"to": "not an address"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad_to), vec!["to"]);
}
