-- Service management: ticket types, channels and requesters; tickets a
-- technician opens for someone, with or without a device; teams with
-- members and automatic assignment; problems; SLA calendars and policies;
-- each ticket's status history (the SLA clocks are computed from it and
-- from the replies) and the SLA warnings and breaches, recorded once.
--
-- SQLite cannot drop NOT NULL in place: `tickets` (device_id) and
-- `ticket_audit` (user_id: the desk itself escalates) are rebuilt, and
-- with them every table that refers to `tickets`: foreign keys stay on in
-- a migration's transaction, so the old tickets may only be dropped once
-- nothing refers to them (else the drop would cascade). The copies refer
-- to `tickets_new`, which the rename at the end rewrites to `tickets`.

CREATE TABLE teams (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    auto_assign    TEXT NOT NULL DEFAULT 'none'
                   CHECK (auto_assign IN ('none', 'round_robin', 'least_open')),
    last_assignee  INTEGER REFERENCES users(id),
    created_at     TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);

ALTER TABLE users ADD COLUMN away INTEGER NOT NULL DEFAULT 0;

CREATE TABLE problems (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    subject     TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    root_cause  TEXT NOT NULL DEFAULT '',
    workaround  TEXT NOT NULL DEFAULT '',
    known_error INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    resolved_at TEXT
);

CREATE TABLE tickets_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id       INTEGER REFERENCES devices(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    subject         TEXT NOT NULL,
    description     TEXT NOT NULL,
    category        TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    impact          TEXT NOT NULL DEFAULT 'medium',
    tier            INTEGER NOT NULL DEFAULT 1,
    assignee_id     INTEGER REFERENCES users(id),
    rating          INTEGER,
    rating_comment  TEXT,
    rated_at        TEXT,
    version         INTEGER NOT NULL DEFAULT 1,
    request_hash    TEXT,
    ticket_type     TEXT NOT NULL DEFAULT 'incident'
                    CHECK (ticket_type IN ('incident', 'service_request')),
    channel         TEXT NOT NULL DEFAULT 'tray'
                    CHECK (channel IN ('tray', 'phone', 'walk_in', 'email', 'chat')),
    requester_name  TEXT,
    requester_email TEXT,
    created_by      INTEGER REFERENCES users(id),
    team_id         INTEGER REFERENCES teams(id),
    problem_id      INTEGER REFERENCES problems(id),
    -- The SLA as last evaluated: the policy, the most urgent state and
    -- due time (Unix seconds) of its clocks, and when it next changes by
    -- itself. `sla_seq` counts what the SLA depends on (the triggers
    -- below bump it), `sla_seen` is the count last evaluated: a ticket
    -- whose two differ is evaluated again, and an evaluation racing a
    -- change never marks the change as seen.
    sla_policy_id   INTEGER,
    sla_state       TEXT,
    sla_due_at      INTEGER,
    sla_next_at     INTEGER,
    sla_seq         INTEGER NOT NULL DEFAULT 1,
    sla_seen        INTEGER NOT NULL DEFAULT 0,
    -- What the KPIs aggregate, written with each SLA evaluation (Unix
    -- seconds; durations in working and in calendar time, pauses left
    -- out): the first public technician reply, the last resolution, how
    -- often it was reopened, and whether it was solved at first contact.
    kpi_first_response_at   INTEGER,
    kpi_first_response_secs INTEGER,
    kpi_first_response_cal  INTEGER,
    kpi_resolved_at         INTEGER,
    kpi_resolution_secs     INTEGER,
    kpi_resolution_cal      INTEGER,
    kpi_reopens             INTEGER NOT NULL DEFAULT 0,
    kpi_fcr                 INTEGER NOT NULL DEFAULT 0,
    UNIQUE (device_id, idempotency_key)
);
INSERT INTO tickets_new (id, device_id, idempotency_key, subject, description, category, urgency,
    status, priority, created_at, updated_at, impact, tier, assignee_id, rating, rating_comment, rated_at,
    version, request_hash)
SELECT id, device_id, idempotency_key, subject, description, category, urgency,
    status, priority, created_at, updated_at, impact, tier, assignee_id, rating, rating_comment, rated_at,
    version, request_hash FROM tickets;

