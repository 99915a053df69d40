package config

// Kubernetes is [runners.kubernetes]. It is parsed and validated now; the
// executor that uses it comes later. Resource values are Kubernetes
// quantities ("500m", "4Gi").
type Kubernetes struct {
	Host                                    string            `toml:"host,omitempty"`
	Context                                 string            `toml:"context,omitempty"`
	CertFile                                string            `toml:"cert_file,omitempty"`
	KeyFile                                 string            `toml:"key_file,omitempty"`
	CAFile                                  string            `toml:"ca_file,omitempty"`
	BearerTokenOverwriteAllowed             bool              `toml:"bearer_token_overwrite_allowed,omitempty"`
	BearerToken                             string            `toml:"bearer_token,omitempty"`
	Image                                   string            `toml:"image,omitempty"`
	Namespace                               string            `toml:"namespace,omitempty"`
	NamespaceOverwriteAllowed               string            `toml:"namespace_overwrite_allowed,omitempty"`
	NamespacePerJob                         bool              `toml:"namespace_per_job,omitempty"`
	Privileged                              *bool             `toml:"privileged,omitempty"`
	RuntimeClassName                        *string           `toml:"runtime_class_name,omitempty"`
	AllowPrivilegeEscalation                *bool             `toml:"allow_privilege_escalation,omitempty"`
	CPULimit                                string            `toml:"cpu_limit,omitempty"`
	CPULimitOverwriteMaxAllowed             string            `toml:"cpu_limit_overwrite_max_allowed,omitempty"`
	CPURequest                              string            `toml:"cpu_request,omitempty"`
	CPURequestOverwriteMaxAllowed           string            `toml:"cpu_request_overwrite_max_allowed,omitempty"`
	MemoryLimit                             string            `toml:"memory_limit,omitempty"`
	MemoryLimitOverwriteMaxAllowed          string            `toml:"memory_limit_overwrite_max_allowed,omitempty"`
	MemoryRequest                           string            `toml:"memory_request,omitempty"`
	MemoryRequestOverwriteMaxAllowed        string            `toml:"memory_request_overwrite_max_allowed,omitempty"`
	EphemeralStorageLimit                   string            `toml:"ephemeral_storage_limit,omitempty"`
	EphemeralStorageRequest                 string            `toml:"ephemeral_storage_request,omitempty"`
	ServiceCPULimit                         string            `toml:"service_cpu_limit,omitempty"`
	ServiceCPURequest                       string            `toml:"service_cpu_request,omitempty"`
	ServiceMemoryLimit                      string            `toml:"service_memory_limit,omitempty"`
	ServiceMemoryRequest                    string            `toml:"service_memory_request,omitempty"`
	ServiceEphemeralStorageLimit            string            `toml:"service_ephemeral_storage_limit,omitempty"`
	ServiceEphemeralStorageRequest          string            `toml:"service_ephemeral_storage_request,omitempty"`
	HelperCPULimit                          string            `toml:"helper_cpu_limit,omitempty"`
	HelperCPURequest                        string            `toml:"helper_cpu_request,omitempty"`
	HelperMemoryLimit                       string            `toml:"helper_memory_limit,omitempty"`
	HelperMemoryRequest                     string            `toml:"helper_memory_request,omitempty"`
	HelperEphemeralStorageLimit             string            `toml:"helper_ephemeral_storage_limit,omitempty"`
	HelperEphemeralStorageRequest           string            `toml:"helper_ephemeral_storage_request,omitempty"`
	PullPolicy                              StringList        `toml:"pull_policy,omitempty"`
	AllowedPullPolicies                     []string          `toml:"allowed_pull_policies,omitempty"`
	AllowedImages                           []string          `toml:"allowed_images,omitempty"`
	AllowedServices                         []string          `toml:"allowed_services,omitempty"`
	NodeSelector                            map[string]string `toml:"node_selector,omitempty"`
	NodeSelectorOverwriteAllowed            string            `toml:"node_selector_overwrite_allowed,omitempty"`
	NodeTolerations                         map[string]string `toml:"node_tolerations,omitempty"`
	NodeTolerationsOverwriteAllowed         string            `toml:"node_tolerations_overwrite_allowed,omitempty"`
	PodLabels                               map[string]string `toml:"pod_labels,omitempty"`
	PodLabelsOverwriteAllowed               string            `toml:"pod_labels_overwrite_allowed,omitempty"`
	PodAnnotations                          map[string]string `toml:"pod_annotations,omitempty"`
	PodAnnotationsOverwriteAllowed          string            `toml:"pod_annotations_overwrite_allowed,omitempty"`
	ServiceAccount                          string            `toml:"service_account,omitempty"`
	ServiceAccountOverwriteAllowed          string            `toml:"service_account_overwrite_allowed,omitempty"`
	AutomountServiceAccountToken            *bool             `toml:"automount_service_account_token,omitempty"`
	ImagePullSecrets                        []string          `toml:"image_pull_secrets,omitempty"`
	UseServiceAccountImagePullSecrets       bool              `toml:"use_service_account_image_pull_secrets,omitempty"`
	HelperImage                             string            `toml:"helper_image,omitempty"`
	HelperImageFlavor                       string            `toml:"helper_image_flavor,omitempty"`
	TerminationGracePeriodSeconds           *int64            `toml:"terminationGracePeriodSeconds,omitempty"`
	PodTerminationGracePeriodSeconds        *int64            `toml:"pod_termination_grace_period_seconds,omitempty"`
	CleanupGracePeriodSeconds               *int64            `toml:"cleanup_grace_period_seconds,omitempty"`
	PollInterval                            int               `toml:"poll_interval,omitempty"`
	PollTimeout                             int               `toml:"poll_timeout,omitempty"`
	ResourceAvailabilityCheckMaxAttempts    int               `toml:"resource_availability_check_max_attempts,omitempty"`
	PriorityClassName                       string            `toml:"priority_class_name,omitempty"`
	SchedulerName                           string            `toml:"scheduler_name,omitempty"`
	DNSPolicy                               string            `toml:"dns_policy,omitempty"`
	CapAdd                                  []string          `toml:"cap_add,omitempty"`
	CapDrop                                 []string          `toml:"cap_drop,omitempty"`
	Volumes                                 KubernetesVolumes `toml:"volumes,omitempty"`
	Services                                []map[string]any  `toml:"services,omitempty"`
	Affinity                                map[string]any    `toml:"affinity,omitempty"`
	DNSConfig                               map[string]any    `toml:"dns_config,omitempty"`
	PodSecurityContext                      map[string]any    `toml:"pod_security_context,omitempty"`
	InitPermissionsContainerSecurityContext map[string]any    `toml:"init_permissions_container_security_context,omitempty"`
	BuildContainerSecurityContext           map[string]any    `toml:"build_container_security_context,omitempty"`
	HelperContainerSecurityContext          map[string]any    `toml:"helper_container_security_context,omitempty"`
	ServiceContainerSecurityContext         map[string]any    `toml:"service_container_security_context,omitempty"`
	HostAliases                             []map[string]any  `toml:"host_aliases,omitempty"`
	PodSpec                                 []map[string]any  `toml:"pod_spec,omitempty"`
	ContainerLifecycle                      map[string]any    `toml:"container_lifecycle,omitempty"`
}

