package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/config"
)

// newRunnerCmd is `gantry runner …`, GitLab Runner's commands over a
// GitLab Runner config.toml.
func newRunnerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runner",
		Short: "Run CI jobs from a GitLab Runner config.toml (against Gantry or GitLab)",
	}
	cmd.AddCommand(newRunnerRunCmd(), newRunnerRunSingleCmd(), newRunnerRegisterCmd(), newRunnerVerifyCmd(),
		newRunnerUnregisterCmd(), newRunnerListCmd(), newRunnerResetTokenCmd())
	return cmd
}

func defaultConfigPath() string {
	if os.Geteuid() == 0 {
		return "/etc/gitlab-runner/config.toml"
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".gitlab-runner", "config.toml")
}

// loadConfig reads the config and prints warnings for unknown keys.
func loadConfig(path string, stderr io.Writer) (*config.Config, error) {
	c, warns, err := config.Load(path)
	for _, w := range warns {
		fmt.Fprintf(stderr, "WARNING: %s: %s\n", path, w)
	}
	return c, err
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	lv := slog.LevelInfo
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error", "fatal", "panic":
		lv = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newRunnerRunCmd() *cobra.Command {
	var cfgPath, workDir string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Poll for jobs and run them (SIGTERM/SIGINT stop now, SIGQUIT finishes running jobs first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cfgPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return runRunner(cmd.Context(), cmd.ErrOrStderr(), c, workDir, 0, cfgPath)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", defaultConfigPath(), "config.toml to use")
	cmd.Flags().StringVarP(&workDir, "working-directory", "d", "", "directory for builds and caches (default: current directory)")
	return cmd
}

// runRunner runs until ctx ends (fast stop) or SIGQUIT (drain). With a
// cfgPath, rotated tokens are saved there and changes to the file are
// reloaded, as gitlab-runner does.
func runRunner(ctx context.Context, stderr io.Writer, c *config.Config, workDir string, maxJobs int, cfgPath string) error {
	logger := newLogger(stderr, c.LogLevel, c.LogFormat)
	opts := runner.Options{WorkDir: workDir, Logger: logger, MaxJobs: maxJobs}
	var mu sync.Mutex // the config file is written by rotation and read by reload
	if cfgPath != "" {
		opts.TokenRotated = func(cur *config.Config) error {
			mu.Lock()
			defer mu.Unlock()
			return config.Save(cfgPath, cur)
		}
	}
	r, err := runner.New(c, opts)
	if err != nil {
		return err
	}
	if cfgPath != "" {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go watchConfig(wctx, cfgPath, &mu, r, stderr, logger)
	}
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGQUIT)
	defer signal.Stop(quit)
	go func() {
		if _, ok := <-quit; ok {
			logger.Info("SIGQUIT: no new jobs; finishing running jobs")
			r.Drain()
		}
	}()
	if c.ListenAddress != "" {
		stop, err := serveMetrics(c.ListenAddress, r, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	logger.Info("runner started", "runners", len(c.Runners), "concurrent", c.Concurrent, "version", gantry.Version)
	if len(c.Runners) == 0 {
		logger.Warn("no [[runners]] in the configuration yet; waiting for `gantry runner register` to add one")
	}
	err = r.Run(ctx)
	logger.Info("runner stopped")
	return err
}

// watchConfig reloads the config file when it changes (checked every 3 s).
func watchConfig(ctx context.Context, path string, mu *sync.Mutex, r *runner.Runner, stderr io.Writer, logger *slog.Logger) {
	stamp := func() (time.Time, int64) {
		fi, err := os.Stat(path)
		if err != nil {
			return time.Time{}, -1
		}
		return fi.ModTime(), fi.Size()
	}
	mod, size := stamp()
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m, s := stamp()
		if m.Equal(mod) && s == size {
			continue
		}
		mod, size = m, s
		mu.Lock()
		c, err := loadConfig(path, stderr)
		mu.Unlock()
		if err == nil {
			err = r.Update(c)
		}
		if err != nil {
			logger.Error("config reload failed; keeping the previous configuration", "err", err)
			continue
		}
		logger.Info("configuration reloaded", "runners", len(c.Runners))
	}
}

// serveMetrics exposes Prometheus text metrics on listen_address.
func serveMetrics(addr string, r *runner.Runner, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen_address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", r.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "err", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}

func newRunnerRunSingleCmd() *cobra.Command {
	var (
		r       config.Runner
		docker  config.Docker
		maxJobs int
		workDir string
	)
	cmd := &cobra.Command{
		Use:   "run-single",
		Short: "Run jobs for one runner given by flags, without a config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r.Executor == "docker" {
				r.Docker = &docker
			}
			c := &config.Config{Concurrent: 1, CheckInterval: config.DefaultCheckInterval, Runners: []*config.Runner{&r}}
			if err := c.Validate(); err != nil {
				return err
			}
			return runRunner(cmd.Context(), cmd.ErrOrStderr(), c, workDir, maxJobs, "")
		},
	}
	f := cmd.Flags()
	f.StringVarP(&r.URL, "url", "u", "", "server URL")
	f.StringVarP(&r.Token, "token", "t", "", "runner authentication token")
	f.StringVar(&r.Name, "name", hostnameOr("gantry-runner"), "runner name")
	f.StringVar(&r.Executor, "executor", "shell", "executor: shell, docker")
	f.StringVar(&r.BuildsDir, "builds-dir", "", "builds directory")
	f.StringVar(&r.CacheDir, "cache-dir", "", "cache directory")
	f.StringVar(&docker.Image, "docker-image", "", "default image (docker executor)")
	f.IntVar(&maxJobs, "max-builds", 0, "exit after this many jobs (0: no limit)")
	f.StringVarP(&workDir, "working-directory", "d", "", "working directory")
	return cmd
}

func hostnameOr(def string) string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return def
}

func newRunnerListCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the runners of a config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cfgPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Listing configured runners                          ConfigFile=%s\n", cfgPath)
			for _, e := range c.Runners {
				fmt.Fprintf(out, "%-50s Executor=%s Token=%s URL=%s\n", e.Name, e.Executor, shortToken(e.Token), e.URL)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", defaultConfigPath(), "config.toml to use")
	return cmd
}

// shortToken hides most of a token in output.
func shortToken(t string) string {
	if i := strings.IndexByte(t, '-'); i >= 0 && len(t) > i+8 {
		return t[:i+9] + "…"
	}
	if len(t) > 8 {
		return t[:8] + "…"
	}
	return t
}
