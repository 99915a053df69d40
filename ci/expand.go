package ci

import "strings"

// scope is a set of variables visible at one point of the compilation
// (include:, workflow:rules, a job's rules): layers, highest priority
// first, so that a job's scope shares the pipeline-wide maps instead of
// copying them. Lookups expand values recursively the way GitLab does for
// the keywords it expands itself; unknown references stay as written.
type scope struct {
	layers []map[string]Variable
}

// newScope builds a scope from variable lists, lowest priority first.
func newScope(lists ...[]Variable) *scope {
	return &scope{layers: []map[string]Variable{layer(lists...)}}
}

// layer merges variable lists, later ones overriding earlier ones.
func layer(lists ...[]Variable) map[string]Variable {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	m := make(map[string]Variable, n)
	for _, l := range lists {
		for _, v := range l {
			m[v.Key] = v
		}
	}
	return m
}

// stack builds a scope from layers, highest priority first.
func stack(layers ...map[string]Variable) *scope {
	return &scope{layers: layers}
}

func (s *scope) get(name string) (Variable, bool) {
	for _, l := range s.layers {
		if v, ok := l[name]; ok {
			return v, true
		}
	}
	return Variable{}, false
}

// maxExpandDepth bounds recursive expansion (A=$B, B=$A stays finite).
const maxExpandDepth = 10

// lookup returns the expanded value of name.
func (s *scope) lookup(name string) (string, bool) {
	return s.lookupDepth(name, 0)
}

func (s *scope) lookupDepth(name string, depth int) (string, bool) {
	v, ok := s.get(name)
	if !ok {
		return "", false
	}
	if v.Raw || depth >= maxExpandDepth || !strings.ContainsAny(v.Value, "$%") {
		return v.Value, true
	}
	return s.expandDepth(v.Value, depth+1), true
}

// expand replaces $VAR, ${VAR} and %VAR% with their values, keeping
// references to unknown variables and "$$" as they are.
func (s *scope) expand(text string) string {
	return s.expandDepth(text, 0)
}

func (s *scope) expandDepth(text string, depth int) string {
	if !strings.ContainsAny(text, "$%") {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		name, width := varRef(text[i:])
		if width == 0 {
			b.WriteByte(text[i])
			i++
			continue
		}
		if name == "" { // "$$"
			b.WriteString(text[i : i+width])
		} else if v, ok := s.lookupDepth(name, depth); ok {
			b.WriteString(v)
		} else {
			b.WriteString(text[i : i+width])
		}
		i += width
	}
	return b.String()
}

// varRef recognises a variable reference at the start of s: $NAME,
// ${NAME} or %NAME%. It returns the name and the reference's length, or
// ("", 2) for "$$" and ("", 0) for no reference.
func varRef(s string) (string, int) {
	if len(s) < 2 {
		return "", 0
	}
	switch s[0] {
	case '$':
		switch {
		case s[1] == '$':
			return "", 2
		case s[1] == '{':
			n := nameLen(s[2:])
			if n > 0 && 2+n < len(s) && s[2+n] == '}' {
				return s[2 : 2+n], n + 3
			}
		default:
			if n := nameLen(s[1:]); n > 0 {
				return s[1 : 1+n], n + 1
			}
		}
	case '%':
		n := nameLen(s[1:])
		if n > 0 && 1+n < len(s) && s[1+n] == '%' {
			return s[1 : 1+n], n + 2
		}
	}
	return "", 0
}

func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return i
		}
	}
	return len(s)
}
