package e2e

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/internal/corpus"
)

// checker accumulates the outcome of a test's assertions.
type checker struct {
	checked int
	failed  []string
}

func (c *checker) expect(ok bool, format string, args ...any) {
	c.checked++
	if !ok {
		c.failed = append(c.failed, fmt.Sprintf(format, args...))
	}
}

// check evaluates the expectations that map to GitLab; it returns how many
// it checked and which failed. Tool-only output (gitlab-ci-local's own
// messages, its end-of-run summary) is not compared (DEVIATIONS.md §2).
// Negative expectations and no_job_failed apply to the selected jobs only.
func (r *corpusRun) check(exp *corpus.Expect) (int, []string) {
	c := &checker{}
	for job, lines := range exp.JobOutput {
		for _, want := range lines {
			r.expectLine(c, job, want, true)
		}
	}
	for job, lines := range exp.JobOutputAbsent {
		if r.selected(r.glName(job)) {
			for _, want := range lines {
				r.expectLine(c, job, want, false)
			}
		}
	}
	for job, res := range exp.JobOutputMatches {
		for _, re := range res {
			r.expectMatch(c, job, re)
		}
	}
	for job, want := range exp.JobOutputExact {
		got := r.logs[r.glName(job)].output()
		c.expect(equalLines(got, want), "%s printed %q, want exactly %q", job, got, want)
	}
	r.checkToolLines(c, exp.OutputContains, true)
	r.checkToolLines(c, exp.StderrContains, true)
	r.checkToolLines(c, exp.OutputAbsent, false)
	r.checkSequence(c, exp.OutputContainsSequence)
	r.checkTexts(c, exp)
	r.checkStatuses(c, exp)
	r.checkEnvironments(c, exp)
	r.checkFiles(c, exp.FilesExist, true)
	r.checkFiles(c, exp.FilesAbsent, false)
	return c.checked, c.failed
}

func equalLines(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != strings.TrimRight(want[i], " \t") {
			return false
		}
	}
	return true
}

// expectMatch checks that a line of job's output matches re, where
// {{BUILDS_DIR}} is the runner's builds folder and {{PROJECT_PATH}} the
// project's path.
func (r *corpusRun) expectMatch(c *checker, job, re string) {
	re = strings.NewReplacer("{{BUILDS_DIR}}", regexp.QuoteMeta(filepath.Join(r.env.runner.workDir, "builds")),
		"{{PROJECT_PATH}}", regexp.QuoteMeta(r.project.PathWithNamespace)).Replace(re)
	rx, err := regexp.Compile(re)
	if err != nil {
		c.expect(false, "bad job_output_matches %q: %v", re, err)
		return
	}
	name := r.glName(job)
	found := false
	for _, l := range r.logs[name].output() {
		found = found || rx.MatchString(l)
	}
	c.expect(found, "%s printed no line matching %s: %q", name, re, r.logs[name].output())
}

// expectLine checks that job printed (or did not print) the line want.
func (r *corpusRun) expectLine(c *checker, job, want string, present bool) {
	name := r.glName(job)
	want = strings.TrimRight(want, " \t")
	found := false
	for _, l := range r.logs[name].output() {
		found = found || l == want
	}
	if present {
		c.expect(found, "%s did not print %q (%s)", name, want, r.jobState(name))
	} else {
		c.expect(!found, "%s printed %q", name, want)
	}
}

// jobState says how a job ended, for failure messages.
func (r *corpusRun) jobState(name string) string {
	j := r.jobs[name]
	if j == nil {
		return "no such job in the pipeline"
	}
	if j.FailureReason != "" {
		return j.Status + ", " + j.FailureReason
	}
	return j.Status
}

// selected reports whether the test's job selection includes a job (by
// name, or by base name for parallel and matrix jobs). Without selection
// every job is selected.
func (r *corpusRun) selected(name string) bool {
	if len(r.t.Jobs) == 0 {
		return true
	}
	for _, s := range r.t.Jobs {
		if name == s || name == r.glName(s) || baseName(name) == s {
			return true
		}
	}
	return false
}

// checkToolLines checks stdout lines that are job lines against the job
// logs; lines of the tool's own are skipped.
func (r *corpusRun) checkToolLines(c *checker, lines []string, present bool) {
	names := r.toolNames(&r.t.Expect)
	for _, line := range lines {
		if r.checkMessage(c, names, line, present) {
			continue
		}
		job, echo, text, ok := r.toolLine(names, line)
		if !ok {
			continue
		}
		name := r.glName(job)
		if !present && !r.selected(name) {
			continue
		}
		if echo {
			found := contains(r.logs[name].all(), strings.TrimRight("$ "+text, " \t"))
			c.expect(found == present, "%s: echoed command %q present=%v, want %v", name, text, found, present)
			continue
		}
		r.expectLine(c, job, text, present)
	}
}

