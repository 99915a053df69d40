// Package trace builds a job log the way GitLab Runner writes it: secrets
// masked, every line prefixed with a timestamp and a stream marker,
// section_start/section_end markers, an output limit, and a CRC32 of the
// whole log for the final job update.
package trace

import (
	"bytes"
	"io"
	"slices"
	"sync"
)

// Masked is what a secret is replaced with.
const Masked = "[MASKED]"

// Masker is an io.Writer that replaces secrets with [MASKED] before passing
// bytes on, including secrets split across Write calls: it holds back a
// tail that could still become a secret until the next Write or Flush.
// Tokens that start with one of the prefixes (glpat-, glcbt-…) keep the
// prefix and lose the rest. It is safe for concurrent use.
type Masker struct {
	mu       sync.Mutex
	dst      io.Writer
	secrets  [][]byte // longest first
	prefixes [][]byte
	first    [256]bool
	pending  []byte
	out      []byte
}

// NewMasker masks secrets (empty ones ignored) and prefixed tokens in what
// is written to dst.
func NewMasker(dst io.Writer, secrets, prefixes []string) *Masker {
	m := &Masker{dst: dst}
	for _, s := range secrets {
		if s != "" {
			m.secrets = append(m.secrets, []byte(s))
		}
	}
	slices.SortFunc(m.secrets, func(a, b []byte) int { return len(b) - len(a) })
	for _, p := range prefixes {
		if p != "" {
			m.prefixes = append(m.prefixes, []byte(p))
		}
	}
	for _, s := range append(slices.Clone(m.secrets), m.prefixes...) {
		m.first[s[0]] = true
	}
	return m
}

// Write masks p; it always reports len(p) unless dst fails.
func (m *Masker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.secrets) == 0 && len(m.prefixes) == 0 {
		if _, err := m.dst.Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	m.pending = append(m.pending, p...)
	if err := m.process(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes any held-back tail as is (it can no longer become a secret).
func (m *Masker) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.process(true)
}

func (m *Masker) process(final bool) error {
	buf, out := m.pending, m.out[:0]
	i, done := 0, 0
	for i < len(buf) {
		if !m.first[buf[i]] {
			i++
			continue
		}
		n, hold := m.match(buf[i:], final)
		if hold {
			break
		}
		if n == 0 {
			i++
			continue
		}
		out = append(out, buf[done:i]...)
		out = append(out, m.replacement(buf[i:i+n])...)
		i += n
		done = i
	}
	if final {
		i = len(buf)
	}
	out = append(out, buf[done:i]...)
	m.pending = append(m.pending[:0], buf[i:]...)
	m.out = out
	if len(out) == 0 {
		return nil
	}
	_, err := m.dst.Write(out)
	return err
}

// match reports the length of a secret or prefixed token at the start of
// b, or hold when b is too short to decide.
func (m *Masker) match(b []byte, final bool) (n int, hold bool) {
	for _, s := range m.secrets {
		if bytes.HasPrefix(b, s) {
			return len(s), false
		}
		if !final && len(b) < len(s) && bytes.HasPrefix(s, b) {
			return 0, true
		}
	}
	for _, p := range m.prefixes {
		if bytes.HasPrefix(b, p) {
			j := len(p)
			for j < len(b) && tokenChar(b[j]) {
				j++
			}
			if j == len(b) && !final {
				return 0, true // token may continue
			}
			if j == len(p) {
				return 0, false
			}
			return j, false
		}
		if !final && len(b) < len(p) && bytes.HasPrefix(p, b) {
			return 0, true
		}
	}
	return 0, false
}

func (m *Masker) replacement(matched []byte) []byte {
	for _, p := range m.prefixes {
		if bytes.HasPrefix(matched, p) && !slices.ContainsFunc(m.secrets, func(s []byte) bool { return bytes.Equal(s, matched) }) {
			return append(slices.Clone(p), Masked...)
		}
	}
	return []byte(Masked)
}

func tokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}
