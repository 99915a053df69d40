package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gantry-ci/gantry"
)

// Defaults GitLab Runner applies when a key is absent or zero.
const (
	DefaultConcurrent         = 1
	DefaultCheckInterval      = 3
	DefaultOutputLimitKB      = 4096
	DefaultRequestConcurrency = 1
	DefaultShutdownTimeout    = 30
)

// Executors this runner accepts in config.toml.
var Executors = []string{"shell", "docker", "kubernetes"}

type typeError struct {
	want  string
	got   any
	index int
}

func (e *typeError) Error() string {
	if e.index >= 0 {
		return fmt.Sprintf("element %d: want %s, got %T", e.index, e.want, e.got)
	}
	return fmt.Sprintf("want %s, got %T", e.want, e.got)
}

// Load reads and validates the config file at path. Unknown keys come back
// as warnings ("unknown key runners.0.foo"); a syntax or type error, or a
// value that fails validation, is an error wrapping gantry.ErrInvalid.
// A missing file is reported with os.ErrNotExist.
func Load(path string) (*Config, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	c, warns, err := Parse(data)
	if err != nil {
		return nil, warns, fmt.Errorf("config %s: %w", path, err)
	}
	return c, warns, nil
}

// Parse decodes and validates config.toml content.
func Parse(data []byte) (*Config, []string, error) {
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s", gantry.ErrInvalid, describe(err))
	}
	var warns []string
	for _, k := range md.Undecoded() {
		warns = append(warns, "unknown key "+k.String())
	}
	if err := c.Validate(); err != nil {
		return nil, warns, err
	}
	return &c, warns, nil
}

// describe turns a toml error into one line naming the key.
func describe(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := fmt.Sprintf("line %d", pe.Position.Line)
		if pe.LastKey != "" {
			msg += fmt.Sprintf(" (key %s)", pe.LastKey)
		}
		return msg + ": " + pe.Message
	}
	return err.Error()
}

