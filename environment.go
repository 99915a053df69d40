package gantry

import (
	"regexp"
	"time"
)

// Environment is a project's deployment target, created by the first job
// that names it (environment: name), as in GitLab.
type Environment struct {
	ID          int64
	ProjectID   int64
	Name        string
	Slug        string // CI_ENVIRONMENT_SLUG
	ExternalURL string
	Tier        string // production, staging, testing, development or other
	State       string // available or stopped
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Environment tiers GitLab guesses from a name when deployment_tier is not
// set, most specific first.
var tierGuesses = []struct {
	tier string
	re   *regexp.Regexp
}{
	{"development", regexp.MustCompile(`(?i)(dev|review|trunk)`)},
	{"testing", regexp.MustCompile(`(?i)(test|tst|int|ac(ce|)pt|qa|qc|control|quality)`)},
	{"staging", regexp.MustCompile(`(?i)(st(a|)g|mod(e|)l|pre|demo|non)`)},
	{"production", regexp.MustCompile(`(?i)(pr(o|)d|live)`)},
}

// GuessTier is the tier GitLab gives an environment from its name when the
// job sets no deployment_tier.
func GuessTier(name string) string {
	for _, g := range tierGuesses {
		if g.re.MatchString(name) {
			return g.tier
		}
	}
	return "other"
}
