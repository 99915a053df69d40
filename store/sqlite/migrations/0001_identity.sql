-- Users, tokens, namespaces (user namespaces and groups), projects and
-- memberships. Times are Unix microseconds; 0 means "not set".
CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	username      TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	email         TEXT    NOT NULL,
	password_hash TEXT    NOT NULL DEFAULT '',
	admin         INTEGER NOT NULL DEFAULT 0,
	state         TEXT    NOT NULL DEFAULT 'active',
	created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE personal_access_tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	token_hash   TEXT    NOT NULL UNIQUE,
	scopes       TEXT    NOT NULL,
	expires_at   INTEGER NOT NULL DEFAULT 0,
	revoked      INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id);

-- ancestry lists the ids from the root down to this namespace, each
-- wrapped in slashes ("/1/5/9/"), so that "is X an ancestor of Y" is a
-- LIKE and membership inheritance needs no recursion.
CREATE TABLE namespaces (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT    NOT NULL,
	name        TEXT    NOT NULL,
	path        TEXT    NOT NULL,
	full_path   TEXT    NOT NULL,
	parent_id   INTEGER REFERENCES namespaces (id),
	owner_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
	visibility  TEXT    NOT NULL,
	description TEXT    NOT NULL DEFAULT '',
	ancestry    TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX namespaces_full_path ON namespaces (lower(full_path));
CREATE INDEX namespaces_parent ON namespaces (parent_id);

CREATE TABLE projects (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	namespace_id     INTEGER NOT NULL REFERENCES namespaces (id),
	name             TEXT    NOT NULL,
	path             TEXT    NOT NULL,
	description      TEXT    NOT NULL DEFAULT '',
	visibility       TEXT    NOT NULL,
	default_branch   TEXT    NOT NULL DEFAULT 'main',
	creator_id       INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	last_activity_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX projects_path ON projects (namespace_id, lower(path));

-- source_kind is 'project' or 'namespace'.
CREATE TABLE members (
	source_kind  TEXT    NOT NULL,
	source_id    INTEGER NOT NULL,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	access_level INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (source_kind, source_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

-- project_refs is the last recorded tip of every branch and tag; comparing
-- it with the repository after a push (or at start-up) yields ref_updates,
-- so that a crash between git and the database loses no event.
CREATE TABLE project_refs (
	project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	ref        TEXT    NOT NULL,
	sha        TEXT    NOT NULL,
	PRIMARY KEY (project_id, ref)
);

CREATE TABLE ref_updates (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL DEFAULT 0,
	ref        TEXT    NOT NULL,
	before_sha TEXT    NOT NULL,
	after_sha  TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);

-- event_cursors remembers, per consumer, the last ref_updates id handled.
CREATE TABLE event_cursors (
	consumer TEXT    PRIMARY KEY,
	last_id  INTEGER NOT NULL
);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
