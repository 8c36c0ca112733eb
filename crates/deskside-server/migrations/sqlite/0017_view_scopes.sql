-- Saved views for more than the ticket queue: each belongs to a scope
-- (`tickets`, `devices`), and a name is unique per technician and scope.
-- SQLite cannot change a table's UNIQUE constraint in place: the table is
-- rebuilt, keeping every view and its id.
CREATE TABLE saved_views_scoped (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    scope      TEXT NOT NULL DEFAULT 'tickets',
    name       TEXT NOT NULL,
    query      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, scope, name)
);
INSERT INTO saved_views_scoped (id, user_id, scope, name, query, created_at)
    SELECT id, user_id, 'tickets', name, query, created_at FROM saved_views;
DROP TABLE saved_views;
ALTER TABLE saved_views_scoped RENAME TO saved_views;
