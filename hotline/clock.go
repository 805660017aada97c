package hotline

import "time"

// Clock is the engine's time. Now stamps call records and ring events;
// AfterFunc runs the call timers: queue timeout, ring refresh, the
// browser's connect timeout and grace, the language menu and CAPTCHA
// digits, the externalMedia start and the closing prompt. The default is
// the real clock; tests pass one they advance by hand.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed, unless the
	// returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending Clock.AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it
	// did.
	Stop() bool
}

// realClock is time itself.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// RealClock is time itself, for other packages that take a Clock.
var RealClock Clock = realClock{}
