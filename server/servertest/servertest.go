// Package servertest starts a real Gantry server in-process for tests: a
// temporary data folder, SQLite, real HTTP on a free loopback port.
package servertest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

	cfg  server.Config
	stop func() error
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
	in := &Instance{DataDir: dir, cfg: cfg}
	in.start(tb)
	tb.Cleanup(func() {
		if err := in.stop(); err != nil {
			tb.Errorf("server stopped with: %v", err)
		}
	})
	pw, err := os.ReadFile(filepath.Join(dir, server.PasswordFile))
	if err != nil {
		tb.Fatalf("read initial root password: %v", err)
	}
	_, after, _ := strings.Cut(string(pw), "Password: ")
	in.RootPassword = strings.TrimSpace(after)
	return in
}

func (in *Instance) start(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, in.cfg)
	if err != nil {
		cancel()
		tb.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	in.Server, in.URL = srv, srv.URL.String()
	in.stop = sync.OnceValue(func() error {
		// Go's HTTP client may dial a connection it then never uses; the
		// server only stops waiting for such a silent connection after
		// 5 s, so shutdown would race ShutdownTimeout. Close them first.
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
}

// Restart stops the server gracefully and starts a new process's worth of
// it on the same data folder and address: what a server sees after it was
// restarted (nothing kept in memory survives).
func (in *Instance) Restart(tb testing.TB) {
	tb.Helper()
	if err := in.stop(); err != nil {
		tb.Fatalf("stop server: %v", err)
	}
	if in.cfg.ExternalURL != "" {
		tb.Fatal("Restart takes the address from the server's URL; it can't with an ExternalURL")
	}
	in.cfg.Listen = strings.TrimPrefix(in.URL, "http://")
	in.start(tb)
}