// checkMessage maps the tool's messages that have a GitLab equivalent:
// "<job> !! no artifacts was copied !!" is the runner's "no matching
// files" warning in that job's log, and runner warnings ("WARNING: …")
// appear in some job's log. It reports whether line was such a message.
func (r *corpusRun) checkMessage(c *checker, names []string, line string, present bool) bool {
	if strings.HasPrefix(line, "WARNING: ") {
		found := false
		for _, l := range r.logs {
			found = found || strings.Contains(l.text, line)
		}
		c.expect(found == present, "runner message %q present=%v, want %v", line, found, present)
		return true
	}
	for _, n := range names {
		if rest, ok := strings.CutPrefix(line, n); ok && strings.TrimSpace(rest) == "!! no artifacts was copied !!" {
			name := r.glName(n)
			found := strings.Contains(r.logs[name].text, "no matching files")
			c.expect(found == present, "%s: runner warning about no matching artifact files present=%v, want %v", name, found, present)
			return true
		}
	}
	return false
}

// checkSequence: consecutive stdout lines of one job, commands and output.
func (r *corpusRun) checkSequence(c *checker, seq []string) {
	if len(seq) == 0 {
		return
	}
	names := r.toolNames(&r.t.Expect)
	var want []string
	job := ""
	for _, line := range seq {
		j, echo, text, ok := r.toolLine(names, line)
		if !ok {
			return // not all job lines: tool output
		}
		job = j
		if echo {
			text = "$ " + text
		}
		want = append(want, strings.TrimRight(text, " \t"))
	}
	got := r.logs[r.glName(job)].all()
	found := false
	for i := 0; i+len(want) <= len(got) && !found; i++ {
		found = equalLines(got[i:i+len(want)], want)
	}
	c.expect(found, "%s lacks the lines %q in sequence; it printed %q", r.glName(job), want, got)
}

// toolMessage matches gitlab-ci-local's own messages (DEVIATIONS.md §2).
var toolMessage = regexp.MustCompile(`^ (PASS|FAIL|WARN) |cache created in|artifact files and directories|exported artifacts|was empty|no artifacts was copied|Could not find exposed tcp ports|^pulled |environment: \{|% coverage|key not supported|could not be found|duplicated mapping key`)

// cacheCreated is the tool's "cache created in '…/0_<prefix>-<hash>'"
// for cache:key:files with a prefix; GitLab names such caches
// "<prefix>-<hash>" (DEVIATIONS.md §8: compare the prefix, not the hash).
var cacheCreated = regexp.MustCompile(`cache created in '.*/cache/\d+_([^'/]+)-[0-9a-f]{40}'`)

// checkTexts handles substrings and counts of the whole stdout: a text
// naming a job means the job ran; other texts are looked up in the logs.
func (r *corpusRun) checkTexts(c *checker, exp *corpus.Expect) {
	for _, text := range exp.OutputContainsText {
		if m := cacheCreated.FindStringSubmatch(text); m != nil {
			c.expect(r.cacheKeyWithPrefix(m[1]+"-"), "no job used a cache key starting with %q", m[1]+"-")
			continue
		}
		if toolMessage.MatchString(text) {
			continue
		}
		if job := r.jobNamed(text); job != "" {
			j := r.jobs[job]
			c.expect(j != nil && j.StartedAt != nil, "job %s did not run (%s)", job, r.jobState(job))
			continue
		}
		c.expect(r.countLines(text, false) > 0, "no job printed %q", text)
	}
	for _, text := range exp.StderrContainsText {
		if !toolMessage.MatchString(text) {
			c.expect(r.countLines(text, false) > 0, "no job printed %q", text)
		}
	}
	for _, text := range exp.OutputAbsentText {
		c.expect(r.countLines(text, true) == 0, "a selected job printed %q", text)
	}
	for _, oc := range exp.OutputCount {
		if toolMessage.MatchString(oc.Pattern) || strings.TrimSpace(oc.Pattern) == "PASS" {
			continue
		}
		n := r.countLines(oc.Pattern, !r.t.Needs) // with needs the selected jobs' dependencies run too
		c.expect(n == oc.Count, "%d lines (commands and output) contain %q, want %d", n, oc.Pattern, oc.Count)
	}
}

// jobNamed finds a pipeline job whose name (or tool name) contains text.
func (r *corpusRun) jobNamed(text string) string {
	for name := range r.jobs {
		if strings.Contains(name, text) {
			return name
		}
	}
	for tool, g := range r.t.GitlabJobNames {
		if strings.Contains(tool, text) {
			return g
		}
	}
	return ""
}

// countLines counts script lines (commands and output) containing text,
// in the selected jobs or in all jobs.
func (r *corpusRun) countLines(text string, selectedOnly bool) int {
	n := 0
	for name, l := range r.logs {
		if selectedOnly && !r.selected(name) {
			continue
		}
		for _, line := range l.all() {
			if strings.Contains(line, text) {
				n++
			}
		}
	}
	return n
}

