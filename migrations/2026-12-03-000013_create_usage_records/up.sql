-- Measured consumption (GB of backup, mailboxes, licences) a usage or bucket line
-- bills. Quantities are exact decimals; `invoice_id` is set when a run bills one.

CREATE TABLE usage_records (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  service_id uuid NOT NULL,
  quantity numeric(20, 6) NOT NULL CHECK (quantity > 0),
  recorded_on date NOT NULL,
  note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
  invoice_id uuid,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, service_id) REFERENCES services (tenant, id)
);
SELECT keel_enable_tenant_rls('usage_records');
CREATE INDEX usage_records_by_period ON usage_records (tenant, client_id, service_id, recorded_on);
