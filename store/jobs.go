package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

const jobColumns = `j.id, j.pipeline_id, j.project_id, j.name, j.stage, j.stage_index, j.status, j.when_, j.allow_failure,
	j.needs, j.tags, j.resource_group, j.interruptible, j.spec, j.retried, j.attempt, COALESCE(j.runner_id, 0), j.user_id,
	j.failure_reason, j.exit_code, j.coverage, j.timeout_secs, j.start_in_secs, j.graceful_cancel, j.protected, j.created_at, j.queued_at, j.started_at,
	j.finished_at, j.scheduled_at, j.updated_at, j.erased_at, j.last_contact_at`

func scanJob(row interface{ Scan(...any) error }) (gantry.Job, error) {
	var j gantry.Job
	var status string
	var needs sql.NullString
	var tags, spec string
	var coverage sql.NullFloat64
	var created, queued, started, finished, scheduled, updated, erased, startIn, contact int64
	err := row.Scan(&j.ID, &j.PipelineID, &j.ProjectID, &j.Name, &j.Stage, &j.StageIndex, &status, &j.When, &j.AllowFailure,
		&needs, &tags, &j.ResourceGroup, &j.Interruptible, &spec, &j.Retried, &j.Attempt, &j.RunnerID, &j.UserID,
		&j.FailureReason, &j.ExitCode, &coverage, &j.TimeoutSecs, &startIn, &j.GracefulCancel, &j.Protected, &created, &queued, &started,
		&finished, &scheduled, &updated, &erased, &contact)
	if err != nil {
		return gantry.Job{}, err
	}
	j.Status, j.Spec = gantry.Status(status), []byte(spec)
	j.StartIn = time.Duration(startIn) * time.Second
	if needs.Valid {
		j.Needs = []string{}
		if err := json.Unmarshal([]byte(needs.String), &j.Needs); err != nil {
			return gantry.Job{}, fmt.Errorf("job %d needs: %w", j.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(tags), &j.Tags); err != nil {
		return gantry.Job{}, fmt.Errorf("job %d tags: %w", j.ID, err)
	}
	if coverage.Valid {
		j.Coverage = &coverage.Float64
	}
	j.CreatedAt, j.QueuedAt, j.StartedAt, j.FinishedAt = fromMicros(created), fromMicros(queued), fromMicros(started), fromMicros(finished)
	j.ScheduledAt, j.UpdatedAt, j.ErasedAt = fromMicros(scheduled), fromMicros(updated), fromMicros(erased)
	j.LastContactAt = fromMicros(contact)
	return j, nil
}

func jobNeeds(j *gantry.Job) (any, string, error) {
	var needs any
	if j.Needs != nil {
		b, err := json.Marshal(j.Needs)
		if err != nil {
			return nil, "", err
		}
		needs = string(b)
	}
	tags, err := json.Marshal(orEmpty(j.Tags))
	return needs, string(tags), err
}

func nullCoverage(c *float64) any {
	if c == nil {
		return nil
	}
	return *c
}

func (t *tx) insertJob(ctx context.Context, j *gantry.Job) error {
	needs, tags, err := jobNeeds(j)
	if err != nil {
		return err
	}
	if j.Attempt == 0 {
		j.Attempt = 1
	}
	j.CreatedAt, j.UpdatedAt = t.now, t.now
	j.ID, err = t.insert(ctx, `INSERT INTO jobs (pipeline_id, project_id, name, stage, stage_index, status, when_, allow_failure,
		needs, tags, resource_group, interruptible, spec, retried, attempt, user_id, timeout_secs, start_in_secs, protected, created_at,
		updated_at, queued_at, scheduled_at, finished_at, failure_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.PipelineID, j.ProjectID, j.Name, j.Stage, j.StageIndex, string(j.Status), j.When, j.AllowFailure,
		needs, tags, j.ResourceGroup, j.Interruptible, string(j.Spec), j.Retried, j.Attempt, j.UserID, j.TimeoutSecs, int64(j.StartIn/time.Second), j.Protected,
		micros(t.now), micros(t.now), micros(j.QueuedAt), micros(j.ScheduledAt), micros(j.FinishedAt), j.FailureReason)
	if err != nil {
		return err
	}
	return t.insertJobTags(ctx, j.ID, j.Tags)
}

// insertJobTags records a new job's tags as rows, for matching in SQL.
func (t *tx) insertJobTags(ctx context.Context, jobID int64, tags []string) error {
	var values []string
	var args []any
	seen := map[string]bool{}
	for _, tag := range tags {
		if !seen[tag] {
			seen[tag] = true
			values, args = append(values, "(?, ?)"), append(args, jobID, tag)
		}
	}
	if len(values) == 0 {
		return nil
	}
	_, err := t.exec(ctx, "INSERT INTO job_tags (job_id, tag) VALUES "+strings.Join(values, ", "), args...)
	return err
}

// updateJob saves the fields that status transitions change. The values a
// job's log masks (see JobMasks) outlive its end, for a log request that
// was under way as it ended, until the job is erased.
func (t *tx) updateJob(ctx context.Context, j *gantry.Job) error {
	j.UpdatedAt = t.now
	return t.update(ctx, `UPDATE jobs SET status = ?, allow_failure = ?, retried = ?, runner_id = ?, user_id = ?, failure_reason = ?,
		exit_code = ?, coverage = ?, queued_at = ?, started_at = ?, finished_at = ?, scheduled_at = ?, updated_at = ?, erased_at = ?,
		masked_values = CASE WHEN ? THEN NULL ELSE masked_values END
		WHERE id = ?`, string(j.Status), j.AllowFailure, j.Retried, nullID(j.RunnerID), j.UserID, j.FailureReason,
		j.ExitCode, nullCoverage(j.Coverage), micros(j.QueuedAt), micros(j.StartedAt), micros(j.FinishedAt), micros(j.ScheduledAt),
		micros(t.now), micros(j.ErasedAt), !j.ErasedAt.IsZero(), j.ID)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func jobEqual(a, b gantry.Job) bool {
	return a.Status == b.Status && a.AllowFailure == b.AllowFailure && a.Retried == b.Retried && a.RunnerID == b.RunnerID &&
		a.UserID == b.UserID && a.FailureReason == b.FailureReason && a.ExitCode == b.ExitCode &&
		((a.Coverage == nil) == (b.Coverage == nil)) && (a.Coverage == nil || *a.Coverage == *b.Coverage) &&
		a.QueuedAt.Equal(b.QueuedAt) && a.StartedAt.Equal(b.StartedAt) && a.FinishedAt.Equal(b.FinishedAt) &&
		a.ScheduledAt.Equal(b.ScheduledAt) && a.ErasedAt.Equal(b.ErasedAt)
}

// Job returns the job with id.
func (s *Store) Job(ctx context.Context, id int64) (gantry.Job, error) {
	return s.jobWhere(ctx, "j.id = ?", id)
}

// JobByTokenHash returns the job whose job token hashes to hash.
func (s *Store) JobByTokenHash(ctx context.Context, hash string) (gantry.Job, error) {
	return s.jobWhere(ctx, "j.token_hash = ?", hash)
}

func (s *Store) jobWhere(ctx context.Context, cond string, arg any) (gantry.Job, error) {
	var j gantry.Job
	err := s.inRead(ctx, func(t *tx) (err error) {
		j, err = scanJob(t.queryRow(ctx, "SELECT "+jobColumns+" FROM jobs j WHERE "+cond, arg))
		return err
	})
	if err != nil {
		return gantry.Job{}, fmt.Errorf("job: %w", err)
	}
	return j, nil
}

// JobFilter narrows ListJobs.
type JobFilter struct {
	ProjectID      int64
	PipelineID     int64
	RunnerID       int64
	Statuses       []gantry.Status
	IncludeRetried bool
	Ascending      bool
}

// ListJobs returns a page of jobs, newest first unless Ascending, and the total.
func (s *Store) ListJobs(ctx context.Context, f JobFilter, p Page) ([]gantry.Job, int, error) {
	where, args := []string{"1=1"}, []any{}
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.ProjectID != 0 {
		add("j.project_id = ?", f.ProjectID)
	}
	if f.PipelineID != 0 {
		add("j.pipeline_id = ?", f.PipelineID)
	}
	if f.RunnerID != 0 {
		add("j.runner_id = ?", f.RunnerID)
	}
	if !f.IncludeRetried {
		where = append(where, "j.retried = 0")
	}
	if len(f.Statuses) > 0 {
		where = append(where, "j.status IN ("+placeholders(len(f.Statuses))+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	var out []gantry.Job
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		cond := strings.Join(where, " AND ")
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM jobs j WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+jobColumns+" FROM jobs j WHERE "+cond+" ORDER BY j.id"+dir+" LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanJob)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	return out, total, nil
}

// QueuedJob is what matching a pending job to a runner needs to know.
type QueuedJob struct {
	ID         int64
	PipelineID int64
	ProjectID  int64
	Tags       []string
	Protected  bool
	// Ancestry is the project namespace's ancestry ("/1/5/"), for group runners.
	Ancestry string
	QueuedAt time.Time
}

// QueuedJobs returns up to limit pending jobs no runner holds that runner
// r may run, oldest first, with id > after. Which jobs a runner may run is
// queue.Matches' rule (scope, protected refs, tags, untagged jobs),
// applied here in SQL so that jobs nobody can take never fill a page.
func (s *Store) QueuedJobs(ctx context.Context, r gantry.Runner, after int64, limit int) ([]QueuedJob, error) {
	cond, args, ok := runnerMatch(r)
	if !ok {
		return nil, nil
	}
	out, err := s.queued(ctx, cond+" AND j.id > ? ORDER BY j.id LIMIT ?", append(args, after, limit)...)
	if err != nil {
		return nil, fmt.Errorf("queued jobs for runner %d: %w", r.ID, err)
	}
	return out, nil
}

// runnerMatch is queue.Matches as a condition on jobs j and namespaces n;
// ok is false when r may run nothing.
func runnerMatch(r gantry.Runner) (cond string, args []any, ok bool) {
	where := []string{"1=1"}
	if r.Paused {
		return "", nil, false
	}
	if r.RefProtectedOnly {
		where, args = append(where, "j.protected = ?"), append(args, true)
	}
	switch r.Type {
	case gantry.InstanceRunner:
	case gantry.GroupRunner:
		where, args = append(where, "n.ancestry LIKE ?"), append(args, "%/"+strconv.FormatInt(r.GroupID, 10)+"/%")
	case gantry.ProjectRunner:
		if len(r.ProjectIDs) == 0 {
			return "", nil, false
		}
		where, args = append(where, "j.project_id IN ("+placeholders(len(r.ProjectIDs))+")"), append(args, idArgs(r.ProjectIDs)...)
	default:
		return "", nil, false
	}
	if !r.RunUntagged {
		where = append(where, "EXISTS (SELECT 1 FROM job_tags t WHERE t.job_id = j.id)")
	}
	missing := "SELECT 1 FROM job_tags t WHERE t.job_id = j.id" // a tag of the job the runner lacks
	if len(r.Tags) > 0 {
		missing += " AND t.tag NOT IN (" + placeholders(len(r.Tags)) + ")"
		for _, tag := range r.Tags {
			args = append(args, tag)
		}
	}
	where = append(where, "NOT EXISTS ("+missing+")")
	return strings.Join(where, " AND "), args, true
}

// QueuedJobByID returns one pending job's matching data, or
// gantry.ErrNotFound when it is no longer waiting for a runner.
func (s *Store) QueuedJobByID(ctx context.Context, id int64) (QueuedJob, error) {
	jobs, err := s.queued(ctx, "j.id = ?", id)
	if err != nil {
		return QueuedJob{}, err
	}
	if len(jobs) == 0 {
		return QueuedJob{}, fmt.Errorf("queued job %d: %w", id, gantry.ErrNotFound)
	}
	return jobs[0], nil
}

func (s *Store) queued(ctx context.Context, cond string, args ...any) ([]QueuedJob, error) {
	var out []QueuedJob
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT j.id, j.pipeline_id, j.project_id, j.tags, j.protected, n.ancestry, j.queued_at
			FROM jobs j JOIN projects p ON p.id = j.project_id JOIN namespaces n ON n.id = p.namespace_id
			WHERE j.status = 'pending' AND j.runner_id IS NULL AND `+cond, args...)
		if err != nil {
			return err
		}
		out, err = collect(rows, func(r interface{ Scan(...any) error }) (QueuedJob, error) {
			var q QueuedJob
			var tags string
			var queued int64
			if err := r.Scan(&q.ID, &q.PipelineID, &q.ProjectID, &tags, &q.Protected, &q.Ancestry, &queued); err != nil {
				return q, err
			}
			q.QueuedAt = fromMicros(queued)
			return q, json.Unmarshal([]byte(tags), &q.Tags)
		})
		return err
	})
	return out, err
}

