DROP FUNCTION keel_principal_for_session(text);
DROP FUNCTION keel_principal_for_api_key(text);
DROP FUNCTION keel_user_permissions(uuid, uuid);
DROP FUNCTION keel_user_roles(uuid, uuid);
