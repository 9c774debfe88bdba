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
];

/// The action named `name`.
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Durable built-ins: not actions (no activity), but recorded in the run's history.
pub const DURABLE_BUILTINS: &[&str] = &["sleep", "wait_for_signal", "now", "uuid"];

/// Pure built-ins Keel adds to Rhai's own functions.
pub const PURE_BUILTINS: &[&str] = &["fail", "parse_json", "to_json"];

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
}
