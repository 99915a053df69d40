package gantry_test

import (
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"3600": time.Hour, "1h 30m": 90 * time.Minute, "2 hours": 2 * time.Hour, "30 minutes": 30 * time.Minute,
		"1 day and 2 hrs": 26 * time.Hour, "1w": 7 * 24 * time.Hour, "10s": 10 * time.Second, "1.5h": 90 * time.Minute,
		"1 hour, 2 minutes": 62 * time.Minute, "3 mins": 3 * time.Minute,
	}
	for in, want := range good {
		if got, err := gantry.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "never", "soon", "1 fortnight", "h", "-5m"} {
		if _, err := gantry.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}
