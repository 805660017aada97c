package callstats

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"llamenos/store"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func vol(n int) string { return strings.Repeat(fmt.Sprintf("%x", n%16), 64) }

func sec(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

// call builds a record that started at t0+at.
func call(out store.Outcome, at time.Duration, opts ...func(*store.Call)) store.Call {
	c := store.Call{StartedAt: t0.Add(at), Outcome: out}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func queued(wait time.Duration) func(*store.Call) {
	return func(c *store.Call) { c.QueuedAt, c.QueueWait = c.StartedAt.Add(5*time.Second), wait }
}

// answered: queued for wait, rang for ring, talked for talk, by volunteer v.
func answered(v int, wait, ring, talk time.Duration) func(*store.Call) {
	return func(c *store.Call) {
		queued(wait)(c)
		c.AnsweredAt = c.QueuedAt.Add(wait)
		c.RangAt = c.AnsweredAt.Add(-ring)
		c.AnsweredBy = vol(v)
		c.Duration = talk
		c.EndedAt = c.AnsweredAt.Add(talk)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		c    store.Call
		want Class
	}{
		{call(store.OutcomeAnswered, 0, answered(1, sec(3), sec(2), sec(60))), Answered},
		{call(store.OutcomeInProgress, 0, answered(1, sec(3), sec(2), 0)), Answered},
		{call(store.OutcomeInProgress, 0, queued(0)), Live},
		{call(store.OutcomeUnanswered, 0, queued(sec(120))), Missed},
		{call(store.OutcomeAbandoned, 0, queued(sec(9))), Abandoned},
		{call(store.OutcomeAbandoned, 0), LeftEarly},
		{call(store.OutcomeVoicemail, 0), Voicemail},
		{call(store.OutcomeBanned, 0), Refused},
		{call(store.OutcomeRateLimited, 0), Refused},
		{call(store.OutcomeFailed, 0), Failed},
	}
	for _, c := range cases {
		if got := Classify(c.c); got != c.want {
			t.Errorf("%s (queued %v): %s, want %s", c.c.Outcome, !c.c.QueuedAt.IsZero(), got, c.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	ds := func(secs ...float64) []time.Duration {
		out := make([]time.Duration, len(secs))
		for i, s := range secs {
			out[i] = sec(s)
		}
		return out
	}
	ten := ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	cases := []struct {
		vals []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ds(7), 50, sec(7)},
		{ds(7), 90, sec(7)},
		{ds(1, 2), 50, sec(1)}, // the lower middle
		{ds(1, 2), 90, sec(2)},
		{ds(1, 2, 3), 50, sec(2)},
		{ten, 50, sec(5)},
		{ten, 90, sec(9)},
		{ten, 91, sec(10)},
		{ten, 100, sec(10)},
		{ds(1, 1, 1, 1, 1, 1, 1, 1, 1, 60), 90, sec(1)}, // one outlier in ten is above p90
		{ds(1, 1, 1, 1, 1, 1, 1, 1, 60, 60), 90, sec(60)},
	}
	for _, c := range cases {
		if got := Percentile(c.vals, c.p); got != c.want {
			t.Errorf("p%v of %v: %v, want %v", c.p, c.vals, got, c.want)
		}
	}
}

func TestSummarizeNoCalls(t *testing.T) {
	s := Summarize(nil, t0.Add(-Day), t0)
	if s.Offered != 0 || s.ByClass != [numClasses]int{} || s.QueueWait.Count != 0 || s.RingToAnswer.Count != 0 || len(s.ByVolunteer) != 0 {
		t.Errorf("no calls: %+v", s)
	}
	if s.ByVolunteer == nil {
		t.Error("ByVolunteer is nil: the API would send null")
	}
}

func TestSummarizeOneCall(t *testing.T) {
	c := call(store.OutcomeAnswered, -time.Hour, answered(1, sec(12), sec(4), sec(300)))
	s := Summarize([]store.Call{c}, t0.Add(-Day), t0)
	if s.Offered != 1 || s.Count(Answered) != 1 {
		t.Fatalf("one call: %+v", s)
	}
	if s.QueueWait != (Durations{1, sec(12), sec(12)}) || s.RingToAnswer != (Durations{1, sec(4), sec(4)}) {
		t.Errorf("one call's times: wait %+v ring %+v", s.QueueWait, s.RingToAnswer)
	}
	if len(s.ByVolunteer) != 1 || s.ByVolunteer[0] != (VolunteerCount{vol(1), 1}) {
		t.Errorf("by volunteer: %+v", s.ByVolunteer)
	}
}

func TestSummarize(t *testing.T) {
	calls := []store.Call{
		call(store.OutcomeAnswered, -1*time.Hour, answered(2, sec(10), sec(10), sec(60))),
		call(store.OutcomeAnswered, -2*time.Hour, answered(1, sec(20), sec(5), sec(60))),
		call(store.OutcomeAnswered, -3*time.Hour, answered(2, sec(30), sec(1), sec(60))),
		call(store.OutcomeInProgress, -time.Minute, answered(1, sec(5), sec(5), 0)),
		call(store.OutcomeUnanswered, -4*time.Hour, queued(sec(120))),
		call(store.OutcomeAbandoned, -5*time.Hour, queued(sec(40))),
		call(store.OutcomeAbandoned, -5*time.Hour),
		call(store.OutcomeBanned, -6*time.Hour),
		call(store.OutcomeFailed, -7*time.Hour),
		call(store.OutcomeInProgress, -time.Second, queued(0)),
		// Answered before RangAt existed: no ring-to-answer.
		call(store.OutcomeAnswered, -8*time.Hour, func(c *store.Call) {
			answered(3, sec(50), 0, sec(60))(c)
			c.RangAt = time.Time{}
		}),
		// Outside the day: exactly 24 h ago, and in the future.
		call(store.OutcomeAnswered, -Day, answered(1, sec(1), sec(1), sec(1))),
		call(store.OutcomeAnswered, time.Second, answered(1, sec(1), sec(1), sec(1))),
	}
	s := Summarize(calls, t0.Add(-Day), t0)
	if s.Offered != 11 {
		t.Errorf("offered %d, want 11", s.Offered)
	}
	want := map[Class]int{Answered: 5, Missed: 1, Abandoned: 1, LeftEarly: 1, Refused: 1, Failed: 1, Live: 1, Voicemail: 0}
	sum := 0
	for c := Class(0); c < numClasses; c++ {
		sum += s.Count(c)
		if s.Count(c) != want[c] {
			t.Errorf("%s: %d, want %d", c, s.Count(c), want[c])
		}
	}
	if sum != s.Offered {
		t.Errorf("classes add up to %d of %d", sum, s.Offered)
	}
	// Waits: answered 10 20 30 5 50, missed 120, abandoned 40 → sorted
	// 5 10 20 30 40 50 120: median the 4th, p90 the 7th.
	if s.QueueWait != (Durations{7, sec(30), sec(120)}) {
		t.Errorf("queue wait %+v", s.QueueWait)
	}
	// Rings: 10 5 1 5 → 1 5 5 10.
	if s.RingToAnswer != (Durations{4, sec(5), sec(10)}) {
		t.Errorf("ring to answer %+v", s.RingToAnswer)
	}
	wantVol := []VolunteerCount{{vol(1), 2}, {vol(2), 2}, {vol(3), 1}}
	if fmt.Sprint(s.ByVolunteer) != fmt.Sprint(wantVol) {
		t.Errorf("by volunteer %v, want %v", s.ByVolunteer, wantVol)
	}
}

func TestDashboard(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"), store.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(c store.Call) {
		t.Helper()
		id, err := store.NewID()
		if err != nil {
			t.Fatal(err)
		}
		c.ID = id
		if err := st.Update(context.Background(), func(tx *store.Tx) error { _, err := tx.PutCall(c); return err }); err != nil {
			t.Fatal(err)
		}
	}
	// More than one page of the store's listing in the week.
	for i := range store.MaxLimit + 5 {
		put(call(store.OutcomeAnswered, -2*Day-time.Duration(i)*time.Minute, answered(1, sec(3), sec(2), sec(60))))
	}
	put(call(store.OutcomeAbandoned, -time.Hour, queued(sec(15))))
	put(call(store.OutcomeAnswered, -2*time.Hour, answered(2, sec(7), sec(6), sec(60))))
	put(call(store.OutcomeAnswered, -8*Day, answered(2, sec(7), sec(6), sec(60))))

	svc := &Service{Store: st, Now: func() time.Time { return t0 }}
	d, err := svc.Dashboard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Day.Offered != 2 || d.Day.Count(Answered) != 1 || d.Day.Count(Abandoned) != 1 {
		t.Errorf("day: %+v", d.Day)
	}
	if d.Week.Offered != store.MaxLimit+7 || d.Week.Count(Answered) != store.MaxLimit+6 {
		t.Errorf("week: offered %d answered %d", d.Week.Offered, d.Week.Count(Answered))
	}
	if d.Day.QueueWait != (Durations{2, sec(7), sec(15)}) {
		t.Errorf("day queue wait %+v", d.Day.QueueWait)
	}
	if d.VoicemailTaken || !d.At.Equal(t0) {
		t.Errorf("dashboard %+v", d)
	}

	// A build that takes voicemail says so unless the mode is "never".
	svc.VoicemailTaken = true
	for _, tc := range []struct {
		mode store.VoicemailMode
		want bool
	}{{store.VoicemailAuto, true}, {store.VoicemailAlways, true}, {store.VoicemailNever, false}} {
		err := st.Update(context.Background(), func(tx *store.Tx) error {
			set, err := tx.Settings()
			if err != nil {
				return err
			}
			set.VoicemailMode = tc.mode
			return tx.PutSettings(set)
		})
		if err != nil {
			t.Fatal(err)
		}
		if d, err := svc.Dashboard(context.Background()); err != nil || d.VoicemailTaken != tc.want {
			t.Errorf("mode %s: voicemail taken %v (%v), want %v", tc.mode, d.VoicemailTaken, err, tc.want)
		}
	}
}

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	var b strings.Builder
	m.Write(&b)
	empty := b.String()
	for _, want := range []string{
		"# TYPE llamenos_calls_offered_total counter\nllamenos_calls_offered_total 0\n",
		`llamenos_calls_ended_total{class="voicemail"} 0`,
		"# TYPE llamenos_call_queue_wait_seconds histogram\n",
		"llamenos_call_duration_seconds_bucket{le=\"+Inf\"} 0\nllamenos_call_duration_seconds_sum 0\nllamenos_call_duration_seconds_count 0\n",
		`llamenos_audio_packets_total{voice="volunteer",stage="sent"} 0`,
		`llamenos_audio_playout_discarded_total{kind="sound"} 0`,
	} {
		if !strings.Contains(empty, want) {
			t.Errorf("empty metrics lack %q:\n%s", want, empty)
		}
	}

	m.Observe(call(store.OutcomeAnswered, 0, answered(1, sec(3), sec(1.5), sec(90))))
	m.Observe(call(store.OutcomeAnswered, 0, answered(2, sec(45), sec(45), sec(4000))))
	m.Observe(call(store.OutcomeAbandoned, 0, queued(sec(10))))
	m.Observe(call(store.OutcomeAbandoned, 0)) // hung up in the menu
	m.Observe(call(store.OutcomeUnanswered, 0, queued(sec(700))))
	m.ObserveAudio(Audio{FromCaller: 100, ToVolunteer: 99, FromVolunteer: 90, ToCaller: 80, PlayoutDropped: 2, PlayoutSkipped: 8})
	m.ObserveAudio(Audio{FromCaller: 10, ToVolunteer: 10, FromVolunteer: 10, ToCaller: 9, PlayoutSkipped: 1})
	b.Reset()
	m.Write(&b)
	want := `# HELP llamenos_calls_offered_total Calls that reached the hotline, counted when they end.
# TYPE llamenos_calls_offered_total counter
llamenos_calls_offered_total 5
# HELP llamenos_calls_ended_total Ended calls by how they ended.
# TYPE llamenos_calls_ended_total counter
llamenos_calls_ended_total{class="answered"} 2
llamenos_calls_ended_total{class="missed"} 1
llamenos_calls_ended_total{class="abandoned"} 1
llamenos_calls_ended_total{class="voicemail"} 0
llamenos_calls_ended_total{class="refused"} 0
llamenos_calls_ended_total{class="failed"} 0
llamenos_calls_ended_total{class="left_early"} 1
# HELP llamenos_call_queue_wait_seconds Time callers waited in the queue (answered, missed and abandoned calls).
# TYPE llamenos_call_queue_wait_seconds histogram
llamenos_call_queue_wait_seconds_bucket{le="1"} 0
llamenos_call_queue_wait_seconds_bucket{le="2"} 0
llamenos_call_queue_wait_seconds_bucket{le="5"} 1
llamenos_call_queue_wait_seconds_bucket{le="10"} 2
llamenos_call_queue_wait_seconds_bucket{le="15"} 2
llamenos_call_queue_wait_seconds_bucket{le="30"} 2
llamenos_call_queue_wait_seconds_bucket{le="60"} 3
llamenos_call_queue_wait_seconds_bucket{le="120"} 3
llamenos_call_queue_wait_seconds_bucket{le="300"} 3
llamenos_call_queue_wait_seconds_bucket{le="600"} 3
llamenos_call_queue_wait_seconds_bucket{le="+Inf"} 4
llamenos_call_queue_wait_seconds_sum 758
llamenos_call_queue_wait_seconds_count 4
# HELP llamenos_call_ring_to_answer_seconds Time the answering volunteer's browser rang before they answered.
# TYPE llamenos_call_ring_to_answer_seconds histogram
llamenos_call_ring_to_answer_seconds_bucket{le="1"} 0
llamenos_call_ring_to_answer_seconds_bucket{le="2"} 1
llamenos_call_ring_to_answer_seconds_bucket{le="5"} 1
llamenos_call_ring_to_answer_seconds_bucket{le="10"} 1
llamenos_call_ring_to_answer_seconds_bucket{le="15"} 1
llamenos_call_ring_to_answer_seconds_bucket{le="30"} 1
llamenos_call_ring_to_answer_seconds_bucket{le="60"} 2
llamenos_call_ring_to_answer_seconds_bucket{le="120"} 2
llamenos_call_ring_to_answer_seconds_bucket{le="300"} 2
llamenos_call_ring_to_answer_seconds_bucket{le="600"} 2
llamenos_call_ring_to_answer_seconds_bucket{le="+Inf"} 2
llamenos_call_ring_to_answer_seconds_sum 46.5
llamenos_call_ring_to_answer_seconds_count 2
# HELP llamenos_call_duration_seconds Time from the answer to the end of answered calls.
# TYPE llamenos_call_duration_seconds histogram
llamenos_call_duration_seconds_bucket{le="30"} 0
llamenos_call_duration_seconds_bucket{le="60"} 0
llamenos_call_duration_seconds_bucket{le="120"} 1
llamenos_call_duration_seconds_bucket{le="300"} 1
llamenos_call_duration_seconds_bucket{le="600"} 1
llamenos_call_duration_seconds_bucket{le="900"} 1
llamenos_call_duration_seconds_bucket{le="1800"} 1
llamenos_call_duration_seconds_bucket{le="3600"} 1
llamenos_call_duration_seconds_bucket{le="7200"} 2
llamenos_call_duration_seconds_bucket{le="+Inf"} 2
llamenos_call_duration_seconds_sum 4090
llamenos_call_duration_seconds_count 2
# HELP llamenos_audio_packets_total Audio packets the relays of ended calls received and sent on, by whose voice.
# TYPE llamenos_audio_packets_total counter
llamenos_audio_packets_total{voice="caller",stage="received"} 110
llamenos_audio_packets_total{voice="caller",stage="sent"} 109
llamenos_audio_packets_total{voice="volunteer",stage="received"} 100
llamenos_audio_packets_total{voice="volunteer",stage="sent"} 89
# HELP llamenos_audio_playout_discarded_total The volunteer's packets the relay's playout buffer discarded: with sound (late), or quiet (a pause shortened).
# TYPE llamenos_audio_playout_discarded_total counter
llamenos_audio_playout_discarded_total{kind="sound"} 2
llamenos_audio_playout_discarded_total{kind="quiet"} 9
`
	if got := b.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}
