-- Inbound webhooks of playbooks triggered by `{"kind": "webhook", "hook": ...}`.
-- The signing secret is kept in clear because the server must recompute each
-- request's HMAC; RLS keeps it inside its tenant.
CREATE TABLE playbook_webhooks (
  tenant uuid NOT NULL REFERENCES tenants (id),
  playbook_id uuid NOT NULL,
  secret text NOT NULL CHECK (length(secret) BETWEEN 32 AND 128),
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz NOT NULL DEFAULT now(),
  last_received_at timestamptz,
  PRIMARY KEY (tenant, playbook_id),
  FOREIGN KEY (tenant, playbook_id) REFERENCES playbooks (tenant, id)
);
SELECT keel_enable_tenant_rls('playbook_webhooks');

-- A hook name names one playbook of its tenant.
CREATE UNIQUE INDEX playbooks_webhook_hook_unique ON playbooks (tenant, (trigger ->> 'hook'))
  WHERE trigger ->> 'kind' = 'webhook';
