-- Technician browser sessions. Both the session token (cookie) and the
-- CSRF token are stored only as SHA-256.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    csrf_hash  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
