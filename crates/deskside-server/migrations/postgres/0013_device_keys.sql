-- A device is known by its Ed25519 public key: enrolling again takes a
-- signature over a single-use challenge. A machine that lost its key
-- enrolls as a new device, which points at the one it likely duplicates.
ALTER TABLE devices ADD COLUMN public_key TEXT;
CREATE UNIQUE INDEX devices_public_key ON devices (public_key);
ALTER TABLE devices ADD COLUMN duplicate_of BIGINT REFERENCES devices(id);

CREATE TABLE enroll_challenges (
    challenge_hash TEXT PRIMARY KEY,
    expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX enroll_challenges_expiry ON enroll_challenges (expires_at);
