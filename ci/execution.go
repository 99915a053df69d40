package ci

import (
	"regexp"
	"strings"
)

// Keywords the runner or the server acts on at execution time (id_tokens,
// secrets, run, identity, dast_configuration) are kept in the plan as
// written, but their shape is checked here the way GitLab's entries check
// it, so that a configuration GitLab rejects is not accepted and then
// fails half-way through a pipeline.

var idTokenKeys = set("aud")

// idTokens checks id_tokens: a hash of token names to {aud: string or
// array of strings}.
func (c *compiler) idTokens(loc string, v *node) {
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return
	}
	for _, p := range v.pairs {
		tloc := loc + ":" + p.key
		t := p.val
		if !t.isMap() {
			c.errs.addf(orNull(t, v), "%s config should be a hash", tloc)
			continue
		}
		if bad := unknownKeys(t, idTokenKeys); bad != "" {
			c.errs.addf(firstUnknown(t, idTokenKeys), "%s config contains unknown keys: %s", tloc, bad)
		}
		aud := t.get("aud")
		if aud.isNull() {
			c.errs.addf(t, "%s config missing required keys: aud", tloc)
			continue
		}
		if !aud.isStr() && !isStrSeq(aud) {
			c.errs.addf(aud, "%s aud should be an array of strings or a string", tloc)
		}
	}
}

// isStrSeq reports whether n is a non-empty array of strings.
func isStrSeq(n *node) bool {
	if !n.isSeq() || len(n.items) == 0 {
		return false
	}
	for _, it := range n.items {
		if !it.isStr() {
			return false
		}
	}
	return true
}

var (
	secretKeys      = set("vault", "file", "azure_key_vault", "gcp_secret_manager", "akeyless", "gitlab_secrets_manager", "token", "aws_secrets_manager")
	secretProviders = []string{"vault", "azure_key_vault", "gcp_secret_manager", "akeyless", "gitlab_secrets_manager", "aws_secrets_manager"}
	vaultKeys       = set("engine", "path", "field")
	vaultEngineKeys = set("name", "path")
	nameVersionKeys = set("name", "version")
)

// secrets checks secrets: every secret names exactly one provider; the
// providers whose shape GitLab pins down (vault, azure_key_vault,
// gcp_secret_manager) are checked key by key.
func (c *compiler) secrets(loc string, v *node) {
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return
	}
	for _, p := range v.pairs {
		c.secret(loc+":"+p.key, orNull(p.val, v))
	}
}

func (c *compiler) secret(loc string, s *node) {
	if !s.isMap() {
		c.errs.addf(s, "%s config should be a hash", loc)
		return
	}
	if bad := unknownKeys(s, secretKeys); bad != "" {
		c.errs.addf(firstUnknown(s, secretKeys), "%s config contains unknown keys: %s", loc, bad)
		return
	}
	var given []string
	for _, k := range secretProviders {
		if !s.get(k).isNull() {
			given = append(given, k)
		}
	}
	if len(given) != 1 {
		c.errs.addf(s, "%s config must use exactly one of these keys: %s", loc, strings.Join(secretProviders, ", "))
		return
	}
	if t := s.get("token"); t != nil && !t.isStr() {
		c.errs.addf(t, "%s token should be a string", loc)
	}
	if f := s.get("file"); f != nil && f.kind != boolNode {
		c.errs.addf(f, "%s file config should be a boolean value", loc)
	}
	pv := s.get(given[0])
	ploc := loc + ":" + given[0]
	switch given[0] {
	case "vault":
		c.vaultSecret(ploc, pv)
	case "azure_key_vault":
		c.namedSecret(ploc, pv, func(v *node) bool { return v.isStr() })
	case "gcp_secret_manager":
		c.namedSecret(ploc, pv, func(v *node) bool { return v.isStr() || v.kind == intNode })
		if s.get("token").isNull() {
			c.errs.addf(s, "%s token is required with gcp secrets manager", loc)
		}
	case "aws_secrets_manager":
		if !pv.isStr() && !pv.isMap() {
			c.errs.addf(pv, "%s config should be a hash or a string", ploc)
		}
	default:
		if !pv.isMap() {
			c.errs.addf(pv, "%s config should be a hash", ploc)
		}
	}
}

// vaultSecret accepts "path/field@engine" or {engine: {name, path}, path,
// field}, all required.
func (c *compiler) vaultSecret(loc string, v *node) {
	if v.isStr() {
		return
	}
	if !v.isMap() {
		c.errs.addf(v, "%s should be a hash or a string", loc)
		return
	}
	if !c.requiredStrings(loc, v, vaultKeys, "path", "field") {
		return
	}
	e := v.get("engine")
	if !e.isMap() {
		c.errs.addf(orNull(e, v), "%s engine config should be a hash with name and path", loc)
		return
	}
	c.requiredStrings(loc+":engine", e, vaultEngineKeys, "name", "path")
}

// namedSecret checks {name, version}: name a required string, version
// optional and of the kind okVersion accepts.
func (c *compiler) namedSecret(loc string, v *node, okVersion func(*node) bool) {
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return
	}
	if !c.requiredStrings(loc, v, nameVersionKeys, "name") {
		return
	}
	if ver := v.get("version"); ver != nil && !okVersion(ver) {
		c.errs.addf(ver, "%s version has an invalid type", loc)
	}
}

