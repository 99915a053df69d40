package forge

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/store"
)

// VariableTarget says whose CI/CD variables are meant: the instance
// (IDOrPath empty), a group or a project.
type VariableTarget struct {
	Level    gantry.VariableLevel
	IDOrPath string
}

// variableOwner checks that actor may manage the target's variables:
// admins the instance's, group owners a group's, maintainers a project's.
// Reading needs the same role: values are secrets. Anonymous callers are
// gantry.ErrUnauthorized.
func (s *Service) variableOwner(ctx context.Context, actor auth.Actor, t VariableTarget) (store.VariableOwner, error) {
	if actor.Anonymous() { // GitLab authenticates first, whatever the target
		return store.VariableOwner{}, fmt.Errorf("%s variables: %w", t.Level, gantry.ErrUnauthorized)
	}
	switch t.Level {
	case gantry.InstanceLevel:
		if !actor.Admin() {
			return store.VariableOwner{}, fmt.Errorf("instance variables: %w", gantry.ErrForbidden)
		}
		return store.InstanceVariables, nil
	case gantry.GroupLevel:
		ga, err := s.Group(ctx, actor, t.IDOrPath, auth.OwnProject)
		return store.VariableOwner{Level: gantry.GroupLevel, ID: ga.Group.ID}, err
	case gantry.ProjectLevel:
		pa, err := s.Project(ctx, actor, t.IDOrPath, auth.ManageProject)
		return store.VariableOwner{Level: gantry.ProjectLevel, ID: pa.Project.ID}, err
	}
	return store.VariableOwner{}, fmt.Errorf("%w: variable level %q", gantry.ErrInvalid, t.Level)
}

// ListVariables lists the target's own variables (not inherited ones).
func (s *Service) ListVariables(ctx context.Context, actor auth.Actor, t VariableTarget, p store.Page) ([]gantry.CIVariable, int, error) {
	o, err := s.variableOwner(ctx, actor, t)
	if err != nil {
		return nil, 0, err
	}
	return s.store.ListVariables(ctx, o, p)
}

// Variable returns the target's variable named key. scope selects among
// variables of that key with different environment scopes; with scope
// empty and several of them, the answer is gantry.ErrConflict, as in
// GitLab.
func (s *Service) Variable(ctx context.Context, actor auth.Actor, t VariableTarget, key, scope string) (gantry.CIVariable, error) {
	o, err := s.variableOwner(ctx, actor, t)
	if err != nil {
		return gantry.CIVariable{}, err
	}
	return s.variable(ctx, o, key, scope)
}

