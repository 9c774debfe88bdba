-- Tenancy, identity and access. Every tenant-owned table carries `tenant`, has a
-- composite key (tenant, id) and is guarded by row-level security that the
-- application role (keel_app) cannot bypass: it is neither superuser nor owner.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keel_app') THEN
    CREATE ROLE keel_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

-- The tenant of the current transaction, or NULL when none is set. `nullif` matters:
-- after a transaction-local set_config ends, the setting reads '' rather than NULL.
CREATE FUNCTION keel_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.tenant', true), '')::uuid $$;

-- Turns on forced row-level security for a tenant-owned table; every migration that
-- adds such a table calls it, so no table is forgotten.
CREATE FUNCTION keel_enable_tenant_rls(tbl regclass) RETURNS void
  LANGUAGE plpgsql
  AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (tenant = keel_current_tenant()) WITH CHECK (tenant = keel_current_tenant())',
    tbl);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO keel_app', tbl);
END
$$;

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON tenants TO keel_app;

-- The permission catalogue is global: the same `resource:action` names in every tenant.
CREATE TABLE permissions (
  name text PRIMARY KEY CHECK (name ~ '^[a-z_]+:[a-z_]+$'),
  description text NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON permissions TO keel_app;

CREATE TABLE users (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  email text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
  full_name text NOT NULL,
  password_hash text,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, email)
);
SELECT keel_enable_tenant_rls('users');

CREATE TABLE roles (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  is_system boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, name)
);
SELECT keel_enable_tenant_rls('roles');

CREATE TABLE role_permissions (
  tenant uuid NOT NULL REFERENCES tenants (id),
  role_id uuid NOT NULL,
  permission text NOT NULL REFERENCES permissions (name),
  PRIMARY KEY (tenant, role_id, permission),
  FOREIGN KEY (tenant, role_id) REFERENCES roles (tenant, id) ON DELETE CASCADE
);
SELECT keel_enable_tenant_rls('role_permissions');

CREATE TABLE role_assignments (
  tenant uuid NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL,
  role_id uuid NOT NULL,
  assigned_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, user_id, role_id),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant, role_id) REFERENCES roles (tenant, id) ON DELETE CASCADE
);
SELECT keel_enable_tenant_rls('role_assignments');

CREATE TABLE sessions (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  token_hash text NOT NULL,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, token_hash),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE
);
SELECT keel_enable_tenant_rls('sessions');

CREATE TABLE api_keys (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  name text NOT NULL,
  secret_prefix text NOT NULL,
  secret_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, secret_hash),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE
);
SELECT keel_enable_tenant_rls('api_keys');

CREATE TABLE audit_log (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  actor_user_id uuid,
  action text NOT NULL,
  resource text NOT NULL,
  resource_id uuid,
  details jsonb NOT NULL DEFAULT '{}',
  request_id text,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id)
);
SELECT keel_enable_tenant_rls('audit_log');

-- Gap-free per-tenant numbers (T-000123, INV-000045): the counter row is updated in
-- the same transaction as the numbered row, so a rollback gives the number back.
CREATE TABLE number_sequences (
  tenant uuid NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  prefix text NOT NULL,
  padding integer NOT NULL DEFAULT 6 CHECK (padding BETWEEN 1 AND 12),
  next_value bigint NOT NULL DEFAULT 1 CHECK (next_value > 0),
  PRIMARY KEY (tenant, name)
);
SELECT keel_enable_tenant_rls('number_sequences');

-- Responses remembered for `Idempotency-Key` on POST (24 h).
CREATE TABLE idempotency_keys (
  tenant uuid NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash text NOT NULL,
  status_code integer,
  response_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, user_id, key),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE
);
SELECT keel_enable_tenant_rls('idempotency_keys');
