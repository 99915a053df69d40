-- Storage outside the database that deleted rows leave behind, recorded in
-- the transaction that deletes the rows and removed by the pipeline
-- service's housekeeping once the storage is gone, so that neither a
-- crash nor a failing blob store leaks it (GitLab's ci_deleted_objects).
-- kind 'blob': key is a blob store key (an artifact file); kind 'trace':
-- key is a job id, whose log (chunks and archived object) goes.
CREATE TABLE storage_garbage (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);

-- Artifacts past their expire_in, for the housekeeping that deletes them.
CREATE INDEX job_artifacts_expire ON job_artifacts (expire_at) WHERE expire_at > 0;
