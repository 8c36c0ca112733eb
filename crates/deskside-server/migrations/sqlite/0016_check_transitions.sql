-- Each change of a device's check state as the desk received it (the
-- reported state, after fails_before_alert): the device page's history of
-- each check, and the fleet overview's checks that started failing per day.
-- from_state is NULL for a check's first result.
CREATE TABLE check_transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id  INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    check_id   TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX check_transitions_device ON check_transitions (device_id, id);
CREATE INDEX check_transitions_at ON check_transitions (at);
