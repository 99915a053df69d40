package git

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gantry-ci/gantry"
)

// preReceive refuses non-fast-forward updates of the refs named in
// GANTRY_FF_ONLY (separated by newlines; ref names hold no whitespace).
// receive-pack runs it after receiving the pack into quarantine and before
// moving any ref, so the pushed commits are visible to merge-base here and
// nowhere else. Creations and deletions are not force pushes.
const preReceive = `#!/bin/sh
# Written by Gantry, which rewrites it as needed: do not edit.
[ -n "$GANTRY_FF_ONLY" ] || exit 0
set -f
status=0
while read -r old new ref; do
	for want in $GANTRY_FF_ONLY; do
		[ "$want" = "$ref" ] || continue
		case $old in *[!0]*) ;; *) continue ;; esac
		case $new in *[!0]*) ;; *) continue ;; esac
		git merge-base --is-ancestor "$old" "$new" 2>/dev/null || status=1
	done
done
if [ "$status" -ne 0 ]; then
	echo "You are not allowed to force push code to a protected branch on this project." >&2
fi
exit "$status"
`

// InstallHooks writes Gantry's hooks into dir (creating it) and checks
// that they can run there: a hook git cannot execute (a noexec mount, say)
// is silently skipped by git, which would let force pushes through.
// Calling it again rewrites them; concurrent pushes never see a partial
// file.
func InstallHooks(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create hooks folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".pre-receive-*")
	if err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(preReceive)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	hook := filepath.Join(dir, "pre-receive")
	if err == nil {
		err = os.Rename(tmp.Name(), hook)
	}
	if err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	check := exec.CommandContext(ctx, hook)
	check.Env = baseEnv()
	if out, err := check.CombinedOutput(); err != nil {
		return fmt.Errorf("hook %s cannot run (is the folder mounted noexec?): %w: %s", hook, err, out)
	}
	// git must honour the hooks folder given through its environment
	// (GIT_CONFIG_COUNT, git 2.31+); an older git would ignore it.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	env, err := FastForwardOnlyEnv(abs, nil)
	if err != nil {
		return err
	}
	out, err := NewCommand("config", "--get", "core.hooksPath").Env(env...).Output(ctx)
	if err != nil || strings.TrimSpace(string(out)) != abs {
		return fmt.Errorf("git ignores core.hooksPath from the environment (git 2.31 or later is needed): %q, %v", out, err)
	}
	return nil
}

// HooksInstalled reports whether dir holds Gantry's pre-receive hook,
// executable, as InstallHooks leaves it.
func HooksInstalled(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "pre-receive"))
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o100 != 0
}

// FastForwardOnlyEnv returns the environment under which receive-pack runs
// the hooks InstallHooks wrote into dir and refuses any update of refs
// that is not a fast-forward. dir must be absolute: git would resolve a
// relative one against the repository and, finding no hook, skip the check.
func FastForwardOnlyEnv(dir string, refs []string) ([]string, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%w: hooks folder %q is not an absolute path", gantry.ErrInvalid, dir)
	}
	size := 0
	for _, ref := range refs {
		if ref == "" || strings.IndexFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return nil, fmt.Errorf("%w: ref name %q", gantry.ErrInvalid, ref)
		}
		size += len(ref) + 1
	}
	if size > 64<<10 {
		return nil, fmt.Errorf("%w: too many protected branches in one push", gantry.ErrInvalid)
	}
	return []string{
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.hooksPath", "GIT_CONFIG_VALUE_0=" + dir,
		"GANTRY_FF_ONLY=" + strings.Join(refs, "\n"),
	}, nil
}
