DROP TABLE invoice_deliveries;
DROP TABLE invoice_templates;
