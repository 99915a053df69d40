package store

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
)

// VariableOwner says whose CI/CD variables are meant: the instance (ID 0),
// a group or a project.
type VariableOwner struct {
	Level gantry.VariableLevel
	ID    int64
}

// InstanceVariables is the owner of instance-level variables.
var InstanceVariables = VariableOwner{Level: gantry.InstanceLevel}

// OwnerOf returns the owner a variable belongs to.
func OwnerOf(v gantry.CIVariable) VariableOwner {
	return VariableOwner{Level: v.Level, ID: v.OwnerID}
}

func (o VariableOwner) String() string {
	if o.Level == gantry.InstanceLevel {
		return "instance"
	}
	return string(o.Level) + " " + strconv.FormatInt(o.ID, 10)
}

// where is the SQL condition selecting the owner's variables.
func (o VariableOwner) where() (string, []any, error) {
	switch o.Level {
	case gantry.InstanceLevel:
		return "level = 'instance'", nil, nil
	case gantry.GroupLevel:
		return "level = 'group' AND group_id = ?", []any{o.ID}, nil
	case gantry.ProjectLevel:
		return "level = 'project' AND project_id = ?", []any{o.ID}, nil
	}
	return "", nil, fmt.Errorf("%w: variable level %q", gantry.ErrInvalid, o.Level)
}

const variableColumns = "level, COALESCE(group_id, project_id, 0), key, value, file, protected, masked, hidden, raw, environment_scope, description"

func scanVariable(row interface{ Scan(...any) error }) (gantry.CIVariable, error) {
	var v gantry.CIVariable
	var level string
	err := row.Scan(&level, &v.OwnerID, &v.Key, &v.Value, &v.File, &v.Protected, &v.Masked, &v.Hidden, &v.Raw,
		&v.EnvironmentScope, &v.Description)
	v.Level = gantry.VariableLevel(level)
	return v, err
}

// CreateVariable stores a new variable of OwnerOf(*v). A variable with the
// same key and environment scope at that owner is gantry.ErrConflict; an
// owner that does not exist is gantry.ErrNotFound. Instance variables
// always get scope "*".
func (s *Store) CreateVariable(ctx context.Context, v *gantry.CIVariable) error {
	var groupID, projectID any
	switch v.Level {
	case gantry.InstanceLevel:
		v.OwnerID, v.EnvironmentScope = 0, "*"
	case gantry.GroupLevel:
		groupID = v.OwnerID
	case gantry.ProjectLevel:
		projectID = v.OwnerID
	default:
		return fmt.Errorf("create variable %s: %w: level %q", v.Key, gantry.ErrInvalid, v.Level)
	}
	err := s.inWrite(ctx, func(t *tx) error {
		if err := t.ownerExists(ctx, OwnerOf(*v)); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO ci_variables (level, group_id, project_id, key, value, file, protected, masked, hidden,
			raw, environment_scope, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			string(v.Level), groupID, projectID, v.Key, v.Value, v.File, v.Protected, v.Masked, v.Hidden, v.Raw,
			v.EnvironmentScope, v.Description, micros(t.now), micros(t.now))
		return err
	})
	if err != nil {
		return fmt.Errorf("create variable %s of %s: %w", v.Key, OwnerOf(*v), err)
	}
	return nil
}

func (t *tx) ownerExists(ctx context.Context, o VariableOwner) error {
	var n int
	var err error
	switch o.Level {
	case gantry.InstanceLevel:
		return nil
	case gantry.GroupLevel:
		err = t.queryRow(ctx, "SELECT COUNT(*) FROM namespaces WHERE id = ? AND kind = 'group'", o.ID).Scan(&n)
	default:
		err = t.queryRow(ctx, "SELECT COUNT(*) FROM projects WHERE id = ?", o.ID).Scan(&n)
	}
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: %w", o, gantry.ErrNotFound)
	}
	return err
}

