//! The actions a playbook may call. Each is one Temporal activity: its name, the
//! permission the run's user must hold, the fields of its one map argument, and an
//! example. The runtime, the static checks, the dry-run fixtures and the catalogue
//! endpoint all read this one table.

use engine::Permission;
use serde::Serialize;

/// The JSON type a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text.
    String,
    /// A UUID as text.
    Uuid,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// Any JSON value.
    Any,
}

/// One field of an action's argument map.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FieldSpec {
    /// Key in the map.
    pub name: &'static str,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether the call must give it.
    pub required: bool,
    /// What it means.
    pub description: &'static str,
}

/// One action.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ActionSpec {
    /// The function name in scripts (`create_ticket`).
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// The permission the run's user needs.
    #[serde(serialize_with = "permission_name")]
    pub permission: Permission,
    /// Whether it changes data (dry runs never execute those).
    pub writes: bool,
    /// The fields of its argument map.
    pub fields: &'static [FieldSpec],
    /// A call as a script writes it.
    pub example: &'static str,
    /// What a dry run answers, as JSON (the shape the real action returns).
    pub fixture: &'static str,
}

fn permission_name<S: serde::Serializer>(p: &Permission, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.name)
}

const fn field(
    name: &'static str,
    kind: FieldType,
    required: bool,
    description: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required,
        description,
    }
}

use FieldType::{Any, Boolean, Integer, String as Text, Uuid as Id};

/// The optional fields of a client, shared by `create_client` and `update_client`.
macro_rules! client_fields {
    ($($first:expr),*) => {
        &[
            $($first,)*
            field(
                "client_type",
                Text,
                false,
                "company (default) or individual.",
            ),
            field("parent_id", Id, false, "The parent client, for branches."),
            field("billing_email", Text, false, "Where invoices go."),
            field("currency", Text, false, "ISO 4217 code (default USD)."),
            field(
                "payment_terms",
                Text,
                false,
                "net_30 (default), net_15, due_on_receipt, …",
            ),
            field("tax_region", Text, false, "Tax region code, e.g. US-NY."),
            field("account_manager_id", Id, false, "A user of the tenant."),
            field(
                "sla_policy_id",
                Id,
                false,
                "The SLA policy for the client's tickets.",
            ),
            field("notes", Text, false, "Free text, up to 10,000 characters."),
            field("tags", Any, false, "Up to 50 tags: an array of text."),
            field("properties", Any, false, "Tenant-defined fields: a map."),
        ]
    };
}

const CLIENT_FIELDS_NEW: &[FieldSpec] =
    client_fields!(field("name", Text, true, "1 to 200 characters."));

const CLIENT_FIELDS_PATCH: &[FieldSpec] = client_fields!(
    field("client_id", Id, true, "The client."),
    field("name", Text, false, "1 to 200 characters."),
    field(
        "is_inactive",
        Boolean,
        false,
        "Inactive clients stay searchable but leave pickers.",
    )
);

const CLIENT_FIXTURE: &str = r#"{"id":"00000000-0000-7000-8000-000000000004","name":"(dry run)","client_type":"company","billing_email":null,"currency":"USD","notes":"","tags":[],"is_inactive":false}"#;

