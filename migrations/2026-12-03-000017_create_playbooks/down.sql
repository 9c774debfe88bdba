DROP TABLE playbook_kv;
DROP TRIGGER playbook_versions_immutable ON playbook_versions;
DROP TABLE playbook_versions;
DROP FUNCTION keel_playbook_version_immutable();
DROP TABLE playbooks;
