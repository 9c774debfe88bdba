//! Role-based access control: the catalogue of `resource:action` permissions and the
//! roles every tenant starts with. Tenants may add roles later; these names are the
//! contract between handlers, activities and the seeded data.

/// One `resource:action` right, e.g. `ticket:update` or `invoice:finalize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Permission {
    /// The stable `resource:action` name stored in the database.
    pub name: &'static str,
    /// What the permission allows, shown to admins.
    pub description: &'static str,
}

macro_rules! permissions {
    ($($konst:ident = $name:literal, $description:literal;)*) => {
        impl Permission {
            $(
                #[doc = $description]
                pub const $konst: Permission = Permission { name: $name, description: $description };
            )*
            /// Every permission Keel knows, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$konst),*];
        }
    };
}

permissions! {
    USER_READ = "user:read", "List and view users of the tenant.";
    USER_CREATE = "user:create", "Invite or create users and assign their roles.";
    USER_UPDATE = "user:update", "Change users, their roles, and deactivate them.";
    API_KEY_MANAGE = "api_key:manage", "Create and revoke one's own API keys.";
    AUDIT_READ = "audit:read", "Read the tenant's audit log.";
    CLIENT_READ = "client:read", "View clients, contacts, assets and interactions.";
    CLIENT_WRITE = "client:write", "Create and change clients, contacts, assets and interactions.";
    TICKET_READ = "ticket:read", "View tickets and their comments.";
    TICKET_CREATE = "ticket:create", "Open tickets.";
    TICKET_UPDATE = "ticket:update", "Change, assign and comment on tickets.";
    SLA_MANAGE = "sla:manage", "Manage SLA policies and business hours.";
    SCHEDULE_READ = "schedule:read", "View the schedule.";
    SCHEDULE_WRITE = "schedule:write", "Create and change schedule entries.";
    TIME_ENTRY_WRITE = "time_entry:write", "Log and change one's own time.";
    TIMESHEET_APPROVE = "timesheet:approve", "Approve or reject timesheets.";
    BILLING_READ = "billing:read", "View services, contracts, invoices and the ledger.";
    BILLING_MANAGE = "billing:manage", "Manage services, contracts, tax, credits and payments.";
    BILLING_RUN = "billing:run", "Start billing runs.";
    INVOICE_FINALIZE = "invoice:finalize", "Finalize and void invoices.";
    PLAYBOOK_READ = "playbook:read", "View playbooks and their runs.";
    PLAYBOOK_WRITE = "playbook:write", "Author and publish playbooks.";
    PLAYBOOK_RUN = "playbook:run", "Start playbook runs.";
    WORKFLOW_READ = "workflow_run:read", "View workflow runs.";
    WORKFLOW_SIGNAL = "workflow_run:signal", "Send signals to workflow runs.";
    TENANT_MANAGE = "tenant:manage", "Change the tenant's settings.";
}

/// A role every tenant is given at creation.
#[derive(Clone, Copy, Debug)]
pub struct ShippedRole {
    /// The role's name, unique in a tenant.
    pub name: &'static str,
    /// What the role is for.
    pub description: &'static str,
    /// The permissions it holds.
    pub permissions: &'static [Permission],
}

const READS: &[Permission] = &[
    Permission::USER_READ,
    Permission::CLIENT_READ,
    Permission::TICKET_READ,
    Permission::SCHEDULE_READ,
    Permission::BILLING_READ,
    Permission::PLAYBOOK_READ,
    Permission::WORKFLOW_READ,
];

/// The roles of a new tenant: Admin, Dispatcher, Technician, Finance and Read-only.
pub const SHIPPED_ROLES: &[ShippedRole] = &[
    ShippedRole {
        name: "Admin",
        description: "Everything, including users, roles and settings.",
        permissions: Permission::ALL,
    },
    ShippedRole {
        name: "Dispatcher",
        description: "Routes and schedules work.",
        permissions: &[
            Permission::USER_READ,
            Permission::API_KEY_MANAGE,
            Permission::CLIENT_READ,
            Permission::TICKET_READ,
            Permission::TICKET_CREATE,
            Permission::TICKET_UPDATE,
            Permission::SCHEDULE_READ,
            Permission::SCHEDULE_WRITE,
            Permission::TIME_ENTRY_WRITE,
            Permission::PLAYBOOK_READ,
            Permission::PLAYBOOK_RUN,
            Permission::WORKFLOW_READ,
            Permission::WORKFLOW_SIGNAL,
        ],
    },
    ShippedRole {
        name: "Technician",
        description: "Works tickets and logs time.",
        permissions: &[
            Permission::USER_READ,
            Permission::API_KEY_MANAGE,
            Permission::CLIENT_READ,
            Permission::CLIENT_WRITE,
            Permission::TICKET_READ,
            Permission::TICKET_CREATE,
            Permission::TICKET_UPDATE,
            Permission::SCHEDULE_READ,
            Permission::TIME_ENTRY_WRITE,
            Permission::PLAYBOOK_READ,
            Permission::PLAYBOOK_RUN,
            Permission::WORKFLOW_READ,
        ],
    },
    ShippedRole {
        name: "Finance",
        description: "Runs billing, finalizes invoices, records payments.",
        permissions: &[
            Permission::USER_READ,
            Permission::API_KEY_MANAGE,
            Permission::CLIENT_READ,
            Permission::TICKET_READ,
            Permission::BILLING_READ,
            Permission::BILLING_MANAGE,
            Permission::BILLING_RUN,
            Permission::INVOICE_FINALIZE,
            Permission::TIMESHEET_APPROVE,
            Permission::WORKFLOW_READ,
            Permission::WORKFLOW_SIGNAL,
        ],
    },
    ShippedRole {
        name: "Read-only",
        description: "Sees everything operational, changes nothing.",
        permissions: READS,
    },
];

impl ShippedRole {
    /// Finds a shipped role by name, ignoring case (`admin`, `Read-only`).
    pub fn named(name: &str) -> Option<&'static ShippedRole> {
        SHIPPED_ROLES
            .iter()
            .find(|role| role.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn permission_names_are_unique_and_resource_action_shaped() {
        let mut seen = HashSet::new();
        for permission in Permission::ALL {
            assert!(
                seen.insert(permission.name),
                "duplicate {}",
                permission.name
            );
            let (resource, action) = permission.name.split_once(':').expect("resource:action");
            let valid =
                |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            assert!(valid(resource) && valid(action), "{}", permission.name);
        }
    }

    #[test]
    fn only_admin_may_create_users_and_read_only_writes_nothing() {
        let holders: Vec<_> = SHIPPED_ROLES
            .iter()
            .filter(|r| r.permissions.contains(&Permission::USER_CREATE))
            .map(|r| r.name)
            .collect();
        assert_eq!(holders, ["Admin"]);
        let read_only = ShippedRole::named("read-only").expect("shipped");
        assert!(read_only
            .permissions
            .iter()
            .all(|p| p.name.ends_with(":read")));
    }
}
