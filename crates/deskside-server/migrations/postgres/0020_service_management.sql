-- Service management: ticket types, channels and requesters; tickets a
-- technician opens for someone, with or without a device; teams with
-- members and automatic assignment; problems; SLA calendars and policies;
-- each ticket's status history (the SLA clocks are computed from it and
-- from the replies) and the SLA warnings and breaches, recorded once.
CREATE TABLE teams (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL,
    auto_assign    TEXT NOT NULL DEFAULT 'none'
                   CHECK (auto_assign IN ('none', 'round_robin', 'least_open')),
    last_assignee  BIGINT REFERENCES users(id),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);

ALTER TABLE users ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE problems (
    id          BIGSERIAL PRIMARY KEY,
    subject     TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    root_cause  TEXT NOT NULL DEFAULT '',
    workaround  TEXT NOT NULL DEFAULT '',
    known_error BOOLEAN NOT NULL DEFAULT FALSE,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    created_by  BIGINT REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ
);

ALTER TABLE tickets ALTER COLUMN device_id DROP NOT NULL;
ALTER TABLE tickets
    ADD COLUMN ticket_type TEXT NOT NULL DEFAULT 'incident'
        CHECK (ticket_type IN ('incident', 'service_request')),
    ADD COLUMN channel TEXT NOT NULL DEFAULT 'tray'
        CHECK (channel IN ('tray', 'phone', 'walk_in', 'email', 'chat')),
    ADD COLUMN requester_name TEXT,
    ADD COLUMN requester_email TEXT,
    ADD COLUMN created_by BIGINT REFERENCES users(id),
    ADD COLUMN team_id BIGINT REFERENCES teams(id),
    ADD COLUMN problem_id BIGINT REFERENCES problems(id),
    -- The SLA as last evaluated: the policy, the most urgent state and
    -- due time (Unix seconds) of its clocks, and when it next changes by
    -- itself. `sla_seq` counts what the SLA depends on (the triggers
    -- below bump it), `sla_seen` is the count last evaluated: a ticket
    -- whose two differ is evaluated again, and an evaluation racing a
    -- change never marks the change as seen.
    ADD COLUMN sla_policy_id BIGINT,
    ADD COLUMN sla_state TEXT,
    ADD COLUMN sla_due_at BIGINT,
    ADD COLUMN sla_next_at BIGINT,
    ADD COLUMN sla_seq BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN sla_seen BIGINT NOT NULL DEFAULT 0,
    -- What the KPIs aggregate, written with each SLA evaluation (Unix
    -- seconds; durations in working and in calendar time, pauses left
    -- out): the first public technician reply, the last resolution, how
    -- often it was reopened, and whether it was solved at first contact.
    ADD COLUMN kpi_first_response_at BIGINT,
    ADD COLUMN kpi_first_response_secs BIGINT,
    ADD COLUMN kpi_first_response_cal BIGINT,
    ADD COLUMN kpi_resolved_at BIGINT,
    ADD COLUMN kpi_resolution_secs BIGINT,
    ADD COLUMN kpi_resolution_cal BIGINT,
    ADD COLUMN kpi_reopens INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN kpi_fcr BOOLEAN NOT NULL DEFAULT FALSE;
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

-- The desk itself escalates: audit records without a user.
ALTER TABLE ticket_audit ALTER COLUMN user_id DROP NOT NULL;

-- Every status a ticket had and since when. Written by triggers, so no
-- path that changes a status (technician, device, escalation) can miss it.
CREATE TABLE ticket_status_log (
    id        BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    status    TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_status_log_ticket ON ticket_status_log (ticket_id, id);
-- Tickets from before: created as new; their current status since their
-- last change (the only moment known).
INSERT INTO ticket_status_log (ticket_id, status, at) SELECT id, 'new', created_at FROM tickets ORDER BY id;
INSERT INTO ticket_status_log (ticket_id, status, at)
    SELECT id, status, updated_at FROM tickets WHERE status <> 'new' ORDER BY id;

CREATE FUNCTION tickets_status_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_status_log (ticket_id, status, at) VALUES (NEW.id, NEW.status, NEW.created_at);
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO ticket_status_log (ticket_id, status, at) VALUES (NEW.id, NEW.status, NEW.updated_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_status_log AFTER INSERT OR UPDATE OF status ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_status_log();

-- What the SLA depends on changed: evaluate the ticket again.
CREATE FUNCTION tickets_sla_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.status, NEW.priority, NEW.category, NEW.ticket_type, NEW.team_id)
       IS DISTINCT FROM (OLD.status, OLD.priority, OLD.category, OLD.ticket_type, OLD.team_id) THEN
        NEW.sla_seq := OLD.sla_seq + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_sla_facts BEFORE UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_sla_facts();

CREATE FUNCTION ticket_comments_sla() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.internal THEN
        UPDATE tickets SET sla_seq = sla_seq + 1 WHERE id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_comments_sla AFTER INSERT ON ticket_comments
    FOR EACH ROW EXECUTE FUNCTION ticket_comments_sla();

-- Business hours: a time zone, weekly intervals and holidays (JSON).
CREATE TABLE sla_calendars (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    time_zone  TEXT NOT NULL,
    week       TEXT NOT NULL,
    holidays   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX sla_calendars_name ON sla_calendars (lower(name));

-- SLA policies in order (first whose conditions match wins); targets in
-- seconds; conditions, pauses and escalations as JSON.
CREATE TABLE sla_policies (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL,
    position       INTEGER NOT NULL,
    conditions     TEXT NOT NULL,
    calendar_id    BIGINT REFERENCES sla_calendars(id),
    first_response BIGINT,
    resolution     BIGINT,
    next_response  BIGINT,
    warn_percent   INTEGER NOT NULL DEFAULT 75,
    pauses         TEXT NOT NULL,
    escalations    TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX sla_policies_name ON sla_policies (lower(name));

-- Warnings and breaches at the instant they happened, and clocks that
-- stopped within their target (`met`, at the stop); the unique key makes
-- each one recorded, and acted on, once across every node.
CREATE TABLE sla_events (
    id          BIGSERIAL PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    clock       TEXT NOT NULL CHECK (clock IN ('first_response', 'resolution', 'next_response')),
    cycle       INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('warning', 'breach', 'met')),
    at          TIMESTAMPTZ NOT NULL,
    policy_id   BIGINT,
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (ticket_id, clock, cycle, kind)
);
CREATE INDEX sla_events_at ON sla_events (kind, at);
