// Package server assembles a Gantry server process: it owns the data
// folder (one process at a time), opens the store, seeds the first admin,
// recovers after a crash, and serves HTTP until its context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gantry-ci/gantry/blob"
	"github.com/gantry-ci/gantry/blob/fs"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/store/sqlite"
	"github.com/gantry-ci/gantry/trace"
)

// Config is everything a server process is started with.
type Config struct {
	DataDir          string
	Listen           string // host:port; port 0 picks a free one
	ExternalURL      string // "" means http://<listen address>
	InitialRootToken string // seeds a root token on first start
	PasswordCost     int    // bcrypt cost; 0 is the default
	ShutdownTimeout  time.Duration
	Log              *slog.Logger
	Out              io.Writer // where the start-up banner goes
	CI               CIConfig
	// MonitoringAllowlist is who may scrape /metrics, as GitLab's
	// monitoring_whitelist; nil means DefaultMonitoringAllowlist.
	MonitoringAllowlist []netip.Prefix
}

// DefaultMonitoringAllowlist is this machine only (loopback), GitLab's
// default too.
var DefaultMonitoringAllowlist = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// CIConfig tunes the CI side; zero values take defaults.
type CIConfig struct {
	LongPoll        time.Duration // how long a runner's job request is held (50 s)
	SilentTimeout   time.Duration // runner silence that fails a running job (10 min)
	ConfirmTimeout  time.Duration // wait for a runner's two-phase confirmation (1 min)
	PendingTimeout  time.Duration // a job no runner took fails after this (1 day)
	StuckTimeout    time.Duration // a job no online runner can take fails after this (1 h)
	TickInterval    time.Duration // background work interval (1 s)
	MaxArtifactSize int64         // per upload (100 MiB)
	MaxTraceSize    int64         // per job log (100 MiB)
}

// Server is a started (listening) Gantry server.
type Server struct {
	cfg       Config
	URL       *url.URL
	log       *slog.Logger
	lock      *os.File
	store     *store.Store
	forge     *forge.Service
	pipelines *pipeline.Service
	queue     *queue.Queue
	traces    *trace.Service
	blobs     blob.Store
	listener  net.Listener
	http      *http.Server
}

// Open takes the data folder, opens and migrates the database, creates the
// root user on first start, recovers repositories and starts listening.
// Serve then serves; Close releases everything if Serve is never called.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Log}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) open(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	if err := s.lockDataDir(); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(s.cfg.DataDir, "gantry.db"))
	if err != nil {
		return err
	}
	s.store = st
	s.forge = forge.New(forge.Config{Store: st, Repos: git.Storage{Root: filepath.Join(s.cfg.DataDir, "repositories")},
		Log: s.log, PasswordCost: s.cfg.PasswordCost})
	if err := s.bootstrap(ctx); err != nil {
		return err
	}
	if s.blobs, err = fs.New(filepath.Join(s.cfg.DataDir, "objects")); err != nil {
		return err
	}
	if err := s.forge.Recover(ctx); err != nil {
		return fmt.Errorf("recover repositories: %w", err)
	}
	if s.listener, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	if s.URL, err = externalURL(s.cfg.ExternalURL, s.listener.Addr().String()); err != nil {
		return err
	}
	s.wireCI()
	s.http = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	return nil
}

// lockDataDir makes sure one process at a time uses the data folder: two
// servers on one SQLite file and one set of repositories would corrupt
// nothing thanks to SQLite's locks, but would double every background job.
func (s *Server) lockDataDir() error {
	f, err := os.OpenFile(filepath.Join(s.cfg.DataDir, "gantry.pid"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		return fmt.Errorf("data folder %s is in use by another gantry process (pid %s); stop it or use another --data-dir",
			s.cfg.DataDir, strings.TrimSpace(string(pid)))
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	s.lock = f
	return nil
}

func externalURL(configured, addr string) (*url.URL, error) {
	if configured == "" {
		host, port, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "localhost"
		}
		configured = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(strings.TrimSuffix(configured, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("external URL %q must be an absolute http(s) URL", configured)
	}
	return u, nil
}

// Serve serves HTTP until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to the shutdown timeout)
// and closes the database.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	background.Go(func() { s.pipelines.Run(bg) })
	background.Go(func() { s.archiveLeftovers(bg) })
	s.log.Info("gantry server started", "url", s.URL.String(), "data_dir", s.cfg.DataDir)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		err = s.http.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stopBackground() // before the database closes under it
	background.Wait()
	return errors.Join(err, s.Close())
}

// Handler returns the server's HTTP handler (for in-process tests).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Close releases the database, the listener and the data folder lock.
func (s *Server) Close() error {
	var errs []error
	if s.listener != nil {
		s.listener.Close()
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
		s.store = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
		s.lock = nil
	}
	return errors.Join(errs...)
}
