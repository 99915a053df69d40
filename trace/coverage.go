package trace

import (
	"bufio"
	"errors"
	"io"
	"regexp"
	"strconv"
)

// maxCoverageLine bounds how much of one log line Coverage looks at.
const maxCoverageLine = 64 << 10

var (
	// linePrefix is the runner's "<timestamp> <stream><O|E>[+] " prefix.
	linePrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z [0-9a-f]{2}[OE]\+? ?`)
	colours    = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	number     = regexp.MustCompile(`\d+(\.\d+)?`)
)

// Coverage finds the code coverage a job log reports with the job's
// coverage: regex, as GitLab does: the last line that matches wins (each
// line as the user sees it: timestamp prefix, colours and carriage returns
// stripped); in it the last match counts, its last capture group if the
// regex has groups; the first number of that text is the coverage.
// found is false when no line matches.
func Coverage(r io.Reader, re *regexp.Regexp) (coverage float64, found bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for {
		frag, isPrefix, err := br.ReadLine()
		if len(line) < maxCoverageLine {
			line = append(line, frag[:min(len(frag), maxCoverageLine-len(line))]...)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, false, err
		}
		if !isPrefix && (len(frag) > 0 || err == nil) {
			if v, ok := lineCoverage(line, re); ok {
				coverage, found = v, true
			}
			line = line[:0]
		}
		if err != nil {
			return coverage, found, nil
		}
	}
}

func lineCoverage(line []byte, re *regexp.Regexp) (float64, bool) {
	line = linePrefix.ReplaceAll(line, nil)
	line = colours.ReplaceAll(line, nil)
	for len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	ms := re.FindAllSubmatch(line, -1)
	if len(ms) == 0 {
		return 0, false
	}
	m := ms[len(ms)-1]
	text := m[0]
	for i := len(m) - 1; i > 0; i-- {
		if len(m[i]) > 0 {
			text = m[i]
			break
		}
	}
	n := number.Find(text)
	if n == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(n), 64)
	return v, err == nil
}
