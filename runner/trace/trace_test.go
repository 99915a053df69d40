package trace

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/internal/corpus"
)

func TestMasker(t *testing.T) {
	tests := []struct {
		name     string
		secrets  []string
		prefixes []string
		in, want string
	}{
		{"plain", []string{"s3cr3t-value-123"}, nil, "secret=s3cr3t-value-123!", "secret=[MASKED]!"},
		{"twice", []string{"abcdefgh"}, nil, "abcdefgh abcdefgh", "[MASKED] [MASKED]"},
		{"longest first", []string{"abcd", "abcdefgh"}, nil, "xabcdefghx", "x[MASKED]x"},
		{"near miss", []string{"abcdefgh"}, nil, "abcdefg!", "abcdefg!"},
		{"near miss at end", []string{"abcdefgh"}, nil, "xx abcdefg", "xx abcdefg"},
		{"prefix token", nil, []string{"glpat-"}, "token glpat-AbC_12-3 end", "token glpat-[MASKED] end"},
		{"prefix token at end", nil, []string{"glcbt-"}, "tok=glcbt-xyz", "tok=glcbt-[MASKED]"},
		{"bare prefix", nil, []string{"glpat-"}, "glpat- alone", "glpat- alone"},
		{"secret with prefix", []string{"glcbt-jobtoken101"}, []string{"glcbt-"}, "url=http://u:glcbt-jobtoken101@h", "url=http://u:[MASKED]@h"},
		{"no secrets", nil, nil, "hello", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every split of the input into two writes must give the same output.
			for split := 0; split <= len(tt.in); split++ {
				var out bytes.Buffer
				m := NewMasker(&out, tt.secrets, tt.prefixes)
				m.Write([]byte(tt.in[:split]))
				m.Write([]byte(tt.in[split:]))
				m.Flush()
				if out.String() != tt.want {
					t.Fatalf("split at %d: got %q, want %q", split, out.String(), tt.want)
				}
			}
			// And byte by byte.
			var out bytes.Buffer
			m := NewMasker(&out, tt.secrets, tt.prefixes)
			for i := range len(tt.in) {
				m.Write([]byte{tt.in[i]})
			}
			m.Flush()
			if out.String() != tt.want {
				t.Fatalf("bytewise: got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func FuzzMasker(f *testing.F) {
	f.Add("abc s3cr3t def glpat-xyz", 3)
	f.Fuzz(func(t *testing.T, in string, split int) {
		if split < 0 || split > len(in) {
			split = len(in) / 2
		}
		var out bytes.Buffer
		m := NewMasker(&out, []string{"s3cr3t"}, []string{"glpat-"})
		m.Write([]byte(in[:split]))
		m.Write([]byte(in[split:]))
		m.Flush()
		if strings.Contains(out.String(), "s3cr3t") && !strings.Contains(in, "s3cr3ts3cr3t") {
			// A secret may only survive if masking produced it from adjacent text,
			// which [MASKED] cannot.
			t.Fatalf("secret leaked: %q -> %q", in, out.String())
		}
	})
}

func newTestLog(t *testing.T, limit int64) *Log {
	t.Helper()
	l, err := New(t.TempDir(), limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	now := time.Date(2026, 11, 27, 2, 35, 2, 745858000, time.UTC)
	l.Now = func() time.Time { return now }
	return l
}

// The shape of trace-101.log: prefixes, continuation flags, sections.
func TestLogFormat(t *testing.T) {
	l := newTestLog(t, 0)
	l.Println("Running with gantry-runner")
	l.SectionStart("prepare_executor", `Preparing the "shell" executor`)
	l.Println("Using Shell (bash) executor...")
	l.SectionEnd("prepare_executor")
	l.SectionStart("step_script", `Executing "step_script" stage of the job script`)
	w := l.Writer(BuildStdout, []string{"s3cr3t-value-123"}, nil)
	w.Write([]byte("hel"))
	w.Write([]byte("lo\nsecret=s3cr3t-val"))
	w.Write([]byte("ue-123\n"))
	w.Flush()
	l.SectionEnd("step_script")
	l.Final(true, "Job succeeded")

	ts := "2026-11-27T02:35:02.745858Z"
	want := strings.Join([]string{
		ts + " 00O \x1b[0KRunning with gantry-runner\x1b[0;m",
		ts + " 00O section_start:1795746902:prepare_executor\r\x1b[0K",
		ts + " 00O+\x1b[0K\x1b[36;1mPreparing the \"shell\" executor\x1b[0;m\x1b[0;m",
		ts + " 00O \x1b[0KUsing Shell (bash) executor...\x1b[0;m",
		ts + " 00O section_end:1795746902:prepare_executor\r\x1b[0K",
		ts + " 00O+section_start:1795746902:step_script\r\x1b[0K",
		ts + " 00O+\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\x1b[0;m",
		ts + " 01O hello",
		ts + " 01O secret=[MASKED]",
		ts + " 00O section_end:1795746902:step_script\r\x1b[0K",
		ts + " 00O \x1b[32;1mJob succeeded\x1b[0;m",
		"",
	}, "\n")
	if diff := cmp.Diff(want, string(l.Bytes())); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got, want := l.Checksum(), fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE([]byte(want))); got != want {
		t.Errorf("Checksum = %s, want %s", got, want)
	}
}

// Every line of the real runner's log matches the line grammar our Log
// writes; this pins the grammar to the capture.
func TestCaptureLineGrammar(t *testing.T) {
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z 0[01][OE][ +]`)
	for _, name := range []string{"trace-101.log", "trace-103.log"} {
		data := corpus.ReadShared(t, "gitlab/captures/"+name)
		for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if !line.MatchString(l) {
				t.Errorf("%s:%d: %q does not match", name, i+1, l)
			}
		}
	}
	l := newTestLog(t, 0)
	l.Println("x")
	w := l.Writer(BuildStderr, nil, nil)
	w.Write([]byte("partial"))
	l.Println("interrupts")
	w.Write([]byte(" rest\n"))
	for i, s := range strings.Split(strings.TrimSuffix(string(l.Bytes()), "\n"), "\n") {
		if !line.MatchString(s) {
			t.Errorf("own line %d: %q does not match", i, s)
		}
	}
	if !strings.Contains(string(l.Bytes()), "01E+ rest\n") {
		t.Errorf("continuation not flagged:\n%s", l.Bytes())
	}
}

func TestLogLimit(t *testing.T) {
	l := newTestLog(t, 200)
	w := l.Writer(BuildStdout, nil, nil)
	for range 50 {
		w.Write([]byte("0123456789\n"))
	}
	got := string(l.Bytes())
	if !strings.Contains(got, "Job's log exceeded limit of 200 bytes.") {
		t.Errorf("no limit notice:\n%s", got)
	}
	if n := strings.Count(got, "Job's log exceeded"); n != 1 {
		t.Errorf("notice %d times", n)
	}
	if int64(len(got)) != l.Len() {
		t.Errorf("Len %d != %d", l.Len(), len(got))
	}
}
