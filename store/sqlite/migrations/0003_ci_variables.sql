-- CI/CD variables and protected branches and tags.
--
-- A variable belongs to the instance (project_id and group_id NULL), a
-- group or a project; the foreign keys remove it with its owner. Keys are
-- unique per owner and environment scope (instance variables always have
-- scope '*').
CREATE TABLE ci_variables (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	level             TEXT    NOT NULL,
	group_id          INTEGER REFERENCES namespaces (id) ON DELETE CASCADE,
	project_id        INTEGER REFERENCES projects (id) ON DELETE CASCADE,
	key               TEXT    NOT NULL,
	value             TEXT    NOT NULL,
	file              INTEGER NOT NULL DEFAULT 0,
	protected         INTEGER NOT NULL DEFAULT 0,
	masked            INTEGER NOT NULL DEFAULT 0,
	hidden            INTEGER NOT NULL DEFAULT 0,
	raw               INTEGER NOT NULL DEFAULT 0,
	environment_scope TEXT    NOT NULL DEFAULT '*',
	description       TEXT    NOT NULL DEFAULT '',
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX ci_variables_key ON ci_variables (level, COALESCE(group_id, project_id, 0), key, environment_scope);
CREATE INDEX ci_variables_group ON ci_variables (group_id);
CREATE INDEX ci_variables_project ON ci_variables (project_id);

-- name is a branch or tag name, or a pattern with '*' wildcards. Levels
-- are GitLab's access levels (0 no one, 30 developers, 40 maintainers,
-- 60 admins); for tags push_level is who may create them.
CREATE TABLE protected_refs (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	tag              INTEGER NOT NULL,
	name             TEXT    NOT NULL,
	push_level       INTEGER NOT NULL,
	merge_level      INTEGER NOT NULL DEFAULT 40,
	allow_force_push INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX protected_refs_name ON protected_refs (project_id, tag, name);
