-- Pipelines, jobs, runners and job artifacts.
CREATE TABLE pipelines (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	iid            INTEGER NOT NULL,
	ref            TEXT    NOT NULL,
	tag            INTEGER NOT NULL DEFAULT 0,
	sha            TEXT    NOT NULL,
	before_sha     TEXT    NOT NULL DEFAULT '',
	source         TEXT    NOT NULL,
	status         TEXT    NOT NULL,
	protected      INTEGER NOT NULL DEFAULT 0,
	user_id        INTEGER NOT NULL DEFAULT 0,
	name           TEXT    NOT NULL DEFAULT '',
	yaml_errors    TEXT    NOT NULL DEFAULT '',
	failure_reason TEXT    NOT NULL DEFAULT '',
	variables      TEXT    NOT NULL DEFAULT '[]',
	-- the ref_updates row that created it, so that replaying events after
	-- a crash creates no duplicate
	ref_update_id  INTEGER,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	started_at     INTEGER NOT NULL DEFAULT 0,
	finished_at    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (project_id, iid)
);
CREATE UNIQUE INDEX pipelines_ref_update ON pipelines (ref_update_id) WHERE ref_update_id IS NOT NULL;
CREATE INDEX pipelines_project_ref ON pipelines (project_id, ref, id);
CREATE INDEX pipelines_unfinished ON pipelines (status) WHERE status NOT IN ('success', 'failed', 'canceled', 'skipped');

CREATE TABLE jobs (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	pipeline_id     INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
	project_id      INTEGER NOT NULL,
	name            TEXT    NOT NULL,
	stage           TEXT    NOT NULL,
	stage_index     INTEGER NOT NULL,
	status          TEXT    NOT NULL,
	when_           TEXT    NOT NULL,
	allow_failure   INTEGER NOT NULL DEFAULT 0,
	needs           TEXT,             -- JSON array of job names; NULL: stage order
	tags            TEXT    NOT NULL DEFAULT '[]',
	resource_group  TEXT    NOT NULL DEFAULT '',
	interruptible   INTEGER NOT NULL DEFAULT 0,
	spec            TEXT    NOT NULL, -- the compiled job (ci.Job) as JSON
	retried         INTEGER NOT NULL DEFAULT 0,
	attempt         INTEGER NOT NULL DEFAULT 1,
	runner_id       INTEGER,
	runner_manager_id INTEGER,
	token_hash      TEXT UNIQUE,
	user_id         INTEGER NOT NULL DEFAULT 0,
	failure_reason  TEXT    NOT NULL DEFAULT '',
	exit_code       INTEGER NOT NULL DEFAULT 0,
	coverage        REAL,
	timeout_secs    INTEGER NOT NULL DEFAULT 0,
	start_in_secs   INTEGER NOT NULL DEFAULT 0,
	protected       INTEGER NOT NULL DEFAULT 0,
	-- the runner said it can cancel gracefully (run after_script, upload)
	graceful_cancel INTEGER NOT NULL DEFAULT 0,
	dotenv          TEXT    NOT NULL DEFAULT '[]', -- variables from a dotenv report
	trace_crc       TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	queued_at       INTEGER NOT NULL DEFAULT 0,
	started_at      INTEGER NOT NULL DEFAULT 0,
	finished_at     INTEGER NOT NULL DEFAULT 0,
	scheduled_at    INTEGER NOT NULL DEFAULT 0,
	updated_at      INTEGER NOT NULL,
	last_contact_at INTEGER NOT NULL DEFAULT 0,
	erased_at       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_pipeline ON jobs (pipeline_id);
CREATE INDEX jobs_project ON jobs (project_id, id);
CREATE INDEX jobs_queue ON jobs (id) WHERE status = 'pending' AND runner_id IS NULL;
CREATE INDEX jobs_active ON jobs (status) WHERE status IN ('pending', 'running', 'canceling', 'scheduled', 'waiting_for_resource');
CREATE INDEX jobs_runner ON jobs (runner_id, id);

CREATE TABLE job_artifacts (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	file_type   TEXT    NOT NULL, -- archive, junit, dotenv, …
	file_format TEXT    NOT NULL, -- zip, gzip, raw
	filename    TEXT    NOT NULL,
	size        INTEGER NOT NULL,
	blob_key    TEXT    NOT NULL,
	expire_at   INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	UNIQUE (job_id, file_type)
);

CREATE TABLE runners (
	id                 INTEGER PRIMARY KEY AUTOINCREMENT,
	token_hash         TEXT    NOT NULL UNIQUE,
	runner_type        TEXT    NOT NULL,
	group_id           INTEGER,
	description        TEXT    NOT NULL DEFAULT '',
	maintenance_note   TEXT    NOT NULL DEFAULT '',
	tags               TEXT    NOT NULL DEFAULT '[]',
	run_untagged       INTEGER NOT NULL DEFAULT 1,
	locked             INTEGER NOT NULL DEFAULT 0,
	ref_protected_only INTEGER NOT NULL DEFAULT 0,
	paused             INTEGER NOT NULL DEFAULT 0,
	maximum_timeout    INTEGER NOT NULL DEFAULT 0,
	creator_id         INTEGER NOT NULL DEFAULT 0,
	legacy             INTEGER NOT NULL DEFAULT 0, -- registered with a registration token
	created_at         INTEGER NOT NULL,
	contacted_at       INTEGER NOT NULL DEFAULT 0,
	token_expires_at   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE runner_projects (
	runner_id  INTEGER NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
	project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	PRIMARY KEY (runner_id, project_id)
);

CREATE TABLE runner_managers (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	runner_id    INTEGER NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
	system_id    TEXT    NOT NULL,
	version      TEXT    NOT NULL DEFAULT '',
	revision     TEXT    NOT NULL DEFAULT '',
	platform     TEXT    NOT NULL DEFAULT '',
	architecture TEXT    NOT NULL DEFAULT '',
	executor     TEXT    NOT NULL DEFAULT '',
	ip_address   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	contacted_at INTEGER NOT NULL,
	UNIQUE (runner_id, system_id)
);

CREATE TABLE trigger_tokens (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	token_hash  TEXT    NOT NULL UNIQUE,
	token_last4 TEXT    NOT NULL,
	description TEXT    NOT NULL DEFAULT '',
	owner_id    INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0
);
