-- The software catalogue as counts, kept by each inventory write: devices
-- per package version and per package (a device with two versions of a
-- package counts once for the package). Counting device_software on every
-- catalogue page took seconds with 100,000 devices.
CREATE TABLE software_catalogue (
    name    TEXT   NOT NULL,
    version TEXT   NOT NULL,
    devices BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX software_catalogue_unused ON software_catalogue (devices) WHERE devices <= 0;
CREATE TABLE software_names (
    name    TEXT   NOT NULL PRIMARY KEY,
    devices BIGINT NOT NULL
);
CREATE INDEX software_names_unused ON software_names (devices) WHERE devices <= 0;
INSERT INTO software_catalogue (name, version, devices)
    SELECT name, version, COUNT(*) FROM device_software GROUP BY name, version;
INSERT INTO software_names (name, devices)
    SELECT name, COUNT(DISTINCT device_id) FROM device_software GROUP BY name;
-- Devices by package and version, found from the index alone.
DROP INDEX device_software_name;
CREATE INDEX device_software_name ON device_software (name, version, device_id);
