package trace

import (
	"bytes"
	"strings"
	"testing"
)

// referenceMask masks a whole log at once, the slow and obvious way: each
// byte covered by an occurrence of a secret takes its mask byte from the
// covering occurrence that starts first (the longer on a tie). It also
// returns which bytes were covered.
func referenceMask(raw []byte, secrets []string) ([]byte, []bool) {
	out := bytes.Clone(raw)
	covered := make([]bool, len(raw))
	bestStart := make([]int, len(raw))
	bestLen := make([]int, len(raw))
	for i := range raw {
		for _, s := range secrets {
			if s == "" || !bytes.HasPrefix(raw[i:], []byte(s)) {
				continue
			}
			for j := i; j < i+len(s); j++ {
				if !covered[j] || i < bestStart[j] || (i == bestStart[j] && len(s) > bestLen[j]) {
					covered[j], bestStart[j], bestLen[j] = true, i, len(s)
					out[j] = Mask(len(s))[j-i]
				}
			}
		}
	}
	return out, covered
}

// streamMask runs the pieces through step as successive appends and then
// releases the tail, checking after each piece that what became final
// never changes later. It returns the whole masked log.
func streamMask(t *testing.T, secrets []string, pieces []string) []byte {
	t.Helper()
	set := newSecretSet(secrets)
	var out []byte
	var tl tail
	var raw []byte
	for _, p := range pieces {
		raw = append(raw, p...)
		final, next, by := set.step(tl, []byte(p), false)
		if len(next.raw) > 0 && (by < 0 || !bytes.HasPrefix(set.secrets[by], next.raw)) {
			t.Fatalf("held back %q, which does not begin secret %d", next.raw, by)
		}
		out = append(out, final...)
		tl = next
	}
	final, next, _ := set.step(tl, nil, true)
	if len(next.raw) != 0 {
		t.Fatalf("final step held back %q", next.raw)
	}
	return append(out, final...)
}

func TestMask(t *testing.T) {
	const tok = "glcbt-abc123" // 12 bytes: "[MASKED]xxxx"
	cases := []struct {
		name    string
		secrets []string
		pieces  []string
		want    string
	}{
		{"no secrets", nil, []string{"hello ", "world\n"}, "hello world\n"},
		{"empty secret ignored", []string{""}, []string{"hello"}, "hello"},
		{"at start", []string{tok}, []string{tok + " rest\n"}, "[MASKED]xxxx rest\n"},
		{"in the middle", []string{tok}, []string{"a " + tok + " b"}, "a [MASKED]xxxx b"},
		{"at end", []string{tok}, []string{"token=" + tok}, "token=[MASKED]xxxx"},
		{"repeated", []string{tok}, []string{tok + tok + " " + tok}, "[MASKED]xxxx[MASKED]xxxx [MASKED]xxxx"},
		{"duplicate secrets", []string{tok, tok}, []string{"=" + tok}, "=[MASKED]xxxx"},
		{"overlapping occurrences of one secret", []string{"abcabcab"}, []string{"abcabcabcab"}, "[MASKED]ED]"},
		{"overlapping secrets", []string{"password1234", "1234secret"}, []string{"password1234secret!"}, "[MASKED]xxxxKED]xx!"},
		{"secret inside a longer one", []string{"supersecretvalue", "secret"}, []string{"xsupersecretvalue secret"}, "x[MASKED]xxxxxxxx xxxxxx"},
		{"split across 2 appends", []string{tok}, []string{"token: glcbt-", "abc123\n"}, "token: [MASKED]xxxx\n"},
		{"split across 3 appends", []string{tok}, []string{"token: gl", "cbt-ab", "c123\n"}, "token: [MASKED]xxxx\n"},
		{"longer than a chunk", []string{"0123456789abcdef"}, []string{"<", "012", "345", "678", "9ab", "cde", "f>"}, "<[MASKED]xxxxxxxx>"},
		{"short secret", []string{"abc"}, []string{"xabcx ab", "c"}, "xxxxx xxx"},
		{"false start", []string{tok}, []string{"glcbt-glcbt-", "abc123"}, "glcbt-[MASKED]xxxx"},
		{"prefix never completed", []string{tok}, []string{"ends with glcbt-abc"}, "ends with glcbt-abc"},
		{"prefix refuted later", []string{tok}, []string{"glcbt-ab", "d"}, "glcbt-abd"},
		{"overlap straddling appends", []string{"abcabcab"}, []string{"abcab", "cab", "cab"}, "[MASKED]ED]"},
		{"periodic secret in a run", []string{"aaaaaaaa"}, []string{strings.Repeat("a", 12)}, "[MASKED]]]]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := streamMask(t, c.secrets, c.pieces)
			if string(got) != c.want {
				t.Errorf("streamed = %q, want %q", got, c.want)
			}
			ref, _ := referenceMask([]byte(strings.Join(c.pieces, "")), c.secrets)
			if string(ref) != c.want {
				t.Errorf("reference = %q, want %q", ref, c.want)
			}
		})
	}
}

func TestMaskWord(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: "x", 7: "xxxxxxx", 8: "[MASKED]", 11: "[MASKED]xxx"} {
		if got := string(Mask(n)); got != want {
			t.Errorf("Mask(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRebuild(t *testing.T) {
	set := newSecretSet([]string{"glcbt-abc123", "glcbt-zzz999", "other-secret"})
	mac := heldMAC([]byte("glcbt-zzz999"), 7, 8)
	if got, ok := set.rebuild(mac, 7, 8); !ok || string(got) != "glcbt-zz" {
		t.Errorf("rebuild = %q, %v; want glcbt-zz", got, ok)
	}
	for _, c := range []struct {
		job int64
		n   int
	}{{8, 8}, {7, 7}} {
		if got, ok := set.rebuild(mac, c.job, c.n); ok {
			t.Errorf("rebuild for job %d, %d bytes matched %q", c.job, c.n, got)
		}
	}
	if _, ok := newSecretSet([]string{"glcbt-abc123"}).rebuild(mac, 7, 8); ok {
		t.Error("rebuild succeeded without the secret")
	}
}
