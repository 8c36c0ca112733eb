-- The technician console: when each technician last looked at a ticket
-- (the unread-reply marker), the desk's event log (live updates, resumed
-- by id after a dropped connection, the same on every node), saved queue
-- views per technician, and the indexes the queue's filters use.
CREATE TABLE ticket_views (
    user_id   BIGINT NOT NULL REFERENCES users(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    seen_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);

CREATE TABLE events (
    id        BIGSERIAL PRIMARY KEY,
    kind      TEXT NOT NULL,
    ticket_id BIGINT,
    actor     TEXT,
    at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE saved_views (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    query      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, name)
);

CREATE INDEX tickets_status_id ON tickets (status, id);
CREATE INDEX tickets_assignee_id ON tickets (assignee_id, id);
CREATE INDEX tickets_priority_id ON tickets (priority, id);
