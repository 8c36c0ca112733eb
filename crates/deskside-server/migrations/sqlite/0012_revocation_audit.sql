-- Every credential can be revoked: users are deactivated (their sessions
-- and tokens stop at once), devices revoked. One audit log for changes
-- that are not a ticket's: policies, credentials, users, devices.
ALTER TABLE users ADD COLUMN deactivated_at TEXT;
ALTER TABLE devices ADD COLUMN revoked_at TEXT;

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users(id),
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    at      TEXT NOT NULL
);

-- Failed logins per account, shared by every node: the per-account limit.
CREATE TABLE login_failures (
    email        TEXT PRIMARY KEY COLLATE NOCASE,
    failures     INTEGER NOT NULL,
    window_start TEXT NOT NULL
);
