package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/gantry-ci/gantry"
)

const tokenColumns = "k.id, k.user_id, k.name, k.scopes, k.expires_at, k.revoked, k.created_at, k.last_used_at"

func scanToken(row interface{ Scan(...any) error }) (gantry.Token, error) {
	var k gantry.Token
	var scopes string
	var expires, created, used int64
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &scopes, &expires, &k.Revoked, &created, &used); err != nil {
		return gantry.Token{}, err
	}
	for _, s := range strings.Split(scopes, ",") {
		if s != "" {
			k.Scopes = append(k.Scopes, gantry.Scope(s))
		}
	}
	k.ExpiresAt, k.CreatedAt, k.LastUsedAt = fromMicros(expires), fromMicros(created), fromMicros(used)
	return k, nil
}

func joinScopes(scopes []gantry.Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// CreateToken stores a personal access token by the hash of its secret and
// fills in k.ID and k.CreatedAt.
func (s *Store) CreateToken(ctx context.Context, k *gantry.Token, hash string) error {
	err := s.inWrite(ctx, func(t *tx) (err error) {
		k.CreatedAt = t.now
		k.ID, err = t.insert(ctx, `INSERT INTO personal_access_tokens (user_id, name, token_hash, scopes, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, k.UserID, k.Name, hash, joinScopes(k.Scopes), micros(k.ExpiresAt), micros(t.now))
		return err
	})
	if err != nil {
		return fmt.Errorf("create token for user %d: %w", k.UserID, err)
	}
	return nil
}

// TokenByHash returns the token with that secret hash and its user. It
// does not judge expiry or revocation; the caller does.
func (s *Store) TokenByHash(ctx context.Context, hash string) (gantry.Token, gantry.User, error) {
	var k gantry.Token
	var u gantry.User
	err := s.inRead(ctx, func(t *tx) (err error) {
		k, err = scanToken(t.queryRow(ctx, "SELECT "+tokenColumns+" FROM personal_access_tokens k WHERE k.token_hash = ?", hash))
		if err != nil {
			return err
		}
		u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", k.UserID))
		return err
	})
	if err != nil {
		return gantry.Token{}, gantry.User{}, fmt.Errorf("token: %w", err)
	}
	return k, u, nil
}

// Token returns the token with id.
func (s *Store) Token(ctx context.Context, id int64) (gantry.Token, error) {
	var k gantry.Token
	err := s.inRead(ctx, func(t *tx) (err error) {
		k, err = scanToken(t.queryRow(ctx, "SELECT "+tokenColumns+" FROM personal_access_tokens k WHERE k.id = ?", id))
		return err
	})
	if err != nil {
		return gantry.Token{}, fmt.Errorf("token %d: %w", id, err)
	}
	return k, nil
}

// ListTokens returns a page of a user's tokens (every user's when userID
// is 0), newest last, and the total.
func (s *Store) ListTokens(ctx context.Context, userID int64, p Page) ([]gantry.Token, int, error) {
	cond, args := "1=1", []any{}
	if userID != 0 {
		cond, args = "k.user_id = ?", []any{userID}
	}
	var out []gantry.Token
	var total int
	err := s.inRead(ctx, func(t *tx) error {
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM personal_access_tokens k WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+tokenColumns+" FROM personal_access_tokens k WHERE "+cond+" ORDER BY k.id LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanToken)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list tokens: %w", err)
	}
	return out, total, nil
}

// RevokeToken marks the token revoked; revoking twice is fine.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	err := s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "UPDATE personal_access_tokens SET revoked = 1 WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

// TouchToken records that the token was used now. It writes at most once a
// minute per token, so that authentication stays a read.
func (s *Store) TouchToken(ctx context.Context, id int64) error {
	return s.inWrite(ctx, func(t *tx) error {
		_, err := t.exec(ctx, "UPDATE personal_access_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?",
			micros(t.now), id, micros(t.now)-60_000_000)
		return err
	})
}