func (s *Service) variable(ctx context.Context, o store.VariableOwner, key, scope string) (gantry.CIVariable, error) {
	vars, err := s.store.VariablesByKey(ctx, o, key)
	if err != nil {
		return gantry.CIVariable{}, err
	}
	var found []gantry.CIVariable
	for _, v := range vars {
		if scope == "" || v.EnvironmentScope == scope {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return gantry.CIVariable{}, fmt.Errorf("variable %s of %s: %w", key, o, gantry.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return gantry.CIVariable{}, fmt.Errorf("%w: There are multiple variables with provided parameters. Please use 'filter[environment_scope]'", gantry.ErrConflict)
}

// CreateVariable adds a variable to the target, after GitLab's checks
// (see validateVariable). Level and OwnerID of v are set from t; a hidden
// variable is also masked. A key already used with that environment scope
// is a *FieldError on "key".
func (s *Service) CreateVariable(ctx context.Context, actor auth.Actor, t VariableTarget, v gantry.CIVariable) (gantry.CIVariable, error) {
	o, err := s.variableOwner(ctx, actor, t)
	if err != nil {
		return gantry.CIVariable{}, err
	}
	v.Level, v.OwnerID = o.Level, o.ID
	if v.EnvironmentScope == "" || o.Level == gantry.InstanceLevel {
		v.EnvironmentScope = "*"
	}
	v.Masked = v.Masked || v.Hidden
	if err := validateVariable(v); err != nil {
		return gantry.CIVariable{}, err
	}
	if err := s.store.CreateVariable(ctx, &v); err != nil {
		if errors.Is(err, gantry.ErrConflict) {
			return gantry.CIVariable{}, &FieldError{Field: "key", Message: "(" + v.Key + ") has already been taken"}
		}
		return gantry.CIVariable{}, err
	}
	return v, nil
}

// VariableUpdate holds the settings to change; nil means unchanged.
type VariableUpdate struct {
	Value            *string
	File             *bool
	Protected        *bool
	Masked           *bool
	Raw              *bool
	EnvironmentScope *string
	Description      *string
}

// UpdateVariable changes the target's variable named key (scope selects
// it as in Variable). A hidden variable stays masked and hidden.
func (s *Service) UpdateVariable(ctx context.Context, actor auth.Actor, t VariableTarget, key, scope string, u VariableUpdate) (gantry.CIVariable, error) {
	o, err := s.variableOwner(ctx, actor, t)
	if err != nil {
		return gantry.CIVariable{}, err
	}
	v, err := s.variable(ctx, o, key, scope)
	if err != nil {
		return gantry.CIVariable{}, err
	}
	if v.Hidden && u.Masked != nil && !*u.Masked {
		return gantry.CIVariable{}, &FieldError{Field: "masked", Message: "cannot be disabled for a hidden variable"}
	}
	old := v.EnvironmentScope
	set(&v.Value, u.Value)
	set(&v.File, u.File)
	set(&v.Protected, u.Protected)
	set(&v.Masked, u.Masked)
	set(&v.Raw, u.Raw)
	set(&v.Description, u.Description)
	if o.Level != gantry.InstanceLevel {
		set(&v.EnvironmentScope, u.EnvironmentScope)
	}
	if err := validateVariable(v); err != nil {
		return gantry.CIVariable{}, err
	}
	if err := s.store.UpdateVariable(ctx, old, v); err != nil {
		if errors.Is(err, gantry.ErrConflict) {
			return gantry.CIVariable{}, &FieldError{Field: "key", Message: "(" + v.Key + ") has already been taken"}
		}
		return gantry.CIVariable{}, err
	}
	return v, nil
}

// DeleteVariable removes the target's variable named key (scope selects
// it as in Variable).
func (s *Service) DeleteVariable(ctx context.Context, actor auth.Actor, t VariableTarget, key, scope string) error {
	o, err := s.variableOwner(ctx, actor, t)
	if err != nil {
		return err
	}
	v, err := s.variable(ctx, o, key, scope)
	if err != nil {
		return err
	}
	return s.store.DeleteVariable(ctx, o, key, v.EnvironmentScope)
}

// CIVariables returns the instance, group (ancestors, closest wins) and
// project variables for a pipeline in project p, closest level winning
// per key+scope; protected ones only when protectedRef. The result is in
// precedence order, farthest level first, ready for gantry.ForEnvironment,
// which picks each job's variables by its environment.
func (s *Service) CIVariables(ctx context.Context, p gantry.Project, protectedRef bool) ([]gantry.CIVariable, error) {
	all, err := s.store.PipelineVariables(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	type keyScope struct{ key, scope string }
	last := map[keyScope]int{}
	for i, v := range all {
		if v.Protected && !protectedRef {
			continue
		}
		last[keyScope{v.Key, v.EnvironmentScope}] = i
	}
	out := make([]gantry.CIVariable, 0, len(last))
	for i, v := range all {
		if j, ok := last[keyScope{v.Key, v.EnvironmentScope}]; ok && j == i {
			out = append(out, v)
		}
	}
	return out, nil
}

// GitLab's rules for variables (Ci::HasVariable, Ci::Maskable).
var (
	variableKey      = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	maskableValue    = regexp.MustCompile(`^[a-zA-Z0-9_+=/@:.~-]{8,}$`)
	maskableRawValue = regexp.MustCompile(`^[^ \t\r\n\f\v]{8,}$`)
	environmentScope = regexp.MustCompile(`^[a-zA-Z0-9_/${}. *-]+$`)
)

// Limits on variables, as GitLab's.
const (
	maxVariableKey   = 255
	maxVariableValue = 10000
	maxScope         = 255
	maxDescription   = 255
)

// VariableKeyErrors returns what is wrong with the key of a CI/CD or
// pipeline variable by GitLab's rules (Ci::HasVariable), in its words and
// order; nothing for a good key.
func VariableKeyErrors(key string) []string {
	var errs []string
	if key == "" {
		errs = append(errs, "can't be blank")
	}
	if len(key) > maxVariableKey {
		errs = append(errs, fmt.Sprintf("is too long (maximum is %d characters)", maxVariableKey))
	}
	if !variableKey.MatchString(key) {
		errs = append(errs, "can contain only letters, digits and '_'.")
	}
	return errs
}

// validateVariable checks v as GitLab does and returns a *FieldError
// naming the first field at fault.
func validateVariable(v gantry.CIVariable) error {
	if errs := VariableKeyErrors(v.Key); len(errs) > 0 {
		return &FieldError{Field: "key", Message: errs[0]}
	}
	switch {
	case len(v.Value) > maxVariableValue:
		return &FieldError{Field: "value", Message: fmt.Sprintf("is too long (maximum is %d characters)", maxVariableValue)}
	case v.Masked && !v.Raw && !maskableValue.MatchString(v.Value):
		return &FieldError{Field: "value", Message: "is invalid: a masked value must be a single line of at least 8 characters " +
			"from the Base64 alphabet (RFC 4648) and @ : . ~"}
	case v.Masked && v.Raw && !maskableRawValue.MatchString(v.Value):
		return &FieldError{Field: "value", Message: "is invalid: a masked raw value must be a single line of at least 8 characters without spaces"}
	case len(v.EnvironmentScope) > maxScope:
		return &FieldError{Field: "environment_scope", Message: fmt.Sprintf("is too long (maximum is %d characters)", maxScope)}
	case !environmentScope.MatchString(v.EnvironmentScope):
		return &FieldError{Field: "environment_scope", Message: "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', '*' and spaces"}
	case len(v.Description) > maxDescription:
		return &FieldError{Field: "description", Message: fmt.Sprintf("is too long (maximum is %d characters)", maxDescription)}
	}
	return nil
}

// FieldError is invalid input in one named field; the API shows it as
// GitLab does: {"message": {"<field>": ["<message>"]}}. It is a
// gantry.ErrInvalid.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Message }

// Is makes errors.Is(err, gantry.ErrInvalid) hold.
func (e *FieldError) Is(target error) bool { return target == gantry.ErrInvalid }
