package trace

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// maskWord starts the mask of a secret of at least its length.
const maskWord = "[MASKED]"

// Mask returns the bytes that replace a secret of n bytes: "[MASKED]"
// padded with 'x' to n, or n 'x's when n is shorter than "[MASKED]".
func Mask(n int) []byte {
	m := bytes.Repeat([]byte{'x'}, n)
	if n >= len(maskWord) {
		copy(m, maskWord)
	}
	return m
}

// secretSet is the secrets of one call, ready for matching.
type secretSet struct {
	secrets [][]byte
	masks   [][]byte
	borders [][]int // KMP border table of each secret
	maxLen  int
}

// newSecretSet drops empty and duplicate secrets.
func newSecretSet(secrets []string) *secretSet {
	ss := &secretSet{}
	seen := make(map[string]bool, len(secrets))
	for _, s := range secrets {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		ss.secrets = append(ss.secrets, []byte(s))
		ss.masks = append(ss.masks, Mask(len(s)))
		ss.borders = append(ss.borders, borderTable([]byte(s)))
		ss.maxLen = max(ss.maxLen, len(s))
	}
	return ss
}

// borderTable returns, for each i, the length of the longest proper prefix
// of s[:i+1] that is also its suffix (Knuth–Morris–Pratt).
func borderTable(s []byte) []int {
	b := make([]int, len(s))
	for i, k := 1, 0; i < len(s); i++ {
		for k > 0 && s[i] != s[k] {
			k = b[k-1]
		}
		if s[i] == s[k] {
			k++
		}
		b[i] = k
	}
	return b
}

// tail is what a log holds back after an append: the raw bytes that may
// begin a secret, and the mask bytes already decided for its first
// len(overlay) bytes by secrets that began before it.
type tail struct {
	raw     []byte
	overlay []byte
}

// occurrence is one match of secret i at start.
type occurrence struct{ start, i int }

// step masks the stream held+data. It returns the bytes that are now
// final and the new tail. Unless final, it holds back the longest suffix
// that is a proper prefix of a secret: no secret can start earlier and
// still be completed by later data, so everything before it is final.
//
// Where occurrences overlap, the one that starts first (the longer on a
// tie) decides a byte, which keeps decided bytes decided as data arrives.
func (ss *secretSet) step(held tail, data []byte, final bool) (out []byte, next tail, heldBy int) {
	w := make([]byte, 0, len(held.raw)+len(data))
	w = append(append(w, held.raw...), data...)
	e, heldBy := len(w), -1
	if !final {
		var h int
		h, heldBy = ss.longestOpenPrefix(w)
		e -= h
	}
	next.raw = bytes.Clone(w[e:])
	occ := ss.occurrences(w, e) // in the raw bytes, before masking any
	copy(w, held.overlay)
	hi := len(held.overlay) // bytes before hi are decided
	for _, o := range occ {
		end := o.start + len(ss.secrets[o.i])
		if from := max(o.start, hi); from < end {
			copy(w[from:end], ss.masks[o.i][from-o.start:])
			hi = end
		}
	}
	if hi > e {
		next.overlay = bytes.Clone(w[e:hi])
	}
	return w[:e], next, heldBy
}

// longestOpenPrefix returns the length of the longest suffix of w that is
// a proper prefix of a secret, and which secret (-1 if none).
func (ss *secretSet) longestOpenPrefix(w []byte) (int, int) {
	best, by := 0, -1
	for i, s := range ss.secrets {
		if len(s)-1 <= best {
			continue
		}
		k, b := 0, ss.borders[i]
		for _, c := range w[max(0, len(w)-(len(s)-1)):] {
			for k > 0 && s[k] != c {
				k = b[k-1]
			}
			if s[k] == c {
				k++
			}
			if k == len(s) {
				k = b[k-1]
			}
		}
		if k > best {
			best, by = k, i
		}
	}
	return best, by
}

// occurrences lists every match (overlapping ones too) of every secret
// that starts before limit, by start, longer secrets first.
func (ss *secretSet) occurrences(w []byte, limit int) []occurrence {
	var occ []occurrence
	for i, s := range ss.secrets {
		n := len(s)
		period := n - ss.borders[i][n-1] // smallest shift at which s can match again
		for from := 0; from < limit; {
			j := bytes.Index(w[from:min(len(w), limit-1+n)], s)
			if j < 0 {
				break
			}
			p := from + j
			occ = append(occ, occurrence{p, i})
			// Back-to-back repeats of a periodic secret need only their
			// new bytes compared; this keeps a log of "aaaa…" against
			// the secret "aaaa…" linear.
			for p+period < limit && p+period+n <= len(w) && bytes.Equal(w[p+n:p+n+period], s[n-period:]) {
				p += period
				occ = append(occ, occurrence{p, i})
			}
			from = p + 1
		}
	}
	slices.SortFunc(occ, func(a, b occurrence) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(len(ss.secrets[b.i]), len(ss.secrets[a.i])))
	})
	return occ
}

// The held-back tail is never stored. What is stored instead is an HMAC
// keyed with the whole secret it began, so that a later call that has the
// same secrets can rebuild the tail (after a restart lost it from memory),
// while the database alone tells nothing about the secret: checking a
// guess needs the whole secret, not just its prefix.
func heldMAC(secret []byte, jobID int64, n int) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gantry trace held-back tail\x00"))
	m.Write(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(jobID)), uint64(n)))
	return m.Sum(nil)
}

// rebuild returns the n held-back bytes that mac describes, if one of the
// secrets is the one they began.
func (ss *secretSet) rebuild(mac []byte, jobID int64, n int) ([]byte, bool) {
	for _, s := range ss.secrets {
		if len(s) > n && hmac.Equal(mac, heldMAC(s, jobID, n)) {
			return bytes.Clone(s[:n]), true
		}
	}
	return nil, false
}