var quantity = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$`)

var pullPolicies = []string{"always", "if-not-present", "never"}

// Validate checks values GitLab Runner would reject, naming the key path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", gantry.ErrInvalid, key, fmt.Sprintf(format, args...)))
	}
	if c.Concurrent < 0 {
		bad("concurrent", "must not be negative")
	}
	if c.CheckInterval < 0 {
		bad("check_interval", "must not be negative")
	}
	if c.LogLevel != "" && !slices.Contains([]string{"debug", "info", "warn", "warning", "error", "fatal", "panic"}, c.LogLevel) {
		bad("log_level", "unknown level %q", c.LogLevel)
	}
	if c.LogFormat != "" && !slices.Contains([]string{"runner", "text", "json"}, c.LogFormat) {
		bad("log_format", "unknown format %q", c.LogFormat)
	}
	for i, r := range c.Runners {
		r.validate(fmt.Sprintf("runners[%d]", i), bad)
	}
	return errors.Join(errs...)
}

func (r *Runner) validate(p string, bad func(key, format string, args ...any)) {
	if r == nil {
		bad(p, "empty runner entry")
		return
	}
	if r.URL == "" {
		bad(p+".url", "required")
	} else if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(p+".url", "must be an http(s) URL, got %q", r.URL)
	}
	if r.Token == "" {
		bad(p+".token", "required")
	}
	if r.Executor == "" {
		bad(p+".executor", "required (one of %s)", strings.Join(Executors, ", "))
	} else if !slices.Contains(Executors, r.Executor) {
		bad(p+".executor", "unsupported executor %q (supported: %s)", r.Executor, strings.Join(Executors, ", "))
	}
	if r.Shell != "" && r.Shell != "bash" && r.Shell != "sh" {
		bad(p+".shell", "unsupported shell %q (supported: bash)", r.Shell)
	}
	for _, kv := range []struct {
		key string
		v   int
	}{{"limit", r.Limit}, {"output_limit", r.OutputLimit}, {"request_concurrency", r.RequestConcurrency}} {
		if kv.v < 0 {
			bad(p+"."+kv.key, "must not be negative")
		}
	}
	for i, e := range r.Environment {
		if !strings.Contains(e, "=") {
			bad(fmt.Sprintf("%s.environment[%d]", p, i), "want KEY=value, got %q", e)
		}
	}
	if r.Cache != nil {
		r.Cache.validate(p+".cache", bad)
	}
	if r.Docker != nil {
		validatePullPolicies(p+".docker.pull_policy", r.Docker.PullPolicy, bad)
		validatePullPolicies(p+".docker.allowed_pull_policies", r.Docker.AllowedPullPolicies, bad)
	}
	if r.Kubernetes != nil {
		r.Kubernetes.validate(p+".kubernetes", bad)
	}
}

func (c *Cache) validate(p string, bad func(key, format string, args ...any)) {
	switch c.Type {
	case "", "local":
	case "s3":
		if c.S3 == nil || c.S3.BucketName == "" {
			bad(p+".s3.BucketName", "required for Type s3")
		}
		if c.S3 != nil && c.S3.AuthenticationType != "" && !slices.Contains([]string{"access-key", "iam"}, strings.ToLower(c.S3.AuthenticationType)) {
			bad(p+".s3.AuthenticationType", "want access-key or iam, got %q", c.S3.AuthenticationType)
		}
	case "gcs", "azure":
		// Parsed for compatibility; the runner falls back to local caching.
	default:
		bad(p+".Type", "unknown cache type %q (local, s3, gcs, azure)", c.Type)
	}
}

func validatePullPolicies(key string, pp []string, bad func(key, format string, args ...any)) {
	for _, v := range pp {
		if !slices.Contains(pullPolicies, v) {
			bad(key, "unknown pull policy %q (always, if-not-present, never)", v)
		}
	}
}

func (k *Kubernetes) validate(p string, bad func(key, format string, args ...any)) {
	validatePullPolicies(p+".pull_policy", k.PullPolicy, bad)
	validatePullPolicies(p+".allowed_pull_policies", k.AllowedPullPolicies, bad)
	for key, v := range map[string]string{
		"cpu_limit": k.CPULimit, "cpu_request": k.CPURequest, "memory_limit": k.MemoryLimit, "memory_request": k.MemoryRequest,
		"helper_cpu_limit": k.HelperCPULimit, "helper_cpu_request": k.HelperCPURequest,
		"helper_memory_limit": k.HelperMemoryLimit, "helper_memory_request": k.HelperMemoryRequest,
		"service_cpu_limit": k.ServiceCPULimit, "service_cpu_request": k.ServiceCPURequest,
		"service_memory_limit": k.ServiceMemoryLimit, "service_memory_request": k.ServiceMemoryRequest,
		"ephemeral_storage_limit": k.EphemeralStorageLimit, "ephemeral_storage_request": k.EphemeralStorageRequest,
	} {
		if v != "" && !quantity.MatchString(v) {
			bad(p+"."+key, "%q is not a Kubernetes quantity (e.g. 500m, 2, 4Gi)", v)
		}
	}
	vol := func(kind string, i int, name, mount string) {
		at := fmt.Sprintf("%s.volumes.%s[%d]", p, kind, i)
		if name == "" {
			bad(at+".name", "required")
		}
		if mount == "" {
			bad(at+".mount_path", "required")
		} else if !strings.HasPrefix(mount, "/") {
			bad(at+".mount_path", "must be absolute, got %q", mount)
		}
	}
	for i, v := range k.Volumes.HostPaths {
		vol("host_path", i, v.Name, v.MountPath)
	}
	for i, v := range k.Volumes.PVCs {
		vol("pvc", i, v.Name, v.MountPath)
	}
	for i, v := range k.Volumes.ConfigMaps {
		vol("config_map", i, v.Name, v.MountPath)
	}
	for i, v := range k.Volumes.Secrets {
		vol("secret", i, v.Name, v.MountPath)
	}
	for i, v := range k.Volumes.EmptyDirs {
		vol("empty_dir", i, v.Name, v.MountPath)
		if v.SizeLimit != "" && !quantity.MatchString(v.SizeLimit) {
			bad(fmt.Sprintf("%s.volumes.empty_dir[%d].size_limit", p, i), "%q is not a Kubernetes quantity", v.SizeLimit)
		}
	}
}

// Save writes c to path atomically (temp file + rename), mode 0600 since it
// holds tokens.
func Save(path string, c *Config) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.toml")
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("save config: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// ShortToken is the runner token as GitLab Runner shortens it for build
// directories and logs: the 8 characters after a glrt- (and t1_…) prefix,
// else the first 8.
func (r *Runner) ShortToken() string {
	t := r.Token
	if rest, ok := strings.CutPrefix(t, "glrt-"); ok {
		t = rest
		if len(t) > 3 && t[0] == 't' && t[2] == '_' {
			t = t[3:]
		}
	}
	if len(t) > 8 {
		t = t[:8]
	}
	return t
}

// OutputLimitBytes is output_limit (KiB) in bytes, defaulted.
func (r *Runner) OutputLimitBytes() int64 {
	if r.OutputLimit <= 0 {
		return DefaultOutputLimitKB * 1024
	}
	return int64(r.OutputLimit) * 1024
}

// FeatureFlag reports the value of a FF_* flag from [runners.feature_flags]
// or environment, else def.
func (r *Runner) FeatureFlag(name string, def bool) bool {
	if v, ok := r.FeatureFlags[name]; ok {
		return v
	}
	for _, e := range r.Environment {
		if k, v, ok := strings.Cut(e, "="); ok && k == name {
			return v == "true" || v == "1"
		}
	}
	return def
}
