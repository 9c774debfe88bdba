-- Workflow runs as product objects: what ran, for whom, how it went, step by step,
-- readable without asking Temporal. Written by the workflows' own activities.
CREATE TABLE workflow_runs (
  tenant uuid NOT NULL REFERENCES tenants (id),
  run_id uuid NOT NULL,            -- Temporal's run id
  workflow_id text NOT NULL,       -- Temporal's workflow id, namespaced by tenant
  kind text NOT NULL,              -- e.g. tenant_onboarding, self_test
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'timed_out')),
  input jsonb NOT NULL DEFAULT '{}',
  result jsonb,
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  PRIMARY KEY (tenant, run_id)
);
SELECT keel_enable_tenant_rls('workflow_runs');
CREATE INDEX workflow_runs_by_start ON workflow_runs (tenant, started_at DESC, run_id DESC);

CREATE TABLE workflow_run_steps (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  run_id uuid NOT NULL,
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('completed', 'failed')),
  attempt integer NOT NULL DEFAULT 1,
  input jsonb NOT NULL DEFAULT '{}',
  output jsonb,
  error text,
  started_at timestamptz NOT NULL,
  closed_at timestamptz NOT NULL,
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, run_id) REFERENCES workflow_runs (tenant, run_id) ON DELETE CASCADE
);
SELECT keel_enable_tenant_rls('workflow_run_steps');
CREATE INDEX workflow_run_steps_by_run ON workflow_run_steps (tenant, run_id, started_at);

-- Completed side effects of activities, by idempotency key (workflow id / run id /
-- step): a retried or replayed activity finds its effect here and answers the
-- recorded result instead of writing again.
CREATE TABLE activity_effects (
  tenant uuid NOT NULL REFERENCES tenants (id),
  idempotency_key text NOT NULL,
  activity text NOT NULL,
  result jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, idempotency_key)
);
SELECT keel_enable_tenant_rls('activity_effects');

-- Rows written by the SelfTest workflow, the canary of the durable path.
CREATE TABLE self_test_marks (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  workflow_id text NOT NULL,
  step integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id)
);
SELECT keel_enable_tenant_rls('self_test_marks');
CREATE INDEX self_test_marks_by_workflow ON self_test_marks (tenant, workflow_id, step);
