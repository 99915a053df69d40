package docker

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/container"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/executor"
)

func TestBuildContainer(t *testing.T) {
	yes := false
	d := &config.Docker{
		Privileged: true, ServicesPrivileged: &yes, Memory: "64m", CPUs: "0.5", DNS: []string{"1.1.1.1"},
		ExtraHosts: []string{"db:10.0.0.1"}, Volumes: []string{"/cache", "/srv/data:/data:ro"}, CapAdd: []string{"NET_ADMIN"},
		User: "1000:1000", ShmSize: 1 << 20,
	}
	cfg, hc, err := buildContainer(buildSpec{Image: "alpine:3", Entrypoint: []string{""}, HostBuilds: "/host/builds", Network: "jobnet", Labels: map[string]string{"a": "b"}, Docker: d, VolumePrefix: "gantry-tok-0"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sh", "-c", shellDetect}, []string(cfg.Cmd)); diff != "" {
		t.Errorf("cmd: %s", diff)
	}
	if !cfg.OpenStdin || !cfg.StdinOnce || cfg.User != "1000:1000" || cfg.Image != "alpine:3" || len(cfg.Entrypoint) != 1 {
		t.Errorf("config %+v", cfg)
	}
	if len(cfg.Volumes) != 0 {
		t.Errorf("anonymous volumes: %v", cfg.Volumes)
	}
	want := &container.HostConfig{
		Binds: []string{"/host/builds:/builds", "/srv/data:/data:ro", "gantry-tok-0-cache-4f7cfe6fcd420310:/cache"}, NetworkMode: "jobnet", Privileged: true,
		DNS: []netip.Addr{netip.MustParseAddr("1.1.1.1")}, ExtraHosts: []string{"db:10.0.0.1"}, CapAdd: []string{"NET_ADMIN"}, ShmSize: 1 << 20,
		Resources: container.Resources{Memory: 64 << 20, NanoCPUs: 5e8},
	}
	if diff := cmp.Diff(want, hc, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("host config (-want +got):\n%s", diff)
	}
	_, shc, _, err := serviceContainer(executor.Image{Name: "redis"}, nil, "jobnet", nil, d)
	if err != nil || shc.Privileged {
		t.Errorf("services_privileged=false ignored: %v %v", shc.Privileged, err)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, d := range []*config.Docker{{Memory: "lots"}, {CPUs: "-1"}, {DNS: []string{"not-an-ip"}}} {
		if _, _, err := buildContainer(buildSpec{Image: "x", Docker: d}); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("%+v: %v", d, err)
		}
	}
}

func TestServiceAliases(t *testing.T) {
	for _, tc := range []struct {
		img  executor.Image
		want []string
	}{
		{executor.Image{Name: "redis:7"}, []string{"redis"}},
		{executor.Image{Name: "registry.example.com/group/pg:16", Alias: "db, pg"}, []string{"db", "pg", "registry.example.com__group__pg", "registry.example.com-group-pg"}},
		{executor.Image{Name: "localhost:5000/tool"}, []string{"localhost:5000__tool", "localhost:5000-tool"}},
	} {
		if diff := cmp.Diff(tc.want, serviceAliases(tc.img)); diff != "" {
			t.Errorf("%s: %s", tc.img.Name, diff)
		}
	}
}

func TestPullPolicies(t *testing.T) {
	d := &config.Docker{PullPolicy: config.StringList{"if-not-present"}, AllowedPullPolicies: []string{"if-not-present", "never"}}
	if p, err := pullPolicies(nil, d); err != nil || !cmp.Equal(p, []string{"if-not-present"}) {
		t.Errorf("config policy: %v %v", p, err)
	}
	if p, err := pullPolicies([]string{"never"}, d); err != nil || !cmp.Equal(p, []string{"never"}) {
		t.Errorf("job policy: %v %v", p, err)
	}
	if _, err := pullPolicies([]string{"always"}, d); err == nil {
		t.Error("always accepted despite allowed_pull_policies")
	}
	if p, _ := pullPolicies(nil, nil); !cmp.Equal(p, []string{"always"}) {
		t.Errorf("default %v", p)
	}
	if !allowed([]string{"localhost/*"}, "localhost/busybox") || allowed([]string{"localhost/*"}, "docker.io/x") || !allowed(nil, "x") {
		t.Error("allowed_images matching")
	}
}

func TestRegistryAuth(t *testing.T) {
	creds := []executor.Credential{{Registry: "registry.example.com", Username: "gitlab-ci-token", Password: "glcbt-x"}}
	if got := registryAuth("registry.example.com/g/p:1", creds); got == "" {
		t.Error("no auth for the matching registry")
	}
	if got := registryAuth("alpine:3", creds); got != "" {
		t.Errorf("auth sent to docker.io: %q", got)
	}
	dec, _ := base64.URLEncoding.DecodeString(registryAuth("registry.example.com/x", creds))
	if !strings.Contains(string(dec), `"password":"glcbt-x"`) {
		t.Errorf("auth = %s", dec)
	}
}