// Claim gives a pending job to a runner: it records the runner, the job
// token's hash and the start, and moves the job to running (or leaves it
// pending until the runner confirms, for runners with two-phase commit).
// The job masks nothing but its token until RecordJobMasks says more.
// A job another runner took first is gantry.ErrConflict.
func (s *Store) Claim(ctx context.Context, jobID, runnerID, managerID int64, tokenHash string, confirmLater, graceful bool) (gantry.Job, error) {
	var j gantry.Job
	err := s.inWrite(ctx, func(t *tx) error {
		status := gantry.StatusRunning
		if confirmLater {
			status = gantry.StatusPending
		}
		res, err := t.exec(ctx, `UPDATE jobs SET runner_id = ?, runner_manager_id = ?, token_hash = ?, status = ?, started_at = ?,
			last_contact_at = ?, updated_at = ?, graceful_cancel = ?, masked_values = '[]'
			WHERE id = ? AND status = 'pending' AND runner_id IS NULL`,
			runnerID, nullID(managerID), tokenHash, string(status), micros(t.now), micros(t.now), micros(t.now), graceful, jobID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("job %d was taken: %w", jobID, gantry.ErrConflict)
		}
		if j, err = scanJob(t.queryRow(ctx, "SELECT "+jobColumns+" FROM jobs j WHERE j.id = ?", jobID)); err != nil {
			return err
		}
		if confirmLater {
			return nil
		}
		// A pipeline with a running job is running, whatever else it
		// holds (GitLab's composite status), so no full advance is needed.
		return t.markPipelineRunning(ctx, j.PipelineID)
	})
	if err != nil {
		return gantry.Job{}, fmt.Errorf("claim job %d: %w", jobID, err)
	}
	return j, nil
}

