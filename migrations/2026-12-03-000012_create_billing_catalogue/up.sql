-- Billing's reference data: tax regions with effective-dated rates that never
-- overlap, the service catalogue with a price per currency, and contracts with
-- their lines. A line's kind-specific terms are one JSON document (the API's
-- line shape); what queries filter on has its own column.

CREATE TABLE tax_regions (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  code text NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, code)
);
SELECT keel_enable_tenant_rls('tax_regions');

CREATE TABLE tax_rates (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  region_id uuid NOT NULL,
  starts_on date NOT NULL,
  ends_on date CHECK (ends_on IS NULL OR ends_on > starts_on),
  components jsonb NOT NULL CHECK (jsonb_typeof(components) = 'array' AND jsonb_array_length(components) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, region_id) REFERENCES tax_regions (tenant, id),
  -- One rate in force per region per day.
  EXCLUDE USING gist (tenant WITH =, region_id WITH =, daterange(starts_on, ends_on) WITH &&)
);
SELECT keel_enable_tenant_rls('tax_rates');

CREATE TABLE services (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind IN ('fixed', 'hourly', 'usage', 'product')),
  unit text NOT NULL CHECK (length(unit) BETWEEN 1 AND 40),
  tax_category text CHECK (tax_category IS NULL OR length(tax_category) BETWEEN 1 AND 60),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  is_archived boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id)
);
SELECT keel_enable_tenant_rls('services');
CREATE UNIQUE INDEX services_name_unique ON services (tenant, lower(name));

CREATE TABLE service_prices (
  tenant uuid NOT NULL REFERENCES tenants (id),
  service_id uuid NOT NULL,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  rate_cents bigint NOT NULL CHECK (rate_cents >= 0),
  position integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, service_id, currency),
  FOREIGN KEY (tenant, service_id) REFERENCES services (tenant, id)
);
SELECT keel_enable_tenant_rls('service_prices');

-- Time entries and timers could name a service before the catalogue existed; no
-- service existed, so such names pointed nowhere.
UPDATE time_entries SET service_id = NULL WHERE service_id IS NOT NULL;
UPDATE time_timers SET service_id = NULL WHERE service_id IS NOT NULL;
ALTER TABLE time_entries ADD FOREIGN KEY (tenant, service_id) REFERENCES services (tenant, id);
ALTER TABLE time_timers ADD FOREIGN KEY (tenant, service_id) REFERENCES services (tenant, id);

CREATE TABLE contracts (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  starts_on date NOT NULL,
  ends_on date CHECK (ends_on IS NULL OR ends_on > starts_on),
  billing_frequency text NOT NULL
    CHECK (billing_frequency IN ('weekly', 'bi_weekly', 'monthly', 'quarterly', 'semi_annually', 'annually')),
  anchor jsonb NOT NULL DEFAULT '{}',
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id)
);
SELECT keel_enable_tenant_rls('contracts');
CREATE INDEX contracts_by_client ON contracts (tenant, client_id, starts_on);

CREATE TABLE contract_lines (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  contract_id uuid NOT NULL,
  position integer NOT NULL CHECK (position >= 0),
  kind text NOT NULL CHECK (kind IN ('fixed', 'hourly', 'usage', 'bucket')),
  service_id uuid NOT NULL,
  billing_timing text NOT NULL CHECK (billing_timing IN ('advance', 'arrears')),
  rate_cents bigint CHECK (rate_cents IS NULL OR rate_cents >= 0),
  terms jsonb NOT NULL,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, contract_id, position),
  FOREIGN KEY (tenant, contract_id) REFERENCES contracts (tenant, id),
  FOREIGN KEY (tenant, service_id) REFERENCES services (tenant, id)
);
SELECT keel_enable_tenant_rls('contract_lines');
CREATE INDEX contract_lines_by_service ON contract_lines (tenant, service_id);
