// Package callstats counts the hotline's calls for the admins' dashboard and
// the metrics endpoint, from call metadata alone: outcomes, times, queue
// wait and who answered. It never reads a note, a transcript or a caller's
// number (not even its hash).
//
// Every call that reaches the hotline is offered, and falls in exactly one
// class: answered (a volunteer took it, live or ended), missed (it waited in
// the queue, or found nobody to ring, and nobody answered), abandoned (the
// caller hung up while waiting in the queue), voicemail (the caller left a
// message), refused (banned or over the rate limit), failed (something
// broke before an answer, the CAPTCHA failed, or the daemon stopped), left
// early (the caller hung up before reaching the queue, in the language menu
// or the CAPTCHA), or live (still in the menu or the queue).
package callstats

import (
	"cmp"
	"math"
	"slices"
	"time"

	"llamenos/store"
)

// Class is how a call counts.
type Class int

const (
	Answered Class = iota
	Missed
	Abandoned
	Voicemail
	Refused
	Failed
	LeftEarly
	Live
	numClasses
)

var classNames = [numClasses]string{"answered", "missed", "abandoned", "voicemail", "refused", "failed", "left_early", "live"}

func (c Class) String() string { return classNames[c] }

// Classify puts a call in its class.
func Classify(c store.Call) Class {
	switch c.Outcome {
	case store.OutcomeAnswered:
		return Answered
	case store.OutcomeInProgress:
		if c.AnsweredBy != "" {
			return Answered
		}
		return Live
	case store.OutcomeUnanswered:
		return Missed
	case store.OutcomeAbandoned:
		if c.QueuedAt.IsZero() {
			return LeftEarly
		}
		return Abandoned
	case store.OutcomeVoicemail:
		return Voicemail
	case store.OutcomeBanned, store.OutcomeRateLimited:
		return Refused
	}
	return Failed
}

// queueWait is how long the caller waited in the queue, for the calls
// that waited there.
func queueWait(c store.Call, class Class) (time.Duration, bool) {
	switch class {
	case Answered, Missed, Abandoned:
		return c.QueueWait, true
	}
	return 0, false
}

// ringToAnswer is how long the answerer's browser rang before they took
// the call, when the record knows when it started ringing.
func ringToAnswer(c store.Call, class Class) (time.Duration, bool) {
	if class != Answered || c.RangAt.IsZero() || c.AnsweredAt.IsZero() {
		return 0, false
	}
	return max(c.AnsweredAt.Sub(c.RangAt), 0), true
}

// Durations describes a set of durations; Count 0 means there were none
// and the other fields mean nothing.
type Durations struct {
	Count  int
	Median time.Duration
	P90    time.Duration
}

// Percentile is the nearest-rank percentile p (0 < p ≤ 100) of sorted: the
// smallest value that at least p% of the values do not exceed. It is
// always one of the values; the median of an even count is the lower of
// the middle two. Zero for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func describe(ds []time.Duration) Durations {
	slices.Sort(ds)
	return Durations{Count: len(ds), Median: Percentile(ds, 50), P90: Percentile(ds, 90)}
}

// VolunteerCount is how many calls one volunteer answered.
type VolunteerCount struct {
	PubKey   string
	Answered int
}

// Summary counts the calls that started after From, up to and including
// To.
type Summary struct {
	From, To time.Time
	Offered  int
	// ByClass counts the offered calls by class; they add up to Offered.
	ByClass      [numClasses]int
	QueueWait    Durations // calls that waited in the queue: answered, missed, abandoned
	RingToAnswer Durations // answered calls
	// ByVolunteer counts answered calls per volunteer, most first, then by
	// public key.
	ByVolunteer []VolunteerCount
}

// Count is the number of calls of one class.
func (s Summary) Count(c Class) int { return s.ByClass[c] }

// Summarize counts the calls that started after from, up to and including
// to, and ignores the rest.
func Summarize(calls []store.Call, from, to time.Time) Summary {
	s := Summary{From: from, To: to}
	var waits, rings []time.Duration
	byVol := map[string]int{}
	for _, c := range calls {
		if !c.StartedAt.After(from) || c.StartedAt.After(to) {
			continue
		}
		class := Classify(c)
		s.Offered++
		s.ByClass[class]++
		if d, ok := queueWait(c, class); ok {
			waits = append(waits, d)
		}
		if d, ok := ringToAnswer(c, class); ok {
			rings = append(rings, d)
		}
		if class == Answered && c.AnsweredBy != "" {
			byVol[c.AnsweredBy]++
		}
	}
	s.QueueWait, s.RingToAnswer = describe(waits), describe(rings)
	s.ByVolunteer = make([]VolunteerCount, 0, len(byVol))
	for pk, n := range byVol {
		s.ByVolunteer = append(s.ByVolunteer, VolunteerCount{PubKey: pk, Answered: n})
	}
	slices.SortFunc(s.ByVolunteer, func(a, b VolunteerCount) int {
		return cmp.Or(cmp.Compare(b.Answered, a.Answered), cmp.Compare(a.PubKey, b.PubKey))
	})
	return s
}
