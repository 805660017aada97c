package api

import (
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDashboardAndMetricsAfterCalls: one call answered, one abandoned in
// the queue, through the real engine and the Asterisk simulator; the
// dashboard and /metrics count them, and the audit log filters them.
func TestDashboardAndMetricsAfterCalls(t *testing.T) {
	e := newEnv(t, nil, withRealEngine)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	e.available(v)
	c := e.socket(v)
	readUntil(t, c, 5*time.Second, "hello", ofType("hello"))

	first, _ := e.answerLiveCall(v, c, "+15557654301")
	first.Hangup()
	readUntil(t, c, 10*time.Second, "call:ended", ofType("call:ended"))
	// The volunteer is free for the next call only once the first one is
	// torn down, a moment after it told them it ended.
	waitFor(t, 10*time.Second, "the volunteer free again", func() bool {
		var out struct {
			Volunteers []struct {
				PubKey string
				OnCall bool
			}
		}
		r := e.do("GET", "/api/volunteers", nil, admin)
		r.json(t, &out)
		for _, x := range out.Volunteers {
			if x.PubKey == v.pk {
				return !x.OnCall
			}
		}
		return false
	})

	second := e.placeCall("+15557654302")
	readUntil(t, c, 10*time.Second, "second ring", ofType("ring"))
	second.Hangup()
	readUntil(t, c, 10*time.Second, "ring:stop", ofType("ring:stop"))

	ts := httptest.NewServer(e.srv.MetricsHandler())
	defer ts.Close()
	scrape := func() string {
		res, err := ts.Client().Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// The final records are written after the events that end the calls.
	var body string
	waitFor(t, 10*time.Second, "both calls counted", func() bool {
		body = scrape()
		return strings.Contains(body, "llamenos_calls_offered_total 2\n")
	})
	for _, want := range []string{
		"# TYPE llamenos_calls_offered_total counter\n",
		`llamenos_calls_ended_total{class="answered"} 1` + "\n",
		`llamenos_calls_ended_total{class="abandoned"} 1` + "\n",
		`llamenos_calls_ended_total{class="missed"} 0` + "\n",
		"# TYPE llamenos_call_queue_wait_seconds histogram\n",
		"llamenos_call_queue_wait_seconds_count 2\n",
		"llamenos_call_ring_to_answer_seconds_count 1\n",
		"llamenos_call_duration_seconds_count 1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "+1555765430") {
		t.Error("a caller's number is in the metrics")
	}

	var d struct {
		VoicemailTaken bool `json:"voicemailTaken"`
		Day            struct {
			Offered, Answered, Missed, Abandoned, Voicemail, LeftEarly, Live int
			QueueWait, RingToAnswer                                          struct{ Count int }
			ByVolunteer                                                      []struct {
				PubKey   string
				Answered int
			}
		}
		Week struct{ Offered, Answered, Abandoned int }
	}
	r := e.do("GET", "/api/dashboard", nil, admin)
	if r.status != 200 {
		t.Fatalf("dashboard: %d %s", r.status, r.body)
	}
	r.json(t, &d)
	day := d.Day
	if day.Offered != 2 || day.Answered != 1 || day.Abandoned != 1 || day.Missed != 0 || day.Voicemail != 0 || day.LeftEarly != 0 || day.Live != 0 {
		t.Errorf("day: %+v\n%s", day, r.body)
	}
	if day.QueueWait.Count != 2 || day.RingToAnswer.Count != 1 {
		t.Errorf("day times: %s", r.body)
	}
	if len(day.ByVolunteer) != 1 || day.ByVolunteer[0].PubKey != v.pk || day.ByVolunteer[0].Answered != 1 {
		t.Errorf("by volunteer: %+v", day.ByVolunteer)
	}
	if d.Week.Offered != 2 || d.Week.Answered != 1 || d.Week.Abandoned != 1 || d.VoicemailTaken {
		t.Errorf("week: %s", r.body)
	}
	if strings.Contains(string(r.body), "+1555765430") {
		t.Error("a caller's number is in the dashboard")
	}

	// The audit log, filtered.
	audit := func(q url.Values) []string {
		t.Helper()
		r := e.do("GET", "/api/audit?"+q.Encode(), nil, admin)
		if r.status != 200 {
			t.Fatalf("audit %s: %d %s", q.Encode(), r.status, r.body)
		}
		var out struct {
			Entries []struct{ Action, Actor string }
		}
		r.json(t, &out)
		var actions []string
		for _, en := range out.Entries {
			actions = append(actions, en.Action)
		}
		return actions
	}
	if got := strings.Join(audit(url.Values{"action": {"call"}}), " "); got != "call.ended call.ended call.answered" {
		t.Errorf("the call family: %q", got)
	}
	if got := audit(url.Values{"actor": {v.pk}, "action": {"call.answered"}}); len(got) != 1 {
		t.Errorf("the volunteer's answers: %v", got)
	}
	if got := audit(url.Values{"to": {"2000-01-01T00:00:00Z"}}); len(got) != 0 {
		t.Errorf("entries before 2000: %v", got)
	}
	for _, bad := range []string{"actor=admin", "kind=caller", "from=yesterday", "action=Call", "from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z"} {
		if r := e.do("GET", "/api/audit?"+bad, nil, admin); r.status != 400 {
			t.Errorf("audit?%s: %d, want 400", bad, r.status)
		}
	}
}
