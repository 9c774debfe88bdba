DROP TABLE time_timers;
DROP TABLE timesheet_comments;
ALTER TABLE time_entries DROP COLUMN approval_status;
ALTER TABLE timesheets DROP COLUMN submission;
DROP TABLE time_periods;
