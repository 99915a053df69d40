package smarthttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
)

// RefCommand is one ref update a push asks for. Old is all zeros when the
// ref is created, New all zeros when it is deleted.
type RefCommand struct {
	Old, New string
	Ref      string // full name: "refs/heads/main"
}

// Create reports whether the command creates the ref.
func (c RefCommand) Create() bool { return isZeroID(c.Old) }

// Delete reports whether the command deletes the ref.
func (c RefCommand) Delete() bool { return isZeroID(c.New) }

func isZeroID(id string) bool { return strings.Trim(id, "0") == "" }

// RefusedError refuses a whole push, as GitLab's pre-receive checks do.
// git prints Message as "remote: …" lines and, for Ref,
// "! [remote rejected] <ref> (<Reason>)"; the push's other refs are
// rejected with "push declined".
type RefusedError struct {
	Ref     string // full ref name
	Reason  string // short, on git's "remote rejected" line
	Message string // the explanation, GitLab's wording
}

func (e *RefusedError) Error() string { return fmt.Sprintf("push to %s refused: %s", e.Ref, e.Message) }

// Commands is the command list at the start of a receive-pack request.
type Commands struct {
	List         []RefCommand
	Capabilities []string // what the client asked for on its first command
	// Raw holds every byte read, to be replayed to receive-pack.
	Raw []byte
}

// Has reports whether the client asked for capability c.
func (c Commands) Has(capability string) bool {
	for _, have := range c.Capabilities {
		if have == capability {
			return true
		}
	}
	return false
}

// Bounds on what ParseCommands accepts: git's largest packet, and a
// command list far larger than any real push (a mirror of 200,000 refs).
const (
	maxPacket       = 65520
	maxCommandBytes = 32 << 20
)

// ParseCommands reads the command list that starts a receive-pack request
// (pkt-lines: optional "shallow <id>" lines, then "<old> <new> <ref>"
// lines, the first followed by NUL and the client's capabilities, up to a
// flush packet) and nothing more, so that the pack data stays unread in r.
// An empty body is an empty list (git's probe before a large push).
// Malformed input is gantry.ErrInvalid.
func ParseCommands(r *bufio.Reader) (Commands, error) {
	var c Commands
	for {
		payload, flush, err := readPacket(r, &c.Raw)
		if errors.Is(err, io.EOF) {
			if len(c.Raw) == 0 {
				return c, nil
			}
			return Commands{}, fmt.Errorf("%w: push command list ends without a flush packet", gantry.ErrInvalid)
		}
		if err != nil {
			return Commands{}, err
		}
		if flush {
			return c, nil
		}
		if len(c.Raw) > maxCommandBytes {
			return Commands{}, fmt.Errorf("%w: push command list is longer than %d bytes", gantry.ErrInvalid, maxCommandBytes)
		}
		if err := c.add(payload); err != nil {
			return Commands{}, err
		}
	}
}

func (c *Commands) add(payload []byte) error {
	line := strings.TrimSuffix(string(payload), "\n")
	if id, ok := strings.CutPrefix(line, "shallow "); ok && len(c.List) == 0 {
		if !validID(id) {
			return fmt.Errorf("%w: malformed shallow line %q", gantry.ErrInvalid, line)
		}
		return nil
	}
	if strings.HasPrefix(line, "push-cert") {
		return fmt.Errorf("%w: signed pushes are not supported", gantry.ErrInvalid)
	}
	if len(c.List) == 0 {
		var caps string
		line, caps, _ = strings.Cut(line, "\x00")
		if caps = strings.TrimSpace(caps); caps != "" {
			c.Capabilities = strings.Fields(caps)
		}
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) != 3 || !validID(parts[0]) || len(parts[1]) != len(parts[0]) || !validID(parts[1]) ||
		!plausibleRef(parts[2]) {
		return fmt.Errorf("%w: malformed push command %q", gantry.ErrInvalid, truncate(line, 100))
	}
	c.List = append(c.List, RefCommand{Old: parts[0], New: parts[1], Ref: parts[2]})
	return nil
}

// plausibleRef refuses ref names no git would send: empty, or holding
// spaces or control characters (receive-pack checks the rest).
func plausibleRef(ref string) bool {
	return ref != "" && strings.IndexFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f }) < 0
}

// validID accepts a SHA-1 or SHA-256 object name in lower-case hex.
func validID(id string) bool {
	if len(id) != 40 && len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// readPacket reads one pkt-line, appending its bytes to raw. flush
// reports a flush packet ("0000"); other special packets are invalid in a
// command list.
func readPacket(r *bufio.Reader, raw *[]byte) (payload []byte, flush bool, err error) {
	var head [4]byte
	n, err := io.ReadFull(r, head[:])
	*raw = append(*raw, head[:n]...)
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, false, io.EOF
		}
		return nil, false, fmt.Errorf("%w: truncated push command list", gantry.ErrInvalid)
	}
	size, perr := strconv.ParseUint(string(head[:]), 16, 16)
	switch {
	case perr != nil:
		return nil, false, fmt.Errorf("%w: bad pkt-line length %q", gantry.ErrInvalid, head[:])
	case size == 0:
		return nil, true, nil
	case size <= 4 || size > maxPacket:
		return nil, false, fmt.Errorf("%w: bad pkt-line length %d in push command list", gantry.ErrInvalid, size)
	}
	payload = make([]byte, size-4)
	n, err = io.ReadFull(r, payload)
	*raw = append(*raw, payload[:n]...)
	if err != nil {
		return nil, false, fmt.Errorf("%w: truncated push command list", gantry.ErrInvalid)
	}
	return payload, false, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// refusal is the receive-pack answer to a refused push: the message on
// the progress band (git prints it as "remote: …"), then a report with
// "ng" for every command, framed the way the client asked.
func refusal(cmds Commands, e *RefusedError) []byte {
	var report bytes.Buffer
	report.WriteString(pktLine("unpack ok\n"))
	for _, c := range cmds.List {
		reason := "push declined"
		if c.Ref == e.Ref {
			reason = e.Reason
		}
		report.WriteString(pktLine("ng " + c.Ref + " " + reason + "\n"))
	}
	report.WriteString("0000")
	band := 0
	switch {
	case cmds.Has("side-band-64k"):
		band = maxPacket - 5
	case cmds.Has("side-band"):
		band = 1000 - 5
	}
	if band == 0 {
		return report.Bytes()
	}
	var out bytes.Buffer
	msg := "\n" + strings.TrimRight(e.Message, "\n") + "\n\n"
	writeBand(&out, 2, []byte(msg), band)
	writeBand(&out, 1, report.Bytes(), band)
	out.WriteString("0000")
	return out.Bytes()
}

// writeBand writes data to side-band channel ch in packets of at most max
// data bytes.
func writeBand(w *bytes.Buffer, ch byte, data []byte, max int) {
	for len(data) > 0 {
		n := min(len(data), max)
		fmt.Fprintf(w, "%04x", n+5)
		w.WriteByte(ch)
		w.Write(data[:n])
		data = data[n:]
	}
}
