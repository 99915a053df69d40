package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
)

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://gitlab.example.com/":   "https://gitlab.example.com",
		"https://gitlab.example.com/ci": "https://gitlab.example.com",
		"http://h:8080/gitlab/ci/":      "http://h:8080/gitlab",
		"  https://h/sub/path?x=1  ":    "https://h/sub/path",
	} {
		u, err := BaseURL(in)
		if err != nil || u.String() != want {
			t.Errorf("BaseURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"ftp://h", "gitlab.example.com", "http://", "::"} {
		if _, err := BaseURL(bad); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("BaseURL(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestRetryAndErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v4/runners/verify":
			if calls.Add(1) < 3 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":5,"token":"glrt-x","token_expires_at":null}`))
		case "/api/v4/runners/reset_authentication_token":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"403 Forbidden"}`))
		case "/api/v4/runners":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Backoff = time.Millisecond
	ctx := context.Background()
	creds, err := c.VerifyRunner(ctx, gitlab.VerifyRunnerRequest{Token: "glrt-x"})
	if err != nil || creds.ID != 5 || calls.Load() != 3 {
		t.Errorf("verify after 503s: %+v %v (calls %d)", creds, err, calls.Load())
	}
	_, err = c.ResetToken(ctx, "glrt-x")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 403 || se.Message != "403 Forbidden" || !errors.Is(err, gantry.ErrForbidden) {
		t.Errorf("reset: %v", err)
	}
	if _, err := c.RegisterRunner(ctx, gitlab.RegisterRunnerRequest{Token: "x"}); !errors.Is(err, gantry.ErrInvalid) {
		t.Errorf("register with a non-JSON reply: %v", err)
	}
}

func TestCheckJob(t *testing.T) {
	ok := gitlab.JobPayload{ID: 1, Token: "t", GitInfo: gitlab.GitInfo{RepoURL: "http://h/p.git", Sha: "0123456789abcdef"}}
	if err := CheckJob(&ok); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*gitlab.JobPayload){
		"no id":      func(j *gitlab.JobPayload) { j.ID = 0 },
		"no token":   func(j *gitlab.JobPayload) { j.Token = "" },
		"short sha":  func(j *gitlab.JobPayload) { j.GitInfo.Sha = "abc" },
		"hex sha":    func(j *gitlab.JobPayload) { j.GitInfo.Sha = "zzzzzzzzzz" },
		"no repo":    func(j *gitlab.JobPayload) { j.GitInfo.RepoURL = "" },
		"empty step": func(j *gitlab.JobPayload) { j.Steps = []gitlab.JobStep{{}} },
	} {
		j := ok
		mutate(&j)
		if err := CheckJob(&j); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
