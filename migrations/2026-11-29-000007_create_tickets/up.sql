-- Tickets with boards, statuses, priorities, comments, and the SLA policies and
-- business hours their clocks run on.

CREATE TABLE business_hours (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  timezone text NOT NULL,
  is_24x7 boolean NOT NULL DEFAULT false,
  -- [{weekday: 1..7 (Monday = 1), start: "HH:MM", end: "HH:MM"}]
  days jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(days) = 'array'),
  holidays date[] NOT NULL DEFAULT '{}',
  -- Month and day of yearly holidays, as "MM-DD".
  yearly_holidays text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, name)
);
SELECT keel_enable_tenant_rls('business_hours');

CREATE TABLE sla_policies (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  business_hours_id uuid,
  is_default boolean NOT NULL DEFAULT false,
  -- [{priority: "High", response_minutes, resolution_minutes, is_24x7}]
  targets jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(targets) = 'array'),
  notify_percents integer[] NOT NULL DEFAULT '{50,75,90,100}',
  escalation_percents integer[] NOT NULL DEFAULT '{70,90,110}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, name),
  FOREIGN KEY (tenant, business_hours_id) REFERENCES business_hours (tenant, id)
);
SELECT keel_enable_tenant_rls('sla_policies');
CREATE UNIQUE INDEX sla_policies_one_default ON sla_policies (tenant) WHERE is_default;

ALTER TABLE clients
  ADD FOREIGN KEY (tenant, sla_policy_id) REFERENCES sla_policies (tenant, id);

CREATE TABLE ticket_statuses (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 50),
  is_closed boolean NOT NULL DEFAULT false,
  is_default boolean NOT NULL DEFAULT false,
  pauses_sla boolean NOT NULL DEFAULT false,
  sort_order integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, id)
);
SELECT keel_enable_tenant_rls('ticket_statuses');
CREATE UNIQUE INDEX ticket_statuses_name ON ticket_statuses (tenant, lower(name));
CREATE UNIQUE INDEX ticket_statuses_one_default ON ticket_statuses (tenant) WHERE is_default;

CREATE TABLE ticket_priorities (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 50),
  -- 1 (Critical) .. 5 (Planning): the ITIL level this priority stands for.
  level smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
  is_default boolean NOT NULL DEFAULT false,
  sort_order integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, id)
);
SELECT keel_enable_tenant_rls('ticket_priorities');
CREATE UNIQUE INDEX ticket_priorities_name ON ticket_priorities (tenant, lower(name));
CREATE UNIQUE INDEX ticket_priorities_one_default ON ticket_priorities (tenant) WHERE is_default;

CREATE TABLE boards (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  is_default boolean NOT NULL DEFAULT false,
  itil_mode boolean NOT NULL DEFAULT false,
  default_priority_id uuid,
  default_assignee_id uuid,
  sla_policy_id uuid,
  -- Escalation managers by level: {"1": user id, "2": …, "3": …}.
  escalation_managers jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(escalation_managers) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, default_priority_id) REFERENCES ticket_priorities (tenant, id),
  FOREIGN KEY (tenant, default_assignee_id) REFERENCES users (tenant, id),
  FOREIGN KEY (tenant, sla_policy_id) REFERENCES sla_policies (tenant, id)
);
SELECT keel_enable_tenant_rls('boards');
CREATE UNIQUE INDEX boards_name ON boards (tenant, lower(name));
CREATE UNIQUE INDEX boards_one_default ON boards (tenant) WHERE is_default;

