package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

// maxBody bounds JSON and form bodies of API requests.
const maxBody = 1 << 20

// params are a request's parameters from the query string, a form body and
// a JSON body, merged (body wins). Clients send numbers and booleans as
// strings (python-gitlab sends namespace_id "1"); the accessors coerce them
// as GitLab's Grape does.
type params struct {
	values map[string]any
	err    error
}

// globalParams are accepted on every request without being declared.
var globalParams = []string{"private_token", "access_token", "job_token", "page", "per_page", "pagination", "order_by", "sort"}

func readParams(r *http.Request) (*params, error) {
	p := &params{values: map[string]any{}}
	addValues(p.values, r.URL.Query())
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %v", gantry.ErrInvalid, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: request body is larger than %d bytes", gantry.ErrInvalid, maxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("%w: malformed form body", gantry.ErrInvalid)
		}
		addValues(p.values, form)
	default: // JSON, which is also what clients send without a type
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("%w: malformed JSON: %v", gantry.ErrInvalid, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w: malformed JSON: trailing data", gantry.ErrInvalid)
		}
		for k, v := range obj {
			p.values[k] = v
		}
	}
	return p, nil
}

func addValues(dst map[string]any, v url.Values) {
	for k, vs := range v {
		if name, ok := strings.CutSuffix(k, "[]"); ok {
			list := make([]any, len(vs))
			for i, s := range vs {
				list[i] = s
			}
			dst[name] = list
			continue
		}
		dst[k] = vs[len(vs)-1]
	}
}

// only refuses parameters other than allowed (and the global ones), so
// that a typo is an error rather than silently ignored.
func (p *params) only(allowed ...string) error {
	ok := map[string]bool{}
	for _, a := range append(allowed, globalParams...) {
		ok[a] = true
	}
	var unknown []string
	for k := range p.values {
		if !ok[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%w: unknown parameter(s): %s", gantry.ErrInvalid, strings.Join(unknown, ", "))
	}
	return nil
}

func (p *params) has(key string) bool { _, ok := p.values[key]; return ok }

// fail records the first bad parameter; check reports it.
func (p *params) fail(key string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s is invalid", gantry.ErrInvalid, key)
	}
}

// check returns the first bad parameter, or an unknown one if allowed is
// not nil (then only those and the global parameters may appear).
func (p *params) check(allowed ...string) error {
	if p.err != nil {
		return p.err
	}
	if allowed == nil {
		return nil
	}
	return p.only(allowed...)
}

// str returns a string parameter (nil if absent); numbers and booleans
// are formatted.
func (p *params) str(key string) *string {
	v, ok := p.values[key]
	if !ok || v == nil {
		return nil
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	case bool:
		s = strconv.FormatBool(t)
	default:
		p.fail(key)
		return nil
	}
	return &s
}

// strOr returns a string parameter or def.
func (p *params) strOr(key, def string) string {
	if s := p.str(key); s != nil {
		return *s
	}
	return def
}

func (p *params) int(key string) *int64 {
	s := p.str(key)
	if s == nil {
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(*s), 10, 64)
	if err != nil {
		p.fail(key)
		return nil
	}
	return &n
}

func (p *params) intOr(key string, def int64) int64 {
	if n := p.int(key); n != nil {
		return *n
	}
	return def
}

func (p *params) boolean(key string) *bool {
	s := p.str(key)
	if s == nil {
		return nil
	}
	var b bool
	switch strings.ToLower(strings.TrimSpace(*s)) {
	case "true", "1", "yes", "t", "on":
		b = true
	case "false", "0", "no", "f", "off", "":
	default:
		p.fail(key)
		return nil
	}
	return &b
}

func (p *params) boolOr(key string, def bool) bool {
	if b := p.boolean(key); b != nil {
		return *b
	}
	return def
}

// list returns an array parameter, given as a JSON array, repeated key[]
// or a comma-separated string.
func (p *params) list(key string) []string {
	v, ok := p.values[key]
	if !ok || v == nil {
		return nil
	}
	if arr, isArr := v.([]any); isArr {
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			switch t := e.(type) {
			case string:
				out = append(out, t)
			case json.Number:
				out = append(out, t.String())
			default:
				p.fail(key)
				return nil
			}
		}
		return out
	}
	s := p.str(key)
	if s == nil {
		return nil
	}
	out := []string{}
	for _, part := range strings.Split(*s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// date parses "2006-01-02" or an RFC 3339 time; absent or empty is zero.
func (p *params) date(key string) time.Time {
	s := p.str(key)
	if s == nil || *s == "" {
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, *s); err == nil {
			return t
		}
	}
	p.fail(key)
	return time.Time{}
}
