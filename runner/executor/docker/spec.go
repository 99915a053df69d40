// Package docker runs job scripts in containers through the Docker Engine
// API (github.com/moby/moby/client, API version negotiated; podman's
// Docker-compatible service works). Each script runs in a fresh container
// of the job image with the build directory bind-mounted at /builds;
// services run beside it on a per-job network, reachable by alias. The
// runner clones sources and handles artifacts and caches on the host side
// of that mount, so job images need nothing of ours.
//
// Every object the executor creates carries the labels below, so Cleanup
// and Sweep can remove them even after a crash.
package docker

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/executor"
)

// Labels on everything the executor creates.
const (
	LabelManaged = "io.gantry-ci.runner.managed"
	LabelRunner  = "io.gantry-ci.runner.token"
	LabelJob     = "io.gantry-ci.runner.job"
	LabelOwner   = "io.gantry-ci.runner.owner" // unique per executor instance
)

// ContainerBuilds is where the build directory is mounted.
const ContainerBuilds = "/builds"

// shellDetect picks the best shell of the image and reads the script from
// stdin, as GitLab Runner's docker executor does.
const shellDetect = `if [ -x /usr/local/bin/bash ]; then exec /usr/local/bin/bash; ` +
	`elif [ -x /usr/bin/bash ]; then exec /usr/bin/bash; elif [ -x /bin/bash ]; then exec /bin/bash; ` +
	`elif [ -x /usr/local/bin/sh ]; then exec /usr/local/bin/sh; elif [ -x /usr/bin/sh ]; then exec /usr/bin/sh; ` +
	`elif [ -x /bin/sh ]; then exec /bin/sh; elif [ -x /busybox/sh ]; then exec /busybox/sh; ` +
	`else echo shell not found; exit 1; fi`

// buildSpec is the pure description of a job's build container.
type buildSpec struct {
	Image      string
	Entrypoint []string
	HostBuilds string // host dir mounted at /builds
	Network    string
	Labels     map[string]string
	Docker     *config.Docker
	// VolumePrefix names the persistent volumes of bare `volumes` paths
	// (GitLab Runner's cache volumes), per runner token and concurrent id.
	VolumePrefix string
}

// buildContainer returns the create options of one script container.
func buildContainer(s buildSpec) (*container.Config, *container.HostConfig, error) {
	cfg := &container.Config{
		Image:        s.Image,
		Cmd:          []string{"sh", "-c", shellDetect},
		Entrypoint:   s.Entrypoint,
		OpenStdin:    true,
		StdinOnce:    true,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Labels:       s.Labels,
		WorkingDir:   ContainerBuilds,
	}
	d := s.Docker
	if d == nil {
		d = &config.Docker{}
	}
	cfg.User = d.User
	cfg.Hostname = d.Hostname
	hc, err := hostConfig(d, d.Privileged)
	if err != nil {
		return nil, nil, err
	}
	hc.Binds = append([]string{s.HostBuilds + ":" + ContainerBuilds}, hc.Binds...)
	for _, v := range d.Volumes {
		if strings.Contains(v, ":") {
			continue
		}
		if s.VolumePrefix == "" || d.DisableCache {
			// An anonymous volume, removed with the container.
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[v] = struct{}{}
			continue
		}
		// A named volume that outlives the job, shared by the job's scripts
		// and the next jobs of this slot, like GitLab Runner's cache volumes.
		sum := sha256.Sum256([]byte(v))
		hc.Binds = append(hc.Binds, fmt.Sprintf("%s-cache-%x:%s", s.VolumePrefix, sum[:8], v))
	}
	if s.Network != "" {
		hc.NetworkMode = container.NetworkMode(s.Network)
	}
	return cfg, hc, nil
}