CREATE TABLE tickets (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  number text NOT NULL,
  title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
  description text NOT NULL DEFAULT '',
  client_id uuid NOT NULL,
  contact_id uuid,
  board_id uuid NOT NULL,
  status_id uuid NOT NULL,
  priority_id uuid NOT NULL,
  category text,
  subcategory text,
  assigned_to uuid,
  due_at timestamptz,
  tags text[] NOT NULL DEFAULT '{}',
  origin text NOT NULL DEFAULT 'api' CHECK (origin IN ('ui', 'api', 'email', 'playbook')),
  response_state text CHECK (response_state IN ('awaiting_client', 'awaiting_internal')),
  attributes jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
  impact smallint CHECK (impact BETWEEN 1 AND 5),
  urgency smallint CHECK (urgency BETWEEN 1 AND 5),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  -- SLA columns, kept by the TicketSla workflow for lists and reports.
  sla_policy_id uuid,
  sla_state text NOT NULL DEFAULT 'pending'
    CHECK (sla_state IN ('pending', 'running', 'paused', 'no_target', 'completed')),
  sla_started_at timestamptz,
  response_due_at timestamptz,
  first_response_at timestamptz,
  response_met boolean,
  resolution_due_at timestamptz,
  resolved_at timestamptz,
  resolution_met boolean,
  sla_paused_at timestamptz,
  sla_paused_seconds bigint NOT NULL DEFAULT 0,
  escalation_level smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 3),
  search_key text GENERATED ALWAYS AS
    (keel_search_key(number || ' ' || title)) STORED,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, number),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, contact_id) REFERENCES contacts (tenant, id),
  FOREIGN KEY (tenant, board_id) REFERENCES boards (tenant, id),
  FOREIGN KEY (tenant, status_id) REFERENCES ticket_statuses (tenant, id),
  FOREIGN KEY (tenant, priority_id) REFERENCES ticket_priorities (tenant, id),
  FOREIGN KEY (tenant, assigned_to) REFERENCES users (tenant, id),
  FOREIGN KEY (tenant, created_by) REFERENCES users (tenant, id),
  FOREIGN KEY (tenant, sla_policy_id) REFERENCES sla_policies (tenant, id)
);
SELECT keel_enable_tenant_rls('tickets');
CREATE INDEX tickets_client ON tickets (tenant, client_id, id DESC);
CREATE INDEX tickets_assignee ON tickets (tenant, assigned_to, id DESC);
CREATE INDEX tickets_open_by_due ON tickets (tenant, resolution_due_at) WHERE closed_at IS NULL;
CREATE INDEX tickets_search ON tickets USING gin (search_key gin_trgm_ops);

-- Agents besides the assignee (escalation managers join here).
CREATE TABLE ticket_agents (
  tenant uuid NOT NULL REFERENCES tenants (id),
  ticket_id uuid NOT NULL,
  user_id uuid NOT NULL,
  role text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'escalation_manager')),
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, ticket_id, user_id),
  FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('ticket_agents');

CREATE TABLE ticket_comments (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  ticket_id uuid NOT NULL,
  body text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 50000),
  is_internal boolean NOT NULL DEFAULT false,
  author_kind text NOT NULL CHECK (author_kind IN ('technician', 'contact', 'system')),
  author_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
);
SELECT keel_enable_tenant_rls('ticket_comments');
CREATE INDEX ticket_comments_ticket ON ticket_comments (tenant, ticket_id, id);

CREATE TABLE ticket_comment_edits (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  comment_id uuid NOT NULL,
  previous_body text NOT NULL,
  edited_by uuid,
  edited_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, comment_id) REFERENCES ticket_comments (tenant, id)
);
SELECT keel_enable_tenant_rls('ticket_comment_edits');

-- Every SLA transition of a ticket: sla_started, sla_paused, sla_resumed,
-- threshold_warning, escalated, sla_breach, response_recorded, resolution_recorded,
-- priority_changed, policy_changed, no_target.
CREATE TABLE sla_audit_log (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  ticket_id uuid NOT NULL,
  event text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  -- Deduplicates workflow retries: one row per (ticket, key).
  dedup_key text NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, ticket_id, dedup_key),
  FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
);
SELECT keel_enable_tenant_rls('sla_audit_log');

ALTER TABLE interactions
  ADD FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id);

-- The defaults every tenant starts with: statuses, priorities (ITIL levels), a
-- default board. Idempotent; called for existing tenants below and by onboarding.
CREATE FUNCTION keel_seed_ticket_defaults(t uuid) RETURNS integer
  LANGUAGE plpgsql
  AS $$
