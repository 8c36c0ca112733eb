-- A device's comment carries the agent's idempotency key, so a retried
-- delivery returns the comment instead of adding it twice.
ALTER TABLE ticket_comments ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX ticket_comments_key ON ticket_comments (ticket_id, idempotency_key);
