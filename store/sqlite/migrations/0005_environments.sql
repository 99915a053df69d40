-- Environments of a project, created by the first job that names one
-- (environment: name). The name is unique per project.
CREATE TABLE environments (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	slug         TEXT    NOT NULL,
	external_url TEXT    NOT NULL DEFAULT '',
	tier         TEXT    NOT NULL DEFAULT 'other',
	state        TEXT    NOT NULL DEFAULT 'available',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX environments_name ON environments (project_id, name);
