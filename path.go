package gantry

import (
	"fmt"
	"strings"
)

// MaxPathLength bounds one path segment (a group, user or project path).
const MaxPathLength = 255

// MaxPathDepth bounds how deep groups nest (GitLab allows 20 levels).
const MaxPathDepth = 21

// ValidatePathSegment checks one segment of a namespace or project path by
// GitLab's rules: letters, digits, '_', '-' and '.'; it must start with a
// letter, digit or '_', and must not end in ".git" or ".atom". Anything
// that could walk the filesystem ("..", "/", "%2e") fails.
func ValidatePathSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("%w: path can't be blank", ErrInvalid)
	case len(seg) > MaxPathLength:
		return fmt.Errorf("%w: path is too long (maximum is %d characters)", ErrInvalid, MaxPathLength)
	case strings.HasSuffix(strings.ToLower(seg), ".git"), strings.HasSuffix(strings.ToLower(seg), ".atom"):
		return fmt.Errorf("%w: path %q can't end in .git or .atom", ErrInvalid, seg)
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		if i == 0 && !alnum {
			return fmt.Errorf("%w: path %q must start with a letter, digit or '_'", ErrInvalid, seg)
		}
		if !alnum && c != '-' && c != '.' {
			return fmt.Errorf("%w: path %q can contain only letters, digits, '_', '-' and '.'", ErrInvalid, seg)
		}
	}
	return nil
}

// SplitPath validates a full path ("group/sub/project") and returns its
// segments.
func SplitPath(full string) ([]string, error) {
	if full == "" {
		return nil, fmt.Errorf("%w: path can't be blank", ErrInvalid)
	}
	segs := strings.Split(full, "/")
	if len(segs) > MaxPathDepth {
		return nil, fmt.Errorf("%w: path %q nests deeper than %d levels", ErrInvalid, full, MaxPathDepth)
	}
	for _, s := range segs {
		if err := ValidatePathSegment(s); err != nil {
			return nil, err
		}
	}
	return segs, nil
}
