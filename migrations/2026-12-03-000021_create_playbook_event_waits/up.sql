-- Playbook runs waiting in `wait_for_event`: the workflow starter signals each
-- event of the type that the filter accepts to the waiting run. A run records its
-- wait before waiting and removes it after.
CREATE TABLE playbook_event_waits (
  tenant uuid NOT NULL REFERENCES tenants (id),
  workflow_id text NOT NULL CHECK (length(workflow_id) <= 300),
  wait integer NOT NULL CHECK (wait >= 0),
  event_type text NOT NULL CHECK (length(event_type) <= 100),
  filter text CHECK (length(filter) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, workflow_id, wait)
);
SELECT keel_enable_tenant_rls('playbook_event_waits');
CREATE INDEX playbook_event_waits_by_type ON playbook_event_waits (tenant, event_type);
