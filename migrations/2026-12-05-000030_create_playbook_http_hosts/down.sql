DROP TABLE playbook_http_hosts;
