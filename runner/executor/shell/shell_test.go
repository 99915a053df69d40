package shell_test

import (
	"testing"

	"github.com/gantry-ci/gantry/runner/executor"
	"github.com/gantry-ci/gantry/runner/executor/executortest"
	"github.com/gantry-ci/gantry/runner/executor/shell"
)

func TestExecutor(t *testing.T) {
	dir := t.TempDir()
	executortest.Run(t, func(t *testing.T) executor.Executor {
		return &shell.Executor{BuildsDir: dir}
	}, executortest.Options{
		BadPrepare: func() executor.Options { return executor.Options{ProjectPath: "../escape"} },
	})
}
