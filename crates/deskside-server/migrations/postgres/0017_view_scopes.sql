-- Saved views for more than the ticket queue: each belongs to a scope
-- (`tickets`, `devices`), and a name is unique per technician and scope.
ALTER TABLE saved_views ADD COLUMN scope TEXT NOT NULL DEFAULT 'tickets';
ALTER TABLE saved_views DROP CONSTRAINT saved_views_user_id_name_key;
ALTER TABLE saved_views ADD CONSTRAINT saved_views_user_scope_name_key UNIQUE (user_id, scope, name);
