// Package servertest starts a real Gantry server in-process for tests: a
// temporary data folder, SQLite, real HTTP on a free loopback port.
package servertest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gantry-ci/gantry/server"
)

// RootToken is the personal access token every test server seeds for root.
const RootToken = "glpat-servertest-root-token-0123456789"

// Instance is a running test server.
type Instance struct {
	URL          string
	DataDir      string
	RootPassword string
	Server       *server.Server
}

// Start starts a server that stops when the test ends. Options may adjust
// the configuration before it starts.
func Start(tb testing.TB, options ...func(*server.Config)) *Instance {
	tb.Helper()
	dir := tb.TempDir()
	cfg := server.Config{
		DataDir:          dir,
		Listen:           "127.0.0.1:0",
		InitialRootToken: RootToken,
		PasswordCost:     bcrypt.MinCost, // fast tests; production uses the default cost
		ShutdownTimeout:  5 * time.Second,
	}
	if os.Getenv("GANTRY_TEST_LOG") != "" {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, o := range options {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, cfg)
	if err != nil {
		cancel()
		tb.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("server stopped with: %v", err)
		}
	})
	pw, err := os.ReadFile(filepath.Join(dir, server.PasswordFile))
	if err != nil {
		tb.Fatalf("read initial root password: %v", err)
	}
	_, after, _ := strings.Cut(string(pw), "Password: ")
	return &Instance{URL: srv.URL.String(), DataDir: dir, RootPassword: strings.TrimSpace(after), Server: srv}
}
