DROP TABLE in_app_notifications;
DROP TABLE notification_log;
DROP TABLE notification_preferences;
DROP TABLE notification_templates;
DROP TABLE smtp_settings;
DROP TABLE notification_settings;
ALTER TABLE boards DROP COLUMN manager_id;
