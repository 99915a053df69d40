-- A job's tags, one row per tag (jobs.tags keeps the list as JSON for
-- reading), so that the queue matches runners in SQL: a job is for a
-- runner when no tag of the job is missing from the runner's tags. Plain
-- rows keep the store's queries free of backend-specific JSON functions.
CREATE TABLE job_tags (
	job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	tag    TEXT    NOT NULL,
	PRIMARY KEY (job_id, tag)
);

-- Every job that is not a superseded attempt: even a finished one may be
-- queued again on the same row (a skipped job becomes created again when
-- an earlier job is retried or a manual one is played).
INSERT OR IGNORE INTO job_tags (job_id, tag)
	SELECT j.id, t.value FROM jobs j, json_each(j.tags) t
	WHERE j.retried = 0;
