-- The date a bulletin (督查通报 第N期) prints as its issue date: the day its number was first given, on the
-- issuer's clock (the workflow's or the simulation's, not this server's), kept so that rendering it again
-- on any later day gives the same bytes. Bulletins numbered before this column existed have none: they print
-- the Monday after their week, when the weekly Schedule issues them.
ALTER TABLE bulletins ADD COLUMN issued_on date;
