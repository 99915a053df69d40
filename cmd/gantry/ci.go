package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry"
)

func newCICmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ci", Short: "Work with .gitlab-ci.yml files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "lint DIR",
		Short: "Compile DIR/.gitlab-ci.yml offline",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("ci lint: %w", gantry.ErrNotImplemented)
		},
	})
	return cmd
}
