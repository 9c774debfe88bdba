-- Time tracking: the tenant's period settings, timesheets per user and period, and
-- time entries (a start/stop timer per user lives in time_timers).

CREATE TABLE time_settings (
  tenant uuid PRIMARY KEY REFERENCES tenants (id),
  -- engine::time::periods::PeriodFrequency as JSON, e.g. {"frequency":"weekly","week_start":"Mon"}
  period jsonb NOT NULL DEFAULT '{"frequency": "weekly", "week_start": "Mon"}',
  allow_self_approval boolean NOT NULL DEFAULT false,
  reminder_hours integer NOT NULL DEFAULT 24 CHECK (reminder_hours BETWEEN 1 AND 720),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT keel_enable_tenant_rls('time_settings');

CREATE TABLE timesheets (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  period_start date NOT NULL,
  period_end date NOT NULL CHECK (period_end > period_start),
  status text NOT NULL DEFAULT 'DRAFT'
    CHECK (status IN ('DRAFT', 'SUBMITTED', 'APPROVED', 'CHANGES_REQUESTED')),
  submitted_at timestamptz,
  decided_at timestamptz,
  decided_by uuid,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, user_id, period_start),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('timesheets');

CREATE TABLE time_entries (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  timesheet_id uuid NOT NULL,
  client_id uuid NOT NULL,
  ticket_id uuid,
  work_date date NOT NULL,
  started_at timestamptz,
  ended_at timestamptz,
  minutes integer NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
  billable_minutes integer NOT NULL CHECK (billable_minutes BETWEEN 0 AND 1440),
  service_id uuid,
  notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 10000),
  overlapping boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  PRIMARY KEY (tenant, id),
  CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at > started_at),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id),
  FOREIGN KEY (tenant, timesheet_id) REFERENCES timesheets (tenant, id),
  FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id),
  FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
);
SELECT keel_enable_tenant_rls('time_entries');
CREATE INDEX time_entries_by_user_day ON time_entries (tenant, user_id, work_date) WHERE deleted_at IS NULL;
CREATE INDEX time_entries_by_sheet ON time_entries (tenant, timesheet_id) WHERE deleted_at IS NULL;
CREATE INDEX time_entries_newest ON time_entries (tenant, id DESC) WHERE deleted_at IS NULL;
