-- The tenant's invoice document template (absent = the shipped default) and
-- every e-mail delivery of an invoice, one row per send, written by the
-- delivery activity exactly once.

CREATE TABLE invoice_templates (
  tenant uuid NOT NULL REFERENCES tenants (id),
  name text NOT NULL CHECK (name = 'invoice'),
  body text NOT NULL CHECK (length(body) BETWEEN 1 AND 50000),
  updated_by uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, name)
);
SELECT keel_enable_tenant_rls('invoice_templates');

CREATE TABLE invoice_deliveries (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  to_email text NOT NULL CHECK (length(to_email) BETWEEN 3 AND 320),
  message_id text NOT NULL,
  pdf_bytes integer NOT NULL CHECK (pdf_bytes > 0),
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, invoice_id) REFERENCES invoices (tenant, id)
);
SELECT keel_enable_tenant_rls('invoice_deliveries');
CREATE INDEX invoice_deliveries_by_invoice ON invoice_deliveries (tenant, invoice_id);
