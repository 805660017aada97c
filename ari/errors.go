package ari

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a non-2xx answer from ARI. Message is Asterisk's own explanation
// from the {"message": "..."} body (or the HTTP status text when the body
// has none).
type Error struct {
	Status  int
	Message string
	Method  string
	Path    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("ari: %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// StatusOf returns the HTTP status carried by err, or 0 when err is not (and
// does not wrap) an *Error.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 from ARI: the channel, bridge or
// playback is already gone, which teardown code usually treats as success.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }
