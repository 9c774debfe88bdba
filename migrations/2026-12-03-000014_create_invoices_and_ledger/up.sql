-- Invoices with their lines, the periods billing runs have billed, credits,
-- payments and the ledger of every money movement. A finalized invoice's money
-- never changes: a trigger refuses it even to code that forgot to check.

CREATE TABLE invoices (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  number text,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'finalized', 'paid', 'void')),
  origin text NOT NULL CHECK (origin IN ('manual', 'billing_run')),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  invoice_date date NOT NULL,
  period_start date,
  period_end date CHECK (period_end IS NULL OR period_end > period_start),
  due_on date,
  subtotal_cents bigint NOT NULL,
  discount_cents bigint NOT NULL DEFAULT 0,
  tax_cents bigint NOT NULL CHECK (tax_cents >= 0),
  total_cents bigint NOT NULL,
  credit_applied_cents bigint NOT NULL DEFAULT 0 CHECK (credit_applied_cents >= 0),
  paid_cents bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
  notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
  billing_run_id uuid,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  finalized_at timestamptz,
  voided_at timestamptz,
  CHECK (total_cents = subtotal_cents + tax_cents),
  CHECK (credit_applied_cents + paid_cents <= greatest(total_cents, 0)),
  CHECK ((number IS NULL) = (finalized_at IS NULL)),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, number),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id)
);
SELECT keel_enable_tenant_rls('invoices');
CREATE INDEX invoices_by_client ON invoices (tenant, client_id, id DESC);
CREATE INDEX invoices_by_status ON invoices (tenant, status, id DESC);

CREATE TABLE invoice_lines (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  position integer NOT NULL CHECK (position >= 0),
  description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  service_id uuid,
  quantity numeric(20, 6) NOT NULL,
  unit_price_cents bigint NOT NULL,
  amount_cents bigint NOT NULL,
  tax_cents bigint NOT NULL CHECK (tax_cents >= 0),
  tax_category text,
  service_start date NOT NULL,
  service_end date NOT NULL CHECK (service_end > service_start),
  contract_id uuid,
  contract_line_id uuid,
  source jsonb NOT NULL,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, invoice_id, position),
  FOREIGN KEY (tenant, invoice_id) REFERENCES invoices (tenant, id)
);
SELECT keel_enable_tenant_rls('invoice_lines');

-- A finalized invoice keeps its lines and money; only its settlement (status,
-- credit applied, paid, voided) moves.
CREATE FUNCTION keel_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  state text;
BEGIN
  IF TG_TABLE_NAME = 'invoice_lines' THEN
    SELECT status INTO state FROM invoices
      WHERE tenant = COALESCE(NEW.tenant, OLD.tenant) AND id = COALESCE(NEW.invoice_id, OLD.invoice_id);
    IF state IS DISTINCT FROM 'draft' THEN
      RAISE EXCEPTION 'invoice % is % and cannot change', COALESCE(NEW.invoice_id, OLD.invoice_id), state
        USING ERRCODE = 'check_violation';
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'invoice % is % and cannot be deleted', OLD.id, OLD.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
  ELSIF OLD.status <> 'draft' AND (
      NEW.client_id, NEW.number, NEW.currency, NEW.invoice_date, NEW.subtotal_cents, NEW.tax_cents,
      NEW.total_cents, NEW.discount_cents, NEW.due_on, NEW.period_start, NEW.period_end)
      IS DISTINCT FROM (
      OLD.client_id, OLD.number, OLD.currency, OLD.invoice_date, OLD.subtotal_cents, OLD.tax_cents,
      OLD.total_cents, OLD.discount_cents, OLD.due_on, OLD.period_start, OLD.period_end)
      OR (OLD.status = 'void') THEN
    RAISE EXCEPTION 'invoice % is % and cannot change', OLD.id, OLD.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN COALESCE(NEW, OLD);
END
$$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
  FOR EACH ROW EXECUTE FUNCTION keel_invoice_immutable();
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION keel_invoice_immutable();

-- What billing runs have billed: one row per contract and billing window, so no
-- re-run or resumed run bills a window twice. `rollover` carries each bucket
-- line's unused allowance into the next window.
CREATE TABLE billed_periods (
  tenant uuid NOT NULL REFERENCES tenants (id),
  contract_id uuid NOT NULL,
  period_start date NOT NULL,
  period_end date NOT NULL CHECK (period_end > period_start),
  client_id uuid NOT NULL,
  invoice_id uuid,
  billing_run_id uuid,
  rollover jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, contract_id, period_start),
  FOREIGN KEY (tenant, contract_id) REFERENCES contracts (tenant, id),
  FOREIGN KEY (tenant, invoice_id) REFERENCES invoices (tenant, id)
);
SELECT keel_enable_tenant_rls('billed_periods');

ALTER TABLE time_entries ADD COLUMN invoice_id uuid;
ALTER TABLE time_entries ADD FOREIGN KEY (tenant, invoice_id) REFERENCES invoices (tenant, id);
CREATE INDEX time_entries_unbilled ON time_entries (tenant, client_id, work_date)
  WHERE invoice_id IS NULL AND deleted_at IS NULL AND billable_minutes > 0;
ALTER TABLE usage_records ADD FOREIGN KEY (tenant, invoice_id) REFERENCES invoices (tenant, id);

CREATE TABLE credits (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  remaining_cents bigint NOT NULL CHECK (remaining_cents >= 0 AND remaining_cents <= amount_cents),
  origin text NOT NULL CHECK (origin IN ('manual', 'prepayment', 'negative_invoice', 'void')),
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  expires_on date,
  invoice_id uuid,
  expired_at timestamptz,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, invoice_id) REFERENCES invoices (tenant, id)
);
SELECT keel_enable_tenant_rls('credits');
CREATE INDEX credits_usable ON credits (tenant, client_id, currency, expires_on) WHERE remaining_cents > 0;

CREATE TABLE payments (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  client_id uuid NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  received_on date NOT NULL,
  reference text NOT NULL DEFAULT '' CHECK (length(reference) <= 200),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, invoice_id) REFERENCES invoices (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id)
);
SELECT keel_enable_tenant_rls('payments');
CREATE INDEX payments_by_invoice ON payments (tenant, invoice_id);

-- The ledger, per client and currency: `seq` orders it and the unique key makes
-- two writers racing for the same client fail instead of forking the balance.
-- `amount_cents` moves what the client owes, `credit_cents` their credit.
CREATE TABLE transactions (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  seq bigint NOT NULL CHECK (seq > 0),
  kind text NOT NULL CHECK (kind IN ('invoice_finalized', 'credit_issued', 'credit_applied',
    'payment', 'credit_expired', 'invoice_voided')),
  amount_cents bigint NOT NULL,
  balance_after_cents bigint NOT NULL,
  credit_cents bigint NOT NULL,
  credit_after_cents bigint NOT NULL CHECK (credit_after_cents >= 0),
  invoice_id uuid,
  credit_id uuid,
  payment_id uuid,
  description text NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, client_id, currency, seq),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id)
);
SELECT keel_enable_tenant_rls('transactions');
-- The ledger is append-only for the application.
REVOKE UPDATE, DELETE ON transactions FROM keel_app;
