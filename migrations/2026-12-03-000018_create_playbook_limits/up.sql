-- A tenant's playbook limits; a tenant without a row has the defaults the
-- application states (activities::playbooks::limits::DEFAULT_LIMITS).
CREATE TABLE playbook_limits (
  tenant uuid PRIMARY KEY REFERENCES tenants (id),
  max_concurrent_runs integer NOT NULL CHECK (max_concurrent_runs BETWEEN 1 AND 10000),
  max_runs_per_day integer NOT NULL CHECK (max_runs_per_day BETWEEN 1 AND 1000000),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT keel_enable_tenant_rls('playbook_limits');

-- Counting a tenant's recent and running playbook runs stays an index scan.
CREATE INDEX workflow_runs_kind_started ON workflow_runs (tenant, kind, started_at);
