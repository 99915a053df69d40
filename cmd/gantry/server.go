package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/server"
)

// serverFlags are shared by `gantry up` and `gantry server`.
type serverFlags struct {
	cfg       server.Config
	logLevel  string
	logFormat string
	noRunner  bool
	monitor   []string
}

func (f *serverFlags) register(fs *pflag.FlagSet, listen string) {
	fs.StringVar(&f.cfg.DataDir, "data-dir", "./gantry-data", "folder for the database and repositories")
	fs.StringVar(&f.cfg.Listen, "listen", listen, "address to serve HTTP on")
	fs.StringVar(&f.cfg.ExternalURL, "external-url", "", "URL users reach Gantry at (default: http://<listen address>)")
	fs.StringVar(&f.cfg.InitialRootToken, "initial-root-token", "", "personal access token to seed for root on first start")
	fs.DurationVar(&f.cfg.CI.LongPoll, "ci-long-poll", 50*time.Second, "how long a runner's job request is held waiting for a job")
	fs.DurationVar(&f.cfg.CI.SilentTimeout, "ci-runner-silent-timeout", 10*time.Minute, "runner silence after which a running job fails (runner_system_failure)")
	fs.DurationVar(&f.cfg.CI.PendingTimeout, "ci-pending-timeout", 24*time.Hour, "time a job may wait for a runner before it fails (stuck_or_timeout_failure)")
	fs.DurationVar(&f.cfg.CI.StuckTimeout, "ci-stuck-timeout", time.Hour, "time a job no online runner can take may wait before it fails (stuck_or_timeout_failure)")
	fs.Int64Var(&f.cfg.CI.MaxArtifactSize, "ci-max-artifact-size", 100<<20, "largest artifact upload, in bytes")
	fs.Int64Var(&f.cfg.CI.MaxTraceSize, "ci-max-trace-size", 100<<20, "largest job log, in bytes")
	var monitor []string
	for _, p := range server.DefaultMonitoringAllowlist {
		monitor = append(monitor, p.String())
	}
	fs.StringSliceVar(&f.monitor, "monitoring-allowlist", monitor, "networks (CIDR) allowed to scrape /metrics")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
}

func newServerCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Gantry server (flags may also be set as GANTRY_* environment variables)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd, &f, false)
		},
	}
	f.register(cmd.Flags(), "127.0.0.1:8080")
	return cmd
}

func newUpCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run Gantry on the embedded default: SQLite and a local data folder, no other service",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd, &f, true)
		},
	}
	f.register(cmd.Flags(), "127.0.0.1:8080")
	cmd.Flags().BoolVar(&f.noRunner, "no-runner", false, "do not start the embedded shell runner")
	return cmd
}

func runServer(cmd *cobra.Command, f *serverFlags, up bool) error {
	if err := flagsFromEnv(cmd.Flags()); err != nil {
		return err
	}
	f.cfg.MonitoringAllowlist = []netip.Prefix{}
	for _, cidr := range f.monitor {
		p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
		if err != nil {
			return fmt.Errorf("--monitoring-allowlist: %w", err)
		}
		f.cfg.MonitoringAllowlist = append(f.cfg.MonitoringAllowlist, p)
	}
	log := newLogger(os.Stderr, f.logLevel, f.logFormat)
	f.cfg.Log, f.cfg.Out = log, cmd.OutOrStdout()
	ctx := cmd.Context()
	srv, err := server.Open(ctx, f.cfg)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Gantry is running at %s\n", srv.URL)
	if path, ok := srv.PasswordFilePath(); ok {
		fmt.Fprintf(out, "The initial root password is in %s\n", path)
	}
	if !up {
		return srv.Serve(ctx)
	}
	fmt.Fprintf(out, "Sign in as root; clone with: git clone %s/<namespace>/<project>.git\n", srv.URL)
	if f.noRunner {
		return srv.Serve(ctx)
	}
	r, err := embeddedRunner(ctx, srv, f.cfg.DataDir, log)
	if err != nil {
		srv.Close()
		return err
	}
	fmt.Fprintln(out, "An embedded shell runner runs the jobs (disable with --no-runner).")
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	err = srv.Serve(ctx)
	cancel()
	return errors.Join(err, <-done)
}

// embeddedRunner is `gantry up`'s shell runner: registered once, its
// config.toml kept in the data folder so that restarts reuse it.
func embeddedRunner(ctx context.Context, srv *server.Server, dataDir string, log *slog.Logger) (*runner.Runner, error) {
	dir := filepath.Join(dataDir, "runner")
	path := filepath.Join(dir, "config.toml")
	cfg, _, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		token, err := srv.CreateLocalRunner(ctx)
		if err != nil {
			return nil, fmt.Errorf("register the embedded runner: %w", err)
		}
		cfg = runner.ShellConfig(srv.URL.String(), token, filepath.Join(dir, "builds"))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := config.Save(path, cfg); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("embedded runner config: %w", err)
	}
	for _, rc := range cfg.Runners {
		rc.URL = srv.URL.String() // the listen address may have changed
	}
	return runner.New(cfg, runner.Options{WorkDir: dir, Logger: log.With("component", "runner")})
}

// flagsFromEnv sets every flag the command line left alone from
// GANTRY_<FLAG_NAME> (dashes become underscores), as Kubernetes
// deployments configure the server.
func flagsFromEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(fl *pflag.Flag) {
		env := "GANTRY_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !fl.Changed && err == nil {
			if serr := fs.Set(fl.Name, v); serr != nil {
				err = fmt.Errorf("%s: %w", env, serr)
			}
		}
	})
	return err
}
