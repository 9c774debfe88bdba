DROP TABLE self_test_marks;
DROP TABLE activity_effects;
DROP TABLE workflow_run_steps;
DROP TABLE workflow_runs;
