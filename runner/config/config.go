// Package config reads and writes the runner's config.toml in GitLab
// Runner's schema, so an existing gitlab-runner configuration loads as is.
//
// Keys this runner does not know are reported as warnings, not errors, since
// GitLab Runner grows keys every release; a value of the wrong type is an
// error naming the key.
package config

import (
	"time"
)

// Config is the whole config.toml.
type Config struct {
	Concurrent       int            `toml:"concurrent"`
	CheckInterval    int            `toml:"check_interval"`
	LogLevel         string         `toml:"log_level,omitempty"`
	LogFormat        string         `toml:"log_format,omitempty"`
	ListenAddress    string         `toml:"listen_address,omitempty"`
	ShutdownTimeout  int            `toml:"shutdown_timeout"`
	SentryDSN        string         `toml:"sentry_dsn,omitempty"`
	ConnectionMaxAge string         `toml:"connection_max_age,omitempty"`
	User             string         `toml:"user,omitempty"`
	SessionServer    *SessionServer `toml:"session_server,omitempty"`
	Runners          []*Runner      `toml:"runners"`
}

// SessionServer is [session_server]; parsed, the web terminal is not served.
type SessionServer struct {
	ListenAddress    string `toml:"listen_address,omitempty"`
	AdvertiseAddress string `toml:"advertise_address,omitempty"`
	SessionTimeout   int    `toml:"session_timeout,omitempty"`
}

// Runner is one [[runners]] entry: one registered runner and how it runs
// jobs.
type Runner struct {
	Name                   string            `toml:"name"`
	Limit                  int               `toml:"limit,omitempty"`
	OutputLimit            int               `toml:"output_limit,omitempty"`
	RequestConcurrency     int               `toml:"request_concurrency,omitempty"`
	URL                    string            `toml:"url"`
	ID                     int64             `toml:"id,omitempty"`
	Token                  string            `toml:"token"`
	TokenObtainedAt        time.Time         `toml:"token_obtained_at"`
	TokenExpiresAt         time.Time         `toml:"token_expires_at"`
	TLSCAFile              string            `toml:"tls-ca-file,omitempty"`
	TLSCertFile            string            `toml:"tls-cert-file,omitempty"`
	TLSKeyFile             string            `toml:"tls-key-file,omitempty"`
	CloneURL               string            `toml:"clone_url,omitempty"`
	Executor               string            `toml:"executor"`
	Shell                  string            `toml:"shell,omitempty"`
	BuildsDir              string            `toml:"builds_dir,omitempty"`
	CacheDir               string            `toml:"cache_dir,omitempty"`
	Environment            []string          `toml:"environment,omitempty"`
	PreGetSourcesScript    string            `toml:"pre_get_sources_script,omitempty"`
	PostGetSourcesScript   string            `toml:"post_get_sources_script,omitempty"`
	PreBuildScript         string            `toml:"pre_build_script,omitempty"`
	PostBuildScript        string            `toml:"post_build_script,omitempty"`
	DebugTraceDisabled     bool              `toml:"debug_trace_disabled,omitempty"`
	UnhealthyRequestsLimit int               `toml:"unhealthy_requests_limit,omitempty"`
	UnhealthyInterval      string            `toml:"unhealthy_interval,omitempty"`
	FinalUpdateRetryLimit  int               `toml:"job_status_final_update_retry_limit,omitempty"`
	Labels                 map[string]string `toml:"labels,omitempty"`
	// Deprecated keys kept by older registrations; accepted and ignored.
	Tags           string          `toml:"tags,omitempty"`
	CustomBuildDir *CustomBuildDir `toml:"custom_build_dir,omitempty"`
	FeatureFlags   map[string]bool `toml:"feature_flags,omitempty"`
	Cache          *Cache          `toml:"cache,omitempty"`
	Docker         *Docker         `toml:"docker,omitempty"`
	Kubernetes     *Kubernetes     `toml:"kubernetes,omitempty"`
	Custom         map[string]any  `toml:"custom,omitempty"`
	Machine        map[string]any  `toml:"machine,omitempty"`
	Autoscaler     map[string]any  `toml:"autoscaler,omitempty"`
	SSH            map[string]any  `toml:"ssh,omitempty"`
	Parallels      map[string]any  `toml:"parallels,omitempty"`
	VirtualBox     map[string]any  `toml:"virtualbox,omitempty"`
	Referees       map[string]any  `toml:"referees,omitempty"`
}

