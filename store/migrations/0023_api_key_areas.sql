-- The area an inspector's API key verifies in, as an inspector's account has one (0021): the territorial units
-- (streets, towns) whose cases the key may act on. Empty: the whole district (every key made before this column,
-- and every other role).
ALTER TABLE api_keys ADD COLUMN areas text[] NOT NULL DEFAULT '{}';
