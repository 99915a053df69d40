package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
)

func runnerHeader(token string) http.Header {
	return http.Header{"Runner-Token": {token}, "Accept": {"application/json"}}
}

// VerifyRunner checks a glrt- token (POST /runners/verify) and returns the
// runner's id and token. A reply without an id is an error, as in GitLab
// Runner's register.
func (c *Client) VerifyRunner(ctx context.Context, req gitlab.VerifyRunnerRequest) (gitlab.RunnerCredentials, error) {
	var out gitlab.RunnerCredentials
	r := request{method: http.MethodPost, path: "runners/verify", header: runnerHeader(req.Token), json: req}
	if err := c.doJSON(ctx, r, http.StatusOK, &out); err != nil {
		return out, err
	}
	if out.ID == 0 {
		return out, fmt.Errorf("%w: verify runner: reply has no runner id", gantry.ErrInvalid)
	}
	if out.Token == "" {
		out.Token = req.Token
	}
	return out, nil
}

// RegisterRunner registers with a legacy registration token (POST /runners).
func (c *Client) RegisterRunner(ctx context.Context, req gitlab.RegisterRunnerRequest) (gitlab.RunnerCredentials, error) {
	var out gitlab.RunnerCredentials
	r := request{method: http.MethodPost, path: "runners", header: runnerHeader(req.Token), json: req}
	if err := c.doJSON(ctx, r, http.StatusCreated, &out); err != nil {
		return out, err
	}
	if out.Token == "" {
		return out, fmt.Errorf("%w: register runner: reply has no token", gantry.ErrInvalid)
	}
	return out, nil
}

// UnregisterRunner deletes a runner (DELETE /runners); with a systemID it
// deletes only this machine's manager (DELETE /runners/managers), as
// GitLab Runner does for glrt- tokens.
func (c *Client) UnregisterRunner(ctx context.Context, token, systemID string) error {
	path := "runners"
	if systemID != "" {
		path = "runners/managers"
	}
	req := gitlab.UnregisterRunnerRequest{Token: token, SystemID: systemID}
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: path, header: http.Header{"Runner-Token": {token}}, json: req})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	drain(resp)
	return nil
}

// ResetToken rotates the runner token (POST /runners/reset_authentication_token).
func (c *Client) ResetToken(ctx context.Context, token string) (gitlab.ResetTokenResponse, error) {
	var out gitlab.ResetTokenResponse
	r := request{method: http.MethodPost, path: "runners/reset_authentication_token", header: runnerHeader(token), json: gitlab.ResetTokenRequest{Token: token}}
	err := c.doJSON(ctx, r, http.StatusCreated, &out)
	return out, err
}

// JobOffer is the answer to a job request: Job is nil when there is none;
// LastUpdate is the X-GitLab-Last-Update to send next time.
type JobOffer struct {
	Job        *gitlab.JobPayload
	LastUpdate string
	// LongPolled is set when the server held the request (Workhorse's
	// Gitlab-Ci-Builds-Polling: yes); ask again at once.
	LongPolled bool
}

// RequestJob asks for a job (POST /jobs/request). 204 is not an error: the
// offer has no job. 403 wraps gantry.ErrForbidden (unknown runner token);
// a 201 body that does not decode, or lacks id, token, sha or repo_url,
// wraps gantry.ErrInvalid and carries the job id when it could be read, so
// the caller can fail that job.
func (c *Client) RequestJob(ctx context.Context, req gitlab.JobRequest) (JobOffer, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "jobs/request", header: runnerHeader(req.Token), json: req})
	if err != nil {
		return JobOffer{}, err
	}
	offer := JobOffer{LastUpdate: resp.Header.Get(gitlab.HeaderLastUpdate), LongPolled: resp.Header.Get(gitlab.HeaderBuildsPolling) == "yes"}
	switch resp.StatusCode {
	case http.StatusNoContent:
		drain(resp)
		if offer.LastUpdate == "" {
			offer.LastUpdate = req.LastUpdate
		}
		return offer, nil
	case http.StatusCreated:
	default:
		return offer, statusError(resp)
	}
	var job gitlab.JobPayload
	if err := decodeJSON(resp, &job); err != nil {
		return offer, &InvalidJobError{Err: err}
	}
	offer.Job = &job
	if err := CheckJob(&job); err != nil {
		return offer, &InvalidJobError{ID: job.ID, Token: job.Token, Err: err}
	}
	return offer, nil
}

// InvalidJobError is a job payload the runner cannot run. ID and Token are
// set when they could be read, so the job can be failed on the server.
type InvalidJobError struct {
	ID    int64
	Token string
	Err   error
}

func (e *InvalidJobError) Error() string {
	if e.ID != 0 {
		return fmt.Sprintf("job %d: invalid payload: %v", e.ID, e.Err)
	}
	return fmt.Sprintf("invalid job payload: %v", e.Err)
}

func (e *InvalidJobError) Unwrap() error { return e.Err }

// CheckJob validates the fields a job cannot run without.
func CheckJob(j *gitlab.JobPayload) error {
	var missing []string
	if j.ID <= 0 {
		missing = append(missing, "id")
	}
	if j.Token == "" {
		missing = append(missing, "token")
	}
	if j.GitInfo.RepoURL == "" {
		missing = append(missing, "git_info.repo_url")
	}
	if j.GitInfo.Sha == "" {
		missing = append(missing, "git_info.sha")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %v", gantry.ErrInvalid, missing)
	}
	if len(j.GitInfo.Sha) < 8 {
		return fmt.Errorf("%w: git_info.sha %q is shorter than 8 characters", gantry.ErrInvalid, j.GitInfo.Sha)
	}
	for _, c := range j.GitInfo.Sha {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Errorf("%w: git_info.sha %q is not hexadecimal", gantry.ErrInvalid, j.GitInfo.Sha)
		}
	}
	for i, s := range j.Steps {
		if s.Name == "" {
			return fmt.Errorf("%w: steps[%d].name is empty", gantry.ErrInvalid, i)
		}
	}
	return nil
}

// ResetTokenWithPAT rotates runner id's token with a personal access token
// (POST /runners/:id/reset_authentication_token, `reset-token --pat`).
func (c *Client) ResetTokenWithPAT(ctx context.Context, id int64, pat string) (gitlab.ResetTokenResponse, error) {
	var out gitlab.ResetTokenResponse
	h := http.Header{"Private-Token": {pat}, "Accept": {"application/json"}}
	r := request{method: http.MethodPost, path: fmt.Sprintf("runners/%d/reset_authentication_token", id), header: h}
	err := c.doJSON(ctx, r, http.StatusCreated, &out)
	return out, err
}
