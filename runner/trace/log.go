package trace

import (
	"bytes"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"
)

// ANSI sequences GitLab Runner uses in job logs.
const (
	ansiClear  = "\x1b[0K"
	ansiReset  = "\x1b[0;m"
	ansiCyan   = "\x1b[36;1m"
	ansiGreen  = "\x1b[32;1m"
	ansiRed    = "\x1b[31;1m"
	ansiYellow = "\x1b[0;33m"
)

// Stream tags: runner messages are stream 00, job output stream 01; O is
// stdout, E stderr.
const (
	RunnerStream = "00O"
	BuildStdout  = "01O"
	BuildStderr  = "01E"
)

// Log is one job's log, stored in a temporary file so that a log of
// hundreds of megabytes costs no memory. Writers append formatted lines;
// the sender reads ranges with ReadAt. All methods are safe for concurrent
// use.
type Log struct {
	mu        sync.Mutex
	f         *os.File
	size      int64
	crc       hash.Hash32
	limit     int64
	truncated bool
	open      bool   // the last line has no newline yet
	openTag   string // stream of the open line
	cont      map[string]bool
	changed   chan struct{}
	// Now is the clock for timestamps (tests pin it).
	Now func() time.Time
}

// New creates an empty log in dir (os.TempDir if empty) that keeps at most
// limit bytes (≤0: no limit), then notes that output was cut.
func New(dir string, limit int64) (*Log, error) {
	f, err := os.CreateTemp(dir, "gantry-trace-*.log")
	if err != nil {
		return nil, fmt.Errorf("create job log: %w", err)
	}
	_ = os.Remove(f.Name()) // lives as long as the handle
	return &Log{f: f, crc: crc32.NewIEEE(), limit: limit, cont: map[string]bool{}, changed: make(chan struct{}, 1), Now: time.Now}, nil
}

// Close releases the backing file.
func (l *Log) Close() error { return l.f.Close() }

// Len is the number of bytes in the log.
func (l *Log) Len() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Checksum is "crc32:%08x" over the whole log, as the final update sends.
func (l *Log) Checksum() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("crc32:%08x", l.crc.Sum32())
}

// ReadAt reads log bytes at off.
func (l *Log) ReadAt(p []byte, off int64) (int, error) { return l.f.ReadAt(p, off) }

// Changed is signalled (without blocking) after each append.
func (l *Log) Changed() <-chan struct{} { return l.changed }

// Bytes returns the whole log; for tests and small logs.
func (l *Log) Bytes() []byte {
	n := l.Len()
	b := make([]byte, n)
	_, _ = l.f.ReadAt(b, 0)
	return b
}

// append writes data as lines of stream tag. A unit write (runner
// messages) never joins an open line; raw writes (job output) continue the
// open line of their own stream.
func (l *Log) append(tag string, data []byte, unit bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.truncated || len(data) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for len(data) > 0 {
		if l.open && (unit || l.openTag != tag) {
			buf.WriteByte('\n')
			l.cont[l.openTag] = true
			l.open = false
		}
		if !l.open {
			flag := byte(' ')
			if l.cont[tag] {
				flag = '+'
				l.cont[tag] = false
			}
			buf.WriteString(l.Now().UTC().Format("2006-01-02T15:04:05.000000Z"))
			buf.WriteByte(' ')
			buf.WriteString(tag)
			buf.WriteByte(flag)
			l.open, l.openTag = true, tag
		}
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
			l.open = false
		}
		buf.Write(line)
		data = data[len(line):]
	}
	return l.write(buf.Bytes())
}

func (l *Log) write(b []byte) error {
	if l.limit > 0 && l.size+int64(len(b)) > l.limit {
		b = b[:max(l.limit-l.size, 0)]
		l.truncated = true
	}
	if _, err := l.f.WriteAt(b, l.size); err != nil {
		return fmt.Errorf("write job log: %w", err)
	}
	l.size += int64(len(b))
	l.crc.Write(b)
	if l.truncated {
		note := fmt.Sprintf("\n%s %s %sJob's log exceeded limit of %d bytes.\nJob execution will continue but no more output will be collected.%s\n",
			l.Now().UTC().Format("2006-01-02T15:04:05.000000Z"), RunnerStream, ansiRed, l.limit, ansiReset)
		if _, err := l.f.WriteAt([]byte(note), l.size); err != nil {
			return fmt.Errorf("write job log: %w", err)
		}
		l.size += int64(len(note))
		l.crc.Write([]byte(note))
	}
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return nil
}

// Writer returns a writer for job output on stream tag (BuildStdout,
// BuildStderr), masking secrets and prefixed tokens. Call Flush on the
// returned writer when the stream ends.
func (l *Log) Writer(tag string, secrets, prefixes []string) *Masker {
	return NewMasker(streamWriter{l, tag}, secrets, prefixes)
}

type streamWriter struct {
	l   *Log
	tag string
}

func (w streamWriter) Write(p []byte) (int, error) {
	if err := w.l.append(w.tag, p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = streamWriter{}

// Println writes a plain runner message line.
func (l *Log) Println(msg string) {
	_ = l.append(RunnerStream, []byte(ansiClear+msg+ansiReset+"\n"), true)
}

// Infoln writes a green runner message.
func (l *Log) Infoln(msg string) {
	_ = l.append(RunnerStream, []byte(ansiGreen+msg+ansiReset+"\n"), true)
}

// Warningln writes a yellow WARNING line.
func (l *Log) Warningln(msg string) {
	_ = l.append(RunnerStream, []byte(ansiYellow+"WARNING: "+msg+ansiReset+"\n"), true)
}

// Errorln writes a red ERROR line.
func (l *Log) Errorln(msg string) {
	_ = l.append(RunnerStream, []byte(ansiRed+"ERROR: "+msg+ansiReset+"\n"), true)
}

// Final writes the closing line (Job succeeded / ERROR: Job failed) on a
// fresh line, not as a continuation.
func (l *Log) Final(ok bool, msg string) {
	l.mu.Lock()
	if l.open {
		l.open = false
		_ = l.write([]byte("\n"))
	}
	l.mu.Unlock()
	if ok {
		l.Infoln(msg)
	} else {
		l.Errorln(msg)
	}
}

// SectionStart opens a collapsible section with a cyan header.
func (l *Log) SectionStart(name, header string) {
	ts := l.Now().Unix()
	_ = l.append(RunnerStream, fmt.Appendf(nil, "section_start:%d:%s\r%s", ts, name, ansiClear), true)
	_ = l.append(RunnerStream, []byte(ansiClear+ansiCyan+header+ansiReset+ansiReset+"\n"), true)
}

// SectionEnd closes a section.
func (l *Log) SectionEnd(name string) {
	_ = l.append(RunnerStream, fmt.Appendf(nil, "section_end:%d:%s\r%s", l.Now().Unix(), name, ansiClear), true)
}
