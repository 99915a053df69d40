// Package git runs the system git safely: every command has a context and a
// timeout, user-supplied values can never be read as options, and stderr is
// kept in the error. It also knows where bare repositories live on disk.
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-ci/gantry"
)

// DefaultTimeout bounds commands that don't say otherwise.
const DefaultTimeout = 2 * time.Minute

// Command is one git invocation being built. Create it with NewCommand,
// add arguments with Opt (trusted literals) and Arg (user values), run it
// with Run or Output.
type Command struct {
	config  []string // -c key=value, before the subcommand
	args    []string
	dir     string
	env     []string
	timeout time.Duration
	err     error
}

// NewCommand starts a command for subcommand sub (a trusted literal).
func NewCommand(sub string, opts ...string) *Command {
	c := &Command{args: []string{sub}, timeout: DefaultTimeout}
	return c.Opt(opts...)
}

// Opt adds trusted literal arguments (options chosen by Gantry's code).
func (c *Command) Opt(opts ...string) *Command {
	c.args = append(c.args, opts...)
	return c
}

// Arg adds user-supplied values (ref names, revisions, paths). A value that
// git could read as an option is refused: the command then fails with
// gantry.ErrInvalid without running.
func (c *Command) Arg(values ...string) *Command {
	for _, v := range values {
		if strings.HasPrefix(v, "-") || strings.ContainsRune(v, 0) {
			c.err = fmt.Errorf("%w: git argument %q", gantry.ErrInvalid, v)
		}
		c.args = append(c.args, v)
	}
	return c
}

// Paths adds "--" and then paths, which git never reads as options.
func (c *Command) Paths(paths ...string) *Command {
	c.args = append(c.args, "--")
	c.args = append(c.args, paths...)
	return c
}

// Config sets a configuration variable for this command only (git -c);
// key and value are trusted literals.
func (c *Command) Config(key, value string) *Command {
	c.config = append(c.config, "-c", key+"="+value)
	return c
}

// Dir sets the working directory (the bare repository for most commands).
func (c *Command) Dir(dir string) *Command { c.dir = dir; return c }

// Env adds KEY=VALUE entries to git's environment.
func (c *Command) Env(kv ...string) *Command { c.env = append(c.env, kv...); return c }

// Timeout replaces DefaultTimeout; 0 means only the context bounds it.
func (c *Command) Timeout(d time.Duration) *Command { c.timeout = d; return c }

// Error is a failed git command with what it printed on stderr.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Output runs the command and returns its stdout.
func (c *Command) Output(ctx context.Context) ([]byte, error) {
	var out bytes.Buffer
	err := c.Run(ctx, nil, &out)
	return out.Bytes(), err
}

// Run runs the command with stdin and stdout streams (either may be nil).
func (c *Command) Run(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if c.err != nil {
		return c.err
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	args := append(append([]string(nil), c.config...), c.args...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = c.dir
	cmd.Env = append(baseEnv(), c.env...)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	// git must not outlive the server: a killed server leaves no git
	// writing into a repository behind its back.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return &Error{Args: c.args, Stderr: stderr.String(), Err: err}
	}
	return nil
}

// baseEnv is a minimal, predictable environment: no user config, no
// terminal prompts, and the system config only.
func baseEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=/nonexistent",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"LANG=C",
		"LC_ALL=C",
	}
}

// limitedBuffer keeps the first 64 KiB of stderr, enough for any message.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
