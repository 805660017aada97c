package callstats

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"llamenos/store"
)

// Bucket bounds, in seconds, of the histograms.
var (
	waitBuckets     = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600}
	durationBuckets = []float64{30, 60, 120, 300, 600, 900, 1800, 3600, 7200}
)

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(d time.Duration) {
	v := d.Seconds()
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{le=\"%s\"} %d\n", name, formatFloat(b), cum)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, h.n, name, formatFloat(h.sum), name, h.n)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Metrics counts the calls that ended since the daemon started, for the
// Prometheus text format: counters of offered calls and of how they
// ended, and histograms of queue wait, ring-to-answer and talk time. It is
// safe for concurrent use.
type Metrics struct {
	mu           sync.Mutex
	offered      uint64
	ended        [numClasses]uint64
	queueWait    histogram
	ringToAnswer histogram
	duration     histogram
	audio        Audio
}

// Audio is what the relays of ended calls carried, in packets.
type Audio struct {
	FromCaller, ToVolunteer uint64 // the caller's audio: received from Asterisk, sent on to the browser
	FromVolunteer, ToCaller uint64 // the volunteer's: received from the browser, sent on to Asterisk
	// The volunteer's packets the playout buffer threw away: with sound
	// (arrived too late and bunched), and quiet (a pause shortened).
	PlayoutDropped, PlayoutSkipped uint64
}

// ObserveAudio adds one ended call's relay counts.
func (m *Metrics) ObserveAudio(a Audio) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audio.FromCaller += a.FromCaller
	m.audio.ToVolunteer += a.ToVolunteer
	m.audio.FromVolunteer += a.FromVolunteer
	m.audio.ToCaller += a.ToCaller
	m.audio.PlayoutDropped += a.PlayoutDropped
	m.audio.PlayoutSkipped += a.PlayoutSkipped
}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		queueWait:    newHistogram(waitBuckets),
		ringToAnswer: newHistogram(waitBuckets),
		duration:     newHistogram(durationBuckets),
	}
}

// Observe counts one call's final record.
func (m *Metrics) Observe(c store.Call) {
	class := Classify(c)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offered++
	m.ended[class]++
	if d, ok := queueWait(c, class); ok {
		m.queueWait.observe(d)
	}
	if d, ok := ringToAnswer(c, class); ok {
		m.ringToAnswer.observe(d)
	}
	if class == Answered && !c.EndedAt.IsZero() {
		m.duration.observe(c.Duration)
	}
}

// Write writes the metrics in the Prometheus text format.
func (m *Metrics) Write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "# HELP llamenos_calls_offered_total Calls that reached the hotline, counted when they end.\n# TYPE llamenos_calls_offered_total counter\nllamenos_calls_offered_total %d\n", m.offered)
	fmt.Fprintf(w, "# HELP llamenos_calls_ended_total Ended calls by how they ended.\n# TYPE llamenos_calls_ended_total counter\n")
	for c := Class(0); c < numClasses; c++ {
		if c == Live {
			continue // a final record is never live
		}
		fmt.Fprintf(w, "llamenos_calls_ended_total{class=%q} %d\n", c.String(), m.ended[c])
	}
	m.queueWait.write(w, "llamenos_call_queue_wait_seconds", "Time callers waited in the queue (answered, missed and abandoned calls).")
	m.ringToAnswer.write(w, "llamenos_call_ring_to_answer_seconds", "Time the answering volunteer's browser rang before they answered.")
	m.duration.write(w, "llamenos_call_duration_seconds", "Time from the answer to the end of answered calls.")
	a := m.audio
	fmt.Fprintf(w, "# HELP llamenos_audio_packets_total Audio packets the relays of ended calls received and sent on, by whose voice.\n# TYPE llamenos_audio_packets_total counter\n")
	for _, c := range []struct {
		voice, stage string
		n            uint64
	}{{"caller", "received", a.FromCaller}, {"caller", "sent", a.ToVolunteer}, {"volunteer", "received", a.FromVolunteer}, {"volunteer", "sent", a.ToCaller}} {
		fmt.Fprintf(w, "llamenos_audio_packets_total{voice=%q,stage=%q} %d\n", c.voice, c.stage, c.n)
	}
	fmt.Fprintf(w, "# HELP llamenos_audio_playout_discarded_total The volunteer's packets the relay's playout buffer discarded: with sound (late), or quiet (a pause shortened).\n# TYPE llamenos_audio_playout_discarded_total counter\n")
	fmt.Fprintf(w, "llamenos_audio_playout_discarded_total{kind=\"sound\"} %d\nllamenos_audio_playout_discarded_total{kind=\"quiet\"} %d\n", a.PlayoutDropped, a.PlayoutSkipped)
}
