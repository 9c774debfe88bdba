ALTER TABLE contracts DROP COLUMN discounts;
