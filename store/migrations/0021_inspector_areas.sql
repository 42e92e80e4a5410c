-- The area an inspector (核查员) verifies in: the territorial units (streets, towns) whose submitted cases the
-- inspector's page lists. Empty: the whole district (every account made before this column, and every other role).
ALTER TABLE staff_users ADD COLUMN areas text[] NOT NULL DEFAULT '{}';