// ReplaceToken records a token the server issued in exchange for the
// current one (reset or rotation): obtained at now, in UTC to the second
// as GitLab Runner writes it, expiring at expiresAt (nil: never).
func (r *Runner) ReplaceToken(token string, expiresAt *time.Time, now time.Time) {
	r.Token = token
	r.TokenObtainedAt = now.UTC().Truncate(time.Second)
	r.TokenExpiresAt = time.Time{}
	if expiresAt != nil {
		r.TokenExpiresAt = *expiresAt
	}
}

// CustomBuildDir is [runners.custom_build_dir] (GIT_CLONE_PATH).
type CustomBuildDir struct {
	Enabled *bool `toml:"enabled,omitempty"`
}

// Cache is [runners.cache]: where caches live beyond one machine.
type Cache struct {
	Type                   string         `toml:"Type,omitempty"`
	Path                   string         `toml:"Path,omitempty"`
	Shared                 bool           `toml:"Shared,omitempty"`
	MaxUploadedArchiveSize int64          `toml:"MaxUploadedArchiveSize,omitempty"`
	S3                     *CacheS3       `toml:"s3,omitempty"`
	GCS                    map[string]any `toml:"gcs,omitempty"`
	Azure                  map[string]any `toml:"azure,omitempty"`
}

// CacheS3 is [runners.cache.s3].
type CacheS3 struct {
	ServerAddress             string `toml:"ServerAddress,omitempty"`
	AccessKey                 string `toml:"AccessKey,omitempty"`
	SecretKey                 string `toml:"SecretKey,omitempty"`
	SessionToken              string `toml:"SessionToken,omitempty"`
	BucketName                string `toml:"BucketName,omitempty"`
	BucketLocation            string `toml:"BucketLocation,omitempty"`
	Insecure                  bool   `toml:"Insecure,omitempty"`
	AuthenticationType        string `toml:"AuthenticationType,omitempty"`
	ServerSideEncryption      string `toml:"ServerSideEncryption,omitempty"`
	ServerSideEncryptionKeyID string `toml:"ServerSideEncryptionKeyID,omitempty"`
	DualStack                 *bool  `toml:"DualStack,omitempty"`
	Accelerate                bool   `toml:"Accelerate,omitempty"`
	PathStyle                 *bool  `toml:"PathStyle,omitempty"`
	RoleARN                   string `toml:"RoleARN,omitempty"`
	UploadRoleARN             string `toml:"UploadRoleARN,omitempty"`
}