/// Every action, by name.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "create_ticket",
        description: "Opens a ticket, checked exactly as POST /tickets checks it.",
        permission: Permission::TICKET_CREATE,
        writes: true,
        fields: &[
            field("title", Text, true, "The ticket's title."),
            field("client_id", Id, true, "The client it is for."),
            field(
                "description",
                Text,
                false,
                "The problem, in the client's words.",
            ),
            field(
                "priority",
                Text,
                false,
                "A priority name (default the tenant's default).",
            ),
            field(
                "status",
                Text,
                false,
                "A status name (default the tenant's default).",
            ),
            field(
                "board",
                Text,
                false,
                "A board name (default the default board).",
            ),
            field("assigned_to", Id, false, "The technician who owns it."),
        ],
        example: r#"let t = create_ticket(#{ title: "Disk almost full", client_id: input.client_id, priority: "High" });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000001","number":"T-0001","title":"(dry run)","status":"New","priority":"Medium"}"#,
    },
    ActionSpec {
        name: "find_tickets",
        description: "Tickets matching every filter given, newest first (at most 50).",
        permission: Permission::TICKET_READ,
        writes: false,
        fields: &[
            field("client_id", Id, false, "Only this client's."),
            field(
                "status",
                Text,
                false,
                "Only tickets in this status (by name).",
            ),
            field(
                "open",
                Boolean,
                false,
                "Only open (true) or closed (false) tickets.",
            ),
            field("assigned_to", Id, false, "Only this technician's."),
            field("text", Text, false, "Title or description contains this."),
            field("limit", Integer, false, "1 to 50 (default 20)."),
        ],
        example: r#"let open = find_tickets(#{ client_id: input.client_id, open: true });"#,
        fixture: r#"[]"#,
    },
    ActionSpec {
        name: "update_ticket",
        description: "Changes a ticket's status, priority, assignee or title.",
        permission: Permission::TICKET_UPDATE,
        writes: true,
        fields: &[
            field("ticket_id", Id, true, "The ticket."),
            field("status", Text, false, "A status name."),
            field("priority", Text, false, "A priority name."),
            field("assigned_to", Id, false, "The new assignee."),
            field("title", Text, false, "A new title."),
        ],
        example: r#"update_ticket(#{ ticket_id: t.id, priority: "Critical" });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000001","number":"T-0001","status":"New","priority":"Medium"}"#,
    },
    ActionSpec {
        name: "add_comment",
        description: "Adds a comment to a ticket as the run's user.",
        permission: Permission::TICKET_UPDATE,
        writes: true,
        fields: &[
            field("ticket_id", Id, true, "The ticket."),
            field("body", Text, true, "The comment."),
            field(
                "internal",
                Boolean,
                false,
                "Only technicians see it (default true).",
            ),
        ],
        example: r#"add_comment(#{ ticket_id: t.id, body: "Approved by the account manager." });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000002","ticket_id":"00000000-0000-7000-8000-000000000001"}"#,
    },
    ActionSpec {
        name: "close_ticket",
        description: "Closes a ticket: moves it to the tenant's last closed status in display order (\"Closed\" by default), as PATCH /tickets/{id} with that status does; closing a ticket already in that status is refused. A comment, if given, is added first.",
        permission: Permission::TICKET_UPDATE,
        writes: true,
        fields: &[
            field("ticket_id", Id, true, "The ticket."),
            field(
                "comment",
                Text,
                false,
                "A comment added before closing, as the run's user.",
            ),
            field(
                "internal",
                Boolean,
                false,
                "Only technicians see the comment (default true).",
            ),
        ],
        example: r#"close_ticket(#{ ticket_id: t.id, comment: "Fixed by restarting the print spooler." });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000001","number":"T-0001","status":"Closed","is_closed":true,"priority":"Medium"}"#,
    },
    ActionSpec {
        name: "assign_ticket",
        description: "Assigns a ticket to an active user of the tenant, as PATCH /tickets/{id} with assigned_to does.",
        permission: Permission::TICKET_UPDATE,
        writes: true,
        fields: &[
            field("ticket_id", Id, true, "The ticket."),
            field("user_id", Id, true, "The technician who will own it."),
        ],
        example: r#"assign_ticket(#{ ticket_id: t.id, user_id: input.technician_id });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000001","number":"T-0001","status":"New","priority":"Medium","assigned_to":"00000000-0000-7000-8000-000000000003"}"#,
    },
    ActionSpec {
        name: "find_clients",
        description: "Live clients whose name contains the text (at most 50).",
        permission: Permission::CLIENT_READ,
        writes: false,
        fields: &[
            field(
                "name",
                Text,
                false,
                "Part of the name (case and accents ignored).",
            ),
            field("limit", Integer, false, "1 to 50 (default 20)."),
        ],
        example: r#"let found = find_clients(#{ name: "Acme" });"#,
        fixture: r#"[]"#,
    },
    ActionSpec {
        name: "create_client",
        description: "Creates a client, checked exactly as POST /clients checks it.",
        permission: Permission::CLIENT_WRITE,
        writes: true,
        fields: CLIENT_FIELDS_NEW,
        example: r#"let c = create_client(#{ name: "Acme Dental", billing_email: "accounts@acmedental.example" });"#,
        fixture: CLIENT_FIXTURE,
    },
    ActionSpec {
        name: "update_client",
        description: "Changes a live client as PATCH /clients/{id} does: fields not given stay, () clears an optional one.",
        permission: Permission::CLIENT_WRITE,
        writes: true,
        fields: CLIENT_FIELDS_PATCH,
        example: r#"update_client(#{ client_id: c.id, notes: "Onboarded by playbook.", tags: ["dental", "new"] });"#,
        fixture: CLIENT_FIXTURE,
    },
    ActionSpec {
        name: "create_contact",
        description: "Adds a contact to a live client, checked exactly as POST /contacts checks it (the primary e-mail is unique among the tenant's contacts).",
        permission: Permission::CLIENT_WRITE,
        writes: true,
        fields: &[
            field("client_id", Id, true, "The client the contact belongs to."),
            field("full_name", Text, true, "1 to 200 characters."),
            field("email", Text, false, "The primary e-mail address."),
            field(
                "phone",
                Text,
                false,
                "The primary phone number, e.g. +1 212-555-0100.",
            ),
            field(
                "role",
                Text,
                false,
                "Job title or role, e.g. \"Office manager\".",
            ),
            field("notes", Text, false, "Free text."),
        ],
        example: r#"let p = create_contact(#{ client_id: c.id, full_name: "Dana Reyes", email: "dana@acmedental.example", role: "Office manager" });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000005","client_id":"00000000-0000-7000-8000-000000000004","full_name":"(dry run)","role":"","email":null,"phone":null}"#,
    },
    ActionSpec {
        name: "add_client_note",
        description: "Logs a note interaction on a live client as the run's user, as POST /interactions with kind \"note\" does.",
        permission: Permission::CLIENT_WRITE,
        writes: true,
        fields: &[
            field("client_id", Id, true, "The client."),
            field("body", Text, true, "The note, up to 20,000 characters."),
            field(
                "subject",
                Text,
                false,
                "A one-line summary, up to 200 characters.",
            ),
            field("contact_id", Id, false, "A contact of that client."),
            field("ticket_id", Id, false, "A ticket of that client it is about."),
        ],
        example: r#"add_client_note(#{ client_id: c.id, body: "Welcome call booked for Monday." });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000006","client_id":"00000000-0000-7000-8000-000000000004","kind":"note","subject":"","notes":"(dry run)"}"#,
    },
    ActionSpec {
        name: "find_assets",
        description: "Live assets matching every filter given, newest first (at most 50).",
        permission: Permission::CLIENT_READ,
        writes: false,
        fields: &[
            field("client_id", Id, false, "Only this client's."),
            field(
                "text",
                Text,
                false,
                "Tag, name or serial contains this (case and accents ignored).",
            ),
            field("limit", Integer, false, "1 to 50 (default 20)."),
        ],
        example: r#"let servers = find_assets(#{ client_id: input.client_id, text: "srv" });"#,
        fixture: r#"[]"#,
    },
    ActionSpec {
        name: "update_asset",
        description: "Changes a live asset as PATCH /assets/{id} does (each change goes into its history): fields not given stay, () clears an optional one.",
        permission: Permission::CLIENT_WRITE,
        writes: true,
        fields: &[
            field("asset_id", Id, true, "The asset."),
            field("name", Text, false, "1 to 200 characters."),
            field(
                "asset_tag",
                Text,
                false,
                "Unique in the tenant, 1 to 64 characters.",
            ),
            field(
                "kind",
                Text,
                false,
                "workstation, server, network, mobile, printer, other or a tenant type's key.",
            ),
            field("serial", Text, false, "Manufacturer serial number."),
            field(
                "status",
                Text,
                false,
                "active, in_stock, in_repair, retired or lost.",
            ),
            field("location_id", Id, false, "A location of the asset's client."),
            field("purchased_on", Text, false, "Purchase date, YYYY-MM-DD."),
            field(
                "warranty_expires_on",
                Text,
                false,
                "Warranty end, YYYY-MM-DD; not before the purchase date.",
            ),
            field("notes", Text, false, "Free text."),
            field(
                "properties",
                Any,
                false,
                "The type's fields: a map, checked against a custom type's schema.",
            ),
        ],
        example: r#"update_asset(#{ asset_id: a.id, status: "in_repair", notes: "Sent to the vendor." });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000007","client_id":"00000000-0000-7000-8000-000000000004","asset_tag":"A-0001","name":"(dry run)","kind":"other","status":"active"}"#,
    },
    ActionSpec {
        name: "create_time_entry",
        description: "Logs time for the run's user, checked exactly as POST /time-entries checks it: give minutes with work_date (or started_at), or started_at and ended_at; an entry of a submitted or approved timesheet is refused.",
        permission: Permission::TIME_ENTRY_WRITE,
        writes: true,
        fields: &[
            field(
                "ticket_id",
                Id,
                false,
                "The ticket worked on (its client is taken).",
            ),
            field("client_id", Id, false, "The client; required without a ticket."),
            field(
                "work_date",
                Text,
                false,
                "The day worked, YYYY-MM-DD (default: started_at's date, UTC).",
            ),
            field(
                "started_at",
                Text,
                false,
                "When work started, RFC 3339 (e.g. now()).",
            ),
            field("ended_at", Text, false, "When work ended, RFC 3339."),
            field("minutes", Integer, false, "Duration, 1 to 1440."),
            field(
                "billable",
                Boolean,
                false,
                "false makes the entry non-billable (default true).",
            ),
            field(
                "billable_minutes",
                Integer,
                false,
                "Minutes to bill, 0 to minutes (default all).",
            ),
            field("service_id", Id, false, "The catalogue service (billing)."),
            field("notes", Text, false, "What was done."),
        ],
        example: r#"create_time_entry(#{ ticket_id: t.id, work_date: "2026-12-01", minutes: 15, notes: "Remote triage", billable: false });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000008","ticket_id":"00000000-0000-7000-8000-000000000001","client_id":"00000000-0000-7000-8000-000000000004","work_date":"2026-12-01","minutes":15,"billable_minutes":15,"notes":"","overlaps":false,"approval_status":"DRAFT"}"#,
    },
    ActionSpec {
        name: "notify_user",
        description: "Puts a notification in an active user's in-app inbox (the bell); no e-mail is sent.",
        permission: Permission::PLAYBOOK_RUN,
        writes: true,
        fields: &[
            field("user_id", Id, true, "The user to notify."),
            field("title", Text, true, "The headline, 1 to 200 characters."),
            field("body", Text, false, "Short text, up to 1,000 characters."),
            field(
                "link",
                Text,
                false,
                "Where it points: a path in Keel (/tickets/…) or an http(s) URL.",
            ),
        ],
        example: r#"notify_user(#{ user_id: input.manager_id, title: `${t.number} needs approval`, link: `/tickets/${t.id}` });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-000000000009","subtype":"playbook","title":"(dry run)","body":"","link":null,"read_at":null}"#,
    },
    ActionSpec {
        name: "send_email",
        description: "E-mails up to 20 addresses through the tenant's SMTP route: a subject and plain text, or a notification template (invoice_overdue, ticket_created, …; the tenant's own wording if it has one) rendered with data. The e-mails are queued with the step and sent by the notification pipeline within the tenant's rate limit (retried while the server is away, each recorded sent or failed in the notification log), so a retry or replay never sends twice; a dry run sends nothing.",
        permission: Permission::TICKET_UPDATE,
        writes: true,
        fields: &[
            field(
                "to",
                Any,
                true,
                "An e-mail address, or a list of 1 to 20.",
            ),
            field(
                "subject",
                Text,
                false,
                "One line, 1 to 200 characters (with text).",
            ),
            field(
                "text",
                Text,
                false,
                "The plain-text body, up to 20,000 characters (with subject).",
            ),
            field(
                "template",
                Text,
                false,
                "A notification template key, instead of subject and text.",
            ),
            field(
                "data",
                Any,
                false,
                "The template's variables: a map (e.g. #{ invoice: #{ number: … } }).",
            ),
        ],
        example: r#"send_email(#{ to: ["oncall@msp.example"], subject: `SLA breached: ${t.number}`, text: "The response target has passed." });"#,
        fixture: r#"{"batch_key":"playbook:00000000-0000-7000-8000-00000000000a","queued":1,"to":["oncall@msp.example"],"subject":"(dry run)","template":"playbook"}"#,
    },
    ActionSpec {
        name: "find_invoices",
        description: "Invoices for payment reminders, the most recently due first (at most 50): number, client and its billing e-mail, amounts in integer cents with the currency, due date and days overdue.",
        permission: Permission::BILLING_READ,
        writes: false,
        fields: &[
            field("client_id", Id, false, "Only this client's."),
            field(
                "status",
                Text,
                false,
                "open (default: finalized, something due), overdue (open and past due), draft, finalized, paid or void.",
            ),
            field("limit", Integer, false, "1 to 50 (default 20)."),
        ],
        example: r#"let late = find_invoices(#{ status: "overdue", limit: 50 });"#,
        fixture: r#"[]"#,
    },
    ActionSpec {
        name: "kv_get",
        description: "The tenant's stored value under a key, or () when none.",
        permission: Permission::PLAYBOOK_RUN,
        writes: false,
        fields: &[field("key", Text, true, "1 to 200 characters.")],
        example: r#"let last = kv_get(#{ key: "last-alert" });"#,
        fixture: r#"null"#,
    },
    ActionSpec {
        name: "kv_set",
        description: "Stores a JSON value under a key for the tenant's playbooks.",
        permission: Permission::PLAYBOOK_RUN,
        writes: true,
        fields: &[
            field("key", Text, true, "1 to 200 characters."),
            field("value", Any, true, "Any value, at most 64 KiB as JSON."),
        ],
        example: r#"kv_set(#{ key: "last-alert", value: input.alert_id });"#,
        fixture: r#"null"#,
    },
    ActionSpec {
        name: "kv_increment",
        description: "Adds to a counter (starting from 0) and answers the new value.",
        permission: Permission::PLAYBOOK_RUN,
        writes: true,
        fields: &[
            field("key", Text, true, "1 to 200 characters."),
            field("by", Integer, false, "How much (default 1)."),
        ],
        example: r#"let n = kv_increment(#{ key: "alerts-today" });"#,
        fixture: r#"1"#,
    },
    ActionSpec {
        name: "disable_user",
        description: "Deactivates a user of the tenant: no login, no API keys, their sessions end. A run cannot deactivate the user it runs as. Audited as user.deactivated.",
        permission: Permission::USER_UPDATE,
        writes: true,
        fields: &[field("user_id", Id, true, "The user to deactivate.")],
        example: r#"disable_user(#{ user_id: input.technician_id });"#,
        fixture: r#"{"id":"00000000-0000-7000-8000-00000000000a","email":"tech@example.com","full_name":"(dry run)","is_active":false}"#,
    },
    ActionSpec {
        name: "start_playbook",
        description: "Starts another enabled playbook (by name or id) as a child run with the same user, counted against the tenant's limits. With wait: true the script gets the child's result (a failed child is a catchable error); otherwise it goes on at once and the child outlives it. Runs nest at most 5 deep; a dry run starts nothing.",
        permission: Permission::PLAYBOOK_RUN,
        writes: true,
        fields: &[
            field("playbook", Text, true, "The playbook's name or id."),
            field("input", Any, false, "The child's input map (default empty)."),
            field("wait", Boolean, false, "Wait for the child to finish (default false)."),
        ],
        example: r#"let child = start_playbook(#{ playbook: "New client onboarding", input: #{ client_id: c.id }, wait: true });"#,
        fixture: r#"{"workflow_id":"(dry run)","playbook_id":"00000000-0000-7000-8000-00000000000b","version":1,"result":null}"#,
    },
    ActionSpec {
        name: "http_request",
        description: "Calls an HTTP(S) URL whose host the tenant allowed (Playbook limits → HTTP hosts; nothing is allowed until a tenant manager adds a host). Answers {status, headers, body, truncated}: every status is an answer, redirects included (they are not followed); body is parsed when the response is JSON, text otherwise. Request bodies up to 256 KiB, responses up to 1 MiB. No connection or no answer within timeout_seconds is tried 3 times, then fails the call. A call may reach the server more than once if a worker is lost mid-call; a dry run sends nothing.",
        permission: Permission::PLAYBOOK_RUN,
        writes: true,
        fields: &[
            field("url", Text, true, "An http:// or https:// URL on an allowed host."),
            field(
                "method",
                Text,
                false,
                "GET (default), POST, PUT, PATCH, DELETE or HEAD.",
            ),
            field(
                "headers",
                Any,
                false,
                "A map of header names to text, e.g. #{ authorization: `Bearer ${token}` }.",
            ),
            field(
                "body",
                Any,
                false,
                "Text is sent as text/plain, anything else as JSON (application/json).",
            ),
            field(
                "timeout_seconds",
                Integer,
                false,
                "1 to 30 (default 10).",
            ),
        ],
        example: r#"let r = http_request(#{ url: "https://hooks.example.com/alerts", method: "POST", body: #{ ticket: t.number } });"#,
        fixture: r#"{"status":200,"headers":{},"body":{},"truncated":false}"#,
    },
];

/// The action named `name`.
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Durable built-ins: not actions (no activity), but recorded in the run's history.
pub const DURABLE_BUILTINS: &[&str] =
    &["sleep", "wait_for_signal", "wait_for_event", "now", "uuid"];

/// Pure built-ins Keel adds to Rhai's own functions.
pub const PURE_BUILTINS: &[&str] = &[
    "fail",
    "parse_json",
    "to_json",
    "json_path",
    "truncate",
    "html_escape",
    "format_money",
    "seconds_between",
    "add_duration",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_json_and_names_are_unique() {
        let mut names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len());
        for a in ACTIONS {
            serde_json::from_str::<serde_json::Value>(a.fixture)
                .unwrap_or_else(|e| panic!("{}: fixture is not JSON: {e}", a.name));
            assert!(a.example.contains(a.name), "{}'s example calls it", a.name);
        }
    }

    #[test]
    fn each_action_names_a_field_once() {
        for a in ACTIONS {
            let mut fields: Vec<&str> = a.fields.iter().map(|f| f.name).collect();
            fields.sort();
            fields.dedup();
            assert_eq!(fields.len(), a.fields.len(), "{} repeats a field", a.name);
        }
    }
}
