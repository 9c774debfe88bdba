DROP TABLE idempotency_keys;
DROP TABLE number_sequences;
DROP TABLE audit_log;
DROP TABLE api_keys;
DROP TABLE sessions;
DROP TABLE role_assignments;
DROP TABLE role_permissions;
DROP TABLE roles;
DROP TABLE users;
DROP TABLE permissions;
DROP TABLE tenants;
DROP FUNCTION keel_enable_tenant_rls(regclass);
DROP FUNCTION keel_current_tenant();
-- keel_app is cluster-wide and may serve other databases; it is left in place.
