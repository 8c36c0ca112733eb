-- Every technician change bumps a ticket's version; a change made against
-- an older version (If-Match) is refused instead of undoing another's.
ALTER TABLE tickets ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
