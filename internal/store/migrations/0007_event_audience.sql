-- The one user a personal event is about (an offer to an agent), so agents'
-- streams carry only their own routing events, also when resumed from here.
ALTER TABLE events ADD COLUMN audience TEXT NOT NULL DEFAULT '';
