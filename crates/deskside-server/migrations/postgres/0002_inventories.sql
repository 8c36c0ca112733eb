-- The current inventory of each device, and the history of what changed
-- (diffs, not full copies).
CREATE TABLE inventories (
    device_id      BIGINT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    inventory_hash TEXT        NOT NULL,
    body           TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE inventory_changes (
    id         BIGSERIAL PRIMARY KEY,
    device_id  BIGINT      NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    changed_at TIMESTAMPTZ NOT NULL,
    diff       TEXT        NOT NULL
);
CREATE INDEX inventory_changes_device ON inventory_changes (device_id, id);
