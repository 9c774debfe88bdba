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
        "parent_id": "p1", "account_manager_id": "", "sla_policy_id": "s1", "is_inactive": "on",
    });
    let html = render(
        "client_form.html",
        context! {
            nav => nav(), id => (), form, errors,
            client_types => vec!["company", "individual"],
            payment_terms => vec!["net_15", "net_30"], billing_cycles => vec!["monthly"],
            parents => vec![json!({"id": "p1", "name": "Holding"})],
            managers => vec![json!({"id": "u1", "full_name": "Ann"})],
            policies => vec![json!({"id": "s1", "name": "Gold"})],
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
    assert!(
        html.contains(r#"<option value="p1" selected>Holding</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="s1" selected>Gold</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="u1">Ann</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="checkbox" name="is_inactive" checked>"#),
        "{html}"
    );
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
    let location = json!({"id": "l1", "name": "HQ", "address_line1": "1 Main St", "address_line2": "", "postal_code": "10001",
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
            locations => vec![json!({"location": location, "form": location, "errors": FormErrors::default()})],
            assets => Vec::<Value>::new(), more_assets => false,
            tickets => vec![json!({"ticket": {"id": "t1", "number": "T-000007", "title": "Printer", "status": "Open",
                                             "is_closed": false, "priority": "High"},
                                  "sla": {"text": "in 2h 15m", "tone": "ok"}})],
            more_tickets => false, can_read_tickets => true, can_create_ticket => true,
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
    assert!(
        html.contains(r#"action="/clients/c1/locations/l1""#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/clients/c1/locations/l1/archive""#),
        "{html}"
    );
    // The edit form starts from the stored location, default ticked.
    assert!(
        html.contains(r#"<input type="checkbox" name="is_default" checked>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/tickets/new?client_id=c1">New ticket</a>"#),
        "{html}"
    );
    assert!(html.contains("T-000007"), "{html}");
    assert!(html.contains("in 2h 15m"), "{html}");
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
            candidates => vec![json!({"id": "a3", "asset_tag": "SRV-1", "name": "Server"})],
            kinds => vec!["parent", "depends_on"],
            relation_form => json!({"kind": "depends_on", "related_id": "a3"}),
            relation_errors => FormErrors::from_issues(vec![issue("related_id", "would create a depends_on cycle")], &["kind", "related_id"]),
        },
    );
    assert!(html.contains("depends on"), "{html}");
    assert!(html.contains("SW-1 · Switch"), "{html}");
    assert!(
        html.contains("<td>status</td><td>active</td><td>in_repair</td>"),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<p class="field-error" data-field="related_id">would create a depends_on cycle</p>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="a3" selected>SRV-1 · Server</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/assets/a1/relationships/remove""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="hidden" name="kind" value="depends_on">"#),
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

fn ticket() -> serde_json::Value {
    json!({
        "id": "t1", "number": "T-000042", "title": "Printer jams", "description": "Floor 2",
        "client_id": "c1", "contact_id": null, "board": "Service desk", "status": "Closed",
        "is_closed": true, "priority": "High", "impact": null, "urgency": null, "category": null,
        "assigned_to": "u1", "additional_agents": [], "tags": [], "origin": "ui",
        "created_by": "u1", "created_at": "2026-03-02T10:00:00Z", "closed_at": "2026-03-02T11:00:00Z",
        "sla_state": "completed", "response_due_at": "2026-03-02T10:30:00Z", "first_response_at": null,
        "response_met": true, "resolution_due_at": "2026-03-02T14:00:00Z", "resolved_at": null,
        "resolution_met": null, "sla_paused_at": null, "escalation_level": 1,
    })
}

#[test]
fn the_ticket_list_shows_countdowns_and_keeps_filters() {
    let row = json!({"ticket": ticket(), "sla": {"text": "overdue 30m", "tone": "overdue"}});
    let query = json!({"q": "", "status": "Open", "priority": "", "board": "", "assigned_to": "u1",
                       "client_id": "", "sla_at_risk": "on", "state": "", "sort": ""});
    let html = render(
        "tickets.html",
        context! {
            nav => nav(), tickets => vec![row], client_names => json!({"c1": "Acme"}),
            assignees => json!({"u1": "Ann Lee"}),
            statuses => vec![json!({"name": "Open"}), json!({"name": "Closed"})],
            priorities => vec![json!({"name": "High"})], boards => vec![json!({"name": "Service desk"})],
            users => vec![json!({"id": "u1", "full_name": "Ann Lee"})],
            clients => vec![json!({"id": "c1", "name": "Acme"})],
            query, newest => false, by_due_url => "/tickets", newest_url => "/tickets?sort=newest",
            next_url => "/tickets?status=Open&cursor=50", search_error => (), filtered => true,
            paged => false, can_create => true,
        },
    );
    assert!(
        html.contains(r#"href="/tickets/t1">T-000042</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="sla sla-overdue""#), "{html}");
    assert!(html.contains("overdue 30m"), "{html}");
    assert!(html.contains("Acme</a>"), "{html}");
    assert!(html.contains("<td>Ann Lee</td>"), "{html}");
    assert!(html.contains(r#"<option value="Open" selected>"#), "{html}");
    assert!(html.contains(r#"<option value="u1" selected>"#), "{html}");
    assert!(html.contains(r#"name="sla_at_risk" checked"#), "{html}");
    assert!(html.contains("<strong>SLA due first</strong>"), "{html}");
    assert!(html.contains("cursor=50\">Next page"), "{html}");
}

#[test]
fn the_ticket_page_shows_a_status_conflict_next_to_the_status_form() {
    let html = render(
        "ticket.html",
        context! {
            nav => nav(), ticket => ticket(), client => json!({"id": "c1", "name": "Acme"}), contact => (),
            statuses => vec![json!({"name": "Open", "is_closed": false, "pauses_sla": false}),
                             json!({"name": "Closed", "is_closed": true, "pauses_sla": false})],
            priorities => vec![json!({"name": "High"})], boards => vec![json!({"name": "Service desk"})],
            users => vec![json!({"id": "u1", "full_name": "Ann Lee", "is_active": true})],
            comments => vec![json!({"id": "k1", "body": "Rebooted <b>it</b>", "internal": false,
                                    "author_kind": "technician", "author_id": "u1", "created_at": "t"})],
            history => vec![json!({"event": "sla started", "occurred_at": "t0", "facts": "policy: Gold"})],
            policy => json!({"name": "Gold"}), names => json!({"u1": "Ann Lee"}),
            response => json!({"text": "met", "tone": "met"}), resolution => json!({"text": "met", "tone": "met"}),
            status_form => json!({"status": "Closed"}),
            status_errors => FormErrors::general("ticket T-000042 is already Closed"),
            triage_form => json!({"priority": "High", "assigned_to": "u1", "board": "Service desk"}),
            triage_errors => FormErrors::default(),
            comment_form => json!({"body": "", "internal": null}), comment_errors => FormErrors::default(),
            can_update => true,
        },
    );
    assert!(
        html.contains(r#"id="ticket-status">Closed</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="field-error" data-field="status" role="alert">ticket T-000042 is already Closed</p>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="Closed" selected>Closed (closes)</option>"#),
        "{html}"
    );
    assert!(
        html.contains("Rebooted &lt;b&gt;it&lt;&#x2f;b&gt;"),
        "{html}"
    );
    assert!(html.contains("<strong>Ann Lee</strong>"), "{html}");
    assert!(html.contains(r#"action="/tickets/t1/comments""#), "{html}");
    assert!(html.contains(r#"name="internal""#), "{html}");
    assert!(html.contains("level 1"), "{html}");
    assert!(
        html.contains("<td>sla started</td><td>policy: Gold</td>"),
        "{html}"
    );
}

#[test]
fn the_new_ticket_form_offers_the_clients_contacts_once_the_client_is_known() {
    let errors = FormErrors::from_issues(vec![issue("title", "is required")], &["title"]);
    let ctx = |client: Value| {
        context! {
            nav => nav(), errors => &errors, client,
            form => json!({"client_id": "c1", "contact_id": "k1", "title": "", "priority": "High", "impact": "2"}),
            contacts => vec![json!({"id": "k1", "full_name": "Grete"})],
            clients => vec![json!({"id": "c1", "name": "Acme"})],
            priorities => vec![json!({"name": "High"})], boards => vec![json!({"name": "Service desk", "itil_mode": true})],
            users => Vec::<Value>::new(), levels => [1, 2, 3, 4, 5],
        }
    };
    let html = render(
        "ticket_form.html",
        ctx(Value::from_serialize(json!({"id": "c1", "name": "Acme"}))),
    );
    assert!(
        html.contains(r#"<option value="c1" selected>Acme</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="k1" selected>Grete</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="field-error" data-field="title">is required</p>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="2" selected>2</option>"#),
        "{html}"
    );
    assert!(html.contains("Service desk (ITIL)"), "{html}");
    let without = render("ticket_form.html", ctx(Value::from(())));
    assert!(without.contains("start the ticket from there"), "{without}");
}

#[test]
fn the_sla_settings_forms_mark_the_bad_row() {
    let policy_errors = FormErrors::from_issues(
        vec![issue("target_1_resolution", "must be 1 to 525600 minutes")],
        &["name", "target_1_resolution"],
    );
    let hours_errors = FormErrors::from_issues(
        vec![issue("day3_start", "must be a time HH:MM")],
        &["day3_start"],
    );
    let html = render(
        "sla_settings.html",
        context! {
            nav => nav(), can_manage => true,
            policies => vec![json!({"id": "s1", "name": "Gold", "is_default": true, "business_hours_id": "h1",
                                     "notify_percents": [50, 100], "escalation_percents": [70, 90],
                                     "targets": [{"priority": "High", "response_minutes": 30, "resolution_minutes": 240, "is_24x7": true}]})],
            hour_names => json!({"h1": "Office"}),
            hours => vec![json!({"hours": {"name": "Office", "timezone": "Europe/Zurich"}, "summary": "Mon 09:00–17:00", "holidays": "every 12-25"})],
            hour_choices => vec![json!({"id": "h1", "name": "Office", "timezone": "Europe/Zurich"})],
            priorities => vec![json!({"name": "Critical"}), json!({"name": "High"})],
            weekdays => vec![json!({"n": 1, "name": "Monday"}), json!({"n": 3, "name": "Wednesday"})],
            policy_form => json!({"name": "Silver", "target_1_resolution": "0", "business_hours_id": "h1"}),
            policy_errors,
            hours_form => json!({"day3_open": "on", "day3_start": "8am", "day1_start": "09:00"}),
            hours_errors,
            default_notify => "50, 75, 90, 100", default_escalation => "70, 90, 110",
        },
    );
    assert!(html.contains("notify at 50%, 100%"), "{html}");
    assert!(html.contains("<td>240 min</td>"), "{html}");
    assert!(html.contains("Business hours: Office"), "{html}");
    assert!(
        html.contains(r#"<p class="field-error" data-field="target_1_resolution">must be 1 to 525600 minutes</p>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="target_1_resolution" type="number" min="1" value="0""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="hidden" name="target_0_priority" value="Critical">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="checkbox" name="day3_open" checked"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="checkbox" name="day1_open" aria-label"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="field-error" data-field="day3_start">must be a time HH:MM</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"value="8am""#), "{html}");
    assert!(
        html.contains(r#"<option value="h1" selected>Office (Europe&#x2f;Zurich)</option>"#),
        "{html}"
    );
}

#[test]
fn the_board_settings_show_each_boards_choices() {
    let errors = FormErrors::from_issues(
        vec![issue("escalation_2", "is a deactivated user")],
        &["escalation_2"],
    );
    let html = render(
        "boards.html",
        context! {
            nav => nav(), can_manage => true, levels => ["1", "2", "3"],
            boards => vec![json!({
                "board": {"id": "b1", "name": "Service desk", "is_default": true},
                "form": {"itil_mode": "on", "default_priority": "High", "default_assignee_id": "u1",
                         "sla_policy_id": "s1", "escalation_1": "", "escalation_2": "u1", "escalation_3": ""},
                "errors": errors,
            })],
            priorities => vec![json!({"name": "High"})], policies => vec![json!({"id": "s1", "name": "Gold"})],
            users => vec![json!({"id": "u1", "full_name": "Ann"})],
        },
    );
    assert!(html.contains(r#"action="/settings/boards/b1""#), "{html}");
    assert!(html.contains(r#"name="itil_mode" checked"#), "{html}");
    assert!(
        html.contains(r#"<option value="s1" selected>Gold</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="High" selected>High</option>"#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<p class="field-error" data-field="escalation_2">is a deactivated user</p>"#
        ),
        "{html}"
    );
}

fn nav_with_unread(unread: i64) -> Value {
    context! {
        email => "a@b.co", full_name => "Ann", csrf_token => "tok",
        can_manage_users => true, can_manage_tenant => true, unread,
    }
}

#[test]
fn the_bell_shows_the_unread_count_only_when_there_is_one() {
    let ctx = |unread| {
        context! { nav => nav_with_unread(unread), notifications => Vec::<Value>::new(),
        next_url => (), unread_only => false, here => "/notifications" }
    };
    let html = render("notifications.html", ctx(3));
    assert!(html.contains(r#"href="/notifications""#), "{html}");
    assert!(html.contains(r#"<span class="badge">3</span>"#), "{html}");
    assert!(html.contains("/settings/notifications"), "{html}");
    assert!(html.contains("No notifications yet."), "{html}");
    let html = render("notifications.html", ctx(0));
    assert!(!html.contains("badge"), "{html}");
    assert!(!html.contains("Mark all read"), "{html}");
    let html = render("notifications.html", ctx(250));
    assert!(html.contains(r#"<span class="badge">99+</span>"#), "{html}");
}

#[test]
fn the_inbox_highlights_unread_items_and_offers_mark_read() {
    let unread = json!({
        "id": "n1", "subtype": "ticket_assigned", "title": "Ticket #7 <b>assigned</b>",
        "body": "To you", "link": "/tickets/t7", "created_at": "2026-03-02T10:15:00Z", "read_at": null,
    });
    let read = json!({
        "id": "n2", "subtype": "ticket_closed", "title": "Ticket #6 closed",
        "body": "", "link": null, "created_at": "2026-03-01T10:15:00Z", "read_at": "2026-03-01T11:00:00Z",
    });
    let html = render(
        "notifications.html",
        context! {
            nav => nav_with_unread(1), notifications => vec![unread, read],
            next_url => "/notifications?cursor=n2", unread_only => false,
            here => "/notifications?cursor=n0",
        },
    );
    assert!(html.contains(r#"<li class="unread">"#), "{html}");
    assert!(html.contains(r#"<li class="read">"#), "{html}");
    assert!(
        html.contains(r#"<a href="&#x2f;tickets&#x2f;t7">Ticket #7 &lt;b&gt;assigned"#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/notifications/n1/read""#),
        "{html}"
    );
    assert!(
        !html.contains(r#"action="/notifications/n2/read""#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/notifications/read-all""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="back" value="&#x2f;notifications?cursor=n0""#)
            || html.contains(r#"name="back" value="/notifications?cursor=n0""#),
        "{html}"
    );
    assert!(html.contains("2026-03-02 10:15 UTC"), "{html}");
    assert!(html.contains("Older notifications"), "{html}");
}

#[test]
fn the_preferences_group_subtypes_and_grey_out_tenant_disabled_ones() {
    let errors = FormErrors::from_issues(
        vec![issue(
            "ticket_created_override_email",
            "must be an address like name@example.com",
        )],
        &["ticket_created_override_email"],
    );
    let row = |subtype: &str,
               label: &str,
               tenant_enabled: bool,
               enabled: bool,
               delivery: &str,
               email: &str| {
        json!({ "subtype": subtype, "label": label, "tenant_enabled": tenant_enabled,
                "enabled": enabled, "delivery": delivery, "override_email": email })
    };
    let groups = vec![
        context! { category => "tickets", label => "Tickets", rows => vec![
            row("ticket_created", "Ticket created", true, true, "immediate", "nope@"),
            row("ticket_updated", "Ticket updated", false, false, "digest", ""),
        ] },
        context! { category => "invoices", label => "Invoices", rows => Vec::<Value>::new() },
    ];
    let html = render(
        "notification_preferences.html",
        context! { nav => nav(), groups, errors, saved => false, deliveries => ["immediate", "digest"] },
    );
    assert!(
        html.contains(r#"<th colspan="4" class="category">Tickets</th>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<th colspan="4" class="category">Invoices</th>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="ticket_created_enabled" checked"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="ticket_updated_enabled" aria-label"#),
        "{html}"
    );
    assert!(html.contains(r#"<tr class="off">"#), "{html}");
    assert!(html.contains("Switched off by your organisation"), "{html}");
    assert!(
        html.contains(r#"<option value="digest" selected>daily digest</option>"#),
        "{html}"
    );
    assert!(html.contains(r#"value="nope@""#), "{html}");
    assert!(
        html.contains(r#"data-field="ticket_created_override_email">must be an address"#),
        "{html}"
    );
}

#[test]
fn the_unsubscribe_page_confirms_then_reports() {
    let confirm = render(
        "unsubscribe.html",
        context! { state => "confirm", label => "SLA breach", action => "/notifications/unsubscribe?token=a.b" },
    );
    assert!(
        confirm.contains("Stop e-mails about <strong>SLA breach</strong>?"),
        "{confirm}"
    );
    assert!(confirm.contains(r#"<form method="post""#), "{confirm}");
    assert!(!confirm.contains("csrf_token"), "{confirm}");
    assert!(
        !confirm.contains("Log out"),
        "no nav for the public page: {confirm}"
    );
    let done = render(
        "unsubscribe.html",
        context! { state => "done", label => "SLA breach", action => "" },
    );
    assert!(
        done.contains("no longer receive e-mails about <strong>SLA breach</strong>"),
        "{done}"
    );
    let invalid = render(
        "unsubscribe.html",
        context! { state => "invalid", label => "", action => "" },
    );
    assert!(
        invalid.contains("This unsubscribe link is not valid."),
        "{invalid}"
    );
}

#[test]
fn the_notification_settings_show_switches_smtp_and_the_test_outcome() {
    let categories = json!([{ "category": "tickets", "label": "Tickets", "enabled": true, "subtypes": [
        { "subtype": "ticket_created", "label": "Ticket created", "enabled": false },
    ] }]);
    let switches_errors = FormErrors::from_issues(
        vec![issue("digest_hour_utc", "must be an hour between 0 and 23")],
        &["digest_hour_utc"],
    );
    let smtp_errors = FormErrors::from_issues(
        vec![issue("from_address", "must be an e-mail address")],
        &["from_address"],
    );
    let html = render(
        "notification_settings.html",
        context! {
            nav => nav(), categories,
            switches_form => json!({ "rate_limit_per_minute": "60", "digest_hour_utc": "25" }),
            switches_errors,
            smtp => json!({ "host": "smtp.x", "port": 587, "tls_mode": "starttls", "has_password": true,
                            "from_address": "a@x", "updated_at": "2026-03-02T10:15:00Z" }),
            smtp_form => json!({ "host": "smtp.x", "port": "587", "tls_mode": "tls", "from_address": "bad" }),
            smtp_errors, tls_modes => ["starttls", "tls", "none"],
            test_to => "ops@x.co",
            test_outcome => json!({ "delivered": false, "detail": "connection refused <x>" }),
            test_errors => FormErrors::default(), saved => (),
        },
    );
    assert!(
        html.contains(r#"name="category_tickets" checked"#),
        "{html}"
    );
    assert!(html.contains(r#"name="subtype_ticket_created">"#), "{html}");
    assert!(
        html.contains(r#"data-field="digest_hour_utc">must be an hour"#),
        "{html}"
    );
    assert!(html.contains(r#"value="25""#), "{html}");
    assert!(
        html.contains(r#"<option value="tls" selected>TLS</option>"#),
        "{html}"
    );
    assert!(html.contains("blank keeps the stored password"), "{html}");
    assert!(html.contains(r#"name="remove_password""#), "{html}");
    assert!(
        html.contains(r#"data-field="from_address">must be an e-mail address"#),
        "{html}"
    );
    assert!(html.contains("Not delivered"), "{html}");
    assert!(html.contains("connection refused &lt;x&gt;"), "{html}");
    assert!(html.contains(r#"value="ops@x.co""#), "{html}");
}

#[test]
fn the_template_pages_list_edit_and_preview_in_a_sandbox() {
    let list = render(
        "notification_templates.html",
        context! { nav => nav(), templates => vec![
            json!({ "key": "ticket_created", "label": "Ticket created", "source": "tenant", "subject": "New {{ ticket.number }}", "updated_at": "2026-03-02T10:15:00Z" }),
            json!({ "key": "daily_digest", "label": "Daily digest", "source": "system", "subject": "Digest", "updated_at": null }),
        ] },
    );
    assert!(
        list.contains(r#"href="/settings/notification-templates/ticket_created""#),
        "{list}"
    );
    assert!(list.contains("yours"), "{list}");
    assert!(list.contains("system"), "{list}");

    let errors = FormErrors::from_issues(
        vec![issue("html_body", "line 3: unknown variable `tickt`")],
        &["subject", "text_body", "html_body"],
    );
    let template = json!({
        "key": "ticket_created", "locale": "en", "source": "tenant", "subject": "s",
        "text_body": "t", "html_body": "h", "updated_at": null,
        "variables": [{ "path": "ticket.number", "description": "The ticket's number" }],
    });
    let html = render(
        "notification_template.html",
        context! {
            nav => nav(), template, label => "Ticket created",
            form => json!({ "subject": "Hi {{ ticket.number }}", "text_body": "x", "html_body": "<p>{{ tickt }}</p>" }),
            errors, saved => (),
            preview => json!({ "subject": "Hi #42", "text": "Hello <you>", "html": "<p class=\"x\">Hi & bye</p><script>alert(1)</script>" }),
        },
    );
    assert!(
        html.contains(r#"data-field="html_body">line 3: unknown variable"#),
        "{html}"
    );
    assert!(
        html.contains("&lt;p&gt;{{ tickt }}&lt;&#x2f;p&gt;"),
        "{html}"
    );
    assert!(html.contains(r#"value="reset""#), "{html}");
    assert!(html.contains(r#"value="preview""#), "{html}");
    assert!(html.contains("<code>ticket.number</code>"), "{html}");
    assert!(html.contains("<pre>Hello &lt;you&gt;</pre>"), "{html}");
    assert!(
        html.contains(
            r#"<iframe class="preview" sandbox srcdoc="&lt;p class=&quot;x&quot;&gt;Hi &amp; bye"#
        ),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
}

#[test]
fn the_week_page_shows_the_grid_and_keeps_a_refused_duration() {
    let errors = FormErrors::from_issues(
        vec![issue(
            "duration",
            "must be minutes (90) or hours and minutes (1:30)",
        )],
        &["duration"],
    );
    let grid = json!({
        "days": ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"],
        "rows": [{"label": "Acme <b> (no ticket)", "href": "/clients/c1", "minutes": [90, 0, 0, 0, 0, 0, 0], "billable": 90, "total": 90}],
        "day_totals": [90, 0, 0, 0, 0, 0, 0], "total": 90, "billable": 90,
    });
    let grid_hours = json!({
        "rows": [["1:30", "", "", "", "", "", ""]], "totals": ["1:30"],
        "days": ["1:30", "", "", "", "", "", ""], "total": "1:30", "billable": "1:30",
        "labels": ["Mon 30 Nov", "Tue 1 Dec", "Wed 2 Dec", "Thu 3 Dec", "Fri 4 Dec", "Sat 5 Dec", "Sun 6 Dec"],
    });
    let sheet = json!({
        "view": {"id": "s1", "period_start": "2026-11-30", "period_end": "2026-12-07", "status": "CHANGES_REQUESTED",
                 "reason": "Split the Monday entry", "overlapping_entries": 1},
        "total": "1:30", "billable": "1:30",
    });
    let html = render(
        "time_week.html",
        context! {
            nav => nav(), date => "2026-12-03", monday => "2026-11-30", grid, grid_hours,
            sheets => vec![sheet], rows => Vec::<Value>::new(), truncated => false,
            timer => (), elapsed => (), tickets => Vec::<Value>::new(),
            clients => vec![json!({"id": "c1", "name": "Acme"})],
            log_form => json!({"work_date": "2026-12-03", "client_id": "c1", "duration": "an hour", "billable": "on", "notes": ""}),
            log_errors => errors, timer_form => json!({}), timer_errors => FormErrors::default(),
            previous => "/time?date=2026-11-23", next => "/time?date=2026-12-07", this_week => "/time",
        },
    );
    assert!(
        html.contains(r#"<th class="num" id="week-total">1:30</th>"#),
        "{html}"
    );
    assert!(
        html.contains("Acme &lt;b&gt; (no ticket)"),
        "labels are escaped: {html}"
    );
    assert!(
        html.contains(r#"<p class="field-error" data-field="duration">must be minutes (90) or hours and minutes (1:30)</p>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"value="an hour""#),
        "the typed duration is kept: {html}"
    );
    assert!(
        html.contains(r#"<option value="c1" selected>Acme</option>"#),
        "{html}"
    );
    assert!(html.contains("Sent back: Split the Monday entry"), "{html}");
    assert!(
        html.contains(r#"action="/time/sheets/s1/submit""#),
        "a sent-back sheet can be resubmitted: {html}"
    );
}

#[test]
fn a_submitted_timesheet_offers_decisions_only_to_approvers() {
    let view = json!({
        "id": "s1", "user_id": "u1", "period_start": "2026-11-30", "period_end": "2026-12-07",
        "status": "SUBMITTED", "submission": 1, "submitted_at": "2026-12-03T10:00:00Z",
        "overlapping_entries": 0, "total_minutes": 90, "billable_minutes": 90,
    });
    let page = |can_decide: bool, error_message: Option<&str>| {
        render(
            "timesheet.html",
            context! {
                nav => nav(), view => view.clone(), rows => Vec::<Value>::new(), truncated => false,
                comments => Vec::<Value>::new(), clients => json!({}), names => json!({"u1": "Tess"}),
                form => json!({"reason": "", "body": ""}), errors => FormErrors::default(),
                error_message, notice => (), total => "1:30", billable => "1:30",
                can_submit => false, can_decide, can_reverse => false,
            },
        )
    };
    let approver = page(true, None);
    assert!(
        approver.contains(r#"action="/time/sheets/s1/approve""#),
        "{approver}"
    );
    assert!(approver.contains("Request changes"), "{approver}");
    let refused = page(
        true,
        Some("approving one's own timesheet is not allowed in this tenant"),
    );
    assert!(
        refused.contains(r#"<p class="error" role="alert">approving one&#x27;s own timesheet"#),
        "{refused}"
    );
    let owner = page(false, None);
    assert!(!owner.contains("/approve"), "{owner}");
    assert!(owner.contains("Timesheet of Tess"), "{owner}");
}

#[test]
fn the_catalogue_lists_prices_and_rates_and_keeps_a_refused_price() {
    let errors = FormErrors::from_issues(
        vec![issue("price", "must be an amount like 125.00")],
        &["price"],
    );
    let html = render(
        "billing_catalogue.html",
        context! {
            nav => nav(),
            rows => vec![json!({"service": {"name": "Remote support", "kind": "hourly", "unit": "hour",
                                            "tax_category": null, "description": ""},
                                "prices": ["USD 125.00", "EUR 115.00"]})],
            regions => vec![json!({"code": "US-NY", "name": "New York"}), json!({"code": "CA-QC", "name": "Québec"})],
            rates => vec![json!({"region_code": "US-NY", "percent": "8.875", "starts_on": "2025-07-01", "ends_on": null,
                                 "components": [{"name": "State", "percent": "4", "is_compound": false},
                                                {"name": "City", "percent": "4.875", "is_compound": false}]})],
            kinds => ["fixed", "hourly"], can_manage => true,
            service_form => json!({"name": "Backup", "kind": "fixed", "price": "12.345", "currency": "USD"}),
            service_errors => errors, region_form => json!({}), region_errors => FormErrors::default(),
            rate_form => json!({}), rate_errors => FormErrors::default(),
        },
    );
    assert!(html.contains("USD 125.00<br>EUR 115.00"), "{html}");
    assert!(html.contains("not taxable"), "{html}");
    assert!(
        html.contains("8.875 % from 2025-07-01, open-ended (State 4 %, City 4.875 %)"),
        "{html}"
    );
    assert!(
        html.contains("no rate yet"),
        "the region without a rate says so: {html}"
    );
    assert!(
        html.contains(
            r#"<p class="field-error" data-field="price">must be an amount like 125.00</p>"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"value="12.345""#), "{html}");
}

fn nav_billing() -> Value {
    context! { email => "a@b.co", full_name => "Ann", csrf_token => "tok", can_read_billing => true }
}

#[test]
fn the_billing_dashboard_draws_a_bar_per_month_and_lists_mismatches() {
    use activities::billing::reports::MonthRevenue;
    let month = |m: u32, cents: i64| MonthRevenue {
        month: chrono::NaiveDate::from_ymd_opt(2026, m, 1).expect("valid month"),
        currency: "USD".into(),
        revenue_cents: cents,
        invoices: 1,
    };
    let charts = super::billing_chart::charts(&[month(2, 50_000), month(3, 125_050)]);
    let counts = vec![
        json!({"status": "draft", "invoices": 3}),
        json!({"status": "finalized", "invoices": 2}),
        json!({"status": "paid", "invoices": 7}),
        json!({"status": "void", "invoices": 0}),
    ];
    let mismatch = json!({"client_id": "c1", "currency": "USD", "ledger_balance_cents": -1250,
        "ledger_sum_cents": 0, "invoices_due_cents": 0, "ledger_credit_cents": 0,
        "ledger_credit_sum_cents": 0, "credits_left_cents": 0});
    let errors = FormErrors::from_issues(
        vec![issue("period_end", "must be a date (YYYY-MM-DD)")],
        &["period_end"],
    );
    let html = render(
        "billing.html",
        context! {
            nav => nav_billing(), charts, months => 12, counts,
            balanced => false, mismatches => vec![mismatch], names => json!({"c1": "Acme"}),
            run_form => json!({"period_end": "2026-02-30"}), run_errors => errors, can_manage => true,
        },
    );
    assert_eq!(html.matches(r#"<rect class="bar""#).count(), 2, "{html}");
    assert!(html.contains("1750.50 in total"), "{html}");
    assert!(html.contains("2026-03: 1250.50 USD (1 invoice)"), "{html}");
    assert!(
        html.contains(r#"href="/billing/invoices?status=draft"><strong>3</strong> draft"#),
        "{html}"
    );
    assert!(html.contains(">Acme</a>"), "{html}");
    assert!(html.contains("-12.50"), "{html}");
    assert!(html.contains(r#"action="/billing/runs""#), "{html}");
    assert!(html.contains(r#"data-field="period_end""#), "{html}");
    assert!(html.contains(r#"value="2026-02-30""#), "{html}");
    assert!(
        html.contains(r#" aria-current="page">Overview</a>"#),
        "{html}"
    );
    let quiet = render(
        "billing.html",
        context! {
            nav => nav_billing(), charts => Vec::<Value>::new(), months => 12, counts => Vec::<Value>::new(),
            balanced => true, mismatches => Vec::<Value>::new(), names => json!({}),
            run_form => json!({}), run_errors => FormErrors::default(), can_manage => false,
        },
    );
    assert!(quiet.contains("balanced"), "{quiet}");
    assert!(
        quiet.contains("Nothing finalized in the last 12 months."),
        "{quiet}"
    );
    assert!(
        !quiet.contains("/billing/runs"),
        "only managers may run billing: {quiet}"
    );
}

fn invoice(status: &str, number: Option<&str>) -> serde_json::Value {
    json!({
        "id": "i1", "number": number, "client_id": "c1", "status": status, "origin": "manual",
        "period_start": null, "period_end": null, "currency": "USD", "invoice_date": "2026-03-02",
        "due_on": number.map(|_| "2026-04-01"), "subtotal_cents": 125_000, "discount_cents": 0,
        "tax_cents": 11_094, "total_cents": 136_094, "credit_applied_cents": 0, "paid_cents": 0,
        "balance_due_cents": if status == "finalized" { 136_094 } else { 0 }, "notes": "",
        "billing_run_id": null, "lines": [], "created_at": "2026-03-02T10:00:00Z",
        "finalized_at": null, "voided_at": null,
    })
}

#[test]
fn the_invoice_list_filters_pages_and_keeps_a_refused_line() {
    let errors = FormErrors::from_issues(
        vec![
            issue("lines[1].unit_price", "must be an amount like 125.00"),
            issue("lines", "needs at least one line"),
        ],
        &["client_id", "lines[1].unit_price"],
    );
    let mut lines =
        vec![json!({"description": "", "quantity": "", "unit_price": "", "tax_category": ""}); 5];
    lines[1] = json!({"description": "Onsite <visit>", "quantity": "2", "unit_price": "12.345", "tax_category": "services"});
    let html = render(
        "invoices.html",
        context! {
            nav => nav_billing(),
            invoices => vec![invoice("draft", None), invoice("finalized", Some("INV-000042"))],
            names => json!({"c1": "Acme"}),
            clients => vec![json!({"id": "c1", "name": "Acme", "currency": "USD"})],
            query => json!({"status": "finalized", "client_id": "c1"}),
            next_url => "/billing/invoices?status=finalized&cursor=x", paged => false,
            form => json!({"client_id": "c1", "invoice_date": "2026-03-02", "notes": "", "lines": lines}),
            errors, open_form => true, statuses => ["draft", "finalized", "paid", "void"], can_manage => true,
        },
    );
    assert!(
        html.contains(r#"href="/billing/invoices/i1">Draft</a>"#),
        "{html}"
    );
    assert!(html.contains(">INV-000042</a>"), "{html}");
    assert!(html.contains("1360.94 USD"), "{html}");
    assert!(
        html.contains(r#"<option value="finalized" selected>finalized</option>"#),
        "{html}"
    );
    assert!(html.contains("cursor=x\">Next page"), "{html}");
    assert!(
        html.contains(r#"<p class="field-error" data-field="lines[1].unit_price">must be an amount like 125.00</p>"#),
        "{html}"
    );
    assert!(html.contains("lines needs at least one line"), "{html}");
    assert!(
        html.contains(r#"name="lines[1].unit_price" value="12.345""#),
        "{html}"
    );
    assert!(html.contains("Onsite &lt;visit&gt;"), "{html}");
    assert_eq!(
        html.matches(r#"name="lines["#).count(),
        20,
        "5 rows × 4 inputs"
    );
    assert!(
        html.contains(r#"<details class="card" id="new-invoice" open>"#),
        "{html}"
    );
}

#[test]
fn the_invoice_review_explains_lines_and_offers_what_its_status_allows() {
    let line = json!({"description": "Managed endpoints", "quantity": "25", "unit_price_cents": 5_000,
        "amount_cents": 125_000, "tax_cents": 11_094, "tax_category": "services"});
    let lines = vec![json!({"line": line, "period": "2026-03-15 to 2026-03-31",
                             "origin": "Fixed fee, prorated: 17 of 31 days"})];
    let page = |invoice: serde_json::Value,
                notice: Option<&str>,
                payment_errors: FormErrors,
                flags: [bool; 3]| {
        render(
            "invoice.html",
            context! {
                nav => nav_billing(), invoice, client_name => "Acme", lines => lines.clone(), notice,
                void_form => json!({}), void_errors => FormErrors::default(),
                payment_form => json!({"amount": "13.6", "received_on": "2026-03-05", "reference": "wire 7"}),
                payment_errors,
                can_finalize => flags[0], can_void => flags[1], can_pay => flags[2],
            },
        )
    };
    let draft = page(
        invoice("draft", None),
        None,
        FormErrors::default(),
        [true, true, false],
    );
    assert!(
        draft.contains(r#"<span id="invoice-number">Draft</span>"#),
        "{draft}"
    );
    assert!(
        draft.contains("Fixed fee, prorated: 17 of 31 days"),
        "{draft}"
    );
    assert!(draft.contains("2026-03-15 to 2026-03-31"), "{draft}");
    assert!(draft.contains("1250.00"), "{draft}");
    assert!(draft.contains("1360.94 USD"), "{draft}");
    assert!(
        draft.contains(r#"action="/billing/invoices/i1/finalize""#),
        "{draft}"
    );
    assert!(
        draft.contains(r#"action="/billing/invoices/i1/void""#),
        "{draft}"
    );
    assert!(
        !draft.contains("/payments"),
        "a draft takes no payment: {draft}"
    );
    assert!(draft.contains("set when finalized"), "{draft}");

    let errors = FormErrors::from_issues(
        vec![issue("amount", "must be an amount like 125.00")],
        &["amount"],
    );
    let refused = page(
        invoice("finalized", Some("INV-000042")),
        Some("invoice INV-000042 is already finalized"),
        errors,
        [false, true, true],
    );
    assert!(
        refused.contains(r#"<p class="error" role="alert" id="action-notice">invoice INV-000042 is already finalized</p>"#),
        "{refused}"
    );
    assert!(
        refused.contains(r#"id="invoice-status">finalized</span>"#),
        "{refused}"
    );
    assert!(!refused.contains("/finalize"), "{refused}");
    assert!(
        refused.contains(r#"action="/billing/invoices/i1/payments""#),
        "{refused}"
    );
    assert!(refused.contains(r#"data-field="amount""#), "{refused}");
    assert!(refused.contains(r#"value="13.6""#), "{refused}");
    assert!(refused.contains("2026-04-01"), "the due date: {refused}");
}

#[test]
fn the_contract_form_keeps_its_rows_and_marks_a_bad_rate() {
    let contract = json!({"id": "k1", "client_id": "c1", "name": "Managed 2026", "currency": "USD",
        "starts_on": "2026-01-01", "ends_on": null, "billing_frequency": "monthly", "anchor_day": 1});
    let rows = vec![json!({"contract": contract, "lines": [
        {"kind": "fixed", "service_id": "s1", "rate": "49.99", "quantity": "25", "timing": "advance", "prorated": true},
        {"kind": "hourly", "service_id": "s2", "rate": null, "quantity": null, "timing": "arrears", "prorated": false},
    ]})];
    let services = vec![
        json!({"id": "s1", "name": "Endpoint care", "kind": "fixed", "is_archived": false}),
        json!({"id": "s2", "name": "Remote support", "kind": "hourly", "is_archived": false}),
        json!({"id": "s3", "name": "Old thing", "kind": "fixed", "is_archived": true}),
    ];
    let errors = FormErrors::from_issues(
        vec![issue("lines[0].rate", "must be an amount like 125.00")],
        &["lines[0].rate"],
    );
    let mut lines = vec![
        json!({"kind": "", "service_id": "", "rate": "", "quantity": "", "billing_timing": "", "enable_proration": null});
        4
    ];
    lines[0] = json!({"kind": "fixed", "service_id": "s1", "rate": "9.999", "quantity": "3", "billing_timing": "advance", "enable_proration": "on"});
    let html = render(
        "contracts.html",
        context! {
            nav => nav_billing(), rows, names => json!({"c1": "Acme"}),
            clients => vec![json!({"id": "c1", "name": "Acme", "currency": "USD"})],
            services, service_names => json!({"s1": "Endpoint care", "s2": "Remote support"}),
            query => json!({"client_id": ""}), next_url => (), paged => false,
            form => json!({"client_id": "c1", "name": "New deal", "currency": "", "starts_on": "2026-04-01",
                           "ends_on": "", "billing_frequency": "quarterly", "anchor_day": "1", "lines": lines}),
            errors, open_form => true,
            frequencies => ["monthly", "quarterly"], kinds => ["fixed", "hourly", "usage"], timings => ["advance", "arrears"],
            can_manage => true,
        },
    );
    assert!(
        html.contains("fixed · Endpoint care · 49.99 × 25 · advance · prorated"),
        "{html}"
    );
    assert!(
        html.contains("hourly · Remote support · <span class=\"muted\">catalogue price</span>"),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<p class="field-error" data-field="lines[0].rate">must be an amount like 125.00</p>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"name="lines[0].rate" value="9.999""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="lines[0].enable_proration" aria-label="Line 1 prorated" checked>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="quarterly" selected>quarterly</option>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="s1" selected>Endpoint care (fixed)</option>"#),
        "{html}"
    );
    assert!(
        !html.contains("Old thing"),
        "archived services are not offered: {html}"
    );
    assert_eq!(html.matches(r#"name="lines[3]."#).count(), 10, "{html}");
}

#[test]
fn the_client_page_shows_balance_credits_and_ledger_to_billing_readers() {
    let client = json!({
        "id": "c1", "name": "Acme", "client_type": "company", "billing_email": null,
        "currency": "USD", "payment_terms": "net_30", "billing_cycle": "monthly",
        "billing_anchor_day": 1, "tax_region": null, "is_tax_exempt": false, "tags": [],
        "notes": "", "is_inactive": false, "archived_at": null, "merged_into": null,
    });
    let billing = json!({
        "balance": {"balance_cents": 86_094, "credit_cents": 2_500, "currency": "USD"},
        "credits": [{"id": "cr1", "currency": "USD", "amount_cents": 5_000, "remaining_cents": 2_500,
                     "origin": "manual", "reason": "Goodwill", "expires_on": "2026-12-31",
                     "expired_at": null, "created_at": "2026-03-01T09:00:00Z"}],
        "invoices": [invoice("finalized", Some("INV-000042"))], "more_invoices": false,
        "transactions": [{"kind": "invoice_finalized", "description": "Invoice INV-000042", "invoice_id": "i1",
                          "amount_cents": 136_094, "credit_cents": 0, "balance_after_cents": 136_094,
                          "credit_after_cents": 0, "currency": "USD", "created_at": "2026-03-02T10:00:00Z"}],
        "more_transactions": false,
        "credit_form": {"amount": "abc", "expires_on": "", "reason": "Outage"},
        "credit_errors": FormErrors::from_issues(vec![issue("amount", "must be an amount like 125.00")], &["amount"]),
        "can_manage": true,
    });
    let page = |billing: Option<serde_json::Value>| {
        render(
            "client.html",
            context! {
                nav => nav_billing(), client => client.clone(), contacts => Vec::<Value>::new(), more_contacts => false,
                locations => Vec::<Value>::new(), assets => Vec::<Value>::new(), more_assets => false,
                tickets => Vec::<Value>::new(), more_tickets => false, can_read_tickets => false,
                kinds => Vec::<Value>::new(), timeline => Vec::<Value>::new(), more_timeline => false,
                location_form => json!({}), location_errors => FormErrors::default(),
                interaction_form => json!({}), interaction_errors => FormErrors::default(),
                can_write => false, billing,
            },
        )
    };
    let html = page(Some(billing));
    assert!(html.contains(r#"<section id="billing">"#), "{html}");
    assert!(html.contains("<strong>860.94</strong> USD owed"), "{html}");
    assert!(html.contains("<strong>25.00</strong> USD credit"), "{html}");
    assert!(html.contains(">INV-000042</a>"), "{html}");
    assert!(html.contains("Goodwill"), "{html}");
    assert!(html.contains("2026-12-31"), "{html}");
    assert!(
        html.contains(r#"<a href="/billing/invoices/i1">Invoice INV-000042</a>"#),
        "{html}"
    );
    assert!(html.contains("1360.94 USD"), "the balance after: {html}");
    assert!(html.contains(r#"action="/clients/c1/credits""#), "{html}");
    assert!(html.contains(r#"data-field="amount""#), "{html}");
    assert!(html.contains(r#"value="Outage""#), "{html}");
    let without = page(None);
    assert!(!without.contains(r#"id="billing""#), "{without}");
}

#[test]
fn a_billing_run_page_says_how_many_clients_are_done() {
    let run = context! {
        run_id => "r", workflow_id => "w", kind => "billing_cycle", status => "running",
        started_at => "t0", closed_at => (), input => context! { period_end => "2026-03-31" },
        result => json!({"period_end": "2026-03-31", "clients_done": 250, "clients_total": 1000,
                         "invoices": 180, "lines": 600, "held": 2, "failed": 0}),
        error => (),
    };
    let html = render(
        "run.html",
        context! { nav => nav(), run, steps => Vec::<Value>::new(), temporal_url => "http://t" },
    );
    assert!(
        html.contains("<strong>250 of 1000 clients</strong> billed up to 2026-03-31"),
        "{html}"
    );
    assert!(html.contains("180 draft invoices · 2 held"), "{html}");
}

/// The ticket page with only what the "Run playbook" form needs besides it.
fn ticket_page(playbook_run: Option<serde_json::Value>) -> String {
    render(
        "ticket.html",
        context! {
            nav => nav(), ticket => ticket(), client => json!({"id": "c1", "name": "Acme"}), contact => (),
            statuses => Vec::<Value>::new(), priorities => Vec::<Value>::new(), boards => Vec::<Value>::new(),
            users => Vec::<Value>::new(), comments => Vec::<Value>::new(), history => Vec::<Value>::new(),
            policy => (), names => json!({}),
            response => json!({"text": "met", "tone": "met"}), resolution => json!({"text": "met", "tone": "met"}),
            status_form => json!({}), status_errors => FormErrors::default(),
            triage_form => json!({}), triage_errors => FormErrors::default(),
            comment_form => json!({}), comment_errors => FormErrors::default(),
            can_update => false, playbook_run,
        },
    )
}

fn manual_playbooks() -> Vec<serde_json::Value> {
    vec![
        json!({"id": "p1", "name": "Escalate <now>", "description": "Pages the on-call engineer"}),
        json!({"id": "p2", "name": "Nudge", "description": ""}),
    ]
}

#[test]
fn the_ticket_page_offers_manual_playbooks_to_users_who_may_run_them() {
    let run_form = json!({
        "records": "tickets", "id": "t1", "playbooks": manual_playbooks(),
        "form": {"playbook_id": ""}, "errors": FormErrors::default(), "open": false,
    });
    let html = ticket_page(Some(run_form));
    assert!(
        html.contains(r#"<section class="card" id="run-playbook">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/tickets/t1/playbook-runs""#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<option value="p1">Escalate &lt;now&gt; — Pages the on-call engineer</option>"#
        ),
        "name and description, escaped: {html}"
    );
    assert!(
        html.contains(r#"<option value="p2">Nudge</option>"#),
        "{html}"
    );
    let form = &html[html.find(r#"id="run-playbook""#).expect("section")..];
    assert!(form.contains(r#"name="csrf_token" value="tok""#), "{form}");

    let without = ticket_page(None);
    assert!(!without.contains("run-playbook"), "{without}");
    assert!(!without.contains("playbook-runs"), "{without}");
}

#[test]
fn a_refused_run_from_the_ticket_page_says_why_and_keeps_the_choice() {
    let run_form = json!({
        "records": "tickets", "id": "t1", "playbooks": manual_playbooks(),
        "form": {"playbook_id": "p2"},
        "errors": FormErrors::general("The run could not start: 3 playbook runs started in the last 24 hours, the tenant's limit is 3: raise max_runs_per_day or wait."),
        "open": true,
    });
    let html = ticket_page(Some(run_form));
    assert!(
        html.contains("the tenant&#x27;s limit is 3: raise max_runs_per_day or wait.</li>"),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="p2" selected>Nudge</option>"#),
        "{html}"
    );

    let none = json!({
        "records": "tickets", "id": "t1", "playbooks": [],
        "form": {"playbook_id": ""}, "errors": FormErrors::default(), "open": false,
    });
    let html = ticket_page(Some(none));
    assert!(
        html.contains("No enabled playbook is started by hand."),
        "{html}"
    );
    assert!(
        !html.contains("playbook-runs"),
        "no form without a playbook: {html}"
    );
}

#[test]
fn the_client_page_offers_manual_playbooks_only_to_users_who_may_run_them() {
    let client = json!({
        "id": "c1", "name": "Acme", "client_type": "company", "billing_email": null,
        "currency": "USD", "payment_terms": "net_30", "billing_cycle": "monthly",
        "billing_anchor_day": 1, "tax_region": null, "is_tax_exempt": false, "tags": [],
        "notes": "", "is_inactive": false, "archived_at": null, "merged_into": null,
    });
    let page = |playbook_run: Option<serde_json::Value>| {
        render(
            "client.html",
            context! {
                nav => nav(), client => client.clone(), contacts => Vec::<Value>::new(), more_contacts => false,
                locations => Vec::<Value>::new(), assets => Vec::<Value>::new(), more_assets => false,
                tickets => Vec::<Value>::new(), more_tickets => false, can_read_tickets => false,
                kinds => Vec::<Value>::new(), timeline => Vec::<Value>::new(), more_timeline => false,
                location_form => json!({}), location_errors => FormErrors::default(),
                interaction_form => json!({}), interaction_errors => FormErrors::default(),
                can_write => false, billing => (), playbook_run,
            },
        )
    };
    let errors = FormErrors::from_issues(
        vec![issue("playbook_id", "is not a playbook of this tenant")],
        &["playbook_id"],
    );
    let html = page(Some(json!({
        "records": "clients", "id": "c1", "playbooks": manual_playbooks(),
        "form": {"playbook_id": "gone"}, "errors": errors, "open": true,
    })));
    assert!(
        html.contains(r#"action="/clients/c1/playbook-runs""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="field-error" data-field="playbook_id">is not a playbook of this tenant</p>"#),
        "{html}"
    );
    let without = page(None);
    assert!(!without.contains("run-playbook"), "{without}");
}

fn limits_page(can_manage: bool, form: serde_json::Value, errors: FormErrors) -> String {
    hosts_page(
        can_manage,
        json!([]),
        json!({}),
        FormErrors::default(),
        form,
        errors,
    )
}

fn hosts_page(
    can_manage: bool,
    hosts: serde_json::Value,
    host_form: serde_json::Value,
    host_errors: FormErrors,
    form: serde_json::Value,
    errors: FormErrors,
) -> String {
    render(
        "playbook_limits.html",
        context! {
            nav => nav(),
            limits => json!({"max_concurrent_runs": 25, "max_runs_per_day": 2000}),
            usage => json!({"running": 3, "started_last_day": 41}),
            form, errors, saved => false, max_calls_per_run => 500,
            defaults => json!({"max_concurrent_runs": 25, "max_runs_per_day": 2000}),
            can_manage, hosts, host_form, host_errors, hosts_notice => (), max_hosts => 200,
        },
    )
}

#[test]
fn the_limits_page_lists_the_http_hosts_and_names_a_refused_pattern() {
    let hosts = json!([
        {"id": "h1", "pattern": "*.example.com", "created_by": null, "created_at": "2026-12-05T10:00:00Z"},
        {"id": "h2", "pattern": "127.0.0.1:8099", "created_by": null, "created_at": "2026-12-05T09:00:00Z"},
    ]);
    let host_errors = FormErrors::from_issues(
        vec![issue(
            "pattern",
            "must be a host without a path, query or fragment",
        )],
        &["pattern"],
    );
    let form = json!({"max_concurrent_runs": "25", "max_runs_per_day": "2000"});
    let html = hosts_page(
        true,
        hosts.clone(),
        json!({"pattern": "api.example.com?<b>"}),
        host_errors,
        form,
        FormErrors::default(),
    );
    assert!(
        html.contains(r#"<section class="card" id="http-hosts">"#),
        "{html}"
    );
    assert!(
        html.contains("<td><code>*.example.com</code></td>"),
        "{html}"
    );
    assert!(
        html.contains("<td><code>127.0.0.1:8099</code></td>"),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/playbooks/limits/http-hosts/h2/remove""#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/playbooks/limits/http-hosts""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="field-error" data-field="pattern">must be a host without a path, query or fragment</p>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="pattern" type="text" value="api.example.com?&lt;b&gt;""#),
        "what was typed is kept, escaped: {html}"
    );

    let reader = hosts_page(
        false,
        hosts,
        json!({}),
        FormErrors::default(),
        json!({}),
        FormErrors::default(),
    );
    assert!(
        reader.contains("<td><code>*.example.com</code></td>"),
        "{reader}"
    );
    assert!(!reader.contains("/remove"), "{reader}");
    assert!(
        !reader.contains(r#"action="/playbooks/limits/http-hosts""#),
        "{reader}"
    );

    let empty = limits_page(true, json!({}), FormErrors::default());
    assert!(empty.contains(r#"<p id="no-http-hosts">"#), "{empty}");
}

#[test]
fn the_limits_page_shows_limits_and_usage_and_names_a_refused_field() {
    let errors = FormErrors::from_issues(
        vec![issue("max_concurrent_runs", "must be between 1 and 10000")],
        &["max_concurrent_runs", "max_runs_per_day"],
    );
    let form = json!({"max_concurrent_runs": "0", "max_runs_per_day": "2000"});
    let html = limits_page(true, form, errors);
    assert!(html.contains("<td>25</td><td>3 running</td>"), "{html}");
    assert!(
        html.contains("<td>2000</td><td>41 in the last 24 hours</td>"),
        "{html}"
    );
    assert!(html.contains("<td>500</td>"), "{html}");
    assert!(html.contains(r#"action="/playbooks/limits""#), "{html}");
    assert!(
        html.contains(r#"<p class="field-error" data-field="max_concurrent_runs">must be between 1 and 10000</p>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="max_concurrent_runs" type="number" value="0""#),
        "{html}"
    );
    assert!(html.contains(r#"name="csrf_token" value="tok""#), "{html}");

    let reader = limits_page(false, json!({}), FormErrors::default());
    assert!(reader.contains("<td>25</td><td>3 running</td>"), "{reader}");
    assert!(
        !reader.contains(r#"action="/playbooks/limits""#),
        "{reader}"
    );
    assert!(reader.contains("tenant:manage"), "{reader}");
}
