DROP FUNCTION keel_outbox_backlog();
DROP FUNCTION keel_outbox_mark_published(uuid[]);
DROP FUNCTION keel_outbox_claim(integer);
DROP TABLE outbox;
