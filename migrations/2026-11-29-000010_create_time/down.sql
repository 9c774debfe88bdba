DROP TABLE time_entries;
DROP TABLE timesheets;
DROP TABLE time_settings;
