DROP INDEX workflow_runs_kind_started;
DROP TABLE playbook_limits;
