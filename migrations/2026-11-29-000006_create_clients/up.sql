-- Clients, their locations and contacts, interactions, and assets: the records every
-- other module points at. Search is case- and accent-insensitive through trigram
-- indexes on a normalised search key.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is only STABLE (its dictionary could change), so it cannot appear in an
-- index expression; naming the dictionary explicitly makes this wrapper safe to
-- declare IMMUTABLE, which is the documented way to index unaccented text.
CREATE FUNCTION keel_search_key(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;
GRANT EXECUTE ON FUNCTION keel_search_key(text) TO keel_app;

CREATE TABLE clients (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  client_type text NOT NULL DEFAULT 'company' CHECK (client_type IN ('company', 'individual')),
  parent_id uuid,
  billing_email text CHECK (billing_email = lower(billing_email)),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  payment_terms text NOT NULL DEFAULT 'net_30',
  tax_region text,
  is_tax_exempt boolean NOT NULL DEFAULT false,
  tax_exempt_certificate text,
  billing_cycle text NOT NULL DEFAULT 'monthly'
    CHECK (billing_cycle IN ('weekly', 'monthly', 'quarterly', 'semi_annually', 'annually')),
  billing_anchor_day smallint NOT NULL DEFAULT 1 CHECK (billing_anchor_day BETWEEN 1 AND 28),
  account_manager_id uuid,
  sla_policy_id uuid,
  notes text NOT NULL DEFAULT '',
  tags text[] NOT NULL DEFAULT '{}',
  properties jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(properties) = 'object'),
  is_inactive boolean NOT NULL DEFAULT false,
  archived_at timestamptz,
  merged_into uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  search_key text GENERATED ALWAYS AS
    (keel_search_key(name || ' ' || coalesce(billing_email, ''))) STORED,
  PRIMARY KEY (tenant, id),
  CHECK (parent_id IS DISTINCT FROM id),
  CHECK (NOT is_tax_exempt OR tax_exempt_certificate IS NOT NULL),
  FOREIGN KEY (tenant, parent_id) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, merged_into) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, account_manager_id) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('clients');
CREATE INDEX clients_search ON clients USING gin (search_key gin_trgm_ops);
CREATE INDEX clients_parent ON clients (tenant, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX clients_tags ON clients USING gin (tags);

CREATE TABLE client_locations (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  address_line1 text NOT NULL DEFAULT '',
  address_line2 text NOT NULL DEFAULT '',
  city text NOT NULL DEFAULT '',
  region text NOT NULL DEFAULT '',
  postal_code text NOT NULL DEFAULT '',
  country char(2) CHECK (country ~ '^[A-Z]{2}$'),
  phone text,
  is_default boolean NOT NULL DEFAULT false,
  is_billing boolean NOT NULL DEFAULT false,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  -- Lets assets reference (client, location) together, so a location of another
  -- client is refused by the database as well as by validation.
  UNIQUE (tenant, client_id, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id)
);
SELECT keel_enable_tenant_rls('client_locations');
CREATE UNIQUE INDEX client_locations_one_default ON client_locations (tenant, client_id)
  WHERE is_default AND archived_at IS NULL;
CREATE UNIQUE INDEX client_locations_one_billing ON client_locations (tenant, client_id)
  WHERE is_billing AND archived_at IS NULL;

CREATE TABLE contacts (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  full_name text NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
  role text NOT NULL DEFAULT '',
  -- The primary address and number, denormalised from `emails`/`phones` for lookups
  -- and the uniqueness rule.
  email text CHECK (email = lower(email)),
  phone text,
  emails jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(emails) = 'array'),
  phones jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(phones) = 'array'),
  notes text NOT NULL DEFAULT '',
  is_inactive boolean NOT NULL DEFAULT false,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  search_key text GENERATED ALWAYS AS
    (keel_search_key(full_name || ' ' || coalesce(email, '') || ' ' || role)) STORED,
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id)
);
SELECT keel_enable_tenant_rls('contacts');
CREATE UNIQUE INDEX contacts_primary_email ON contacts (tenant, email)
  WHERE email IS NOT NULL AND archived_at IS NULL;
CREATE INDEX contacts_client ON contacts (tenant, client_id, id);
CREATE INDEX contacts_search ON contacts USING gin (search_key gin_trgm_ops);

-- Tenant-defined interaction kinds beside the built-ins (call, email, meeting, note).
CREATE TABLE interaction_kinds (
  tenant uuid NOT NULL REFERENCES tenants (id),
  key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{1,39}$'),
  label text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, key)
);
SELECT keel_enable_tenant_rls('interaction_kinds');

