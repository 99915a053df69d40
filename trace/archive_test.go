package trace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/blob/blobtest"
	"github.com/gantry-ci/gantry/store"
)

// bigLog is a log of several chunks with a secret every few lines, and
// its masked form.
func bigLog(secret string, lines int) (raw, masked string) {
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "\x1b[32;1mline %06d\x1b[0;m compiling package %d of %d\n", i, i, lines)
		if i%97 == 0 {
			b.WriteString("using token " + secret + "\n")
		}
	}
	raw = b.String()
	return raw, strings.ReplaceAll(raw, secret, string(Mask(len(secret))))
}

// appendInPieces appends raw to job's log in random pieces of up to max
// bytes. It reports failures with Errorf, so goroutines may call it.
func appendInPieces(tb testing.TB, s *Service, job int64, raw string, max int, seed uint64, secrets ...string) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for off := 0; off < len(raw); {
		n := 1 + rng.IntN(min(max, len(raw)-off))
		if got, err := s.Append(tb.Context(), job, int64(off), []byte(raw[off:off+n]), secrets); err != nil || got != int64(off+n) {
			tb.Errorf("Append(%d, %d, %d bytes) = %d, %v", job, off, n, got, err)
			return
		}
		off += n
	}
}

func TestArchive(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	const secret = "S3cretValue-1234"
	raw, masked := bigLog(secret, 8000) // ~450 KiB: several chunks
	appendInPieces(t, e.Service, 4, raw, 64<<10, 1, secret)
	if err := e.Archive(ctx, 4, []string{secret}); err != nil {
		t.Fatalf("Archive: %v", err)
	}
	if got := string(blobtest.MustGet(t, e.objects, ObjectKey(4))); got != masked {
		t.Fatalf("archived object differs from the masked log (%d vs %d bytes)", len(got), len(masked))
	}
	if b, err := e.store.TraceBytes(ctx, 4, 0, 10); err != nil || len(b) != 0 {
		t.Errorf("chunks left after Archive: %d bytes, %v", len(b), err)
	}
	for _, off := range []int64{0, 1, 300_000, int64(len(masked))} {
		if got := readLog(t, e.Service, 4, off); got != masked[off:] {
			t.Errorf("archived log from %d differs", off)
		}
	}
	if crc, size, err := e.Checksum(ctx, 4); err != nil || size != int64(len(raw)) || crc == 0 {
		t.Errorf("Checksum after Archive = %08x, %d, %v", crc, size, err)
	}
	if err := e.Archive(ctx, 4, nil); err != nil {
		t.Errorf("second Archive: %v", err)
	}
	if _, err := e.Append(ctx, 4, int64(len(raw)), []byte("late"), nil); !errors.Is(err, gantry.ErrConflict) {
		t.Errorf("Append after Archive = %v, want ErrConflict", err)
	}
	if err := e.Archive(ctx, 77, nil); err != nil {
		t.Errorf("Archive of a log never written = %v", err)
	}

	if err := e.Delete(ctx, 4); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := e.objects.Stat(ctx, ObjectKey(4)); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("archived object after Delete: %v", err)
	}
	if got := readLog(t, e.Service, 4, 0); got != "" {
		t.Errorf("log after Delete = %d bytes", len(got))
	}
	if err := e.Delete(ctx, 4); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

