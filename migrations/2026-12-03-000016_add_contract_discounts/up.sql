-- A contract's discounts (percentage or fixed, per line or whole invoice, with
-- effective dates), as the engine's discount list.
ALTER TABLE contracts ADD COLUMN discounts jsonb NOT NULL DEFAULT '[]'
  CHECK (jsonb_typeof(discounts) = 'array');
