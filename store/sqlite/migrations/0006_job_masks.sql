-- The values a job's log masks besides its job token: the masked CI/CD
-- variables the job was handed (JSON array of strings), recorded when a
-- runner takes the job, so that masking does not depend on the variables
-- as they are later (rotated, deleted) or on a process's memory. '[]'
-- once claimed with nothing to mask; NULL before a claim (or for jobs
-- claimed by a release without this column) and again once the job has
-- ended, so the values do not outlive their use.
ALTER TABLE jobs ADD COLUMN masked_values TEXT;
