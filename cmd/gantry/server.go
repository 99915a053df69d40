package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gantry-ci/gantry/server"
)

// serverFlags are shared by `gantry up` and `gantry server`.
type serverFlags struct {
	cfg       server.Config
	logLevel  string
	logFormat string
}

func (f *serverFlags) register(fs *pflag.FlagSet, listen string) {
	fs.StringVar(&f.cfg.DataDir, "data-dir", "./gantry-data", "folder for the database and repositories")
	fs.StringVar(&f.cfg.Listen, "listen", listen, "address to serve HTTP on")
	fs.StringVar(&f.cfg.ExternalURL, "external-url", "", "URL users reach Gantry at (default: http://<listen address>)")
	fs.StringVar(&f.cfg.InitialRootToken, "initial-root-token", "", "personal access token to seed for root on first start")
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
	return cmd
}

func runServer(cmd *cobra.Command, f *serverFlags, up bool) error {
	if err := flagsFromEnv(cmd.Flags()); err != nil {
		return err
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
	if up {
		fmt.Fprintf(out, "Sign in as root; clone with: git clone %s/<namespace>/<project>.git\n", srv.URL)
	}
	return srv.Serve(ctx)
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
