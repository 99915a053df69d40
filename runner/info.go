package runner

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
)

// Info is the `info` a runner entry sends with its requests.
func Info(e *config.Runner) gitlab.RunnerInfo {
	shellName := e.Shell
	if shellName == "" {
		shellName = "bash"
	}
	container := e.Executor == "docker" || e.Executor == "kubernetes"
	return gitlab.RunnerInfo{
		Name: "gantry-runner", Version: gantry.Version, Revision: Revision,
		Platform: runtime.GOOS, Architecture: runtime.GOARCH, Executor: e.Executor, Shell: shellName,
		Labels: e.Labels,
		Features: gitlab.RunnerFeatures{
			Variables: true, Image: container, Services: container, Artifacts: true, Cache: true,
			FallbackCacheKeys: true, Shared: e.Executor == "shell", UploadMultipleArtifacts: true,
			UploadRawArtifacts: true, Refspecs: true, Masking: true, RawVariables: true,
			ArtifactsExclude: true, MultiBuildSteps: true, TraceReset: true, TraceChecksum: true,
			TraceSize: true, Cancelable: true, ReturnExitCode: true, ServiceVariables: container,
			ServiceMultipleAliases: false, CancelGracefully: true, TwoPhaseJobCommit: true, JobInputs: false,
		},
	}
}

// SystemID is "s_" + 12 hex derived from /etc/machine-id, else "r_" + 12
// random characters, as GitLab Runner makes it.
func SystemID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			sum := sha256.Sum256([]byte("gantry-runner:" + strings.TrimSpace(string(b))))
			return "s_" + hex.EncodeToString(sum[:])[:12]
		}
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "r_" + hex.EncodeToString(b[:])
}

// ShellConfig is a one-runner configuration with the shell executor, for
// embedding (gantry up): url and token of a registered runner, and where
// builds go. The caller may adjust it before New.
func ShellConfig(url, token, buildsDir string) *config.Config {
	return &config.Config{
		Concurrent: 1, CheckInterval: config.DefaultCheckInterval,
		Runners: []*config.Runner{{
			Name: "gantry-embedded", URL: url, Token: token, Executor: "shell", Shell: "bash",
			BuildsDir: buildsDir, CacheDir: filepath.Join(filepath.Dir(buildsDir), "cache"),
		}},
	}
}