// ListVariables returns a page of an owner's variables in creation order,
// and their total.
func (s *Store) ListVariables(ctx context.Context, o VariableOwner, p Page) ([]gantry.CIVariable, int, error) {
	cond, args, err := o.where()
	if err != nil {
		return nil, 0, err
	}
	var out []gantry.CIVariable
	var total int
	err = s.inRead(ctx, func(t *tx) error {
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM ci_variables WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		limit, offset := p.limitOffset()
		rows, err := t.query(ctx, "SELECT "+variableColumns+" FROM ci_variables WHERE "+cond+" ORDER BY id LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanVariable)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list variables of %s: %w", o, err)
	}
	return out, total, nil
}

// VariablesByKey returns an owner's variables named key, one per
// environment scope, ordered by scope; none is an empty slice, not an error.
func (s *Store) VariablesByKey(ctx context.Context, o VariableOwner, key string) ([]gantry.CIVariable, error) {
	cond, args, err := o.where()
	if err != nil {
		return nil, err
	}
	var out []gantry.CIVariable
	err = s.inRead(ctx, func(t *tx) error {
		rows, err := t.query(ctx, "SELECT "+variableColumns+" FROM ci_variables WHERE "+cond+" AND key = ? ORDER BY environment_scope",
			append(args, key)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanVariable)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("variable %s of %s: %w", key, o, err)
	}
	return out, nil
}

// UpdateVariable replaces the variable of OwnerOf(v) named v.Key whose
// environment scope is scope with v (which may move it to another scope).
// No such variable is gantry.ErrNotFound; a scope taken by another
// variable with that key is gantry.ErrConflict.
func (s *Store) UpdateVariable(ctx context.Context, scope string, v gantry.CIVariable) error {
	o := OwnerOf(v)
	cond, args, err := o.where()
	if err != nil {
		return err
	}
	if v.Level == gantry.InstanceLevel {
		v.EnvironmentScope = "*"
	}
	err = s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, `UPDATE ci_variables SET value = ?, file = ?, protected = ?, masked = ?, hidden = ?, raw = ?,
			environment_scope = ?, description = ?, updated_at = ? WHERE `+cond+` AND key = ? AND environment_scope = ?`,
			append([]any{v.Value, v.File, v.Protected, v.Masked, v.Hidden, v.Raw, v.EnvironmentScope, v.Description, micros(t.now)},
				append(args, v.Key, scope)...)...)
	})
	if err != nil {
		return fmt.Errorf("update variable %s of %s: %w", v.Key, o, err)
	}
	return nil
}

// DeleteVariable removes an owner's variable by key and environment scope;
// no such variable is gantry.ErrNotFound.
func (s *Store) DeleteVariable(ctx context.Context, o VariableOwner, key, scope string) error {
	cond, args, err := o.where()
	if err != nil {
		return err
	}
	err = s.inWrite(ctx, func(t *tx) error {
		return t.update(ctx, "DELETE FROM ci_variables WHERE "+cond+" AND key = ? AND environment_scope = ?", append(args, key, scope)...)
	})
	if err != nil {
		return fmt.Errorf("delete variable %s of %s: %w", key, o, err)
	}
	return nil
}

// PipelineVariables returns every variable that can reach a pipeline of
// the project, in precedence order, farthest first: the instance's, then
// those of each group the project lives in from the top-level group down,
// then the project's own. Within one owner they come in creation order. A
// project that does not exist is gantry.ErrNotFound.
func (s *Store) PipelineVariables(ctx context.Context, projectID int64) ([]gantry.CIVariable, error) {
	var out []gantry.CIVariable
	var depth map[int64]int
	err := s.inRead(ctx, func(t *tx) error {
		var ancestry, kind string
		err := t.queryRow(ctx, "SELECT n.ancestry, n.kind FROM projects p JOIN namespaces n ON n.id = p.namespace_id WHERE p.id = ?",
			projectID).Scan(&ancestry, &kind)
		if err != nil {
			return fmt.Errorf("project %d: %w", projectID, err)
		}
		groups := []any{int64(-1)} // never an id; keeps the IN list non-empty
		depth = map[int64]int{}
		if kind == string(gantry.GroupNamespace) {
			for i, part := range strings.Split(strings.Trim(ancestry, "/"), "/") {
				id, err := strconv.ParseInt(part, 10, 64)
				if err != nil {
					return fmt.Errorf("namespace ancestry %q: %w", ancestry, err)
				}
				groups, depth[id] = append(groups, id), i
			}
		}
		in := strings.TrimSuffix(strings.Repeat("?, ", len(groups)), ", ")
		rows, err := t.query(ctx, "SELECT "+variableColumns+` FROM ci_variables WHERE level = 'instance'
			OR (level = 'group' AND group_id IN (`+in+`)) OR (level = 'project' AND project_id = ?) ORDER BY id`,
			append(groups, projectID)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanVariable)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline variables of project %d: %w", projectID, err)
	}
	rank := func(v gantry.CIVariable) int {
		switch v.Level {
		case gantry.InstanceLevel:
			return 0
		case gantry.GroupLevel:
			return 1 + depth[v.OwnerID]
		}
		return 1 << 20
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out, nil
}
