package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/ci"
)

func newCICmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ci", Short: "Work with .gitlab-ci.yml files"}
	cmd.AddCommand(newCILintCmd())
	return cmd
}

// lintFlags are the pipeline context `ci lint` compiles for.
type lintFlags struct {
	json          bool
	ref           string
	tag           bool
	source        string
	defaultBranch string
	file          string
	vars          []string
}

func newCILintCmd() *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [flags] DIR",
		Short: "Compile DIR/.gitlab-ci.yml offline",
		Long: "Compile DIR/.gitlab-ci.yml (local includes relative to DIR) for one ref and\n" +
			"pipeline source, and print the jobs GitLab would create. Exit status: 0 valid,\n" +
			"1 invalid, 2 usage error. include:project, :template and :remote need a\n" +
			"server and are reported as not available offline.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &exitError{code: 2, err: fmt.Errorf("ci lint: expected one DIR argument, got %d", len(args))}
			}
			return runLint(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "print GitLab's CI Lint API JSON")
	fl.StringVar(&f.ref, "ref", "main", "branch or tag the pipeline runs for")
	fl.BoolVar(&f.tag, "tag", false, "REF is a tag")
	fl.StringVar(&f.source, "source", "push", "pipeline source: push, web, api, schedule, trigger, merge_request_event, pipeline, parent_pipeline")
	fl.StringVar(&f.defaultBranch, "default-branch", "", "the project's default branch (default: REF)")
	fl.StringVar(&f.file, "file", ".gitlab-ci.yml", "configuration path inside DIR")
	fl.StringArrayVar(&f.vars, "var", nil, "pipeline variable KEY=VALUE (repeatable)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: 2, err: err}
	})
	return cmd
}

func runLint(cmd *cobra.Command, dir string, f lintFlags) error {
	opts, err := lintOptions(dir, f)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.file)))
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("ci lint: %w", err)}
	}
	res, err := ci.Lint(cmd.Context(), src, opts)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("ci lint: %w", err)}
	}
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printLint(out, f.file, res)
	}
	if !res.Valid {
		return &exitError{code: 1}
	}
	return nil
}

func lintOptions(dir string, f lintFlags) (ci.Options, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return ci.Options{}, fmt.Errorf("ci lint: %s is not a directory", dir)
	}
	if f.source == "" || strings.ContainsAny(f.source, " \t") {
		return ci.Options{}, errors.New("ci lint: --source must be a pipeline source such as push")
	}
	abs, _ := filepath.Abs(dir)
	opts := ci.Options{
		ConfigPath: f.file, Ref: f.ref, Tag: f.tag, Source: f.source, DefaultBranch: f.defaultBranch,
		Project:  ci.Project{Path: "local/" + filepath.Base(abs)},
		Includer: &ci.FSIncluder{FS: os.DirFS(dir)},
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = f.ref
	}
	for _, kv := range f.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return ci.Options{}, fmt.Errorf("ci lint: --var %q is not KEY=VALUE", kv)
		}
		opts.PipelineVariables = append(opts.PipelineVariables, ci.Variable{Key: k, Value: v})
	}
	return opts, nil
}

// printLint writes the human summary: validity, stages, jobs and their
// needs, or the positioned errors.
func printLint(w io.Writer, file string, res *ci.LintResult) {
	if !res.Valid {
		fmt.Fprintf(w, "%s is invalid:\n", file)
		for _, e := range res.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return
	}
	fmt.Fprintf(w, "%s is valid.\n", file)
	for _, wn := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
	fmt.Fprintf(w, "\nstages: %s\n", strings.Join(res.Stages, " → "))
	for _, st := range res.Stages {
		fmt.Fprintf(w, "\n%s:\n", st)
		for _, j := range res.Jobs {
			if j.Stage != st {
				continue
			}
			line := "  " + j.Name + " (" + j.When
			if j.AllowFailure {
				line += ", may fail"
			}
			line += ")"
			switch {
			case j.Needs == nil:
			case len(j.Needs) == 0:
				line += " needs: nothing (starts at once)"
			default:
				line += " needs: " + strings.Join(j.Needs, ", ")
			}
			fmt.Fprintln(w, line)
		}
	}
}

var _ fs.FS = os.DirFS(".")