// hostConfig maps [runners.docker] to a HostConfig; privileged differs
// for services (services_privileged).
func hostConfig(d *config.Docker, privileged bool) (*container.HostConfig, error) {
	hc := &container.HostConfig{
		Privileged:   privileged,
		CapAdd:       d.CapAdd,
		CapDrop:      d.CapDrop,
		SecurityOpt:  d.SecurityOpt,
		ExtraHosts:   d.ExtraHosts,
		DNSSearch:    d.DNSSearch,
		ShmSize:      d.ShmSize,
		Sysctls:      d.Sysctls,
		Tmpfs:        d.Tmpfs,
		Runtime:      d.Runtime,
		GroupAdd:     d.GroupAdd,
		UsernsMode:   container.UsernsMode(d.UsernsMode),
		NetworkMode:  container.NetworkMode(d.NetworkMode),
		VolumesFrom:  d.VolumesFrom,
		VolumeDriver: d.VolumeDriver,
	}
	for _, dns := range d.DNS {
		a, err := netip.ParseAddr(dns)
		if err != nil {
			return nil, fmt.Errorf("%w: docker dns %q: %v", gantry.ErrInvalid, dns, err)
		}
		hc.DNS = append(hc.DNS, a)
	}
	var err error
	if hc.Memory, err = parseBytes(d.Memory); err != nil {
		return nil, fmt.Errorf("docker memory: %w", err)
	}
	if hc.MemorySwap, err = parseBytes(d.MemorySwap); err != nil {
		return nil, fmt.Errorf("docker memory_swap: %w", err)
	}
	if hc.MemoryReservation, err = parseBytes(d.MemoryReservation); err != nil {
		return nil, fmt.Errorf("docker memory_reservation: %w", err)
	}
	if d.CPUs != "" {
		f, err := strconv.ParseFloat(d.CPUs, 64)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("%w: docker cpus %q", gantry.ErrInvalid, d.CPUs)
		}
		hc.NanoCPUs = int64(f * 1e9)
	}
	hc.CpusetCpus = d.CPUSetCPUs
	hc.CPUShares = d.CPUShares
	if d.OOMKillDisable {
		t := true
		hc.OomKillDisable = &t
	}
	for _, v := range d.Volumes {
		if strings.Contains(v, ":") {
			hc.Binds = append(hc.Binds, v)
		}
	}
	return hc, nil
}

var byteSize = regexp.MustCompile(`^(?i)([0-9]+)\s*([kmgt]?)i?b?$`)

// parseBytes reads Docker sizes like 64m, 1g, 512k, or plain bytes.
func parseBytes(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	m := byteSize.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%w: size %q (want e.g. 64m, 1g)", gantry.ErrInvalid, s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	switch strings.ToLower(m[2]) {
	case "k":
		n <<= 10
	case "m":
		n <<= 20
	case "g":
		n <<= 30
	case "t":
		n <<= 40
	}
	return n, nil
}

// serviceAliases are the DNS names of a service: its alias list (comma
// or space separated) and the names GitLab derives from the image
// (registry/group/redis:7 → registry__group__redis and registry-group-redis).
func serviceAliases(s executor.Image) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s.Alias, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, a)
	}
	name := s.Name
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	out = append(out, strings.ReplaceAll(name, "/", "__"), strings.ReplaceAll(name, "/", "-"))
	seen := map[string]bool{}
	uniq := out[:0]
	for _, a := range out {
		if a != "" && !seen[a] {
			seen[a] = true
			uniq = append(uniq, a)
		}
	}
	return uniq
}

// serviceContainer returns the create options of one service.
func serviceContainer(s executor.Image, env []string, netName string, labels map[string]string, d *config.Docker) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	if d == nil {
		d = &config.Docker{}
	}
	priv := d.Privileged
	if d.ServicesPrivileged != nil {
		priv = *d.ServicesPrivileged
	}
	hc, err := hostConfig(d, priv)
	if err != nil {
		return nil, nil, nil, err
	}
	hc.NetworkMode = container.NetworkMode(netName)
	cfg := &container.Config{Image: s.Name, Env: append(append([]string{}, env...), s.Env...), Labels: labels, Entrypoint: s.Entrypoint, Cmd: s.Command}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {Aliases: serviceAliases(s)}}}
	return cfg, hc, nc, nil
}

// allowed reports whether name matches one of the glob patterns (empty:
// everything allowed), as allowed_images / allowed_services.
func allowed(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
		if strings.Contains(p, "**") {
			prefix := strings.Split(p, "**")[0]
			if strings.HasPrefix(name, prefix) {
				return true
			}
		}
	}
	return false
}

// pullPolicies resolves the job's and the config's pull policies against
// allowed_pull_policies.
func pullPolicies(job []string, d *config.Docker) ([]string, error) {
	pol := job
	if len(pol) == 0 && d != nil {
		pol = d.PullPolicy
	}
	if len(pol) == 0 {
		pol = []string{"always"}
	}
	if d != nil && len(d.AllowedPullPolicies) > 0 {
		for _, p := range pol {
			ok := false
			for _, a := range d.AllowedPullPolicies {
				ok = ok || a == p
			}
			if !ok {
				return nil, fmt.Errorf("%w: pull policy %q is not in allowed_pull_policies %v", gantry.ErrInvalid, p, d.AllowedPullPolicies)
			}
		}
	}
	return pol, nil
}
