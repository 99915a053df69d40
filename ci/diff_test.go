package ci_test

import "github.com/google/go-cmp/cmp"

func lineDiff(want, got string) string { return cmp.Diff(want, got) }
