package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
)

// status maps an error to its HTTP status and GitLab-style message (a
// string, or field → messages for a *forge.FieldError). It is the only
// place where errors become status codes. noun names the thing a 404 is
// about ("Project"), as GitLab's messages do.
func status(err error, noun string) (int, any) {
	detail := detailOf(err)
	var fe *forge.FieldError
	switch {
	case errors.As(err, &fe):
		return http.StatusBadRequest, map[string][]string{fe.Field: {fe.Message}}
	case errors.Is(err, gantry.ErrInvalid):
		return http.StatusBadRequest, "400 Bad request - " + detail
	case errors.Is(err, gantry.ErrUnauthorized):
		return http.StatusUnauthorized, "401 Unauthorized"
	case errors.Is(err, gantry.ErrForbidden):
		return http.StatusForbidden, "403 Forbidden"
	case errors.Is(err, gantry.ErrNotFound):
		if noun == "" {
			return http.StatusNotFound, "404 Not found"
		}
		return http.StatusNotFound, "404 " + noun + " Not Found"
	case errors.Is(err, gantry.ErrConflict):
		return http.StatusConflict, detail
	case errors.Is(err, gantry.ErrNotImplemented):
		return http.StatusNotImplemented, "501 Not Implemented - " + detail
	}
	return http.StatusInternalServerError, "500 Internal Server Error"
}

// detailOf is the user-facing part of a wrapped sentinel error: the text
// after the sentinel ("invalid: name can't be blank" → "name can't be
// blank"), or the whole message.
func detailOf(err error) string {
	msg := err.Error()
	for _, s := range []error{gantry.ErrInvalid, gantry.ErrConflict, gantry.ErrNotImplemented} {
		if i := strings.LastIndex(msg, s.Error()+": "); i >= 0 && errors.Is(err, s) {
			return msg[i+len(s.Error())+2:]
		}
	}
	return msg
}

// fail writes err as a GitLab error response; server errors are logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, noun string) {
	code, msg := status(err, noun)
	if code >= 500 {
		s.log().Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, code, map[string]any{"message": msg})
}

// failf writes a 400 with a formatted message.
func (s *Server) failf(w http.ResponseWriter, r *http.Request, format string, args ...any) {
	s.fail(w, r, fmt.Errorf("%w: %s", gantry.ErrInvalid, fmt.Sprintf(format, args...)), "")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func isConflict(err error) bool { return errors.Is(err, gantry.ErrConflict) }

// errNotFoundf is a not-found error about a thing named noun.
func errNotFoundf(noun string) error { return fmt.Errorf("%s: %w", noun, gantry.ErrNotFound) }

// errInvalidf is a 400 with a message.
func errInvalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", gantry.ErrInvalid, fmt.Sprintf(format, args...))
}
