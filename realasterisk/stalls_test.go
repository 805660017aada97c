//go:build asterisk

package realasterisk

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"llamenos/audio"
	"llamenos/audio/audiotest"
)

// TestBrowserStalls: the volunteer's browser is on a bad link. Every 3.1 s
// its stream stops for 300 ms and the 15 packets it held arrive at once;
// it speaks in 1.5 s talk spurts with 0.5 s pauses. At the caller's phone,
// behind the real Asterisk: at most 1 % of the packets with sound are
// lost, and 2 s after every burst the delay the stall added is under
// 60 ms again.
//
// Each packet carries its index in its first two bytes, in quiet µ-law
// values, so the caller's side can tell which arrived, and when.
func TestBrowserStalls(t *testing.T) {
	const (
		pkt    = 20 * time.Millisecond
		length = 25 * time.Second
		first  = 2 * time.Second
		period = 3100 * time.Millisecond
		stall  = 300 * time.Millisecond
	)
	h := newHotline(t)
	_, s := h.volunteer(t)
	c := dial(t, h.a)
	ring := s.next(30*time.Second, "ring", is("ring", ""))
	b := s.answer(ring.CallID)

	n := int(length / pkt)
	quietAt := func(i int) bool { return time.Duration(i)*pkt%(2*time.Second) >= 1500*time.Millisecond }
	var stalls []int // first packet held by each stall
	for at := first; at+stall < length; at += period {
		stalls = append(stalls, int(at/pkt))
	}
	held := func(i int) (end int, ok bool) {
		for _, s0 := range stalls {
			if i >= s0 && i < s0+int(stall/pkt) {
				return s0 + int(stall/pkt), true
			}
		}
		return 0, false
	}
	tone := audio.NewTone(audio.SampleRate, toneAmp, volunteerHz)
	payload := func(i int) []byte {
		var p []byte
		if quietAt(i) {
			p = make([]byte, audio.FrameSamples)
			for k := range p {
				p[k] = 0xff // µ-law silence
			}
		} else {
			p = audiotest.AppendMulaw(nil, tone, audio.FrameSamples)
		}
		p[0], p[1] = quietIndex(i>>6), quietIndex(i&63)
		return p
	}

	// Send on the browser's schedule: packet i is due at start + i×20 ms;
	// a held packet leaves with the burst at the stall's end.
	start := time.Now().Add(100 * time.Millisecond)
	due := make([]time.Time, n)
	sent := make([]time.Time, n) // when it really left: the sender may run late on a loaded box
	var queue []int
	for i := range n {
		due[i] = start.Add(time.Duration(i) * pkt)
		end, isHeld := held(i)
		if isHeld {
			queue = append(queue, i)
			if i+1 < end {
				continue
			}
			time.Sleep(time.Until(start.Add(time.Duration(end) * pkt)))
			for _, j := range queue {
				sent[j] = time.Now()
				if err := b.Send(payload(j)); err != nil {
					t.Fatal(err)
				}
			}
			queue = queue[:0]
			continue
		}
		time.Sleep(time.Until(due[i]))
		sent[i] = time.Now() // before: the packet may arrive before Send returns
		if err := b.Send(payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // the last packets on their way

	// What reached the caller: each index's first arrival.
	arrived := map[int]time.Time{}
	for _, f := range c.frames() {
		if len(f.payload) < 2 {
			continue
		}
		i, ok := indexOf(f.payload[0], f.payload[1])
		// Nothing arrives before it was due: an earlier frame (the
		// greeting) only looks like an index.
		if !ok || i >= n || !f.at.After(sent[i]) {
			continue
		}
		if _, seen := arrived[i]; !seen {
			arrived[i] = f.at
		}
	}
	if len(arrived) < n/2 {
		t.Fatalf("the caller received %d of the %d indexed packets: Asterisk did not pass the browser's bytes through", len(arrived), n)
	}
	// The path's own latency: the least any packet took.
	base := time.Hour
	for i, at := range arrived {
		base = min(base, at.Sub(sent[i]))
	}
	sounding, lost := 0, 0
	for i := range n {
		if quietAt(i) {
			continue
		}
		sounding++
		if _, ok := arrived[i]; !ok {
			lost++
		}
	}
	loss := float64(lost) / float64(sounding)
	// Where the stream really stopped: the planned stalls, and any the
	// sender itself fell into on a loaded box (a gap of 60 ms or more).
	var stops []time.Time // when sending resumed after each stop
	var unplanned []string
	for i := 1; i < n; i++ {
		gap := sent[i].Sub(sent[i-1])
		if gap < 60*time.Millisecond {
			continue
		}
		stops = append(stops, sent[i])
		if _, planned := held(i); !planned {
			unplanned = append(unplanned, fmt.Sprintf("%v at %v", gap.Round(time.Millisecond), sent[i].Sub(start).Round(10*time.Millisecond)))
		}
	}
	settled := func(i int) bool { // sent 2 s or more after the stream last resumed
		for _, r := range stops {
			if !sent[i].Before(r) && sent[i].Sub(r) < 2*time.Second {
				return false
			}
		}
		return true
	}
	var worst []string
	for k, s0 := range stalls {
		burst := start.Add(time.Duration(s0)*pkt + stall)
		next := n
		if k+1 < len(stalls) {
			next = stalls[k+1]
		}
		if burst.Add(2 * time.Second).After(due[n-1]) {
			break // the test ends too soon after it
		}
		// The delay the relay and Asterisk added to the packets sent 2 s
		// or more after the burst: their median, which a backlog left by
		// the burst raises for all of them, and a single packet held up by
		// the box's scheduler does not; the worst is logged.
		var added []time.Duration
		for i := s0; i < next; i++ {
			if at, ok := arrived[i]; ok && settled(i) {
				added = append(added, at.Sub(sent[i])-base)
			}
		}
		if len(added) == 0 {
			continue // the sender's own stalls covered the window
		}
		slices.Sort(added)
		median := added[len(added)/2]
		worst = append(worst, fmt.Sprintf("%v (worst %v)", median.Round(time.Millisecond), added[len(added)-1].Round(time.Millisecond)))
		if median >= 60*time.Millisecond {
			t.Errorf("stall %d: 2 s after the burst, packets still arrived %v later than the path's latency, want < 60 ms", k, median)
		}
	}
	t.Logf("%d packets (%d with sound), %d stalls of %v: %d with sound lost (%.2f %%); path latency %v; median added delay 2 s after each burst: %v",
		n, sounding, len(stalls), stall, lost, 100*loss, base.Round(100*time.Microsecond), worst)
	if len(unplanned) > 0 {
		t.Logf("the sender itself stalled %d times (%s): the box is loaded, and these stalls count too", len(unplanned), strings.Join(unplanned, ", "))
	}
	if loss > 0.01 {
		t.Errorf("the caller lost %.2f %% of the packets with sound, want <= 1 %%", 100*loss)
	}
	if len(worst) < len(stalls)/2 {
		t.Errorf("measured the delay after only %d of %d stalls", len(worst), len(stalls))
	}
	h.callerHangsUp(t, s, c, ring.CallID)
}

// quietIndex encodes six bits as a µ-law byte of at most -39 dBFS, so that
// an index does not make a pause sound: sign, one exponent bit and four
// mantissa bits of the inverted byte.
func quietIndex(v int) byte {
	return ^byte((v&0x20)<<2 | (v & 0x1f))
}

// indexOf decodes two quietIndex bytes.
func indexOf(hi, lo byte) (int, bool) {
	dec := func(b byte) (int, bool) {
		x := ^b
		if x&0x60 != 0 {
			return 0, false
		}
		return int(x&0x80)>>2 | int(x&0x1f), true
	}
	a, ok1 := dec(hi)
	z, ok2 := dec(lo)
	return a<<6 | z, ok1 && ok2
}
