CREATE OR REPLACE VIEW client_timeline WITH (security_invoker = true) AS
  SELECT tenant, client_id, 'interaction'::text AS entry_type, id AS entry_id, occurred_at,
         coalesce(nullif(subject, ''), kind) AS title, notes AS detail, kind AS label
    FROM interactions
   WHERE archived_at IS NULL;
DROP VIEW ticket_details;
DROP FUNCTION keel_seed_ticket_defaults(uuid);
ALTER TABLE interactions DROP CONSTRAINT interactions_tenant_ticket_id_fkey;
DROP TABLE sla_audit_log;
DROP TABLE ticket_comment_edits;
DROP TABLE ticket_comments;
DROP TABLE ticket_agents;
DROP TABLE tickets;
DROP TABLE boards;
DROP TABLE ticket_priorities;
DROP TABLE ticket_statuses;
ALTER TABLE clients DROP CONSTRAINT clients_tenant_sla_policy_id_fkey;
DROP TABLE sla_policies;
DROP TABLE business_hours;
