package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/gantry-ci/gantry/ci"
)

// errCompileTimeout is GitLab's message when a configuration takes too
// long to assemble (includes, mostly).
var errCompileTimeout = errors.New("Request timed out when fetching configuration files.")

// compile runs the compiler on a pushed configuration within
// Config.CompileTimeout. A panic of the compiler becomes a configuration
// error, GitLab's "Undefined error (<id>)", with the panic logged under
// that id: a pushed YAML must not take the server down, nor do it again
// at every restart while its push event waits.
func (s *Service) compile(ctx context.Context, src []byte, opts ci.Options) (plan *ci.Plan, err error) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CompileTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			id := errorID()
			s.log.Error("ci compiler panicked", "error_id", id, "project", opts.Project.ID, "sha", opts.SHA,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			plan, err = nil, fmt.Errorf("Undefined error (%s)", id)
		}
	}()
	plan, err = s.compiler(cctx, src, opts)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return nil, errCompileTimeout
	}
	return plan, err
}

// errorID names one logged error, for a message that points at it.
func errorID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