DECLARE
  inserted integer := 0;
  n integer;
BEGIN
  INSERT INTO ticket_statuses (tenant, id, name, is_closed, is_default, pauses_sla, sort_order)
  SELECT t, gen_random_uuid(), s.name, s.closed, s.dflt, s.pauses, s.ord
    FROM (VALUES ('Open', false, true, false, 1), ('In progress', false, false, false, 2),
                 ('Waiting on customer', false, false, true, 3), ('Resolved', true, false, false, 4),
                 ('Closed', true, false, false, 5)) AS s(name, closed, dflt, pauses, ord)
   WHERE NOT EXISTS (SELECT 1 FROM ticket_statuses x WHERE x.tenant = t)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT; inserted := inserted + n;
  INSERT INTO ticket_priorities (tenant, id, name, level, is_default, sort_order)
  SELECT t, gen_random_uuid(), p.name, p.level, p.dflt, p.level
    FROM (VALUES ('Critical', 1, false), ('High', 2, false), ('Medium', 3, true),
                 ('Low', 4, false), ('Planning', 5, false)) AS p(name, level, dflt)
   WHERE NOT EXISTS (SELECT 1 FROM ticket_priorities x WHERE x.tenant = t)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT; inserted := inserted + n;
  INSERT INTO boards (tenant, id, name, is_default)
  SELECT t, gen_random_uuid(), 'Service desk', true
   WHERE NOT EXISTS (SELECT 1 FROM boards x WHERE x.tenant = t)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT; inserted := inserted + n;
  RETURN inserted;
END
$$;
GRANT EXECUTE ON FUNCTION keel_seed_ticket_defaults(uuid) TO keel_app;
SELECT keel_seed_ticket_defaults(id) FROM tenants;

-- Tickets with the names of their status, priority and board, for reads.
CREATE VIEW ticket_details WITH (security_invoker = true) AS
  SELECT t.tenant, t.id, t.number, t.title, t.description, t.client_id, t.contact_id,
         t.board_id, b.name AS board, t.status_id, s.name AS status, s.is_closed, s.pauses_sla,
         t.priority_id, p.name AS priority, p.level AS priority_level, t.category, t.subcategory,
         t.assigned_to, t.due_at, t.tags, t.origin, t.response_state, t.attributes, t.impact,
         t.urgency, t.created_by, t.created_at, t.updated_at, t.closed_at, t.sla_policy_id,
         t.sla_state, t.sla_started_at, t.response_due_at, t.first_response_at, t.response_met,
         t.resolution_due_at, t.resolved_at, t.resolution_met, t.sla_paused_at,
         t.sla_paused_seconds, t.escalation_level, t.search_key,
         coalesce((SELECT array_agg(a.user_id ORDER BY a.added_at) FROM ticket_agents a
                    WHERE a.tenant = t.tenant AND a.ticket_id = t.id), '{}') AS additional_agents
    FROM tickets t
    JOIN ticket_statuses s ON s.tenant = t.tenant AND s.id = t.status_id
    JOIN ticket_priorities p ON p.tenant = t.tenant AND p.id = t.priority_id
    JOIN boards b ON b.tenant = t.tenant AND b.id = t.board_id;
GRANT SELECT ON ticket_details TO keel_app;

CREATE OR REPLACE VIEW client_timeline WITH (security_invoker = true) AS
  SELECT tenant, client_id, 'interaction'::text AS entry_type, id AS entry_id, occurred_at,
         coalesce(nullif(subject, ''), kind) AS title, notes AS detail, kind AS label
    FROM interactions
   WHERE archived_at IS NULL
  UNION ALL
  SELECT t.tenant, t.client_id, 'ticket'::text, t.id, t.created_at,
         t.number || ' ' || t.title, t.description, s.name
    FROM tickets t JOIN ticket_statuses s ON s.tenant = t.tenant AND s.id = t.status_id;
