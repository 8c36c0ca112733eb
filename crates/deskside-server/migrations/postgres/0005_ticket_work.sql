-- Technician work on tickets: assessment fields, the conversation
-- (internal notes included) and an audit trail of every technician change.
ALTER TABLE tickets ADD COLUMN impact TEXT NOT NULL DEFAULT 'medium';
ALTER TABLE tickets ADD COLUMN tier INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tickets ADD COLUMN assignee_id BIGINT REFERENCES users(id);

CREATE TABLE ticket_comments (
    id         BIGSERIAL PRIMARY KEY,
    ticket_id  BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    user_id    BIGINT REFERENCES users(id),
    body       TEXT NOT NULL,
    internal   BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id, id);

CREATE TABLE ticket_audit (
    id        BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users(id),
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_audit_ticket ON ticket_audit (ticket_id, id);
