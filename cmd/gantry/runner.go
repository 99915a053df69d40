package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry"
)

func newRunnerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "runner",
		Short: "Run CI jobs from a GitLab Runner config.toml",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("runner: %w", gantry.ErrNotImplemented)
		},
	}
}
