package script

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/gitlab"
)

// runBash feeds script to bash on stdin, as the shell executor does.
func runBash(t *testing.T, script string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	return out.String(), 0
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", `back\slash`, "new\nline", "$HOME `id` $(id)", "\x1b[0;m\x00\x7f", "ünïcode"} {
		out, code := runBash(t, "printf '%s' "+Quote(s))
		want := s
		if i := strings.IndexByte(want, 0); i >= 0 {
			want = want[:i] // shells cannot hold NUL
		}
		if code != 0 || out != want {
			t.Errorf("Quote(%q): got %q (exit %d)", s, out, code)
		}
	}
}

func FuzzQuote(f *testing.F) {
	f.Add("it's $x\n")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			return
		}
		out, code := runBash(t, "printf '%s' "+Quote(s))
		if code != 0 || out != s {
			t.Fatalf("Quote(%q): got %q (exit %d)", s, out, code)
		}
	})
}

func testJob(t *testing.T) *Job {
	dir := t.TempDir()
	return &Job{
		ProjectDir: filepath.Join(dir, "project"),
		TmpDir:     filepath.Join(dir, "project.tmp"),
		Variables: Variables{
			{Key: "MY_VAR", Value: "my value"},
			{Key: "QUOTED", Value: `a'b"c $HOME`},
			{Key: "CONF", Value: "line1\nline2", File: true},
			{Key: "bad-name", Value: "skipped"},
		},
	}
}

func TestStep(t *testing.T) {
	j := testJob(t)
	os.MkdirAll(j.ProjectDir, 0o755)
	out, code := runBash(t, Step(j, []string{
		`echo "v=$MY_VAR q=$QUOTED"`,
		`cat "$CONF"; echo`,
		`read -r x || echo "stdin empty"`,
		"pwd",
		"if true; then\n  echo multi\nfi",
	}))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	want := strings.Join([]string{
		"\x1b[32;1m$ echo \"v=$MY_VAR q=$QUOTED\"\x1b[0;m",
		`v=my value q=a'b"c $HOME`,
		"\x1b[32;1m$ cat \"$CONF\"; echo\x1b[0;m",
		"line1", "line2",
		"\x1b[32;1m$ read -r x || echo \"stdin empty\"\x1b[0;m",
		"stdin empty",
		"\x1b[32;1m$ pwd\x1b[0;m",
		j.ProjectDir,
		"\x1b[32;1m$ if true; then # collapsed multi-line command\x1b[0;m",
		"multi", "",
	}, "\n")
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestStepStopsAtFailure(t *testing.T) {
	j := testJob(t)
	os.MkdirAll(j.ProjectDir, 0o755)
	out, code := runBash(t, Step(j, []string{"echo one", "true | true", "sh -c 'exit 3'", "echo never"}))
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	if strings.Contains(out, "never\n") {
		t.Errorf("ran past the failure:\n%s", out)
	}
}

func TestAfterScriptStatus(t *testing.T) {
	j := testJob(t)
	os.MkdirAll(j.ProjectDir, 0o755)
	out, code := runBash(t, AfterScript(j, []string{`echo "status=$CI_JOB_STATUS"`}, "failed"))
	if code != 0 || !strings.Contains(out, "status=failed\n") || !strings.Contains(out, "Running after script...") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestExpand(t *testing.T) {
	v := Variables{
		{Key: "A", Value: "a"},
		{Key: "B", Value: "$A-${A}-$$A-$MISSING"},
		{Key: "RAW", Value: "$A", Raw: true},
		{Key: "A2", Value: "x"},
		{Key: "A2", Value: "y"},
	}
	got := v.Expand()
	want := Variables{
		{Key: "A", Value: "a"},
		{Key: "B", Value: "a-a-$A-"},
		{Key: "RAW", Value: "$A", Raw: true},
		{Key: "A2", Value: "y"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Expand (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"s"}, Variables{{Key: "S", Value: "s", Masked: true}, {Key: "E", Masked: true}}.Masked()); diff != "" {
		t.Errorf("Masked: %s", diff)
	}
	_ = gitlab.JobVariable{}
}
