package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/client"
	"github.com/gantry-ci/gantry/runner/config"
)

type registerFlags struct {
	url, token, executor, name, dockerImage, shell, buildsDir, cacheDir string
	tags, description, maintenanceNote, accessLevel                     string
	runUntagged, locked, paused                                         bool
	maximumTimeout, limit                                               int
	env                                                                 []string
}

func newRunnerRegisterCmd() *cobra.Command {
	var f registerFlags
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a runner (glrt- authentication token, or a legacy registration token) and add it to the config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return register(cmd, cfgPath, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&cfgPath, "config", "c", defaultConfigPath(), "config.toml to create or extend")
	fl.StringVarP(&f.url, "url", "u", "", "server URL (required)")
	fl.StringVarP(&f.token, "token", "t", "", "runner authentication token (glrt-…) or registration token (required)")
	fl.StringVar(&f.token, "registration-token", "", "legacy registration token (same as --token)")
	fl.StringVar(&f.executor, "executor", "shell", "executor: shell, docker, kubernetes")
	fl.StringVar(&f.name, "name", hostnameOr("gantry-runner"), "runner name")
	fl.StringVar(&f.description, "description", "", "description (legacy registration)")
	fl.StringVar(&f.dockerImage, "docker-image", "", "default image for the docker executor")
	fl.StringVar(&f.shell, "shell", "bash", "shell")
	fl.StringVar(&f.buildsDir, "builds-dir", "", "builds directory")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "cache directory")
	fl.StringVar(&f.tags, "tag-list", "", "comma-separated tags (legacy registration only)")
	fl.StringVar(&f.maintenanceNote, "maintenance-note", "", "maintenance note (legacy registration only)")
	fl.StringVar(&f.accessLevel, "access-level", "", "not_protected or ref_protected (legacy registration only)")
	fl.BoolVar(&f.runUntagged, "run-untagged", false, "run untagged jobs (legacy registration only)")
	fl.BoolVar(&f.locked, "locked", true, "lock to the project (legacy registration only)")
	fl.BoolVar(&f.paused, "paused", false, "register paused (legacy registration only)")
	fl.IntVar(&f.maximumTimeout, "maximum-timeout", 0, "maximum job timeout in seconds (legacy registration only)")
	fl.IntVar(&f.limit, "limit", 0, "maximum concurrent jobs of this runner")
	fl.StringArrayVar(&f.env, "env", nil, "KEY=value added to environment (repeatable)")
	fl.Bool("non-interactive", true, "accepted for compatibility; gantry never prompts")
	return cmd
}

