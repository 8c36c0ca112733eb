-- What a device sent with an idempotency key (SHA-256 of the ticket part
-- and its files), so a reused key with another payload is refused instead
-- of silently answered with the first ticket.
ALTER TABLE tickets ADD COLUMN request_hash TEXT;