// TestArchiveCrashSafety stops Archive after each of its steps (by
// running only the first ones, then "restarting"), and checks that the log
// stays readable and that Archive then completes.
func TestArchiveCrashSafety(t *testing.T) {
	const secret = "glcbt-0123456789"
	raw := "start\n" + secret + "\nend glcbt-01"
	want := "start\n[MASKED]xxxxxxxx\nend glcbt-01"
	for _, c := range []struct {
		name  string
		steps func(t *testing.T, s *Service, st store.Trace)
	}{
		{"nothing done", func(*testing.T, *Service, store.Trace) {}},
		{"after flush", func(t *testing.T, s *Service, st store.Trace) {
			if _, err := s.flush(t.Context(), st, []string{secret}); err != nil {
				t.Fatal(err)
			}
		}},
		{"after upload", func(t *testing.T, s *Service, st store.Trace) {
			st, err := s.flush(t.Context(), st, []string{secret})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.upload(t.Context(), st); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 0)
			mustAppend(t, e.Service, 2, 0, raw[:10], secret)
			mustAppend(t, e.Service, 2, 10, raw[10:], secret)
			st, err := e.store.Trace(t.Context(), 2)
			if err != nil {
				t.Fatal(err)
			}
			c.steps(t, e.Service, st)
			s := e.restart(0) // the crash
			if got := readLog(t, s, 2, 0); !strings.HasPrefix(want, got) || len(got) < len(want)-len("glcbt-01") {
				t.Errorf("log after the crash = %q, want (a prefix of) %q", got, want)
			}
			if err := s.Archive(t.Context(), 2, []string{secret}); err != nil {
				t.Fatalf("Archive after the crash: %v", err)
			}
			if got := readLog(t, s, 2, 0); got != want {
				t.Errorf("log = %q, want %q", got, want)
			}
			if got := string(blobtest.MustGet(t, e.objects, ObjectKey(2))); got != want {
				t.Errorf("archived object = %q, want %q", got, want)
			}
		})
	}
}

func TestArchiveUploadFails(t *testing.T) {
	chunks, objects := newMemChunks(), newMemObjects()
	s := New(Config{Chunks: chunks, Objects: objects})
	mustAppend(t, s, 1, 0, "some log\n")
	objects.putErr = errors.New("disk full")
	if err := s.Archive(t.Context(), 1, nil); !errors.Is(err, objects.putErr) {
		t.Fatalf("Archive with a failing store = %v, want its error", err)
	}
	if got := readLog(t, s, 1, 0); got != "some log\n" {
		t.Errorf("log after failed Archive = %q", got)
	}
	if st, _ := chunks.Trace(t.Context(), 1); st.Archived {
		t.Error("log marked archived though the upload failed")
	}
	objects.putErr = nil
	if err := s.Archive(t.Context(), 1, nil); err != nil {
		t.Fatalf("retried Archive: %v", err)
	}
	if got, _ := objects.object(ObjectKey(1)); string(got) != "some log\n" {
		t.Errorf("archived object = %q", got)
	}
}

// TestConcurrentJobs appends to several logs at once (run it with -race).
func TestConcurrentJobs(t *testing.T) {
	e := newEnv(t, 0)
	const secret = "tok-concurrent-42"
	raw, masked := bigLog(secret, 2000)
	var wg sync.WaitGroup
	for job := int64(1); job <= 6; job++ {
		wg.Go(func() { appendInPieces(t, e.Service, job, raw, 8<<10, uint64(job), secret) })
	}
	wg.Wait()
	for job := int64(1); job <= 6; job++ {
		if got := readLog(t, e.Service, job, 0); got != masked {
			t.Errorf("log of job %d differs from the masked input (%d vs %d bytes)", job, len(got), len(masked))
		}
	}
}

// TestLiveRead follows a log while it is appended to and then archived,
// as the web UI does: read to the end, wait, read on from there.
func TestLiveRead(t *testing.T) {
	e := newEnv(t, 0)
	const secret = "live-secret-value"
	raw, masked := bigLog(secret, 3000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		appendInPieces(t, e.Service, 8, raw, 4<<10, 3, secret)
		if err := e.Archive(t.Context(), 8, []string{secret}); err != nil {
			t.Error(err)
		}
	}()
	var got bytes.Buffer
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one more read after the last write
		default:
		}
		got.WriteString(readLog(t, e.Service, 8, int64(got.Len())))
		if !strings.HasPrefix(masked, got.String()) {
			t.Fatalf("followed log is not a prefix of the masked log at %d bytes", got.Len())
		}
	}
	if got.String() != masked {
		t.Errorf("followed log has %d bytes, want %d", got.Len(), len(masked))
	}
}

// TestReaderAcrossArchive keeps one reader open while the log moves from
// the chunks to the blob store.
func TestReaderAcrossArchive(t *testing.T) {
	e := newEnv(t, 0)
	raw, _ := bigLog("unused-secret", 6000)
	appendInPieces(t, e.Service, 6, raw, 1<<20, 4)
	r, err := e.Reader(t.Context(), 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	if err := e.Archive(t.Context(), 6, nil); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(head) + string(rest); got != raw {
		t.Errorf("read across Archive: %d bytes, want %d", len(got), len(raw))
	}
}
