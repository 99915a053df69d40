package docker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/executor"
)

// ErrImagePull is executor.ErrImagePull.
var ErrImagePull = executor.ErrImagePull

// Connect opens a Docker Engine API client for host (empty: DOCKER_HOST or
// the default socket) and negotiates the API version.
func Connect(ctx context.Context, host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, fmt.Errorf("docker ping: %w", err)
	}
	return c, nil
}

// Executor is the docker executor for one job.
type Executor struct {
	Client *client.Client
	Config *config.Docker
	// BuildsDir is the host root of build directories.
	BuildsDir string
	// Grace is how long a canceled script gets after SIGTERM (default 10 s).
	Grace time.Duration

	owner    string
	labels   map[string]string
	image    string
	entry    []string
	network  string
	hostDir  string
	volumes  string // prefix of persistent cache volumes
	mu       sync.Mutex
	services []string
	log      io.Writer
	creds    []executor.Credential
}

var _ executor.Executor = (*Executor)(nil)

// Prepare checks and pulls images, creates the job network and starts the
// services.
func (e *Executor) Prepare(ctx context.Context, o executor.Options) (executor.Dirs, error) {
	if e.Config == nil {
		e.Config = &config.Docker{}
	}
	e.log = o.Log
	if e.log == nil {
		e.log = io.Discard
	}
	e.owner = randomID()
	e.creds = o.Credentials
	e.labels = map[string]string{LabelManaged: "true", LabelRunner: o.RunnerToken, LabelJob: strconv.FormatInt(o.JobID, 10), LabelOwner: e.owner}
	for k, v := range e.Config.ContainerLabels {
		e.labels[k] = v
	}
	e.image = o.Image.Name
	if e.image == "" {
		e.image = e.Config.Image
	}
	if e.image == "" {
		return executor.Dirs{}, fmt.Errorf("%w: no image: the job has none and [runners.docker] image is empty", gantry.ErrInvalid)
	}
	if !allowed(e.Config.AllowedImages, e.image) {
		return executor.Dirs{}, fmt.Errorf("%w: image %q is not in allowed_images", ErrImagePull, e.image)
	}
	e.entry = o.Image.Entrypoint
	if err := e.ensureImage(ctx, e.image, o.Image.PullPolicy); err != nil {
		return executor.Dirs{}, err
	}
	builds := filepath.Join(e.BuildsDir, o.RunnerToken, strconv.Itoa(o.ConcurrentID))
	e.hostDir = builds
	e.volumes = fmt.Sprintf("gantry-%s-%d", o.RunnerToken, o.ConcurrentID)
	project := ContainerBuilds + "/" + o.ProjectPath
	hostProject := filepath.Join(builds, filepath.FromSlash(o.ProjectPath))
	dirs := executor.Dirs{
		BuildsDir: ContainerBuilds, ProjectDir: project, TmpDir: project + ".tmp",
		HostBuildsDir: builds, HostProjectDir: hostProject, HostTmpDir: hostProject + ".tmp",
	}
	if len(o.Services) > 0 || e.Config.NetworkMode == "" {
		if err := e.createNetwork(ctx, o.JobID); err != nil {
			return dirs, err
		}
	}
	for _, s := range o.Services {
		if err := e.startService(ctx, s, o.Env); err != nil {
			return dirs, err
		}
	}
	return dirs, nil
}

func (e *Executor) ensureImage(ctx context.Context, ref string, jobPolicy []string) error {
	policies, err := pullPolicies(jobPolicy, e.Config)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrImagePull, err)
	}
	var last error
	for _, p := range policies {
		switch p {
		case "never", "if-not-present":
			if _, err := e.Client.ImageInspect(ctx, ref); err == nil {
				fmt.Fprintf(e.log, "Using locally found image %s ...\n", ref)
				return nil
			} else {
				last = err
			}
			if p == "never" {
				continue
			}
			fallthrough
		case "always":
			fmt.Fprintf(e.log, "Pulling docker image %s ...\n", ref)
			if err := e.pull(ctx, ref); err != nil {
				last = err
				continue
			}
			return nil
		}
	}
	return fmt.Errorf("%w: image %s (pull policy %v): %v", ErrImagePull, ref, policies, last)
}

func (e *Executor) pull(ctx context.Context, ref string) error {
	resp, err := e.Client.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: registryAuth(ref, e.creds)})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

func (e *Executor) createNetwork(ctx context.Context, jobID int64) error {
	name := fmt.Sprintf("gantry-job-%d-%s", jobID, e.owner)
	if _, err := e.Client.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Labels: e.labels}); err != nil {
		return fmt.Errorf("create job network: %w", err)
	}
	e.mu.Lock()
	e.network = name
	e.mu.Unlock()
	return nil
}

