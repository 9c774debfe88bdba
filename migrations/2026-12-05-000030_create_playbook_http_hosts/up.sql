-- The hosts a tenant's playbooks may call with `http_request`. A pattern is an
-- exact host (`api.example.com`), a wildcard over subdomains (`*.example.com`, not
-- the apex), or either with a port (`127.0.0.1:8099`); the application checks the
-- syntax (activities::playbooks::http_hosts) and stores it in lower case.
CREATE TABLE playbook_http_hosts (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  pattern text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 253),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, created_by) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('playbook_http_hosts');
CREATE UNIQUE INDEX playbook_http_hosts_pattern_unique ON playbook_http_hosts (tenant, lower(pattern));
