package smarthttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
)

const (
	zero = "0000000000000000000000000000000000000000"
	a    = "1111111111111111111111111111111111111111"
	b    = "2222222222222222222222222222222222222222"
	sha2 = "3333333333333333333333333333333333333333333333333333333333333333"
)

func pkts(lines ...string) string {
	var sb strings.Builder
	for _, l := range lines {
		if l == "" {
			sb.WriteString("0000")
			continue
		}
		sb.WriteString(pktLine(l))
	}
	return sb.String()
}

func TestParseCommands(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []RefCommand
		caps []string
	}{
		{"empty body (probe)", "", nil, nil},
		{"flush only", "0000", nil, nil},
		{"one update", pkts(a+" "+b+" refs/heads/main\x00 report-status side-band-64k agent=git/2.39.5", ""),
			[]RefCommand{{a, b, "refs/heads/main"}}, []string{"report-status", "side-band-64k", "agent=git/2.39.5"}},
		{"create, delete, trailing newlines", pkts(zero+" "+a+" refs/heads/new\x00report-status\n", b+" "+zero+" refs/tags/old\n", ""),
			[]RefCommand{{zero, a, "refs/heads/new"}, {b, zero, "refs/tags/old"}}, []string{"report-status"}},
		{"shallow lines first", pkts("shallow "+a, a+" "+b+" refs/heads/x\x00", ""), []RefCommand{{a, b, "refs/heads/x"}}, nil},
		{"sha256", pkts(sha2+" "+sha2+" refs/heads/main\x00object-format=sha256", ""),
			[]RefCommand{{sha2, sha2, "refs/heads/main"}}, []string{"object-format=sha256"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rest := "PACK-DATA-UNTOUCHED"
			r := bufio.NewReader(strings.NewReader(c.in + rest))
			if c.in == "" {
				r = bufio.NewReader(strings.NewReader(""))
				rest = ""
			}
			got, err := ParseCommands(r)
			if err != nil {
				t.Fatalf("ParseCommands: %v", err)
			}
			if diff := cmp.Diff(c.want, got.List); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.caps, got.Capabilities); diff != "" {
				t.Errorf("capabilities (-want +got):\n%s", diff)
			}
			if string(got.Raw) != c.in {
				t.Errorf("raw = %q, want %q", got.Raw, c.in)
			}
			if left, _ := io.ReadAll(r); string(left) != rest {
				t.Errorf("left unread = %q, want %q", left, rest)
			}
		})
	}
}

