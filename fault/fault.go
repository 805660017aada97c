// Package fault is how domain packages refuse a request: a kind (not found,
// forbidden, conflict…) and a message meant for the person who asked. The
// api package turns the kind into an HTTP status once; the domain packages
// know nothing of HTTP.
package fault

import (
	"errors"
	"fmt"
)

// Kind says why a request was refused.
type Kind int

const (
	KindInvalid   Kind = iota + 1 // the request is malformed or breaks a rule of the record
	KindForbidden                 // who is asking may not do this
	KindNotFound                  // no such thing (or not theirs to know of)
	KindConflict                  // the current state does not allow it
	KindGone                      // it existed and is used up
	KindTooLarge                  // one thing is larger than allowed
	KindQuota                     // who is asking has used up a limit for now
)

// Error is a refusal with a message safe to show to the person who asked.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func newf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Invalidf refuses a malformed request or one that breaks a record's rules.
func Invalidf(format string, args ...any) error { return newf(KindInvalid, format, args...) }

// Forbidden refuses someone who may not do this.
func Forbidden(msg string) error { return &Error{Kind: KindForbidden, Msg: msg} }

// NotFound says there is no such thing.
func NotFound(msg string) error { return &Error{Kind: KindNotFound, Msg: msg} }

// Conflict refuses what the current state does not allow.
func Conflict(msg string) error { return &Error{Kind: KindConflict, Msg: msg} }

// TooLarge refuses one thing that is larger than allowed.
func TooLarge(format string, args ...any) error { return newf(KindTooLarge, format, args...) }

// Quota refuses a write beyond a limit of the person asking (how many, or
// how much per day).
func Quota(format string, args ...any) error { return newf(KindQuota, format, args...) }

// As returns the refusal in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