// requiredStrings checks that v has only allowed keys and that every key
// in required is a non-empty string.
func (c *compiler) requiredStrings(loc string, v *node, allowed map[string]bool, required ...string) bool {
	if bad := unknownKeys(v, allowed); bad != "" {
		c.errs.addf(firstUnknown(v, allowed), "%s config contains unknown keys: %s", loc, bad)
		return false
	}
	ok := true
	for _, k := range required {
		x := v.get(k)
		if !x.isStr() || x.str == "" {
			c.errs.addf(orNull(x, v), "%s %s should be a non-empty string", loc, k)
			ok = false
		}
	}
	return ok
}

var dastKeys = set("site_profile", "scanner_profile")

func (c *compiler) dastConfiguration(loc string, v *node) {
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return
	}
	if bad := unknownKeys(v, dastKeys); bad != "" {
		c.errs.addf(firstUnknown(v, dastKeys), "%s config contains unknown keys: %s", loc, bad)
	}
	for _, p := range v.pairs {
		if dastKeys[p.key] && !p.val.isNull() && !p.val.isStr() {
			c.errs.addf(p.val, "%s %s should be a string", loc, p.key)
		}
	}
}

func (c *compiler) identity(loc string, v *node) string {
	if !v.isStr() || v.str != "google_cloud" {
		c.errs.addf(v, "%s should be one of: google_cloud", loc)
		return ""
	}
	return v.str
}

// run steps follow the step runner's schema (GitLab validates job run:
// against it): each step has a name and either a script or a step/func
// reference.
var (
	stepName          = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	scriptStepKeys    = set("name", "env", "script")
	referenceStepKeys = set("name", "env", "inputs", "step", "func")
	gitReferenceKeys  = set("url", "dir", "rev", "file")
	ociReferenceKeys  = set("registry", "repository", "tag", "dir", "file")
)

func (c *compiler) runSteps(loc string, v *node) {
	if !v.isSeq() {
		c.errs.addf(v, "%s config should be an array of steps", loc)
		return
	}
	for i, s := range v.items {
		c.runStep(loc+":"+itoa(i), s)
	}
}

func (c *compiler) runStep(loc string, s *node) {
	if !s.isMap() {
		c.errs.addf(s, "%s config should be a hash", loc)
		return
	}
	allowed := referenceStepKeys
	if s.has("script") {
		allowed = scriptStepKeys
	}
	if bad := unknownKeys(s, allowed); bad != "" {
		c.errs.addf(firstUnknown(s, allowed), "%s config contains unknown keys: %s", loc, bad)
		return
	}
	if n := s.get("name"); !n.isStr() || !stepName.MatchString(n.str) {
		c.errs.addf(orNull(n, s), "%s name should be a string of letters, digits and underscores", loc)
	}
	c.namedValues(loc+":env", s.get("env"), true)
	if s.has("script") {
		if sc := s.get("script"); !sc.isStr() || sc.str == "" {
			c.errs.addf(orNull(sc, s), "%s script should be a non-empty string", loc)
		}
		return
	}
	c.namedValues(loc+":inputs", s.get("inputs"), false)
	ref := "step"
	if s.has("func") {
		ref = "func"
	}
	if s.has("step") == s.has("func") {
		c.errs.addf(s, "%s config should have exactly one of script, step or func", loc)
		return
	}
	c.stepReference(loc+":"+ref, s.get(ref), s)
}

// namedValues checks env: (strings only) and inputs: (any value) maps.
func (c *compiler) namedValues(loc string, v *node, stringsOnly bool) {
	if v == nil {
		return
	}
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return
	}
	for _, p := range v.pairs {
		if !stepName.MatchString(p.key) {
			c.errs.addf(&node{kind: strNode, str: p.key, pos: p.keyPos}, "%s key %s should use letters, digits and underscores", loc, p.key)
		}
		if stringsOnly && !p.val.isStr() {
			c.errs.addf(orNull(p.val, v), "%s:%s should be a string", loc, p.key)
		}
	}
}

func (c *compiler) stepReference(loc string, r, parent *node) {
	switch {
	case r.isStr():
		return
	case r.isMap() && len(r.pairs) == 1 && r.has("git"):
		c.referenceHash(loc+":git", r.get("git"), gitReferenceKeys, "url", "rev")
	case r.isMap() && len(r.pairs) == 1 && r.has("oci"):
		c.referenceHash(loc+":oci", r.get("oci"), ociReferenceKeys, "registry", "repository", "tag")
	default:
		c.errs.addf(orNull(r, parent), "%s should be a string or a hash with git or oci", loc)
	}
}

func (c *compiler) referenceHash(loc string, v *node, allowed map[string]bool, required ...string) {
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash", loc)
		return
	}
	if !c.requiredStrings(loc, v, allowed, required...) {
		return
	}
	req := set(required...)
	for _, p := range v.pairs {
		if !req[p.key] && !p.val.isStr() {
			c.errs.addf(orNull(p.val, v), "%s %s should be a string", loc, p.key)
		}
	}
}
