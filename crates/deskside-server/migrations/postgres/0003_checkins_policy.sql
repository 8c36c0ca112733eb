-- Check-ins: the device's last reported state, its latest check results,
-- metric samples, and the versioned health-check policy.
ALTER TABLE devices ADD COLUMN agent_version TEXT;
ALTER TABLE devices ADD COLUMN health TEXT;

CREATE TABLE check_results (
    device_id  BIGINT      NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    check_id   TEXT        NOT NULL,
    state      TEXT        NOT NULL,
    result     TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, check_id)
);

CREATE TABLE metric_samples (
    id        BIGSERIAL PRIMARY KEY,
    device_id BIGINT      NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    taken_at  TIMESTAMPTZ NOT NULL,
    sample    TEXT        NOT NULL
);
CREATE INDEX metric_samples_device ON metric_samples (device_id, taken_at);

CREATE TABLE policies (
    version    BIGINT PRIMARY KEY,
    body       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT REFERENCES users(id)
);
