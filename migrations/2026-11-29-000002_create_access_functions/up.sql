-- Access checks as SQL functions, so each is one cached prepared statement and one
-- round trip per request. They run as the caller (SECURITY INVOKER): row-level
-- security applies inside them exactly as outside.

-- The names of a user's roles, sorted.
CREATE FUNCTION keel_user_roles(p_tenant uuid, p_user uuid) RETURNS text[]
  LANGUAGE sql STABLE
  AS $$
    SELECT coalesce(array_agg(r.name ORDER BY r.name), '{}')
      FROM role_assignments ra
      JOIN roles r ON r.tenant = ra.tenant AND r.id = ra.role_id
     WHERE ra.tenant = p_tenant AND ra.user_id = p_user
  $$;

-- Every permission a user's roles grant, sorted and distinct.
CREATE FUNCTION keel_user_permissions(p_tenant uuid, p_user uuid) RETURNS text[]
  LANGUAGE sql STABLE
  AS $$
    SELECT coalesce(array_agg(DISTINCT rp.permission ORDER BY rp.permission), '{}')
      FROM role_assignments ra
      JOIN role_permissions rp ON rp.tenant = ra.tenant AND rp.role_id = ra.role_id
     WHERE ra.tenant = p_tenant AND ra.user_id = p_user
  $$;

-- The principal behind a live API key, as JSON, or NULL. Marks the key used at most
-- once a minute so that reads stay reads.
CREATE FUNCTION keel_principal_for_api_key(p_token_hash text) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$
    WITH touched AS (
      UPDATE api_keys SET last_used_at = now()
       WHERE secret_hash = p_token_hash AND revoked_at IS NULL
         AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
    SELECT jsonb_build_object(
             'user_id', u.id, 'email', u.email, 'full_name', u.full_name,
             'credential_id', k.id, 'csrf_token', NULL,
             'permissions', to_jsonb(keel_user_permissions(u.tenant, u.id)))
      FROM api_keys k
      JOIN users u ON u.tenant = k.tenant AND u.id = k.user_id
     WHERE k.secret_hash = p_token_hash AND k.revoked_at IS NULL AND u.is_active
  $$;

-- The principal behind an unexpired session, as JSON, or NULL.
CREATE FUNCTION keel_principal_for_session(p_token_hash text) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
    SELECT jsonb_build_object(
             'user_id', u.id, 'email', u.email, 'full_name', u.full_name,
             'credential_id', s.id, 'csrf_token', s.csrf_token,
             'permissions', to_jsonb(keel_user_permissions(u.tenant, u.id)))
      FROM sessions s
      JOIN users u ON u.tenant = s.tenant AND u.id = s.user_id
     WHERE s.token_hash = p_token_hash AND s.expires_at > now() AND u.is_active
  $$;
