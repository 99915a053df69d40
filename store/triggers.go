package store

import (
	"context"
	"fmt"
	"time"
)

// Trigger is a pipeline trigger token of a project (glptt-…); only its
// hash and last four characters are kept.
type Trigger struct {
	ID          int64
	ProjectID   int64
	Last4       string
	Description string
	OwnerID     int64
	CreatedAt   time.Time
	LastUsedAt  time.Time
}

const triggerColumns = "id, project_id, token_last4, description, owner_id, created_at, last_used_at"

func scanTrigger(row interface{ Scan(...any) error }) (Trigger, error) {
	var t Trigger
	var created, used int64
	err := row.Scan(&t.ID, &t.ProjectID, &t.Last4, &t.Description, &t.OwnerID, &created, &used)
	t.CreatedAt, t.LastUsedAt = fromMicros(created), fromMicros(used)
	return t, err
}

// CreateTrigger stores a trigger token by its hash.
func (s *Store) CreateTrigger(ctx context.Context, tr *Trigger, hash string) error {
	return s.inWrite(ctx, func(t *tx) (err error) {
		tr.CreatedAt = t.now
		tr.ID, err = t.insert(ctx, `INSERT INTO trigger_tokens (project_id, token_hash, token_last4, description, owner_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, tr.ProjectID, hash, tr.Last4, tr.Description, tr.OwnerID, micros(t.now))
		return err
	})
}

// TriggerByHash finds a trigger token and records its use.
func (s *Store) TriggerByHash(ctx context.Context, hash string) (Trigger, error) {
	var tr Trigger
	err := s.inWrite(ctx, func(t *tx) (err error) {
		if tr, err = scanTrigger(t.queryRow(ctx, "SELECT "+triggerColumns+" FROM trigger_tokens WHERE token_hash = ?", hash)); err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE trigger_tokens SET last_used_at = ? WHERE id = ?", micros(t.now), tr.ID)
		return err
	})
	if err != nil {
		return Trigger{}, fmt.Errorf("trigger token: %w", err)
	}
	return tr, nil
}

// Triggers lists a project's trigger tokens.
func (s *Store) Triggers(ctx context.Context, projectID int64) ([]Trigger, error) {
	var out []Trigger
	err := s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT "+triggerColumns+" FROM trigger_tokens WHERE project_id = ? ORDER BY id", projectID)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanTrigger)
		return err
	})
	return out, err
}

// DeleteTrigger removes a project's trigger token.
func (s *Store) DeleteTrigger(ctx context.Context, projectID, id int64) error {
	return s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "DELETE FROM trigger_tokens WHERE project_id = ? AND id = ?", projectID, id)
	})
}
