package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
)

// apiError is the one error shape every handler returns (docs/api.md).
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errBadRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...)}
}
func errUnauthorized(msg string) *apiError {
	return &apiError{http.StatusUnauthorized, "unauthorized", msg}
}
func errForbidden(msg string) *apiError { return &apiError{http.StatusForbidden, "forbidden", msg} }
func errNotFound(msg string) *apiError  { return &apiError{http.StatusNotFound, "not_found", msg} }
func errConflict(msg string) *apiError  { return &apiError{http.StatusConflict, "conflict", msg} }
func errGone(msg string) *apiError      { return &apiError{http.StatusGone, "gone", msg} }
func errTooMany() *apiError {
	return &apiError{http.StatusTooManyRequests, "too_many_requests", "too many attempts; wait a minute and try again"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// writeError answers with err's status and code; anything that is not an
// *apiError is an internal failure: logged, and reported without details.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		log.Error("request failed", "method", r.Method, "route", r.Pattern, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error; the administrator can find details in the daemon's log"}
	} else {
		// The route pattern, never the path: paths carry invite codes.
		log.Debug("request refused", "method", r.Method, "route", r.Pattern, "status", ae.Status, "code", ae.Code, "message", ae.Message)
	}
	writeJSON(w, ae.Status, map[string]*apiError{"error": ae})
}

const defaultBodyLimit = 64 << 10

// decodeJSON reads exactly one JSON object of at most limit bytes into dst,
// refusing other content types, unknown fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return &apiError{http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("body larger than %d bytes", limit)}
		case errors.As(err, &syntax):
			return errBadRequest("malformed JSON at byte %d", syntax.Offset)
		case errors.As(err, &typeErr):
			return errBadRequest("field %q must be %s", typeErr.Field, typeErr.Type)
		case errors.Is(err, io.EOF):
			return errBadRequest("empty body")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return errBadRequest("%s", strings.TrimPrefix(err.Error(), "json: "))
		default:
			return errBadRequest("invalid JSON: %v", err)
		}
	}
	if dec.More() {
		return errBadRequest("body must hold a single JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest("body must hold a single JSON object")
	}
	return nil
}
