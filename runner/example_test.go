package runner_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gantry-ci/gantry/runner"
)

// Embedding one shell runner in-process, as `gantry up` does: the server
// registers a runner, then hands its URL and token to the runner.
func ExampleShellConfig() {
	dataDir := os.TempDir()
	cfg := runner.ShellConfig("http://127.0.0.1:8080", "glrt-embedded-token", filepath.Join(dataDir, "builds"))
	r, err := runner.New(cfg, runner.Options{WorkDir: dataDir, Logger: slog.Default()})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real caller cancels on shutdown; Run then returns
	_ = r.Run(ctx)
}
