package pipeline

import (
	"context"

	"github.com/gantry-ci/gantry/ci"
)

// SetCompiler replaces ci.Compile for s, so that tests can make the
// compiler fail in ways no configuration does (yet).
func SetCompiler(s *Service, compile func(context.Context, []byte, ci.Options) (*ci.Plan, error)) {
	s.compiler = compile
}
