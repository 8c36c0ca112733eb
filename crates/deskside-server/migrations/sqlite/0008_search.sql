-- Searchable facts of the current inventory, refreshed with every upload:
-- the OS, the last users seen, and one row per installed package. The full
-- inventory stays in `inventories`; these exist so that searches and the
-- software catalogue do not parse JSON.
ALTER TABLE devices ADD COLUMN os_name TEXT;
ALTER TABLE devices ADD COLUMN os_version TEXT;
ALTER TABLE devices ADD COLUMN users TEXT;
-- The inventory hash lives beside the device too, so that a check-in learns
-- whether the desk wants a new inventory from the row it authenticates with.
ALTER TABLE devices ADD COLUMN inventory_hash TEXT;
UPDATE devices SET inventory_hash = (SELECT inventory_hash FROM inventories i WHERE i.device_id = devices.id);

CREATE TABLE device_software (
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    name      TEXT    NOT NULL,
    version   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (device_id, name, version)
);
CREATE INDEX device_software_name ON device_software (name, version);

CREATE INDEX metric_samples_taken ON metric_samples (taken_at);