CREATE TABLE ticket_attachments_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id    INTEGER NOT NULL REFERENCES tickets_new(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    blob_key     TEXT NOT NULL,
    diagnostics  INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
INSERT INTO ticket_attachments_new SELECT id, ticket_id, name, content_type, size_bytes, blob_key,
    diagnostics, created_at FROM ticket_attachments;

CREATE TABLE ticket_comments_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id       INTEGER NOT NULL REFERENCES tickets_new(id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users(id),
    body            TEXT NOT NULL,
    internal        INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    idempotency_key TEXT
);
INSERT INTO ticket_comments_new SELECT id, ticket_id, user_id, body, internal, created_at,
    idempotency_key FROM ticket_comments;

CREATE TABLE ticket_audit_new (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets_new(id) ON DELETE CASCADE,
    user_id   INTEGER REFERENCES users(id),
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        TEXT NOT NULL
);
INSERT INTO ticket_audit_new SELECT id, ticket_id, user_id, action, detail, at FROM ticket_audit;

CREATE TABLE ticket_views_new (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    ticket_id INTEGER NOT NULL REFERENCES tickets_new(id),
    seen_at   TEXT NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);
INSERT INTO ticket_views_new SELECT user_id, ticket_id, seen_at FROM ticket_views;

DROP TABLE ticket_attachments;
DROP TABLE ticket_comments;
DROP TABLE ticket_audit;
DROP TABLE ticket_views;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
ALTER TABLE ticket_attachments_new RENAME TO ticket_attachments;
ALTER TABLE ticket_comments_new RENAME TO ticket_comments;
ALTER TABLE ticket_audit_new RENAME TO ticket_audit;
ALTER TABLE ticket_views_new RENAME TO ticket_views;
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (ticket_id);
CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id, id);
CREATE UNIQUE INDEX ticket_comments_key ON ticket_comments (ticket_id, idempotency_key);
CREATE INDEX ticket_audit_ticket ON ticket_audit (ticket_id, id);
CREATE INDEX tickets_device ON tickets (device_id, id);
CREATE INDEX tickets_status_id ON tickets (status, id);
CREATE INDEX tickets_assignee_id ON tickets (assignee_id, id);
CREATE INDEX tickets_priority_id ON tickets (priority, id);
CREATE INDEX tickets_team_id ON tickets (team_id, id);
CREATE INDEX tickets_requester ON tickets (lower(requester_email), id);
CREATE INDEX tickets_problem ON tickets (problem_id);
CREATE INDEX tickets_sla_due ON tickets (sla_due_at, id);
CREATE INDEX tickets_sla_next ON tickets (sla_next_at);
CREATE INDEX tickets_sla_dirty ON tickets (id) WHERE sla_seq <> sla_seen;
CREATE INDEX tickets_created_at ON tickets (created_at);
CREATE INDEX tickets_rated_at ON tickets (rated_at) WHERE rated_at IS NOT NULL;
CREATE INDEX tickets_kpi_first_response ON tickets (kpi_first_response_at) WHERE kpi_first_response_at IS NOT NULL;
CREATE INDEX tickets_kpi_resolved ON tickets (kpi_resolved_at) WHERE kpi_resolved_at IS NOT NULL;
-- A technician's retried creation finds the ticket it made.
CREATE UNIQUE INDEX tickets_created_by_key ON tickets (created_by, idempotency_key)
    WHERE created_by IS NOT NULL;


-- Every status a ticket had and since when. Written by triggers, so no
-- path that changes a status (technician, device, escalation) can miss it.
CREATE TABLE ticket_status_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    status    TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX ticket_status_log_ticket ON ticket_status_log (ticket_id, id);
-- Tickets from before: created as new; their current status since their
-- last change (the only moment known).
INSERT INTO ticket_status_log (ticket_id, status, at) SELECT id, 'new', created_at FROM tickets;
INSERT INTO ticket_status_log (ticket_id, status, at)
    SELECT id, status, updated_at FROM tickets WHERE status <> 'new';

CREATE TRIGGER tickets_status_created AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_status_log (ticket_id, status, at) VALUES (NEW.id, NEW.status, NEW.created_at);
END;
CREATE TRIGGER tickets_status_changed AFTER UPDATE OF status ON tickets
    WHEN NEW.status <> OLD.status BEGIN
    INSERT INTO ticket_status_log (ticket_id, status, at) VALUES (NEW.id, NEW.status, NEW.updated_at);
END;
-- What the SLA depends on changed: evaluate the ticket again.
CREATE TRIGGER tickets_sla_facts AFTER UPDATE OF status, priority, category, ticket_type, team_id ON tickets BEGIN
    UPDATE tickets SET sla_seq = sla_seq + 1 WHERE id = NEW.id;
END;
CREATE TRIGGER ticket_comments_sla AFTER INSERT ON ticket_comments WHEN NOT NEW.internal BEGIN
    UPDATE tickets SET sla_seq = sla_seq + 1 WHERE id = NEW.ticket_id;
END;

-- Business hours: a time zone, weekly intervals and holidays (JSON).
CREATE TABLE sla_calendars (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    time_zone  TEXT NOT NULL,
    week       TEXT NOT NULL,
    holidays   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- SLA policies in order (first whose conditions match wins); targets in
-- seconds; conditions, pauses and escalations as JSON.
CREATE TABLE sla_policies (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    position       INTEGER NOT NULL,
    conditions     TEXT NOT NULL,
    calendar_id    INTEGER REFERENCES sla_calendars(id),
    first_response INTEGER,
    resolution     INTEGER,
    next_response  INTEGER,
    warn_percent   INTEGER NOT NULL DEFAULT 75,
    pauses         TEXT NOT NULL,
    escalations    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- Warnings and breaches at the instant they happened, and clocks that
-- stopped within their target (`met`, at the stop); the unique key makes
-- each one recorded, and acted on, once across every node.
CREATE TABLE sla_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    clock       TEXT NOT NULL CHECK (clock IN ('first_response', 'resolution', 'next_response')),
    cycle       INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('warning', 'breach', 'met')),
    at          TEXT NOT NULL,
    policy_id   INTEGER,
    recorded_at TEXT NOT NULL,
    UNIQUE (ticket_id, clock, cycle, kind)
);
CREATE INDEX sla_events_at ON sla_events (kind, at);