// KubernetesVolumes is [runners.kubernetes.volumes].
type KubernetesVolumes struct {
	HostPaths  []KubernetesHostPath  `toml:"host_path,omitempty"`
	PVCs       []KubernetesPVC       `toml:"pvc,omitempty"`
	ConfigMaps []KubernetesConfigMap `toml:"config_map,omitempty"`
	Secrets    []KubernetesSecret    `toml:"secret,omitempty"`
	EmptyDirs  []KubernetesEmptyDir  `toml:"empty_dir,omitempty"`
	CSIs       []map[string]any      `toml:"csi,omitempty"`
}

// KubernetesHostPath is [[runners.kubernetes.volumes.host_path]].
type KubernetesHostPath struct {
	Name             string `toml:"name"`
	MountPath        string `toml:"mount_path"`
	SubPath          string `toml:"sub_path,omitempty"`
	ReadOnly         bool   `toml:"read_only,omitempty"`
	HostPath         string `toml:"host_path,omitempty"`
	MountPropagation string `toml:"mount_propagation,omitempty"`
}

// KubernetesPVC is [[runners.kubernetes.volumes.pvc]].
type KubernetesPVC struct {
	Name      string `toml:"name"`
	MountPath string `toml:"mount_path"`
	SubPath   string `toml:"sub_path,omitempty"`
	ReadOnly  bool   `toml:"read_only,omitempty"`
}

// KubernetesConfigMap is [[runners.kubernetes.volumes.config_map]].
type KubernetesConfigMap struct {
	Name      string            `toml:"name"`
	MountPath string            `toml:"mount_path"`
	SubPath   string            `toml:"sub_path,omitempty"`
	ReadOnly  bool              `toml:"read_only,omitempty"`
	Items     map[string]string `toml:"items,omitempty"`
}

// KubernetesSecret is [[runners.kubernetes.volumes.secret]].
type KubernetesSecret struct {
	Name      string            `toml:"name"`
	MountPath string            `toml:"mount_path"`
	SubPath   string            `toml:"sub_path,omitempty"`
	ReadOnly  bool              `toml:"read_only,omitempty"`
	Items     map[string]string `toml:"items,omitempty"`
}

// KubernetesEmptyDir is [[runners.kubernetes.volumes.empty_dir]].
type KubernetesEmptyDir struct {
	Name      string `toml:"name"`
	MountPath string `toml:"mount_path"`
	SubPath   string `toml:"sub_path,omitempty"`
	Medium    string `toml:"medium,omitempty"`
	SizeLimit string `toml:"size_limit,omitempty"`
}