func TestParseCommandsRefusesMalformed(t *testing.T) {
	cases := map[string]string{
		"short id":           pkts("abc "+b+" refs/heads/main", ""),
		"upper-case hex":     pkts(strings.ToUpper("a"+a[1:])+"A "+b+" refs/heads/main", ""),
		"mixed id lengths":   pkts(a+" "+sha2+" refs/heads/main", ""),
		"no ref":             pkts(a+" "+b+" ", ""),
		"two fields":         pkts(a+" "+b, ""),
		"space in ref":       pkts(a+" "+b+" refs/heads/a b", ""),
		"newline in ref":     pkts(a+" "+b+" refs/heads/a\n\n", ""),
		"tab in ref":         pkts(a+" "+b+" refs/heads/a\tb", ""),
		"bad length":         "zzzz",
		"length too small":   "0003",
		"delim packet":       "0001",
		"truncated header":   "00",
		"truncated payload":  "0040" + a,
		"no flush":           pkts(a + " " + b + " refs/heads/main"),
		"push certificate":   pkts("push-cert\x00report-status", ""),
		"shallow after cmds": pkts(a+" "+b+" refs/heads/main", "shallow "+a, ""),
		"bad shallow":        pkts("shallow xyz", ""),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCommands(bufio.NewReader(strings.NewReader(in)))
			if !errors.Is(err, gantry.ErrInvalid) {
				t.Errorf("error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestParseCommandsBoundsTheList(t *testing.T) {
	line := pktLine(a + " " + b + " refs/heads/" + strings.Repeat("x", 60000))
	in := strings.Repeat(line, maxCommandBytes/len(line)+2) + "0000"
	_, err := ParseCommands(bufio.NewReader(strings.NewReader(in)))
	if !errors.Is(err, gantry.ErrInvalid) || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("error = %v, want a length refusal", err)
	}
}

// FuzzParseCommands: never panics; on success the commands were read from
// a prefix of the input, are well formed, and re-encode to what was read.
func FuzzParseCommands(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("0000"))
	f.Add([]byte(pkts(a+" "+b+" refs/heads/main\x00 report-status side-band-64k", "") + "PACK"))
	f.Add([]byte(pkts("shallow "+a, zero+" "+a+" refs/tags/v1\n", b+" "+zero+" refs/heads/x\n", "")))
	f.Add([]byte(pkts(sha2+" "+sha2+" refs/heads/main\x00", "")))
	f.Add([]byte("0001zzzz"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseCommands(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			if !errors.Is(err, gantry.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if !bytes.HasPrefix(in, got.Raw) {
			t.Fatalf("raw %q is not a prefix of the input", got.Raw)
		}
		for _, c := range got.List {
			if !validID(c.Old) || !validID(c.New) || len(c.Old) != len(c.New) || !plausibleRef(c.Ref) {
				t.Fatalf("malformed command accepted: %+v", c)
			}
		}
		// Re-encoding the parsed commands parses to the same commands.
		var lines []string
		for i, c := range got.List {
			l := c.Old + " " + c.New + " " + c.Ref
			if i == 0 {
				l += "\x00" + strings.Join(got.Capabilities, " ")
			}
			lines = append(lines, l)
		}
		again, err := ParseCommands(bufio.NewReader(strings.NewReader(pkts(append(lines, "")...))))
		if err != nil {
			t.Fatalf("re-encoded commands don't parse: %v", err)
		}
		if diff := cmp.Diff(got.List, again.List); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// demux splits a side-band stream into its channels.
func demux(t *testing.T, stream []byte) map[byte]string {
	t.Helper()
	out := map[byte]string{}
	for len(stream) > 0 {
		n, err := strconv.ParseUint(string(stream[:4]), 16, 16)
		if err != nil {
			t.Fatalf("bad packet length in %q", stream)
		}
		if n == 0 {
			stream = stream[4:]
			if len(stream) != 0 {
				t.Fatalf("data after the final flush: %q", stream)
			}
			break
		}
		out[stream[4]] += string(stream[5:n])
		stream = stream[n:]
	}
	return out
}

func TestRefusal(t *testing.T) {
	cmds := Commands{List: []RefCommand{{a, b, "refs/heads/main"}, {zero, a, "refs/heads/feature"}}}
	e := &RefusedError{Ref: "refs/heads/main", Reason: "protected branch", Message: "You are not allowed."}
	report := pkts("unpack ok\n", "ng refs/heads/main protected branch\n", "ng refs/heads/feature push declined\n", "")

	cmds.Capabilities = []string{"report-status"}
	if got := string(refusal(cmds, e)); got != report {
		t.Errorf("without side-band:\n got %q\nwant %q", got, report)
	}
	for _, sb := range []string{"side-band-64k", "side-band"} {
		cmds.Capabilities = []string{"report-status", sb}
		ch := demux(t, refusal(cmds, e))
		if ch[1] != report || ch[2] != "\nYou are not allowed.\n\n" || len(ch) != 2 {
			t.Errorf("%s: channels = %q", sb, ch)
		}
	}
	// A long message is split into packets the client accepts.
	e.Message = strings.Repeat("x", 3000)
	cmds.Capabilities = []string{"report-status", "side-band"}
	stream := refusal(cmds, e)
	for rest := stream; len(rest) > 4; {
		n, _ := strconv.ParseUint(string(rest[:4]), 16, 16)
		if n > 1000 {
			t.Fatalf("side-band packet of %d bytes", n)
		}
		if n == 0 {
			break
		}
		rest = rest[n:]
	}
	if ch := demux(t, stream); !strings.Contains(ch[2], e.Message) {
		t.Errorf("long message lost: %d bytes on channel 2", len(ch[2]))
	}
}

func ExampleRefCommand() {
	c := RefCommand{Old: zero, New: a, Ref: "refs/heads/main"}
	fmt.Println(c.Create(), c.Delete())
	// Output: true false
}

// BenchmarkParseCommands measures what vetting adds to a push before
// receive-pack starts: reading a command list of 1,000 refs.
func BenchmarkParseCommands(bm *testing.B) {
	var lines []string
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("%s %s refs/heads/branch-%d", a, b, i))
	}
	lines[0] += "\x00report-status side-band-64k"
	in := []byte(pkts(append(lines, "")...))
	bm.SetBytes(int64(len(in)))
	for bm.Loop() {
		if _, err := ParseCommands(bufio.NewReader(bytes.NewReader(in))); err != nil {
			bm.Fatal(err)
		}
	}
}
