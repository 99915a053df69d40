package runnerapi

import "testing"

func TestClientIP(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"10.1.2.3:4567", "10.1.2.3"},
		{"[::1]:8080", "::1"},
		{"[2001:db8::7]:443", "2001:db8::7"},
		{"@", "@"}, // a Unix socket peer has no port
	} {
		if got := clientIP(tc.addr); got != tc.want {
			t.Errorf("clientIP(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
