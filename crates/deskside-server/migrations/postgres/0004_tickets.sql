-- Tickets from devices, with their attachments (content in the blob
-- store). (device_id, idempotency_key) is unique: a retried submission
-- finds the ticket it created.
CREATE TABLE tickets (
    id              BIGSERIAL PRIMARY KEY,
    device_id       BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    subject         TEXT NOT NULL,
    description     TEXT NOT NULL,
    category        TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (device_id, idempotency_key)
);
CREATE INDEX tickets_device ON tickets (device_id, id);

CREATE TABLE ticket_attachments (
    id           BIGSERIAL PRIMARY KEY,
    ticket_id    BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    blob_key     TEXT NOT NULL,
    diagnostics  BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (ticket_id);
