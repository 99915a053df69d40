package forge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
)

// Instance settings about runner registration.
const (
	SettingAllowRegistrationToken = "allow_runner_registration_token"
	settingRegistrationTokenHash  = "runner_registration_token_hash"
)

// ErrRegistrationDisabled: registering with a registration token is off
// (the default, as in GitLab 17+).
var ErrRegistrationDisabled = errors.New("runner registration with registration tokens is disabled")

// AuthenticateRunner finds the runner a runner token belongs to. Unknown
// and expired tokens are gantry.ErrForbidden, as the runner protocol wants.
func (s *Service) AuthenticateRunner(ctx context.Context, token string) (gantry.Runner, error) {
	if token == "" || len(token) > 256 {
		return gantry.Runner{}, fmt.Errorf("runner token: %w", gantry.ErrForbidden)
	}
	hash, now := auth.HashSecret(token), time.Now()
	r, ok := s.runners.get(hash, now)
	if !ok {
		var err error
		r, err = s.store.RunnerByTokenHash(ctx, hash)
		if isNotFound(err) {
			return gantry.Runner{}, fmt.Errorf("runner token: %w", gantry.ErrForbidden)
		} else if err != nil {
			return gantry.Runner{}, err
		}
		s.runners.put(hash, r, now)
	}
	if !r.TokenExpiresAt.IsZero() && now.After(r.TokenExpiresAt) {
		return gantry.Runner{}, fmt.Errorf("runner token expired: %w", gantry.ErrForbidden)
	}
	return r, nil
}

// RegisterRunner is the legacy registration (POST /api/v4/runners) with
// the instance registration token, when an admin allowed it.
func (s *Service) RegisterRunner(ctx context.Context, registrationToken string, nr NewRunner) (gantry.Runner, string, error) {
	allowed, err := s.store.Setting(ctx, SettingAllowRegistrationToken, "false")
	if err != nil {
		return gantry.Runner{}, "", err
	}
	if allowed != "true" {
		return gantry.Runner{}, "", ErrRegistrationDisabled
	}
	want, err := s.store.Setting(ctx, settingRegistrationTokenHash, "")
	if err != nil {
		return gantry.Runner{}, "", err
	}
	if want == "" || !auth.SameSecret(want, auth.HashSecret(registrationToken)) {
		return gantry.Runner{}, "", fmt.Errorf("registration token: %w", gantry.ErrForbidden)
	}
	r := gantry.Runner{Type: gantry.InstanceRunner, Description: nr.Description, MaintenanceNote: nr.MaintenanceNote,
		Tags: nr.Tags, RunUntagged: nr.RunUntagged, Locked: nr.Locked, RefProtectedOnly: nr.RefProtectedOnly,
		Paused: nr.Paused, MaximumTimeout: nr.MaximumTimeout}
	if err := validateRunner(r); err != nil {
		return gantry.Runner{}, "", err
	}
	secret := auth.NewSecret(auth.RunnerTokenPrefix)
	if err := s.store.CreateRunner(ctx, &r, auth.HashSecret(secret), true); err != nil {
		return gantry.Runner{}, "", err
	}
	return r, secret, nil
}

// ResetRegistrationToken makes a new instance registration token (admins
// only) and returns it; allow enables or disables legacy registration.
func (s *Service) ResetRegistrationToken(ctx context.Context, actor auth.Actor, allow bool) (string, error) {
	if !actor.Admin() {
		return "", fmt.Errorf("reset registration token: %w", gantry.ErrForbidden)
	}
	secret := auth.NewSecret("GR1348941")
	if err := s.store.SetSetting(ctx, settingRegistrationTokenHash, auth.HashSecret(secret)); err != nil {
		return "", err
	}
	return secret, s.store.SetSetting(ctx, SettingAllowRegistrationToken, fmt.Sprint(allow))
}

// UnregisterRunner deletes the runner a token belongs to.
func (s *Service) UnregisterRunner(ctx context.Context, token string) error {
	r, err := s.AuthenticateRunner(ctx, token)
	if err != nil {
		return err
	}
	defer s.runners.clear()
	return s.store.DeleteRunner(ctx, r.ID)
}

// RotateRunnerToken replaces the token a runner authenticates with.
func (s *Service) RotateRunnerToken(ctx context.Context, token string) (gantry.Runner, string, error) {
	r, err := s.AuthenticateRunner(ctx, token)
	if err != nil {
		return gantry.Runner{}, "", err
	}
	return s.rotateRunnerToken(ctx, r)
}

// JobTokenActor authenticates a job token (CI_JOB_TOKEN): it is valid
// while its job is held by a runner and its user is active, and acts as
// the job's user limited to the job's project (see checkJobProject). A
// blocked or deleted user's job tokens are gantry.ErrUnauthorized, as
// their personal access tokens are. A job without a user (a push found at
// start-up) acts as nobody.
func (s *Service) JobTokenActor(ctx context.Context, token string) (auth.Actor, gantry.Job, error) {
	if !strings.HasPrefix(token, auth.JobTokenPrefix) {
		return auth.Actor{}, gantry.Job{}, fmt.Errorf("job token: %w", gantry.ErrUnauthorized)
	}
	j, err := s.store.JobByTokenHash(ctx, auth.HashSecret(token))
	if err != nil || !(j.Status.Executing() || j.Status == gantry.StatusPending && j.RunnerID != 0) {
		return auth.Actor{}, gantry.Job{}, fmt.Errorf("job token: %w", gantry.ErrUnauthorized)
	}
	var u gantry.User
	if j.UserID != 0 {
		u, err = s.store.User(ctx, j.UserID)
		switch {
		case isNotFound(err) || err == nil && !u.Active():
			return auth.Actor{}, gantry.Job{}, fmt.Errorf("job token of job %d: its user is blocked or deleted: %w", j.ID, gantry.ErrUnauthorized)
		case err != nil:
			return auth.Actor{}, gantry.Job{}, err
		}
	}
	return auth.Actor{User: u, Job: &auth.JobScope{JobID: j.ID, ProjectID: j.ProjectID}}, j, nil
}
