package ci

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad exercises the YAML loader alone: parsing, anchors and aliases,
// merge keys, duplicate keys, tags and the size and depth limits.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"a: 1\n", "a: &x {b: 1}\nc: *x\n", "<<: [{a: 1}, {b: 2}]\n", "a: 1\na: 2\n",
		"x: !reference [a, b]\n", "spec: {inputs: {}}\n---\na: b\n", "a: [[[[]]]]\n",
		"a: &a [*a]\n", "? [complex]\n: key\n", "a: !custom x\n", "a: yes\nb: off\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l := &loader{maxDepth: 100, budget: 100_000}
		doc, err := l.load("fuzz.yml", src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		if doc.body == nil {
			return
		}
		// The merged-YAML emitter must write what the loader reads back.
		wrapped := &node{kind: mapNode, pairs: []pair{{key: "x", val: doc.body}}}
		var b strings.Builder
		emit(&b, wrapped, 0, false)
		back, err := (&loader{maxDepth: 200, budget: 1_000_000}).load("back.yml", []byte(b.String()))
		if err != nil {
			t.Fatalf("emitted YAML does not load: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(wrapped.toAny(), back.body.toAny()) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v\n%s", wrapped.toAny(), back.body.toAny(), b.String())
		}
	})
}
