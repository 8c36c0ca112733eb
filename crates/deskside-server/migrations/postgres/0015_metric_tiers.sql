-- Metrics as numbers in two tiers (crate::metric_tiers): each sample at
-- full resolution for the last 48 hours, then one min/avg/max rollup per
-- hour for the rest of the retention. A row's values are a compact binary
-- list of (series id, value), the series names kept once in
-- metric_names: a sample is about 100 bytes instead of 0.8 KB of JSON.
-- The JSON samples of metric_samples are converted by the desk in the
-- background (nothing is lost on upgrade), then that table stays empty.
CREATE TABLE metric_names (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE metric_raw (
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    t         BIGINT NOT NULL,
    v         BYTEA  NOT NULL,
    PRIMARY KEY (device_id, t)
);

CREATE TABLE metric_rollup (
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    bucket    BIGINT NOT NULL,
    v         BYTEA  NOT NULL,
    PRIMARY KEY (device_id, bucket)
);
