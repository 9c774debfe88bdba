-- The transactional outbox: domain writes insert their event here in the same
-- transaction, and the relay publishes unpublished rows to Redis Streams.
CREATE TABLE outbox (
  tenant uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,               -- the event_id (UUIDv7, so id order is time order)
  event_type text NOT NULL,
  envelope jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  PRIMARY KEY (tenant, id)
);
SELECT keel_enable_tenant_rls('outbox');
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- The relay serves every tenant, so it needs the one deliberate cross-tenant door:
-- these two SECURITY DEFINER functions run as the owner (who must be superuser or
-- BYPASSRLS), claim a batch with SKIP LOCKED so several relays never publish the
-- same rows concurrently, and mark rows published. Nothing else crosses tenants.
CREATE FUNCTION keel_outbox_claim(batch integer)
  RETURNS TABLE (tenant uuid, id uuid, event_type text, envelope jsonb)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT o.tenant, o.id, o.event_type, o.envelope
      FROM outbox o
     WHERE o.published_at IS NULL
     ORDER BY o.id
     LIMIT batch
       FOR UPDATE SKIP LOCKED
  $$;

CREATE FUNCTION keel_outbox_mark_published(ids uuid[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
    WITH marked AS (
      UPDATE outbox SET published_at = now() WHERE id = ANY (ids) AND published_at IS NULL RETURNING 1)
    SELECT count(*)::integer FROM marked
  $$;

-- The number of events not yet published (for metrics and readiness).
CREATE FUNCTION keel_outbox_backlog() RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT count(*) FROM outbox WHERE published_at IS NULL $$;

REVOKE ALL ON FUNCTION keel_outbox_claim(integer), keel_outbox_mark_published(uuid[]), keel_outbox_backlog() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION keel_outbox_claim(integer), keel_outbox_mark_published(uuid[]), keel_outbox_backlog() TO keel_app;