func register(cmd *cobra.Command, cfgPath string, f registerFlags) error {
	if f.url == "" || f.token == "" {
		return fmt.Errorf("%w: register needs --url and --token", gantry.ErrInvalid)
	}
	c, err := client.New(f.url, nil)
	if err != nil {
		return err
	}
	entry := &config.Runner{
		Name: f.name, URL: strings.TrimRight(f.url, "/"), Executor: f.executor, Shell: f.shell,
		BuildsDir: f.buildsDir, CacheDir: f.cacheDir, Limit: f.limit, Environment: f.env,
		TokenObtainedAt: time.Now().UTC().Truncate(time.Second),
	}
	if f.executor == "docker" {
		entry.Docker = &config.Docker{Image: f.dockerImage}
	}
	cfg := &config.Config{Concurrent: 1, CheckInterval: 0}
	if _, err := os.Stat(cfgPath); err == nil {
		if cfg, err = loadConfig(cfgPath, cmd.ErrOrStderr()); err != nil {
			return err
		}
	}
	info := runner.Info(entry)
	systemID := runner.SystemID()
	ctx := cmd.Context()
	if strings.HasPrefix(f.token, "glrt-") {
		if cmd.Flags().Changed("tag-list") || cmd.Flags().Changed("locked") || cmd.Flags().Changed("run-untagged") ||
			cmd.Flags().Changed("maximum-timeout") || cmd.Flags().Changed("paused") || cmd.Flags().Changed("access-level") || cmd.Flags().Changed("maintenance-note") {
			return fmt.Errorf("%w: with a runner authentication token (glrt-), tags, locked, run-untagged, paused, access level and maximum timeout are set on the server, not at registration", gantry.ErrInvalid)
		}
		creds, err := c.VerifyRunner(ctx, gitlab.VerifyRunnerRequest{Token: f.token, SystemID: systemID, Info: info})
		if err != nil {
			return fmt.Errorf("verify runner: %w", err)
		}
		setCredentials(entry, creds)
	} else {
		creds, err := c.RegisterRunner(ctx, gitlab.RegisterRunnerRequest{
			Token: f.token, Description: firstNonEmpty(f.description, f.name), MaintenanceNote: f.maintenanceNote,
			Info: info, Locked: f.locked, AccessLevel: f.accessLevel, RunUntagged: f.runUntagged || f.tags == "",
			MaximumTimeout: f.maximumTimeout, Paused: f.paused, TagList: f.tags,
		})
		if err != nil {
			return fmt.Errorf("register runner: %w", err)
		}
		setCredentials(entry, creds)
	}
	cfg.Runners = append(cfg.Runners, entry)
	if err := cfg.Validate(); err != nil || config.Save(cfgPath, cfg) != nil {
		// Roll back the registration, as gitlab-runner does.
		sys := ""
		if strings.HasPrefix(entry.Token, "glrt-") {
			sys = systemID
		}
		_ = c.UnregisterRunner(ctx, entry.Token, sys)
		if err == nil {
			err = config.Save(cfgPath, cfg)
		}
		return fmt.Errorf("save config: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Runner registered successfully (id %d). Config saved in %s\n", entry.ID, cfgPath)
	return nil
}

func setCredentials(e *config.Runner, c gitlab.RunnerCredentials) {
	e.ID, e.Token = c.ID, c.Token
	if c.TokenExpiresAt != nil {
		e.TokenExpiresAt = *c.TokenExpiresAt
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func newRunnerVerifyCmd() *cobra.Command {
	var cfgPath, name string
	var del bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the configured runners can connect; --delete drops the ones the server rejects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			kept := cfg.Runners[:0]
			var failed error
			for _, e := range cfg.Runners {
				if name != "" && e.Name != name {
					kept = append(kept, e)
					continue
				}
				c, err := client.New(e.URL, nil)
				if err == nil {
					_, err = c.VerifyRunner(cmd.Context(), gitlab.VerifyRunnerRequest{Token: e.Token, SystemID: runner.SystemID(), Info: runner.Info(e)})
				}
				switch {
				case err == nil:
					fmt.Fprintf(cmd.OutOrStdout(), "Verifying runner... is valid    runner=%s\n", shortToken(e.Token))
					kept = append(kept, e)
				case errors.Is(err, gantry.ErrForbidden) && del:
					fmt.Fprintf(cmd.OutOrStdout(), "Verifying runner... is removed  runner=%s\n", shortToken(e.Token))
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "Verifying runner... is not valid runner=%s: %v\n", shortToken(e.Token), err)
					kept = append(kept, e)
					failed = errors.Join(failed, err)
				}
			}
			if del {
				cfg.Runners = kept
				if err := config.Save(cfgPath, cfg); err != nil {
					return err
				}
			}
			return failed
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", defaultConfigPath(), "config.toml to use")
	cmd.Flags().StringVarP(&name, "name", "n", "", "only this runner")
	cmd.Flags().BoolVar(&del, "delete", false, "remove runners the server no longer knows")
	return cmd
}

func newRunnerUnregisterCmd() *cobra.Command {
	var cfgPath, name, token string
	var all bool
	cmd := &cobra.Command{
		Use:   "unregister",
		Short: "Unregister runners from the server and remove them from the config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" && token == "" && !all {
				return fmt.Errorf("%w: unregister needs --name, --token or --all-runners", gantry.ErrInvalid)
			}
			cfg, err := loadConfig(cfgPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			kept := cfg.Runners[:0]
			var failed error
			for _, e := range cfg.Runners {
				if !all && e.Name != name && e.Token != token {
					kept = append(kept, e)
					continue
				}
				c, err := client.New(e.URL, nil)
				if err == nil {
					sys := ""
					if strings.HasPrefix(e.Token, "glrt-") {
						sys = runner.SystemID()
					}
					err = c.UnregisterRunner(cmd.Context(), e.Token, sys)
				}
				if err != nil && !errors.Is(err, gantry.ErrNotFound) {
					failed = errors.Join(failed, fmt.Errorf("unregister %s: %w", e.Name, err))
					kept = append(kept, e)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Unregistering runner from the server... succeeded  runner=%s\n", shortToken(e.Token))
			}
			cfg.Runners = kept
			if err := config.Save(cfgPath, cfg); err != nil {
				return err
			}
			return failed
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", defaultConfigPath(), "config.toml to use")
	cmd.Flags().StringVarP(&name, "name", "n", "", "runner name")
	cmd.Flags().StringVarP(&token, "token", "t", "", "runner token")
	cmd.Flags().BoolVar(&all, "all-runners", false, "all runners of the config")
	return cmd
}

func newRunnerResetTokenCmd() *cobra.Command {
	var cfgPath, name, pat string
	var all bool
	cmd := &cobra.Command{
		Use:   "reset-token",
		Short: "Rotate runner authentication tokens and save them in the config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" && !all {
				return fmt.Errorf("%w: reset-token needs --name or --all-runners", gantry.ErrInvalid)
			}
			cfg, err := loadConfig(cfgPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			for _, e := range cfg.Runners {
				if !all && e.Name != name {
					continue
				}
				c, err := client.New(e.URL, nil)
				if err != nil {
					return err
				}
				var res gitlab.ResetTokenResponse
				if pat != "" {
					if e.ID == 0 {
						return fmt.Errorf("%w: runner %s has no id in the config; --pat needs it", gantry.ErrInvalid, e.Name)
					}
					res, err = c.ResetTokenWithPAT(cmd.Context(), e.ID, pat)
				} else {
					res, err = c.ResetToken(cmd.Context(), e.Token)
				}
				if err != nil {
					return fmt.Errorf("reset token of %s: %w", e.Name, err)
				}
				e.ReplaceToken(res.Token, res.TokenExpiresAt, time.Now())
				fmt.Fprintf(cmd.OutOrStdout(), "Token reset for %s\n", e.Name)
			}
			return config.Save(cfgPath, cfg)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", defaultConfigPath(), "config.toml to use")
	cmd.Flags().StringVarP(&name, "name", "n", "", "runner name")
	cmd.Flags().BoolVar(&all, "all-runners", false, "all runners of the config")
	cmd.Flags().StringVar(&pat, "pat", "", "personal access token: reset through the runner's id instead of its current token")
	return cmd
}
