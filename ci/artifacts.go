package ci

import "strings"

var artifactKeys = set("name", "untracked", "paths", "exclude", "when", "expire_in",
	"expose_as", "reports", "public", "access")

var artifactWhens = set("on_success", "on_failure", "always")

var reportTypes = set("junit", "dotenv", "codequality", "sast", "secret_detection",
	"dependency_scanning", "container_scanning", "dast", "license_scanning", "license_management",
	"performance", "browser_performance", "load_performance", "metrics", "requirements",
	"requirements_v2", "coverage_report", "terraform", "accessibility", "cluster_image_scanning",
	"api_fuzzing", "coverage_fuzzing", "cyclonedx", "annotations", "repository_xray")

func (c *compiler) artifacts(loc string, v *node) *Artifacts {
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return nil
	}
	if bad := unknownKeys(v, artifactKeys); bad != "" {
		c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
	}
	a := &Artifacts{When: "on_success"}
	get := func(k string) string {
		if x, ok := nonNull(v, k); ok {
			return c.str(loc+" "+k, x)
		}
		return ""
	}
	a.Name, a.ExpireIn, a.ExposeAs, a.Access = get("name"), get("expire_in"), get("expose_as"), get("access")
	if w := get("when"); w != "" {
		if !artifactWhens[w] {
			c.errs.addf(v.get("when"), "%s when should be on_success, on_failure or always", loc)
		}
		a.When = w
	}
	if x, ok := nonNull(v, "paths"); ok {
		a.Paths = c.strList(loc+" paths", x)
	}
	if x, ok := nonNull(v, "exclude"); ok {
		a.Exclude = c.strList(loc+" exclude", x)
	}
	if x, ok := nonNull(v, "untracked"); ok {
		a.Untracked = c.boolean(loc+" untracked", x)
	}
	if x, ok := nonNull(v, "public"); ok {
		b := c.boolean(loc+" public", x)
		a.Public = &b
	}
	if a.Access != "" && a.Access != "all" && a.Access != "developer" && a.Access != "none" && a.Access != "maintainer" {
		c.errs.addf(v.get("access"), "%s access should be all, developer, maintainer or none", loc)
	}
	if r, ok := nonNull(v, "reports"); ok {
		c.reports(loc+":reports", r, a)
	}
	return a
}

func (c *compiler) reports(loc string, r *node, a *Artifacts) {
	if !r.isMap() {
		c.errs.addf(r, "%s config should be a hash", loc)
		return
	}
	if bad := unknownKeys(r, reportTypes); bad != "" {
		c.errs.addf(r, "%s config contains unknown keys: %s", loc, bad)
	}
	for _, p := range r.pairs {
		if p.key == "coverage_report" {
			a.CoverageReport = p.val.rawJSON()
			continue
		}
		if p.val.isNull() {
			c.errs.addf(r.keyNode(p.key), "%s %s config should be a string or an array of strings", loc, p.key)
			continue
		}
		if a.Reports == nil {
			a.Reports = map[string][]string{}
		}
		a.Reports[p.key] = c.strList(loc+" "+p.key, p.val)
	}
}

var cacheKeys = set("key", "untracked", "paths", "policy", "when", "unprotect", "fallback_keys")
var cacheWhens = set("on_success", "on_failure", "always")

// maxCaches is GitLab's limit on cache: entries per job.
const maxCaches = 4

func (c *compiler) caches(loc string, v *node) []Cache {
	if v.isMap() {
		if x := c.cache(loc, v); x != nil {
			return []Cache{*x}
		}
		return nil
	}
	if !v.isSeq() {
		c.errs.addf(v, "%s config should be a hash or an array of hashes", loc)
		return nil
	}
	if len(v.items) > maxCaches {
		c.errs.addf(v, "%s config no more than %d caches can be created", loc, maxCaches)
		return nil
	}
	out := make([]Cache, 0, len(v.items))
	for _, it := range v.items {
		if x := c.cache(loc, it); x != nil {
			out = append(out, *x)
		}
	}
	return out
}

func (c *compiler) cache(loc string, v *node) *Cache {
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return nil
	}
	if bad := unknownKeys(v, cacheKeys); bad != "" {
		c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
	}
	x := &Cache{Key: "default", Policy: "pull-push", When: "on_success"}
	if k, ok := nonNull(v, "key"); ok {
		c.cacheKey(loc+":key", k, x)
	}
	if p, ok := nonNull(v, "paths"); ok {
		if !p.isSeq() {
			c.errs.addf(p, "%s:paths config should be an array of strings", loc)
		} else {
			x.Paths = c.strList(loc+":paths", p)
		}
	}
	if u, ok := nonNull(v, "untracked"); ok {
		x.Untracked = c.boolean(loc+" untracked", u)
	}
	if u, ok := nonNull(v, "unprotect"); ok {
		x.Unprotect = c.boolean(loc+" unprotect", u)
	}
	if p, ok := nonNull(v, "policy"); ok {
		x.Policy = c.str(loc+" policy", p)
		if x.Policy != "pull" && x.Policy != "push" && x.Policy != "pull-push" && !strings.HasPrefix(x.Policy, "$") {
			c.errs.addf(p, "%s:policy config should be pull-push, push, pull, or a variable", loc)
		}
	}
	if w, ok := nonNull(v, "when"); ok {
		x.When = c.str(loc+" when", w)
		if !cacheWhens[x.When] {
			c.errs.addf(w, "%s:when config should be on_success, on_failure or always", loc)
		}
	}
	if f, ok := nonNull(v, "fallback_keys"); ok {
		x.FallbackKeys = c.strList(loc+":fallback_keys", f)
	}
	return x
}

func (c *compiler) cacheKey(loc string, k *node, x *Cache) {
	if k.isMap() {
		if bad := unknownKeys(k, set("files", "prefix", "files_commits")); bad != "" {
			c.errs.addf(k, "%s config contains unknown keys: %s", loc, bad)
		}
		files := k.get("files")
		if files.isNull() {
			files = k.get("files_commits")
		}
		if !files.isSeq() {
			c.errs.addf(orNull(files, k), "%s:files config should be an array of strings", loc)
			return
		}
		x.KeyFiles = c.strList(loc+":files", files)
		if len(x.KeyFiles) == 0 || len(x.KeyFiles) > 2 {
			c.errs.addf(k, "%s:files config has to be an array of one or two file paths", loc)
		}
		if p, ok := nonNull(k, "prefix"); ok {
			x.KeyPrefix = c.str(loc+":prefix", p)
		}
		x.Key = ""
		return
	}
	x.Key = c.str(loc, k)
	switch {
	case strings.Contains(x.Key, "/") || strings.Contains(x.Key, "%2F") || strings.Contains(x.Key, "%2f"):
		c.errs.addf(k, "%s config cannot contain the \"/\" character", loc)
	case strings.Trim(x.Key, ".") == "" || x.Key == "%2E" || x.Key == "%2e":
		c.errs.addf(k, "%s config cannot be \".\" or \"..\"", loc)
	}
}
