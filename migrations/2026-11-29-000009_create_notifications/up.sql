-- E-mail and in-app notifications: tenant switches and SMTP settings, template
-- overrides, user preferences, the delivery log and the in-app inbox.

-- A board's manager hears of new tickets and SLA trouble on it.
ALTER TABLE boards ADD COLUMN manager_id uuid;
ALTER TABLE boards ADD FOREIGN KEY (tenant, manager_id) REFERENCES users (tenant, id);

CREATE TABLE notification_settings (
  tenant uuid PRIMARY KEY REFERENCES tenants (id),
  disabled_categories text[] NOT NULL DEFAULT '{}',
  disabled_subtypes text[] NOT NULL DEFAULT '{}',
  -- E-mails per minute; 0 turns the limit off.
  rate_limit_per_minute integer NOT NULL DEFAULT 60 CHECK (rate_limit_per_minute BETWEEN 0 AND 100000),
  digest_hour_utc smallint NOT NULL DEFAULT 7 CHECK (digest_hour_utc BETWEEN 0 AND 23),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid
);
SELECT keel_enable_tenant_rls('notification_settings');

CREATE TABLE smtp_settings (
  tenant uuid PRIMARY KEY REFERENCES tenants (id),
  host text NOT NULL CHECK (length(btrim(host)) BETWEEN 1 AND 253),
  port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  tls_mode text NOT NULL CHECK (tls_mode IN ('none', 'starttls', 'tls')),
  username text,
  -- ChaCha20-Poly1305: 12-byte nonce then ciphertext, under a key from configuration.
  password_ciphertext bytea,
  from_address text NOT NULL,
  from_name text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid
);
SELECT keel_enable_tenant_rls('smtp_settings');

CREATE TABLE notification_templates (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  template_key text NOT NULL,
  locale text NOT NULL DEFAULT 'en',
  subject text NOT NULL,
  text_body text NOT NULL,
  html_body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, template_key, locale)
);
SELECT keel_enable_tenant_rls('notification_templates');

CREATE TABLE notification_preferences (
  tenant uuid NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL,
  subtype text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  delivery text NOT NULL DEFAULT 'immediate' CHECK (delivery IN ('immediate', 'digest')),
  override_email text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, user_id, subtype),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('notification_preferences');

-- One row per e-mail: queued by planning, then sent or failed; digest-bound rows are
-- held until the digest that carries them (digest_id) is queued.
CREATE TABLE notification_log (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  batch_key text NOT NULL,
  event_id uuid,
  template_key text NOT NULL,
  recipient_user_id uuid,
  recipient_contact_id uuid,
  recipient_name text NOT NULL DEFAULT '',
  recipient_email text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'held', 'digested')),
  subject text NOT NULL,
  text_body text NOT NULL,
  html_body text NOT NULL,
  link text,
  message_id text NOT NULL,
  in_reply_to text,
  thread_references text[] NOT NULL DEFAULT '{}',
  unsubscribe_url text,
  digest_id uuid,
  attempts integer NOT NULL DEFAULT 0,
  smtp_response text,
  last_error text,
  queued_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  failed_at timestamptz,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, batch_key, recipient_email)
);
SELECT keel_enable_tenant_rls('notification_log');
CREATE INDEX notification_log_queued ON notification_log (tenant, batch_key, id) WHERE status = 'queued';
CREATE INDEX notification_log_held ON notification_log (tenant, recipient_email, id) WHERE status = 'held';
CREATE INDEX notification_log_newest ON notification_log (tenant, id DESC);
CREATE INDEX notification_log_event ON notification_log (tenant, event_id);

CREATE TABLE in_app_notifications (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  event_id uuid,
  subtype text NOT NULL,
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  link text,
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at timestamptz,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, event_id, user_id),
  FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id)
);
SELECT keel_enable_tenant_rls('in_app_notifications');
CREATE INDEX in_app_notifications_inbox ON in_app_notifications (tenant, user_id, id DESC);
CREATE INDEX in_app_notifications_unread ON in_app_notifications (tenant, user_id) WHERE read_at IS NULL;
