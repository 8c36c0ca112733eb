-- Accounts, credentials and enrolled devices. Secrets are stored only as
-- SHA-256 (tokens, enroll secrets) or argon2id (passwords).
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT        NOT NULL,
    role          TEXT        NOT NULL CHECK (role IN ('admin', 'technician')),
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT        NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE enroll_secrets (
    id          BIGSERIAL PRIMARY KEY,
    label       TEXT,
    secret_hash TEXT        NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE devices (
    id            BIGSERIAL PRIMARY KEY,
    device_key    TEXT UNIQUE,
    serial_number TEXT,
    hostname      TEXT,
    token_hash    TEXT        NOT NULL UNIQUE,
    enrolled_at   TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ
);
CREATE INDEX devices_serial ON devices (serial_number);
