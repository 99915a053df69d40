package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
)

func TestLoadHelmKubernetes(t *testing.T) {
	c, warns, err := Load("testdata/helm-kubernetes.toml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings = %q, want none", warns)
	}
	if c.Concurrent != 10 || c.CheckInterval != 30 || c.ListenAddress != ":9252" {
		t.Errorf("globals = %d %d %q", c.Concurrent, c.CheckInterval, c.ListenAddress)
	}
	r := c.Runners[0]
	if r.Executor != "kubernetes" || r.Kubernetes == nil {
		t.Fatalf("executor = %q, kubernetes = %v", r.Executor, r.Kubernetes)
	}
	k := r.Kubernetes
	if diff := cmp.Diff(map[string]string{"kubernetes.io/arch": "amd64", "node-role.example.com/ci": "true"}, k.NodeSelector); diff != "" {
		t.Errorf("node_selector (-want +got):\n%s", diff)
	}
	want := []KubernetesHostPath{{Name: "containerd-sock", MountPath: "/run/containerd/containerd.sock", HostPath: "/run/containerd/containerd.sock"}}
	if diff := cmp.Diff(want, k.Volumes.HostPaths); diff != "" {
		t.Errorf("host_path (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(StringList{"always", "if-not-present"}, k.PullPolicy); diff != "" {
		t.Errorf("pull_policy (-want +got):\n%s", diff)
	}
	if r.Cache.Type != "s3" || r.Cache.S3.BucketName != "runner-cache" || !r.Cache.S3.Insecure {
		t.Errorf("cache = %+v / %+v", r.Cache, r.Cache.S3)
	}
	if got := r.ShortToken(); got != "AbCdEfGh" {
		t.Errorf("ShortToken = %q", got)
	}
	if !r.TokenObtainedAt.Equal(time.Date(2025, 3, 4, 10, 11, 12, 0, time.UTC)) {
		t.Errorf("token_obtained_at = %v", r.TokenObtainedAt)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string // substrings of the error
	}{
		{"wrong type global", "concurrent = \"ten\"", []string{"concurrent", "line 1"}},
		{"wrong type nested", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"shell\"\n[runners.docker]\nprivileged = \"yes\"", []string{"runners.docker.privileged"}},
		{"syntax", "concurrent = ", []string{"line 1"}},
		{"bad executor", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"virtualbox\"", []string{"runners[0].executor", "virtualbox"}},
		{"bad url", "[[runners]]\nurl=\"ftp://x\"\ntoken=\"t\"\nexecutor=\"shell\"", []string{"runners[0].url"}},
		{"missing token", "[[runners]]\nurl=\"http://x\"\nexecutor=\"shell\"", []string{"runners[0].token", "required"}},
		{"bad quantity", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"kubernetes\"\n[runners.kubernetes]\ncpu_limit=\"lots\"", []string{"runners[0].kubernetes.cpu_limit", "lots"}},
		{"bad pull policy", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"docker\"\n[runners.docker]\npull_policy=\"sometimes\"", []string{"runners[0].docker.pull_policy", "sometimes"}},
		{"pull policy type", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"docker\"\n[runners.docker]\npull_policy=[1]", []string{"pull_policy"}},
		{"volume without mount", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"kubernetes\"\n[runners.kubernetes]\n[[runners.kubernetes.volumes.host_path]]\nname=\"a\"", []string{"runners[0].kubernetes.volumes.host_path[0].mount_path"}},
		{"s3 without bucket", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"shell\"\n[runners.cache]\nType=\"s3\"", []string{"runners[0].cache.s3.BucketName"}},
		{"environment", "[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"shell\"\nenvironment=[\"NOEQUALS\"]", []string{"runners[0].environment[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.toml))
			if err == nil {
				t.Fatal("Parse: no error")
			}
			if !errors.Is(err, gantry.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	c, warns, err := Parse([]byte("concurrent = 2\nfancy = 1\n[[runners]]\nurl=\"http://x\"\ntoken=\"t\"\nexecutor=\"shell\"\nshiny = true\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff([]string{"unknown key fancy", "unknown key runners.shiny"}, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if c.Concurrent != 2 {
		t.Errorf("concurrent = %d", c.Concurrent)
	}
}

func TestSaveRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	in := &Config{Concurrent: 3, CheckInterval: 3, Runners: []*Runner{{
		Name: "r1", URL: "http://127.0.0.1:1", ID: 7, Token: "glrt-abc", Executor: "docker",
		TokenObtainedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Docker:          &Docker{Image: "busybox", PullPolicy: StringList{"never"}, Volumes: []string{"/cache"}},
		FeatureFlags:    map[string]bool{"FF_X": true},
	}}}
	if err := Save(path, in); err != nil {
		t.Fatalf("Save: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v mode %v", err, fi.Mode())
	}
	out, warns, err := Load(path)
	if err != nil || len(warns) != 0 {
		t.Fatalf("Load: %v %q", err, warns)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("testdata/helm-kubernetes.toml")
	f.Add(seed)
	f.Add([]byte("concurrent = 1\n[[runners]]\nexecutor=\"shell\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse(data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestReplaceToken(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))
	expires := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	r := &Runner{Token: "glrt-old", TokenObtainedAt: now.Add(-time.Hour), TokenExpiresAt: now}
	r.ReplaceToken("glrt-new", &expires, now)
	want := Runner{Token: "glrt-new", TokenObtainedAt: time.Date(2025, 3, 1, 11, 30, 45, 0, time.UTC), TokenExpiresAt: expires}
	if diff := cmp.Diff(want, *r); diff != "" {
		t.Errorf("ReplaceToken with an expiry (-want +got):\n%s", diff)
	}
	r.ReplaceToken("glrt-newer", nil, now)
	if !r.TokenExpiresAt.IsZero() || r.Token != "glrt-newer" {
		t.Errorf("ReplaceToken without an expiry: token %q, expires %v; want glrt-newer, never", r.Token, r.TokenExpiresAt)
	}
}
