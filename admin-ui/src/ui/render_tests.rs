//! The record pages' templates rendered with sample data: they compile, place field
//! errors next to their inputs, keep what the user typed, and escape it.

use super::forms::FormErrors;
use engine::validation::FieldIssue;
use minijinja::{context, Value};
use serde_json::json;

fn render(name: &str, ctx: Value) -> String {
    super::templates()
        .get_template(name)
        .expect("registered")
        .render(ctx)
        .unwrap_or_else(|e| panic!("{name} renders: {e:#}"))
}

fn nav() -> Value {
    context! { email => "a@b.co", full_name => "Ann", csrf_token => "tok", can_manage_users => true }
}

fn issue(field: &str, message: &str) -> FieldIssue {
    FieldIssue {
        field: field.into(),
        message: message.into(),
    }
}

#[test]
fn a_refused_client_form_keeps_the_input_and_marks_the_bad_field() {
    let errors = FormErrors::from_issues(
        vec![issue(
            "billing_email",
            "must be an address like name@example.com",
        )],
        &["billing_email"],
    );
    let form = json!({
        "name": "Zürich <script>alert(1)</script>", "client_type": "company",
        "billing_email": "billing@nowhere", "currency": "CHF", "payment_terms": "net_15",
        "billing_cycle": "monthly", "billing_anchor_day": "1", "tax_region": "",
        "is_tax_exempt": null, "tax_exempt_certificate": "", "tags": "vip", "notes": "",
    });
    let html = render(
        "client_form.html",
        context! {
            nav => nav(), id => (), form, errors,
            client_types => vec!["company", "individual"],
            payment_terms => vec!["net_15", "net_30"], billing_cycles => vec!["monthly"],
        },
    );
    assert!(
        html.contains(r#"<p class="field-error" data-field="billing_email">must be an address like name@example.com</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"value="billing@nowhere""#), "{html}");
    assert!(
        html.contains(r#"<option value="net_15" selected>"#),
        "{html}"
    );
    assert!(html.contains("Zürich &lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains(r#"action="/clients""#), "{html}");
}

#[test]
fn the_client_list_links_the_next_page_and_says_when_empty() {
    let client = json!({
        "id": "0190d1c2-0000-7000-8000-000000000001", "name": "Acme", "client_type": "company",
        "billing_email": null, "currency": "USD", "is_inactive": false, "tags": ["vip"],
    });
    let html = render(
        "clients.html",
        context! {
            nav => nav(), clients => vec![client], query => json!({"q": "ac", "status": "", "client_type": "", "tag": ""}),
            next_url => "/clients?q=ac&cursor=x", search_error => (), paged => false, can_write => true,
        },
    );
    assert!(
        html.contains(r#"href="/clients/0190d1c2-0000-7000-8000-000000000001">Acme</a>"#),
        "{html}"
    );
    // minijinja also escapes "/" (as &#x2f;), which browsers decode.
    assert!(
        html.contains("clients?q=ac&amp;cursor=x\">Next page"),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/clients/new">New client</a>"#),
        "{html}"
    );
    let empty = render(
        "clients.html",
        context! {
            nav => nav(), clients => Vec::<Value>::new(), query => json!({"q": "", "status": "", "client_type": "", "tag": ""}),
            next_url => (), search_error => (), paged => false, can_write => true,
        },
    );
    assert!(empty.contains("No clients yet."), "{empty}");
}

#[test]
fn the_client_page_shows_its_sections_and_forms() {
    let client = json!({
        "id": "c1", "name": "Acme", "client_type": "company", "billing_email": "b@acme.com",
        "currency": "USD", "payment_terms": "net_30", "billing_cycle": "monthly",
        "billing_anchor_day": 1, "tax_region": null, "is_tax_exempt": false, "tags": [],
        "notes": "", "is_inactive": false, "archived_at": null, "merged_into": null,
    });
    let contact = json!({"id": "k1", "full_name": "Ann Lee", "role": "CEO", "email": "ann@acme.com", "phone": null, "is_inactive": false});
    let location = json!({"name": "HQ", "address_line1": "1 Main St", "address_line2": "", "postal_code": "10001",
                          "city": "New York", "region": "NY", "country": "US", "phone": null, "is_default": true, "is_billing": false});
    let entry = json!({"label": "call", "title": "Kick-off", "occurred_at": "2026-01-01T00:00:00Z", "detail": "went well"});
    let errors = FormErrors::from_issues(
        vec![issue(
            "country",
            "must be a two-letter ISO 3166 country code",
        )],
        &["country"],
    );
    let html = render(
        "client.html",
        context! {
            nav => nav(), client, contacts => vec![contact], more_contacts => false,
            locations => vec![location], assets => Vec::<Value>::new(), more_assets => false,
            kinds => vec![json!({"key": "call", "label": "Call"})], timeline => vec![entry], more_timeline => false,
            location_form => json!({"name": "Branch", "country": "USA"}), location_errors => errors,
            interaction_form => json!({"kind": "call"}), interaction_errors => FormErrors::default(),
            archive_error => (), can_write => true,
        },
    );
    assert!(
        html.contains(r#"href="/contacts/new?client_id=c1">Add contact</a>"#),
        "{html}"
    );
    assert!(html.contains("Ann Lee"), "{html}");
    assert!(html.contains("1 Main St, 10001 New York, NY, US"), "{html}");
    assert!(html.contains(r#"data-field="country""#), "{html}");
    assert!(html.contains(r#"value="USA""#), "{html}");
    assert!(html.contains("Kick-off"), "{html}");
    assert!(html.contains(r#"action="/clients/c1/archive""#), "{html}");
}

#[test]
fn the_contact_and_asset_forms_render() {
    let errors = FormErrors::from_issues(
        vec![issue(
            "email",
            "ann@acme.com is already the primary e-mail of another contact",
        )],
        &["email"],
    );
    let html = render(
        "contact_form.html",
        context! {
            nav => nav(), id => (), errors,
            form => json!({"client_id": "c1", "full_name": "Ann", "role": "", "email": "ann@acme.com", "phone": "", "notes": ""}),
            clients => vec![json!({"id": "c1", "name": "Acme"})],
        },
    );
    assert!(
        html.contains(r#"<option value="c1" selected>Acme</option>"#),
        "{html}"
    );
    assert!(html.contains(r#"data-field="email""#), "{html}");

    let picker = render(
        "asset_form.html",
        context! {
            nav => nav(), id => (), errors => FormErrors::default(), form => json!({"client_id": ""}),
            client => (), locations => Vec::<Value>::new(), kinds => Vec::<Value>::new(),
            clients => vec![json!({"id": "c1", "name": "Acme"})], statuses => vec!["active"],
        },
    );
    assert!(picker.contains(r#"action="/assets/new""#), "{picker}");
    let form = render(
        "asset_form.html",
        context! {
            nav => nav(), id => "a1", errors => FormErrors::default(),
            form => json!({"client_id": "c1", "asset_tag": "WS-1", "name": "Laptop", "kind": "server", "status": "active", "location_id": "l1"}),
            client => json!({"id": "c1", "name": "Acme"}), locations => vec![json!({"id": "l1", "name": "HQ"})],
            kinds => vec![json!({"key": "server", "name": "Server"})], clients => Vec::<Value>::new(),
            statuses => vec!["active", "retired"],
        },
    );
    assert!(
        form.contains(r#"<option value="l1" selected>HQ</option>"#),
        "{form}"
    );
    assert!(
        form.contains(r#"<option value="server" selected>Server</option>"#),
        "{form}"
    );
    assert!(form.contains(r#"action="/assets/a1/edit""#), "{form}");
}

#[test]
fn the_asset_page_lists_relationships_and_history() {
    let html = render(
        "asset.html",
        context! {
            nav => nav(), can_write => true,
            asset => json!({"id": "a1", "asset_tag": "WS-1", "name": "Laptop", "kind": "workstation", "status": "in_repair",
                            "serial": null, "purchased_on": null, "warranty_expires_on": "2027-01-01", "properties": {},
                            "notes": "", "archived_at": null}),
            client => json!({"id": "c1", "name": "Acme"}), location => (),
            related => vec![json!({"kind": "depends_on", "id": "a2", "asset": {"asset_tag": "SW-1", "name": "Switch"}})],
            history => vec![json!({"action": "updated", "changed_at": "t", "changes": [["status", "active", "in_repair"]]})],
        },
    );
    assert!(html.contains("depends on"), "{html}");
    assert!(html.contains("SW-1 · Switch"), "{html}");
    assert!(
        html.contains("<td>status</td><td>active</td><td>in_repair</td>"),
        "{html}"
    );
}

#[test]
fn an_import_with_invalid_rows_says_nothing_was_imported() {
    let report = json!({
        "kind": "clients", "rows": 3, "imported": 0, "skip_invalid": false,
        "invalid": [{"line": 3, "field": "billing_email", "message": "must be an address"}],
    });
    let html = render(
        "import.html",
        context! {
            nav => nav(), form => json!({"kind": "clients", "skip_invalid": false}),
            columns => context! { clients => vec!["name"], contacts => vec!["full_name"], assets => vec!["asset_tag"] },
            max_mib => 32, invalid_lines => 1, report, nothing_imported => true, file_error => (), kind_error => (),
        },
    );
    assert!(html.contains("Nothing was imported."), "{html}");
    assert!(
        html.contains("<td>3</td><td>billing_email</td><td>must be an address</td>"),
        "{html}"
    );
    assert!(html.contains(r#"enctype="multipart/form-data""#), "{html}");
}
