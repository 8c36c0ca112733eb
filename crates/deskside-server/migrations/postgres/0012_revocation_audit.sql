-- Every credential can be revoked: users are deactivated (their sessions
-- and tokens stop at once), devices revoked. One audit log for changes
-- that are not a ticket's: policies, credentials, users, devices.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;
ALTER TABLE devices ADD COLUMN revoked_at TIMESTAMPTZ;

CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    user_id BIGINT REFERENCES users(id),
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);

-- Failed logins per account, shared by every node: the per-account limit.
CREATE TABLE login_failures (
    email        TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL
);
