DROP INDEX playbooks_webhook_hook_unique;
DROP TABLE playbook_webhooks;