// Docker is [runners.docker].
type Docker struct {
	Host                       string            `toml:"host,omitempty"`
	TLSVerify                  bool              `toml:"tls_verify,omitempty"`
	TLSCertPath                string            `toml:"tls_cert_path,omitempty"`
	Hostname                   string            `toml:"hostname,omitempty"`
	Image                      string            `toml:"image"`
	Runtime                    string            `toml:"runtime,omitempty"`
	Memory                     string            `toml:"memory,omitempty"`
	MemorySwap                 string            `toml:"memory_swap,omitempty"`
	MemoryReservation          string            `toml:"memory_reservation,omitempty"`
	CPUSetCPUs                 string            `toml:"cpuset_cpus,omitempty"`
	CPUs                       string            `toml:"cpus,omitempty"`
	CPUShares                  int64             `toml:"cpu_shares,omitempty"`
	DNS                        []string          `toml:"dns,omitempty"`
	DNSSearch                  []string          `toml:"dns_search,omitempty"`
	Privileged                 bool              `toml:"privileged"`
	ServicesPrivileged         *bool             `toml:"services_privileged,omitempty"`
	DisableEntrypointOverwrite bool              `toml:"disable_entrypoint_overwrite"`
	User                       string            `toml:"user,omitempty"`
	UsernsMode                 string            `toml:"userns_mode,omitempty"`
	CapAdd                     []string          `toml:"cap_add,omitempty"`
	CapDrop                    []string          `toml:"cap_drop,omitempty"`
	OOMKillDisable             bool              `toml:"oom_kill_disable"`
	OOMScoreAdjust             int               `toml:"oom_score_adjust,omitempty"`
	SecurityOpt                []string          `toml:"security_opt,omitempty"`
	Devices                    []string          `toml:"devices,omitempty"`
	DisableCache               bool              `toml:"disable_cache"`
	Volumes                    []string          `toml:"volumes,omitempty"`
	VolumeDriver               string            `toml:"volume_driver,omitempty"`
	CacheDir                   string            `toml:"cache_dir,omitempty"`
	ExtraHosts                 []string          `toml:"extra_hosts,omitempty"`
	VolumesFrom                []string          `toml:"volumes_from,omitempty"`
	NetworkMode                string            `toml:"network_mode,omitempty"`
	NetworkMTU                 int               `toml:"network_mtu,omitempty"`
	Links                      []string          `toml:"links,omitempty"`
	ShmSize                    int64             `toml:"shm_size"`
	PullPolicy                 StringList        `toml:"pull_policy,omitempty"`
	AllowedPullPolicies        []string          `toml:"allowed_pull_policies,omitempty"`
	AllowedImages              []string          `toml:"allowed_images,omitempty"`
	AllowedPrivilegedImages    []string          `toml:"allowed_privileged_images,omitempty"`
	AllowedServices            []string          `toml:"allowed_services,omitempty"`
	AllowedPrivilegedServices  []string          `toml:"allowed_privileged_services,omitempty"`
	HelperImage                string            `toml:"helper_image,omitempty"`
	HelperImageFlavor          string            `toml:"helper_image_flavor,omitempty"`
	WaitForServicesTimeout     int               `toml:"wait_for_services_timeout,omitempty"`
	Sysctls                    map[string]string `toml:"sysctls,omitempty"`
	ContainerLabels            map[string]string `toml:"container_labels,omitempty"`
	Ulimit                     map[string]string `toml:"ulimit,omitempty"`
	GPUs                       string            `toml:"gpus,omitempty"`
	Isolation                  string            `toml:"isolation,omitempty"`
	GroupAdd                   []string          `toml:"group_add,omitempty"`
	Tmpfs                      map[string]string `toml:"tmpfs,omitempty"`
	ServicesTmpfs              map[string]string `toml:"services_tmpfs,omitempty"`
	Services                   []DockerService   `toml:"services,omitempty"`
}

// DockerService is [[runners.docker.services]]: a service every job gets.
type DockerService struct {
	Name        string   `toml:"name"`
	Alias       string   `toml:"alias,omitempty"`
	Entrypoint  []string `toml:"entrypoint,omitempty"`
	Command     []string `toml:"command,omitempty"`
	Environment []string `toml:"environment,omitempty"`
}

// StringList accepts a string or an array of strings, as GitLab Runner's
// pull_policy does.
type StringList []string

// UnmarshalTOML implements toml.Unmarshaler.
func (s *StringList) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*s = StringList{v}
		return nil
	case []any:
		out := make(StringList, 0, len(v))
		for i, e := range v {
			str, ok := e.(string)
			if !ok {
				return &typeError{want: "string", got: e, index: i}
			}
			out = append(out, str)
		}
		*s = out
		return nil
	}
	return &typeError{want: "string or array of strings", got: v, index: -1}
}
