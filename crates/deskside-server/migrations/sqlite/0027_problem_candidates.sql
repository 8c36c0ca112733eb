-- Problems the desk proposes: several devices had incidents within 48
-- hours of the same software change (a package added or upgraded to one
-- version). One row per package and version: proposed once, its evidence
-- (JSON: devices, incidents, other devices with the version) kept current
-- while proposed, then accepted (a problem record) or dismissed for good.
CREATE TABLE problem_candidates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'accepted', 'dismissed')),
    evidence    TEXT NOT NULL,
    problem_id  INTEGER REFERENCES problems(id) ON DELETE SET NULL,
    decided_by  INTEGER REFERENCES users(id),
    decided_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX problem_candidates_state ON problem_candidates (state, id);
-- The software changes of a window, across devices.
CREATE INDEX inventory_changes_at ON inventory_changes (changed_at);