CREATE TABLE interactions (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  contact_id uuid,
  -- The tickets module adds the foreign key when its table exists.
  ticket_id uuid,
  kind text NOT NULL,
  subject text NOT NULL DEFAULT '',
  notes text NOT NULL DEFAULT '',
  occurred_at timestamptz NOT NULL,
  duration_minutes integer CHECK (duration_minutes BETWEEN 0 AND 100000),
  user_id uuid,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, contact_id) REFERENCES contacts (tenant, id),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('interactions');
CREATE INDEX interactions_client_time ON interactions (tenant, client_id, occurred_at DESC, id DESC);

-- Tenant asset types beside the built-ins; `field_schema` is a JSON Schema that the
-- `properties` of assets of this type must satisfy.
CREATE TABLE asset_types (
  tenant uuid NOT NULL REFERENCES tenants (id),
  key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{1,39}$'),
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  field_schema jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, key)
);
SELECT keel_enable_tenant_rls('asset_types');

CREATE TABLE assets (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id uuid NOT NULL,
  location_id uuid,
  asset_tag text NOT NULL CHECK (length(btrim(asset_tag)) BETWEEN 1 AND 64),
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  kind text NOT NULL,
  serial text,
  status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'in_stock', 'in_repair', 'retired', 'lost')),
  purchased_on date,
  warranty_expires_on date,
  -- The expiry date a warranty_expiring event was last sent for.
  warranty_notice_for date,
  properties jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(properties) = 'object'),
  notes text NOT NULL DEFAULT '',
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  search_key text GENERATED ALWAYS AS
    (keel_search_key(asset_tag || ' ' || name || ' ' || coalesce(serial, ''))) STORED,
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id),
  -- ON UPDATE CASCADE: when a merge moves a location to another client, its assets
  -- move with it.
  FOREIGN KEY (tenant, client_id, location_id) REFERENCES client_locations (tenant, client_id, id)
    ON UPDATE CASCADE,
  CHECK (warranty_expires_on IS NULL OR purchased_on IS NULL OR warranty_expires_on >= purchased_on)
);
SELECT keel_enable_tenant_rls('assets');
CREATE UNIQUE INDEX assets_tag ON assets (tenant, lower(asset_tag));
CREATE INDEX assets_client ON assets (tenant, client_id, id);
CREATE INDEX assets_search ON assets USING gin (search_key gin_trgm_ops);
CREATE INDEX assets_warranty ON assets (tenant, warranty_expires_on)
  WHERE warranty_expires_on IS NOT NULL AND archived_at IS NULL;

-- Directed edges: `asset_id` has `related_asset_id` as its parent, or depends on it.
CREATE TABLE asset_relationships (
  tenant uuid NOT NULL REFERENCES tenants (id),
  asset_id uuid NOT NULL,
  related_asset_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('parent', 'depends_on')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, asset_id, kind, related_asset_id),
  CHECK (asset_id <> related_asset_id),
  FOREIGN KEY (tenant, asset_id) REFERENCES assets (tenant, id),
  FOREIGN KEY (tenant, related_asset_id) REFERENCES assets (tenant, id)
);
SELECT keel_enable_tenant_rls('asset_relationships');
CREATE UNIQUE INDEX asset_relationships_one_parent ON asset_relationships (tenant, asset_id)
  WHERE kind = 'parent';
CREATE INDEX asset_relationships_reverse ON asset_relationships (tenant, related_asset_id);

-- What changed on an asset, field by field: {"status": {"from": "active", "to": "retired"}}.
CREATE TABLE asset_changes (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  asset_id uuid NOT NULL,
  actor_user_id uuid,
  action text NOT NULL,
  changes jsonb NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, asset_id) REFERENCES assets (tenant, id)
);
SELECT keel_enable_tenant_rls('asset_changes');
CREATE INDEX asset_changes_asset ON asset_changes (tenant, asset_id, id DESC);

-- A client's history in time order. Each module that has client-linked records adds
-- its branch here (tickets, invoices), so the timeline is one keyset-paginated query.
CREATE VIEW client_timeline WITH (security_invoker = true) AS
  SELECT tenant, client_id, 'interaction'::text AS entry_type, id AS entry_id, occurred_at,
         coalesce(nullif(subject, ''), kind) AS title, notes AS detail, kind AS label
    FROM interactions
   WHERE archived_at IS NULL;
GRANT SELECT ON client_timeline TO keel_app;