// checkStatuses: job_status, no_job_failed and coverage.
func (r *corpusRun) checkStatuses(c *checker, exp *corpus.Expect) {
	for job, want := range exp.JobStatus {
		r.checkStatus(c, r.glName(job), want)
	}
	if exp.NoJobFailed {
		var failed []string
		for name, j := range r.jobs {
			if r.selected(name) && j.Status == "failed" && !j.AllowFailure {
				failed = append(failed, name+" ("+j.FailureReason+")")
			}
		}
		sort.Strings(failed)
		c.expect(len(failed) == 0, "jobs failed: %s", strings.Join(failed, ", "))
	}
	for job, want := range exp.Coverage {
		name := r.glName(job)
		w, _ := strconv.ParseFloat(want, 64)
		j := r.jobs[name]
		got := -1.0
		if j != nil {
			got = j.Coverage
		}
		c.expect(j != nil && got > w-0.005 && got < w+0.005, "%s coverage %v, want %s", name, got, want)
	}
}

// checkStatus checks one job_status value: success, failed (not
// allowed), failed_allowed, after_script_failed (the job's after_script
// failed; alone it also means the job succeeded), "not success", or
// several joined by "; ".
func (r *corpusRun) checkStatus(c *checker, name, want string) {
	j := r.jobs[name]
	parts := strings.Split(want, "; ")
	for _, part := range parts {
		if part == "not success" {
			if r.selected(name) {
				c.expect(j == nil || j.Status != "success", "%s succeeded, want not success", name)
			}
			continue
		}
		if j == nil {
			c.expect(false, "%s is not in the pipeline, want %s", name, want)
			return
		}
		switch part {
		case "success":
			c.expect(j.Status == "success", "%s is %s, want success", name, r.jobState(name))
		case "failed":
			c.expect(j.Status == "failed" && !j.AllowFailure, "%s is %s (allow_failure %v), want failed", name, r.jobState(name), j.AllowFailure)
		case "failed_allowed":
			c.expect(j.Status == "failed" && j.AllowFailure, "%s is %s (allow_failure %v), want failed with allow_failure", name, r.jobState(name), j.AllowFailure)
		case "after_script_failed":
			c.expect(strings.Contains(r.logs[name].text, "after_script failed"), "%s: after_script did not fail", name)
			if len(parts) == 1 {
				c.expect(j.Status == "success", "%s is %s, want success", name, r.jobState(name))
			}
		default:
			c.expect(false, "%s: unknown job_status %q", name, part)
		}
	}
}

// checkEnvironments: the jobs' expanded environments exist in the project
// (GET /projects/:id/environments), with their URL.
func (r *corpusRun) checkEnvironments(c *checker, exp *corpus.Expect) {
	for job, want := range exp.Environments {
		envs, _, err := r.env.srv.api.Environments.ListEnvironments(r.project.ID, &gl.ListEnvironmentsOptions{Name: gl.Ptr(want.Name)})
		if err != nil || len(envs) != 1 {
			c.expect(false, "environment %q of %s: %d found, %v", want.Name, r.glName(job), len(envs), err)
			continue
		}
		c.expect(want.URL == "" || envs[0].ExternalURL == want.URL, "environment %q has URL %q, want %q", want.Name, envs[0].ExternalURL, want.URL)
	}
}

// checkFiles looks into artifacts (through the API) and caches (the
// runner's cache folder); workspace and tool-state files are the tool's.
func (r *corpusRun) checkFiles(c *checker, files []corpus.File, present bool) {
	for _, f := range files {
		var entries map[string]bool
		var what string
		switch f.Kind {
		case "artifacts":
			name := r.glName(f.Job)
			if !present && !r.selected(name) {
				continue
			}
			what = "artifacts of " + name
			if j := r.jobs[name]; j != nil {
				entries = r.env.artifactEntries(r.project.ID, j.ID)
			}
		case "cache":
			what = "cache " + f.Key
			entries = zipEntries(r.env.cacheFile(r.project, f.Key))
		default:
			continue
		}
		found := entries[strings.TrimSuffix(f.Path, "/")]
		c.expect(found == present, "%s: %s present=%v, want %v", what, f.Path, found, present)
	}
}

// artifactEntries lists a job's artifacts archive (nil if none).
func (e *corpusEnv) artifactEntries(pid, job int64) map[string]bool {
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/jobs/%d/artifacts", e.srv.URL, pid, job), nil)
	req.Header.Set("PRIVATE-TOKEN", rootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil
	}
	return names(zr.File)
}

func zipEntries(path string) map[string]bool {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil
	}
	defer zr.Close()
	return names(zr.File)
}

func names(files []*zip.File) map[string]bool {
	out := map[string]bool{}
	for _, f := range files {
		out[strings.TrimSuffix(f.Name, "/")] = true
	}
	return out
}
