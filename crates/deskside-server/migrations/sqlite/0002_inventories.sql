-- The current inventory of each device, and the history of what changed
-- (diffs, not full copies).
CREATE TABLE inventories (
    device_id      INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    inventory_hash TEXT NOT NULL,
    body           TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE inventory_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id  INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    changed_at TEXT    NOT NULL,
    diff       TEXT    NOT NULL
);
CREATE INDEX inventory_changes_device ON inventory_changes (device_id, id);