func (e *Executor) startService(ctx context.Context, s executor.Image, env []string) error {
	if !allowed(e.Config.AllowedServices, s.Name) {
		return fmt.Errorf("%w: service %q is not in allowed_services", ErrImagePull, s.Name)
	}
	if err := e.ensureImage(ctx, s.Name, s.PullPolicy); err != nil {
		return err
	}
	cfg, hc, nc, err := serviceContainer(s, env, e.network, e.labels, e.Config)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.log, "Starting service %s ...\n", s.Name)
	res, err := e.Client.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, NetworkingConfig: nc})
	if err != nil {
		return fmt.Errorf("create service %s: %w", s.Name, err)
	}
	e.mu.Lock()
	e.services = append(e.services, res.ID)
	e.mu.Unlock()
	if _, err := e.Client.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start service %s: %w", s.Name, err)
	}
	return nil
}

// Run feeds the script to a fresh container of the job image.
func (e *Executor) Run(ctx context.Context, cmd executor.Command) error {
	cfg, hc, err := buildContainer(buildSpec{Image: e.image, Entrypoint: e.entry, HostBuilds: e.hostDir, Network: e.network, Labels: e.labels, Docker: e.Config, VolumePrefix: e.volumes})
	if err != nil {
		return err
	}
	// Container operations must survive a canceled ctx to clean up.
	bg := context.WithoutCancel(ctx)
	res, err := e.Client.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc})
	if err != nil {
		return fmt.Errorf("create build container: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(bg, time.Minute)
		defer cancel()
		_, _ = e.Client.ContainerRemove(rctx, res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	att, err := e.Client.ContainerAttach(ctx, res.ID, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("attach build container: %w", err)
	}
	defer att.Close()
	// Wait for the next exit, registered before start; never AutoRemove +
	// condition=removed (podman 4.3 reports exit 0 there).
	wait := e.Client.ContainerWait(bg, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := e.Client.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start build container: %w", err)
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(cmd.Stdout, cmd.Stderr, att.Reader)
		copied <- err
	}()
	go func() {
		_, _ = io.Copy(att.Conn, strings.NewReader(cmd.Script))
		_ = att.CloseWrite()
	}()
	select {
	case r := <-wait.Result:
		<-copied
		if r.Error != nil && r.Error.Message != "" {
			return fmt.Errorf("build container: %s", r.Error.Message)
		}
		if r.StatusCode != 0 {
			return &executor.ExitError{Code: int(r.StatusCode)}
		}
		return nil
	case err := <-wait.Error:
		return fmt.Errorf("wait for build container: %w", err)
	case <-ctx.Done():
		e.stop(bg, res.ID, wait)
		return fmt.Errorf("script stopped: %w", context.Cause(ctx))
	}
}

// stop sends SIGTERM, then SIGKILL after the grace period.
func (e *Executor) stop(ctx context.Context, id string, wait client.ContainerWaitResult) {
	grace := e.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	_, _ = e.Client.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGTERM"})
	select {
	case <-wait.Result:
	case <-wait.Error:
	case <-time.After(grace):
		_, _ = e.Client.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGKILL"})
	}
}

// Cleanup removes the job's containers and network; safe twice and after a
// failed Prepare.
func (e *Executor) Cleanup(ctx context.Context) error {
	if e.Client == nil || e.owner == "" {
		return nil
	}
	return removeLabeled(ctx, e.Client, LabelOwner+"="+e.owner)
}

// Sweep removes containers and networks left by earlier runs of this
// runner token (crash, kill -9); call it before taking jobs.
func Sweep(ctx context.Context, c *client.Client, runnerToken string) error {
	return removeLabeled(ctx, c, LabelRunner+"="+runnerToken)
}

func removeLabeled(ctx context.Context, c *client.Client, label string) error {
	f := client.Filters{}.Add("label", label).Add("label", LabelManaged+"=true")
	list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, ct := range list.Items {
		if _, err := c.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", ct.ID[:12], err))
		}
	}
	nets, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range nets.Items {
		if _, err := c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "No such") || strings.Contains(strings.ToLower(err.Error()), "not found"))
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// registryAuth is the X-Registry-Auth value for ref: the first credential
// whose registry is ref's registry host (docker.io for bare names).
func registryAuth(ref string, creds []executor.Credential) string {
	host := "docker.io"
	if first, _, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host = first
	}
	for _, c := range creds {
		if strings.TrimPrefix(strings.TrimPrefix(c.Registry, "https://"), "http://") == host {
			b, _ := json.Marshal(map[string]string{"username": c.Username, "password": c.Password, "serveraddress": c.Registry})
			return base64.URLEncoding.EncodeToString(b)
		}
	}
	return ""
}
