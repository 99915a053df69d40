package gantry

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// durationUnits maps GitLab's duration words to their length.
var durationUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "wk": 7 * 24 * time.Hour, "wks": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
	"mo": 30 * 24 * time.Hour, "mos": 30 * 24 * time.Hour, "month": 30 * 24 * time.Hour, "months": 30 * 24 * time.Hour,
	"y": 365 * 24 * time.Hour, "yr": 365 * 24 * time.Hour, "yrs": 365 * 24 * time.Hour, "year": 365 * 24 * time.Hour, "years": 365 * 24 * time.Hour,
}

// ParseDuration reads GitLab's human durations as the YAML keywords
// timeout, start_in and expire_in take them: "3600" (seconds), "1h 30m",
// "2 hours", "1 day and 2 hrs", "1w". "never" is an error here; callers
// that allow it check first.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.Atoi(in); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	in = strings.NewReplacer(",", " ", " and ", " ").Replace(in)
	var total time.Duration
	rest, found := strings.TrimSpace(in), false
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		num, err := strconv.ParseFloat(rest[:i], 64)
		if i == 0 || err != nil {
			return 0, fmt.Errorf("%w: %q is not a duration", ErrInvalid, s)
		}
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && rest[j] >= 'a' && rest[j] <= 'z' {
			j++
		}
		unit, ok := durationUnits[rest[:j]]
		if j == 0 {
			unit, ok = time.Second, true
		}
		if !ok {
			return 0, fmt.Errorf("%w: %q is not a duration", ErrInvalid, s)
		}
		total += time.Duration(num * float64(unit))
		rest, found = strings.TrimLeft(rest[j:], " "), true
	}
	if !found {
		return 0, fmt.Errorf("%w: %q is not a duration", ErrInvalid, s)
	}
	return total, nil
}
