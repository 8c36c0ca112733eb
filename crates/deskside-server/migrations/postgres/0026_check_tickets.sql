-- Tickets a failing health check opened, and fixes the desk verifies on
-- the device. `check_id` names the check that opened a ticket (one such
-- ticket per device and check is worked at a time); the desk resolves it
-- once the check has been ok for `resolve_after_secs`. `ticket_watches`
-- holds the checks that were failing on the device when a ticket was
-- filed: until `watch_until` (set when it is resolved), one of them
-- failing again reopens the ticket, and the employee's rating waits for
-- `rating_opens_at`. `verified_at` says when the desk resolved a ticket
-- because the device showed the check fixed.
ALTER TABLE tickets ADD COLUMN check_id TEXT;
ALTER TABLE tickets ADD COLUMN resolve_after_secs BIGINT;
ALTER TABLE tickets ADD COLUMN watch_until TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN rating_opens_at TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN verified_at TIMESTAMPTZ;
CREATE INDEX tickets_check ON tickets (device_id, check_id) WHERE check_id IS NOT NULL;
CREATE INDEX tickets_watch ON tickets (device_id, watch_until) WHERE watch_until IS NOT NULL;

-- A note the desk wrote by itself (JSON: kind, check_id, at), worded by
-- its readers.
ALTER TABLE ticket_comments ADD COLUMN note TEXT;

CREATE TABLE ticket_watches (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    check_id  TEXT NOT NULL,
    PRIMARY KEY (ticket_id, check_id)
);
