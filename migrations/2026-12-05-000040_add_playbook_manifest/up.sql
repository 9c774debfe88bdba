-- A version's manifest: the input it takes and the permissions whoever a run acts
-- as must hold besides those its actions need. Immutable like the source, so a run
-- is checked against the version it pins.
ALTER TABLE playbook_versions
    ADD COLUMN input_schema jsonb NOT NULL DEFAULT '[]'::jsonb
        CHECK (jsonb_typeof(input_schema) = 'array'),
    ADD COLUMN permissions text[] NOT NULL DEFAULT '{}';
