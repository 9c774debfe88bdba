-- Timesheet approval: tenant-wide time periods that can never overlap (even when
-- the cadence changes), the submission counter that names each approval workflow,
-- entry approval status for billing, comments on a timesheet, and one running
-- timer per user.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE time_periods (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  starts_on date NOT NULL,
  ends_on date NOT NULL CHECK (ends_on > starts_on),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, starts_on),
  EXCLUDE USING gist (tenant WITH =, daterange(starts_on, ends_on) WITH &&)
);
SELECT keel_enable_tenant_rls('time_periods');

-- Sheets made before periods existed get theirs.
INSERT INTO time_periods (tenant, id, starts_on, ends_on)
SELECT DISTINCT ON (tenant, period_start) tenant, gen_random_uuid(), period_start, period_end
  FROM timesheets ORDER BY tenant, period_start
ON CONFLICT DO NOTHING;

ALTER TABLE timesheets ADD COLUMN submission integer NOT NULL DEFAULT 0 CHECK (submission >= 0);

ALTER TABLE time_entries ADD COLUMN approval_status text NOT NULL DEFAULT 'DRAFT'
  CHECK (approval_status IN ('DRAFT', 'SUBMITTED', 'APPROVED', 'CHANGES_REQUESTED'));
UPDATE time_entries e SET approval_status = s.status
  FROM timesheets s WHERE s.tenant = e.tenant AND s.id = e.timesheet_id;

CREATE TABLE timesheet_comments (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  timesheet_id uuid NOT NULL,
  author_id uuid NOT NULL,
  body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, timesheet_id) REFERENCES timesheets (tenant, id),
  FOREIGN KEY (tenant, author_id) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('timesheet_comments');
CREATE INDEX timesheet_comments_by_sheet ON timesheet_comments (tenant, timesheet_id, id);

CREATE TABLE time_timers (
  tenant uuid NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL,
  started_at timestamptz NOT NULL,
  client_id uuid,
  ticket_id uuid,
  service_id uuid,
  notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 10000),
  PRIMARY KEY (tenant, user_id),
  CHECK (client_id IS NOT NULL OR ticket_id IS NOT NULL),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
);
SELECT keel_enable_tenant_rls('time_timers');