// Unclaim returns a job a runner never confirmed to the queue, with a
// fresh token to come at the next claim, if it is still unconfirmed and
// was claimed before claimedBefore (so a later claim of the job is kept);
// otherwise it is gantry.ErrNotFound.
func (s *Store) Unclaim(ctx context.Context, jobID int64, claimedBefore time.Time) error {
	return s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, `UPDATE jobs SET runner_id = NULL, runner_manager_id = NULL, token_hash = NULL, started_at = 0, updated_at = ?,
			masked_values = NULL WHERE id = ? AND status = 'pending' AND runner_id IS NOT NULL AND started_at < ?`,
			micros(t.now), jobID, micros(claimedBefore))
	})
}

// RecordJobMasks records the values a claimed job's log must mask besides
// its token (its masked CI/CD variables as the runner was handed them).
// They stay until the job ends; a job not claimed is gantry.ErrNotFound.
func (s *Store) RecordJobMasks(ctx context.Context, jobID int64, values []string) error {
	b, err := json.Marshal(orEmpty(values))
	if err != nil {
		return err
	}
	err = s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE jobs SET masked_values = ? WHERE id = ? AND masked_values IS NOT NULL", string(b), jobID)
	})
	if err != nil {
		return fmt.Errorf("record masks of job %d: %w", jobID, err)
	}
	return nil
}

