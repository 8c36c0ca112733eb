-- Reports begun in the tray and how they ended: the knowledge base's
-- deflection figures, and what a ticket's employee was shown before
-- filing it. One row per report, chosen by the device (its UUID).
CREATE TABLE tray_reports (
    id         TEXT PRIMARY KEY,
    device_id  BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    started_at TIMESTAMPTZ NOT NULL,
    shown      TEXT NOT NULL DEFAULT '[]',
    solved_by  BIGINT,
    ticket_id  BIGINT REFERENCES tickets (id) ON DELETE SET NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tray_reports_started ON tray_reports (started_at);
CREATE INDEX tray_reports_ticket ON tray_reports (ticket_id);
