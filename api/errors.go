package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"llamenos/fault"
	"llamenos/hotline"
	"llamenos/store"
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
func errEnrolFirst() *apiError {
	return &apiError{http.StatusForbidden, "passkey_required", "this hotline requires a passkey: enrol one on this device first"}
}
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

// refusal maps an error to what the person who asked is told: the
// handlers' own refusals, the domain packages' faults, and the call
// engine's, auth's and the store's sentinel errors. false: an internal
// failure.
func refusal(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	if f, ok := fault.As(err); ok {
		switch f.Kind {
		case fault.KindInvalid:
			return errBadRequest("%s", f.Msg), true
		case fault.KindForbidden:
			return errForbidden(f.Msg), true
		case fault.KindNotFound:
			return errNotFound(f.Msg), true
		case fault.KindConflict:
			return errConflict(f.Msg), true
		case fault.KindTooLarge:
			return &apiError{http.StatusRequestEntityTooLarge, "payload_too_large", f.Msg}, true
		case fault.KindQuota:
			return &apiError{http.StatusTooManyRequests, "quota_exceeded", f.Msg}, true
		}
	}
	switch {
	case errors.Is(err, hotline.ErrNoCall):
		return errNotFound("this call has ended or does not exist"), true
	case errors.Is(err, hotline.ErrNotRung):
		return errForbidden("you were not rung for this call"), true
	case errors.Is(err, hotline.ErrAlreadyAnswered):
		return errConflict("another volunteer answered this call"), true
	case errors.Is(err, hotline.ErrNotBannable):
		return errConflict("the caller's number was withheld, or the call is more than a minute old (its caller hash is erased): add the number on the ban list instead"), true
	case errors.Is(err, hotline.ErrBadSignal), errors.Is(err, store.ErrInvalid):
		return errBadRequest("%v", err), true
	}
	return authRefusal(err)
}

// writeError answers with err's status and code; anything that is not a
// refusal is an internal failure: logged, and reported without details.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ae, ok := refusal(err)
	if !ok {
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
// refusing other content types, unknown, repeated or miscased fields and
// trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	data, err := readStrict(r.Body, dst)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("body larger than %d bytes", limit)}
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
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