// JobMasks returns what RecordJobMasks recorded for a job a runner holds
// or held; recorded is false when nothing is (a job not claimed, given
// back, erased, or claimed by a release that did not record them).
func (s *Store) JobMasks(ctx context.Context, jobID int64) (values []string, recorded bool, err error) {
	var raw sql.NullString
	err = s.inRead(ctx, func(t *tx) error {
		return t.queryRow(ctx, "SELECT masked_values FROM jobs WHERE id = ?", jobID).Scan(&raw)
	})
	if err != nil {
		return nil, false, fmt.Errorf("masks of job %d: %w", jobID, err)
	}
	if !raw.Valid {
		return nil, false, nil
	}
	if err := json.Unmarshal([]byte(raw.String), &values); err != nil {
		return nil, false, fmt.Errorf("masks of job %d: %w", jobID, err)
	}
	return values, true, nil
}

// TouchJob records that the job's runner was heard from now.
func (s *Store) TouchJob(ctx context.Context, jobID int64) error {
	return s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, "UPDATE jobs SET last_contact_at = ? WHERE id = ?", micros(t.now), jobID)
		return err
	})
}

// JobsSilentSince returns running or canceling jobs whose runner has not
// been heard from since before.
func (s *Store) JobsSilentSince(ctx context.Context, before time.Time) ([]gantry.Job, error) {
	return s.jobsWhere(ctx, `j.runner_id IS NOT NULL AND j.status IN ('running', 'canceling') AND j.last_contact_at < ?`, micros(before))
}

