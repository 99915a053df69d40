package e2e

import (
	"regexp"
	"sort"
	"strings"

	"github.com/gantry-ci/gantry/internal/corpus"
)

// Reading job logs and the tool's output lines: what a GitLab job log and a
// gitlab-ci-local stdout line say, normalised for comparison.

// scriptLog is what a job printed in its script sections (step_script and
// after_script), read from the stored log: timestamps, stream markers,
// ANSI colours and section markers stripped. Echoed commands are kept
// apart, as GitLab shows them ("$ cmd").
type scriptLog struct {
	lines []logLine
	text  string // the whole log without colours, for runner messages
}

type logLine struct {
	text string
	echo bool // an echoed command; text is the command
}

var (
	traceRecord  = regexp.MustCompile(`^\S+ ([0-9a-f]{2})([OE])(\+?)(.*)$`)
	sectionMark  = regexp.MustCompile(`section_(start|end):\d+:([A-Za-z0-9_.-]+)`)
	ansi         = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	greenPrefix  = "\x1b[32;1m"
	echoPrefix   = greenPrefix + "$ "
	scriptStages = regexp.MustCompile(`^(step_[a-z_]+|after_script)$`)
)

func parseScriptLog(raw []byte) scriptLog {
	var l scriptLog
	section := ""
	var text strings.Builder
	for _, rec := range strings.Split(string(raw), "\n") {
		m := traceRecord.FindStringSubmatch(rec)
		if m == nil {
			continue
		}
		content := strings.TrimRight(m[4], "\r")
		if m[3] == "" {
			content = strings.TrimPrefix(content, " ") // "<time> 01O <text>"; "01O+" continues a line
		}
		text.WriteString(ansi.ReplaceAllString(content, "") + "\n")
		for _, s := range sectionMark.FindAllStringSubmatch(content, -1) {
			if s[1] == "start" {
				section = s[2]
			} else {
				section = ""
			}
		}
		if m[1] == "00" || !scriptStages.MatchString(section) {
			continue
		}
		if m[3] == "+" && len(l.lines) > 0 {
			l.lines[len(l.lines)-1].text += ansi.ReplaceAllString(content, "")
			continue
		}
		switch {
		case strings.HasPrefix(content, echoPrefix):
			l.lines = append(l.lines, logLine{text: ansi.ReplaceAllString(strings.TrimPrefix(content, echoPrefix), ""), echo: true})
		case strings.HasPrefix(content, greenPrefix):
			// the runner's own words inside a script ("Running after script...")
		default:
			l.lines = append(l.lines, logLine{text: ansi.ReplaceAllString(content, "")})
		}
	}
	l.text = text.String()
	return l
}

// output is the job's printed lines without echoed commands.
func (l scriptLog) output() []string {
	var out []string
	for _, ln := range l.lines {
		if !ln.echo {
			out = append(out, strings.TrimRight(ln.text, " \t"))
		}
	}
	return out
}

// all is every script line, echoed commands as "$ cmd".
func (l scriptLog) all() []string {
	var out []string
	for _, ln := range l.lines {
		if ln.echo {
			out = append(out, "$ "+ln.text)
		} else {
			out = append(out, strings.TrimRight(ln.text, " \t"))
		}
	}
	return out
}

var parallelSuffix = regexp.MustCompile(`( \d+/\d+|: \[.*\])$`)

func baseName(name string) string { return parallelSuffix.ReplaceAllString(name, "") }

// toolNames are the names gitlab-ci-local prints jobs by, longest first:
// GitLab's job names mapped back through gitlab_job_names, and every name
// the test mentions.
func (r *corpusRun) toolNames(exp *corpus.Expect) []string {
	seen := map[string]bool{}
	back := map[string]string{}
	for tool, g := range r.t.GitlabJobNames {
		back[g] = tool
		seen[tool] = true
	}
	for name := range r.jobs {
		if tool, ok := back[name]; ok {
			seen[tool] = true
		} else {
			seen[name] = true
		}
	}
	for _, s := range r.t.Jobs {
		seen[s] = true
	}
	for _, m := range []map[string][]string{exp.JobOutput, exp.JobOutputAbsent, exp.JobOutputExact} {
		for k := range m {
			seen[k] = true
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// toolLine splits "<job padded> > text" (output) or "<job> $ cmd" (an
// echoed command); ok is false for the tool's own messages.
func (r *corpusRun) toolLine(names []string, line string) (job string, echo bool, text string, ok bool) {
	for _, n := range names {
		rest, found := strings.CutPrefix(line, n)
		if !found || !strings.HasPrefix(rest, " ") {
			continue
		}
		rest = strings.TrimLeft(rest, " ")
		switch {
		case rest == ">":
			return n, false, "", true
		case strings.HasPrefix(rest, "> "):
			return n, false, rest[2:], true
		case strings.HasPrefix(rest, "$ "):
			return n, true, rest[2:], true
		}
	}
	return "", false, "", false
}
