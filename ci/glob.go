package ci

import (
	"regexp"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// fnmatch matches a rules:changes or rules:exists pattern the way GitLab's
// File.fnmatch?(FNM_PATHNAME|FNM_DOTMATCH|FNM_EXTGLOB) does: case
// sensitive, "*" stops at "/", "**/" spans directories, braces expand,
// dot files are not special.
func fnmatch(pattern, path string) bool {
	ok, err := doublestar.Match(pattern, path)
	return err == nil && ok
}

// includeGlob compiles an include:local wildcard. GitLab documents that
// "configs/**.yml" matches .yml files in configs and every subfolder,
// "configs/**/*.yml" only those in subfolders and "configs/*.yml" only
// those in configs itself: "**" is "any characters including /".
func includeGlob(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch ch := pattern[i]; ch {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				b.WriteString(".*")
				i++
				continue
			}
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '{':
			end := strings.IndexByte(pattern[i:], '}')
			if end < 0 {
				b.WriteString(`\{`)
				continue
			}
			alts := strings.Split(pattern[i+1:i+end], ",")
			for j, a := range alts {
				alts[j] = regexp.QuoteMeta(a)
			}
			b.WriteString("(?:" + strings.Join(alts, "|") + ")")
			i += end
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := pattern[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[{") }