// JobsUnconfirmedSince returns jobs claimed before before by a runner
// that has not confirmed them yet (two-phase commit), whatever else it
// sent since.
func (s *Store) JobsUnconfirmedSince(ctx context.Context, before time.Time) ([]gantry.Job, error) {
	return s.jobsWhere(ctx, `j.runner_id IS NOT NULL AND j.status = 'pending' AND j.started_at < ?`, micros(before))
}

// JobsQueuedSince returns pending jobs no runner holds that were queued
// before before: up to limit of them with an id above after, by id.
func (s *Store) JobsQueuedSince(ctx context.Context, before time.Time, after int64, limit int) ([]QueuedJob, error) {
	out, err := s.queued(ctx, "j.queued_at < ? AND j.id > ? ORDER BY j.id LIMIT ?", micros(before), after, limit)
	if err != nil {
		return nil, fmt.Errorf("jobs queued since %v: %w", before, err)
	}
	return out, nil
}

// JobsDue returns scheduled (delayed) jobs whose time has come.
func (s *Store) JobsDue(ctx context.Context, now time.Time) ([]gantry.Job, error) {
	return s.jobsWhere(ctx, "j.status = 'scheduled' AND j.scheduled_at <= ?", micros(now))
}

// JobsWaitingForResource returns the jobs waiting for a resource group of
// a project, oldest first.
func (s *Store) JobsWaitingForResource(ctx context.Context, projectID int64, group string) ([]gantry.Job, error) {
	return s.jobsWhere(ctx, "j.status = 'waiting_for_resource' AND j.project_id = ? AND j.resource_group = ?", projectID, group)
}

func (s *Store) jobsWhere(ctx context.Context, cond string, args ...any) ([]gantry.Job, error) {
	var out []gantry.Job
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT "+jobColumns+" FROM jobs j WHERE "+cond+" ORDER BY j.id", args...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanJob)
		return err
	})
	return out, err
}

// JobDotenv returns the variables a job's dotenv report set.
func (s *Store) JobDotenv(ctx context.Context, jobID int64) ([]gantry.PipelineVariable, error) {
	var raw string
	err := s.inRead(ctx, func(t *tx) error {
		return t.queryRow(ctx, "SELECT dotenv FROM jobs WHERE id = ?", jobID).Scan(&raw)
	})
	if err != nil {
		return nil, fmt.Errorf("dotenv of job %d: %w", jobID, err)
	}
	var vars []gantry.PipelineVariable
	return vars, json.Unmarshal([]byte(raw), &vars)
}

// SetJobDotenv stores the variables of a job's dotenv report.
func (s *Store) SetJobDotenv(ctx context.Context, jobID int64, vars []gantry.PipelineVariable) error {
	b, err := json.Marshal(orEmpty(vars))
	if err != nil {
		return err
	}
	return s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE jobs SET dotenv = ? WHERE id = ?", string(b), jobID)
	})
}

func (t *tx) markPipelineRunning(ctx context.Context, pipelineID int64) error {
	_, err := t.exec(ctx, `UPDATE pipelines SET status = 'running', updated_at = ?,
		started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END, finished_at = 0 WHERE id = ?`,
		micros(t.now), micros(t.now), pipelineID)
	return err
}

// JobCounts counts the latest job attempts by status.
func (s *Store) JobCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT status, COUNT(*) FROM jobs WHERE retried = 0 GROUP BY status")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			out[st] = n
		}
		return rows.Err()
	})
	return out, err
}

// QueueDepth counts pending jobs no runner holds.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.inRead(ctx, func(t *tx) error {
		return t.queryRow(ctx, "SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND runner_id IS NULL").Scan(&n)
	})
	return n, err
}
