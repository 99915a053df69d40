package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/forge"
)

// PasswordFile is where the initial root password is written, as GitLab
// writes /etc/gitlab/initial_root_password.
const PasswordFile = "initial_root_password"

// bootstrap creates the root administrator on a fresh install with a
// random password, written to a 0600 file and printed once; with an
// initial root token configured it also seeds that token.
func (s *Server) bootstrap(ctx context.Context) error {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return nil
	}
	pw := auth.NewPassword()
	root, err := s.forge.CreateUser(ctx, forge.System(), forge.NewUser{
		Username: "root", Name: "Administrator", Email: "admin@example.com", Password: pw, Admin: true})
	if err != nil {
		return fmt.Errorf("create root user: %w", err)
	}
	path := filepath.Join(s.cfg.DataDir, PasswordFile)
	body := "# The password of the 'root' user, created on first start.\n# Change it, then delete this file.\nPassword: " + pw + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(s.cfg.Out, "Created user 'root' with password: %s\n(also saved in %s)\n", pw, path)
	if s.cfg.InitialRootToken != "" {
		_, err := s.forge.SeedToken(ctx, forge.NewToken{UserID: root.ID, Name: "initial root token",
			Scopes: []gantry.Scope{gantry.ScopeAPI, gantry.ScopeReadAPI, gantry.ScopeReadUser, gantry.ScopeReadRepository,
				gantry.ScopeWriteRepository, gantry.ScopeCreateRunner}}, s.cfg.InitialRootToken)
		if err != nil {
			return fmt.Errorf("seed initial root token: %w", err)
		}
		fmt.Fprintln(s.cfg.Out, "Seeded the initial root personal access token.")
	}
	return nil
}

// PasswordFilePath returns where the initial root password was written, if
// that file still exists.
func (s *Server) PasswordFilePath() (string, bool) {
	path := filepath.Join(s.cfg.DataDir, PasswordFile)
	_, err := os.Stat(path)
	return path, err == nil
}
