package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/store/sqlite"
)

// newAdminCmd is bootstrap and recovery without the API: it works on the
// data folder directly, with or without a running server.
func newAdminCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{Use: "admin", Short: "Administer users and tokens directly on the data folder"}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "./gantry-data", "the server's data folder")
	open := func(ctx context.Context) (*forge.Service, *store.Store, error) {
		st, err := sqlite.Open(ctx, filepath.Join(dataDir, "gantry.db"))
		if err != nil {
			return nil, nil, err
		}
		return forge.New(forge.Config{Store: st, Repos: git.Storage{Root: filepath.Join(dataDir, "repositories")}}), st, nil
	}
	user := &cobra.Command{Use: "user", Short: "Manage users"}
	user.AddCommand(newAdminUserCreateCmd(open), newAdminUserListCmd(open))
	token := &cobra.Command{Use: "token", Short: "Manage personal access tokens"}
	token.AddCommand(newAdminTokenCreateCmd(open))
	cmd.AddCommand(user, token)
	return cmd
}

type openFunc func(context.Context) (*forge.Service, *store.Store, error)

func newAdminUserCreateCmd(open openFunc) *cobra.Command {
	var nu forge.NewUser
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if nu.Name == "" {
				nu.Name = nu.Username
			}
			u, err := f.CreateUser(cmd.Context(), forge.System(), nu)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (id %d)\n", u.Username, u.ID)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&nu.Username, "username", "", "username (required)")
	fl.StringVar(&nu.Name, "name", "", "display name (default: the username)")
	fl.StringVar(&nu.Email, "email", "", "email address (required)")
	fl.StringVar(&nu.Password, "password", "", "password (at least 8 characters; empty: tokens only)")
	fl.BoolVar(&nu.Admin, "admin", false, "make the user an administrator")
	cmd.MarkFlagRequired("username")
	cmd.MarkFlagRequired("email")
	return cmd
}

func newAdminUserListCmd(open openFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tEMAIL\tADMIN\tSTATE")
			for page := 1; ; page++ {
				users, _, err := st.ListUsers(cmd.Context(), store.UserFilter{}, store.Page{Number: page, Size: 100})
				if err != nil {
					return err
				}
				for _, u := range users {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%s\n", u.ID, u.Username, u.Name, u.Email, u.Admin, u.State)
				}
				if len(users) < 100 {
					break
				}
			}
			return tw.Flush()
		},
	}
}

func newAdminTokenCreateCmd(open openFunc) *cobra.Command {
	var username, name, scopes, expires string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a personal access token and print it (it is shown only once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.UserByUsername(cmd.Context(), username)
			if err != nil {
				return err
			}
			nt := forge.NewToken{UserID: u.ID, Name: name}
			for _, s := range strings.Split(scopes, ",") {
				if s = strings.TrimSpace(s); s != "" {
					nt.Scopes = append(nt.Scopes, gantry.Scope(s))
				}
			}
			if expires != "" {
				if nt.ExpiresAt, err = time.Parse("2006-01-02", expires); err != nil {
					return fmt.Errorf("--expires-at: want YYYY-MM-DD: %w", err)
				}
			}
			_, secret, err := f.CreateToken(cmd.Context(), forge.System(), nt)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&username, "user", "", "username (required)")
	fl.StringVar(&name, "name", "admin-cli", "token name")
	fl.StringVar(&scopes, "scopes", "api", "comma-separated scopes")
	fl.StringVar(&expires, "expires-at", "", "expiry date YYYY-MM-DD (default: never)")
	cmd.MarkFlagRequired("user")
	return cmd
}
