package gantry

import "errors"

// Sentinel errors shared by every layer. Wrap them with context
// (fmt.Errorf("claim job %d: %w", id, gantry.ErrConflict)) and test with
// errors.Is; the HTTP layers map each to one status code in one place.
var (
	// ErrNotFound: the thing does not exist, or the caller may not know it does.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the thing exists already, or changed under the caller.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the caller is known but not allowed.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized: the caller could not be identified.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrInvalid: the input is malformed or breaks a rule.
	ErrInvalid = errors.New("invalid")
	// ErrNotImplemented: a recognised request the product does not do yet.
	ErrNotImplemented = errors.New("not implemented")
)
