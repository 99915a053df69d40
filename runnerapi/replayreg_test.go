package runnerapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gantry-ci/gantry/gitlab"
)

// registration replays verify, unregistering a manager and the legacy
// registration with a registration token.
func (r *replayer) registration(x exchange) {
	r.t.Helper()
	switch x.Method + " " + x.URI {
	case "POST /api/v4/runners/verify":
		resp := r.sendJSON(x)
		r.expect(x, resp, http.StatusOK, "Content-Type", "application/json")
		var creds gitlab.RunnerCredentials
		if err := json.Unmarshal(resp.Body, &creds); err != nil || creds.ID == 0 || creds.Token != r.runner.Token || creds.TokenExpiresAt != nil {
			r.t.Errorf("seq %d: verify answered %s (%v)", x.Seq, resp.Body, err)
		}
		r.runnerID = creds.ID
	case "DELETE /api/v4/runners/managers":
		r.expect(x, r.sendJSON(x), http.StatusNoContent)
		var managers []gitlab.RunnerManager
		req, err := r.api.NewRequest("GET", fmt.Sprintf("runners/%d/managers", r.runnerID), nil, nil)
		if err == nil {
			_, err = r.api.Do(req, &managers)
		}
		if err != nil || len(managers) != 0 {
			r.t.Errorf("managers after the DELETE: %+v %v", managers, err)
		}
	case "POST /api/v4/runners":
		var body struct{ Token string }
		json.Unmarshal(x.ReqJSON, &body)
		r.secrets[body.Token] = r.registrationToken()
		resp := r.sendJSON(x)
		r.expect(x, resp, http.StatusCreated, "Content-Type", "application/json")
		var creds gitlab.RunnerCredentials
		if err := json.Unmarshal(resp.Body, &creds); err != nil || creds.ID == 0 || !strings.HasPrefix(creds.Token, "glrt-") {
			r.t.Fatalf("seq %d: register answered %s (%v)", x.Seq, resp.Body, err)
		}
		got, _, err := r.api.Runners.GetRunnerDetails(creds.ID)
		if err != nil || got.Description != "rc-legacy" || strings.Join(got.TagList, ",") != "a,b" || !got.Locked || got.RunUntagged || got.Paused {
			r.t.Errorf("registered runner = %+v, %v", got, err)
		}
	default:
		r.t.Fatalf("seq %d: no replay for %s %s", x.Seq, x.Method, x.URI)
	}
}

// registrationToken enables legacy registration and returns the token.
func (r *replayer) registrationToken() string {
	r.t.Helper()
	var out struct{ Token string }
	req, err := r.api.NewRequest("POST", "runners/reset_registration_token", map[string]any{"allow": true}, nil)
	if err == nil {
		_, err = r.api.Do(req, &out)
	}
	if err != nil || out.Token == "" {
		r.t.Fatalf("reset the registration token: %v", err)
	}
	return out.Token
}
