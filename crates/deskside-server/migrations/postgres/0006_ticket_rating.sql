-- The employee's rating of a resolved ticket (1-5), given once.
ALTER TABLE tickets ADD COLUMN rating INTEGER;
ALTER TABLE tickets ADD COLUMN rating_comment TEXT;
ALTER TABLE tickets ADD COLUMN rated_at TIMESTAMPTZ;
