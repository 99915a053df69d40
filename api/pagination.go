package api

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/store"
)

// Pagination bounds: per_page's as GitLab's; maxPage keeps page numbers,
// offsets and the X-Next-Page arithmetic far from overflowing.
const (
	defaultPerPage = 20
	maxPerPage     = 100
	maxPage        = math.MaxInt32
)

// page reads page and per_page: defaults 1 and 20, per_page capped at 100,
// page at maxPage (a page that far is empty anyway).
func (c *call) page() store.Page {
	pg := store.Page{Number: int(min(c.params.intOr("page", 1), maxPage)), Size: int(c.params.intOr("per_page", defaultPerPage))}
	if pg.Number < 1 {
		pg.Number = 1
	}
	if pg.Size < 1 {
		pg.Size = defaultPerPage
	}
	if pg.Size > maxPerPage {
		pg.Size = maxPerPage
	}
	return pg
}

// writePage writes one page of a listing with GitLab's pagination headers
// (X-Total, X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page)
// and a Link header built from the external URL.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, pg store.Page, total int, items any) {
	pages := (total + pg.Size - 1) / pg.Size
	if pages == 0 {
		pages = 1
	}
	h := w.Header()
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Page", strconv.Itoa(pg.Number))
	h.Set("X-Per-Page", strconv.Itoa(pg.Size))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	var links []string
	link := func(n int, rel string) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(pg.Size))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		links = append(links, fmt.Sprintf("<%s>; rel=%q", s.url(u.RequestURI()), rel))
	}
	if pg.Number > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(pg.Number-1))
		link(pg.Number-1, "prev")
	}
	if pg.Number < pages {
		h.Set("X-Next-Page", strconv.Itoa(pg.Number+1))
		link(pg.Number+1, "next")
	}
	link(1, "first")
	link(pages, "last")
	h.Set("Link", strings.Join(links, ", "))
	if items == nil {
		items = []struct{}{}
	}
	writeJSON(w, http.StatusOK, items)
}

// pageOf returns the items of page pg of a listing held in memory.
func pageOf[T any](all []T, pg store.Page) []T {
	from := min(pg.Offset(), len(all))
	return all[from : from+min(max(pg.Size, 0), len(all)-from)]
}
