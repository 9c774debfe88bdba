DROP TABLE contract_lines;
DROP TABLE contracts;
ALTER TABLE time_timers DROP CONSTRAINT time_timers_tenant_service_id_fkey;
ALTER TABLE time_entries DROP CONSTRAINT time_entries_tenant_service_id_fkey;
DROP TABLE service_prices;
DROP TABLE services;
DROP TABLE tax_rates;
DROP TABLE tax_regions;
