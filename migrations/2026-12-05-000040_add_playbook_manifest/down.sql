ALTER TABLE playbook_versions DROP COLUMN permissions, DROP COLUMN input_schema;
