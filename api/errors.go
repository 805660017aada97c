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
	// Origin is the hotline's public origin, on wrong_host and
	// wrong_origin: the address the browser should have opened.
	Origin string `json:"origin,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errBadRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}
func errUnauthorized(msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg}
}
func errForbidden(msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}
func errWrongOrigin(origin string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "wrong_origin", Message: fmt.Sprintf("this page is not at the hotline's address; open %s instead", origin), Origin: origin}
}
func errNotFound(msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}
func errConflict(msg string) *apiError {
	return &apiError{Status: http.StatusConflict, Code: "conflict", Message: msg}
}
func errGone(msg string) *apiError {
	return &apiError{Status: http.StatusGone, Code: "gone", Message: msg}
}
func errEnrolFirst() *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "passkey_required", Message: "this hotline requires a passkey: enrol one on this device first"}
}
func errTooMany() *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Code: "too_many_requests", Message: "too many attempts; wait a minute and try again"}
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
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: f.Msg}, true
		case fault.KindQuota:
			return &apiError{Status: http.StatusTooManyRequests, Code: "quota_exceeded", Message: f.Msg}, true
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
		ae = &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; the administrator can find details in the daemon's log"}
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
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the body as application/json"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	data, err := readStrict(r.Body, dst)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: fmt.Sprintf("body larger than %d bytes", limit)}
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
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: fmt.Sprintf("body larger than %d bytes", limit)}
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
