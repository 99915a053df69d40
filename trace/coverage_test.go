package trace_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/trace"
)

func TestCoverage(t *testing.T) {
	const ts = "2026-01-02T03:04:05.123456Z 01O "
	for _, tc := range []struct {
		name, re, log string
		want          float64
		found         bool
	}{
		{"last matching line wins", `^\s*Lines:\s*(\d+.\d+)\%`,
			ts + "  Lines:   48.46% (510/650)\n" + ts + "  Lines:   78.46% (510/650)\n" + ts + "done\n", 78.46, true},
		{"capture group picks the number", `All files.*?\|.*?\|.*?([\d\.]+)`,
			ts + "All files            |    99.3 |    97.91 |     100 |\n", 97.91, true},
		{"inline flags, anchored at the end", `(?i)total.*? (100(?:\.0+)?\%|[1-9]?\d(?:\.\d+)?\%)$`,
			ts + "TOTAL                        18      0   100%\n", 100, true},
		{"no group: first number of the match", `Coverage: \d+\.\d+%`,
			"\x1b[32;1mCoverage: 12.5%\x1b[0;m of 3 files\n", 12.5, true},
		{"colours and carriage returns stripped", `^cov (\d+)%$`,
			ts + "\x1b[0Kcov 42%\r\n", 42, true},
		{"no match", `Lines: (\d+)%`, ts + "nothing here\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := trace.Coverage(strings.NewReader(tc.log), regexp.MustCompile(tc.re))
			if err != nil || got != tc.want || found != tc.found {
				t.Errorf("Coverage = %v, %v, %v; want %v, %v", got, found, err, tc.want, tc.found)
			}
		})
	}
}
