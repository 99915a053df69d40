package trace

import (
	"bytes"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"
)

// fuzzAlphabets squeeze fuzzed bytes so that secrets occur, overlap and
// straddle often. Only the first (raw bytes) can spell mask bytes.
var fuzzAlphabets = []string{"", "ab", "ab\n", "abc"}

func squeeze(b []byte, alphabet string) []byte {
	if alphabet == "" {
		return b
	}
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = alphabet[int(c)%len(alphabet)]
	}
	return out
}

// fuzzSecrets splits b at NUL bytes into at most 5 secrets of at most 40
// bytes.
func fuzzSecrets(b []byte, alphabet string) []string {
	var out []string
	for part := range bytes.SplitSeq(b, []byte{0}) {
		if len(part) > 0 && len(out) < 5 {
			out = append(out, string(squeeze(part[:min(len(part), 40)], alphabet)))
		}
	}
	return out
}

// FuzzMask appends random data in random pieces with random secrets,
// sometimes "restarting" the service (losing what it holds in memory), and
// checks that everything ever stored is a prefix of the reference masking
// of the whole log, that the archived log has the raw length and no
// secret in clear, and that the checksum covers the raw bytes.
func FuzzMask(f *testing.F) {
	f.Add([]byte("token: glcbt-abc123 and glcbt-abc123\n"), []byte("glcbt-abc123"), uint64(1), byte(0))
	f.Add([]byte("abcabcabcabcab"), []byte("abcabcab\x00cab"), uint64(7), byte(3))
	f.Add(bytes.Repeat([]byte{0}, 300), []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x01"), uint64(3), byte(1))
	f.Add([]byte("[MASKED]xxxx"), []byte("[MASKED]\x00xxxx"), uint64(9), byte(0))
	f.Fuzz(func(t *testing.T, data, secretBytes []byte, seed uint64, mode byte) {
		alphabet := fuzzAlphabets[int(mode)%len(fuzzAlphabets)]
		data = squeeze(data[:min(len(data), 4096)], alphabet)
		secrets := fuzzSecrets(secretBytes, alphabet)
		ref, covered := referenceMask(data, secrets)
		checkReference(t, ref, covered, data, secrets, alphabet != "")
		runFuzzLog(t, data, secrets, ref, seed)
	})
}

// checkReference checks the reference itself: same length, untouched
// where no secret was, and no secret left readable in clear.
func checkReference(t *testing.T, ref []byte, covered []bool, raw []byte, secrets []string, literal bool) {
	if len(ref) != len(raw) {
		t.Fatalf("masked log has %d bytes, raw %d", len(ref), len(raw))
	}
	for i := range raw {
		if !covered[i] && ref[i] != raw[i] {
			t.Fatalf("byte %d changed though no secret covers it", i)
		}
	}
	for _, s := range secrets {
		if literal && bytes.Contains(ref, []byte(s)) {
			t.Fatalf("masked log %q contains secret %q", ref, s)
		}
		// With mask bytes in the alphabet a secret may be spelt anew by
		// mask bytes; it must never be spelt by unmasked bytes alone.
		for q := 0; q+len(s) <= len(ref); q++ {
			if bytes.HasPrefix(ref[q:], []byte(s)) && !anyTrue(covered[q:q+len(s)]) {
				t.Fatalf("secret %q in clear at %d of %q", s, q, ref)
			}
		}
	}
}

func anyTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}

func runFuzzLog(t *testing.T, data []byte, secrets []string, ref []byte, seed uint64) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	chunks, objects := newMemChunks(), newMemObjects()
	svc := New(Config{Chunks: chunks, Objects: objects})
	maxPiece := 1 + rng.IntN(64)
	for off := 0; off < len(data); {
		n := 1 + rng.IntN(min(maxPiece, len(data)-off))
		length, err := svc.Append(ctx, 1, int64(off), data[off:off+n], secrets)
		if err != nil || length != int64(off+n) {
			t.Fatalf("Append at %d = %d, %v", off, length, err)
		}
		off += n
		stored, _ := chunks.TraceBytes(ctx, 1, 0, len(data)+1)
		st, _ := chunks.Trace(ctx, 1)
		if !bytes.HasPrefix(ref, stored) || !bytes.HasPrefix(ref[len(stored):], st.HeldMask) {
			t.Fatalf("after %d bytes stored %q + held mask %q, want prefixes of %q", off, stored, st.HeldMask, ref)
		}
		if rng.IntN(4) == 0 {
			svc = New(Config{Chunks: chunks, Objects: objects}) // a restart
		}
	}
	if err := svc.Archive(ctx, 1, secrets); err != nil {
		t.Fatalf("Archive: %v", err)
	}
	if crc, size, err := svc.Checksum(ctx, 1); err != nil || crc != crc32.ChecksumIEEE(data) || size != int64(len(data)) {
		t.Fatalf("Checksum = %08x, %d, %v", crc, size, err)
	}
	if len(data) == 0 {
		return
	}
	if got, _ := objects.object(ObjectKey(1)); !bytes.Equal(got, ref) {
		t.Fatalf("archived %q, want %q", got, ref)
	}
	off := rng.IntN(len(data) + 2)
	r, err := svc.Reader(ctx, 1, int64(off))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, ref[min(off, len(ref)):]) {
		t.Fatalf("Reader at %d = %q, %v", off, got, err)
	}
}
