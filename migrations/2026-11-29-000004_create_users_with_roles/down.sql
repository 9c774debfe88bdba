DROP VIEW users_with_roles;
