package store_test

import (
	"math"
	"testing"

	"github.com/gantry-ci/gantry/store"
)

func TestPageOffset(t *testing.T) {
	for _, c := range []struct {
		page store.Page
		want int
	}{
		{store.Page{}, 0},
		{store.Page{Number: 1, Size: 20}, 0},
		{store.Page{Number: 3, Size: 4}, 8},
		{store.Page{Number: 3}, 40}, // size 20
		{store.Page{Number: -5, Size: 10}, 0},
		{store.Page{Number: math.MaxInt32, Size: 100}, (math.MaxInt32 - 1) * 100},
		{store.Page{Number: 1 << 62, Size: 4}, math.MaxInt},
		{store.Page{Number: math.MaxInt, Size: 100}, math.MaxInt},
	} {
		if got := c.page.Offset(); got != c.want {
			t.Errorf("%+v.Offset() = %d, want %d", c.page, got, c.want)
		}
	}
}
