-- Users with their role names, for lists: one statement, the roles as a correlated
-- subquery evaluated only for the rows a page returns. security_invoker makes the
-- view check row-level security as the caller, never as its owner.
CREATE VIEW users_with_roles WITH (security_invoker = true) AS
  SELECT u.tenant, u.id, u.email, u.full_name, u.is_active, u.created_at,
         coalesce((SELECT array_agg(r.name ORDER BY r.name)
                     FROM role_assignments ra
                     JOIN roles r ON r.tenant = ra.tenant AND r.id = ra.role_id
                    WHERE ra.tenant = u.tenant AND ra.user_id = u.id), '{}') AS roles
    FROM users u;
GRANT SELECT ON users_with_roles TO keel_app;
