-- Playbooks: a tenant's Rhai automations. Each save adds an immutable version; a
-- run pins the version it started with (its source travels in the run's history).
CREATE TABLE playbooks (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  trigger jsonb NOT NULL DEFAULT '{"kind": "manual"}',
  enabled boolean NOT NULL DEFAULT true,
  current_version integer NOT NULL CHECK (current_version >= 1),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id)
);
SELECT keel_enable_tenant_rls('playbooks');
CREATE UNIQUE INDEX playbooks_name_unique ON playbooks (tenant, lower(name));

CREATE TABLE playbook_versions (
  tenant uuid NOT NULL REFERENCES tenants (id),
  playbook_id uuid NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  source text NOT NULL CHECK (length(source) BETWEEN 1 AND 262144),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, playbook_id, version),
  FOREIGN KEY (tenant, playbook_id) REFERENCES playbooks (tenant, id)
);
SELECT keel_enable_tenant_rls('playbook_versions');

CREATE FUNCTION keel_playbook_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'playbook versions are immutable: save a new version instead'
    USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER playbook_versions_immutable BEFORE UPDATE OR DELETE ON playbook_versions
  FOR EACH ROW EXECUTE FUNCTION keel_playbook_version_immutable();

-- The tenant's key/value store for playbooks (kv_get, kv_set, kv_increment).
CREATE TABLE playbook_kv (
  tenant uuid NOT NULL REFERENCES tenants (id),
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  value jsonb NOT NULL CHECK (length(value::text) <= 65536),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, key)
);
SELECT keel_enable_tenant_rls('playbook_kv');
