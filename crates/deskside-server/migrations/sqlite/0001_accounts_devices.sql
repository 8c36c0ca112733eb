-- Accounts, credentials and enrolled devices. Secrets are stored only as
-- SHA-256 (tokens, enroll secrets) or argon2id (passwords).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'technician')),
    password_hash TEXT,
    created_at    TEXT    NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE enroll_secrets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    label       TEXT,
    secret_hash TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    device_key    TEXT UNIQUE,
    serial_number TEXT,
    hostname      TEXT,
    token_hash    TEXT    NOT NULL UNIQUE,
    enrolled_at   TEXT    NOT NULL,
    last_seen     TEXT
);
CREATE INDEX devices_serial ON devices(serial_number);
