DROP TABLE playbook_event_waits;
