package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"llamenos/audio"
	"llamenos/leakcheck"
	"llamenos/rtc/rtctest"
)

// stateLog records what OnState delivered.
type stateLog struct {
	mu     sync.Mutex
	states []State
}

func (l *stateLog) add(s State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
}

func (l *stateLog) last() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.states) == 0 {
		return 0
	}
	return l.states[len(l.states)-1]
}

// talk sends frames 20 ms apart: caller's voice from Asterisk,
// volunteer's from the browser.
func talk(t testing.TB, a *fakeAsterisk, b *rtctest.Browser, caller, volunteer audio.Source, frames int) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range frames {
		<-tick.C
		a.send(frame(caller))
		if err := b.Send(frame(volunteer)); err != nil {
			t.Error(err)
		}
	}
}

// converse is talk in lockstep, for tests that account for every packet:
// each 20 ms frame goes out only once both ends have received the one
// before, so however slow the machine, the relay never holds a clump of
// browser packets and its pacer has nothing to drop. before is how many
// frames Asterisk had received already. It returns when the first and the
// last frame were about to be sent.
func converse(t *testing.T, a *fakeAsterisk, b *rtctest.Browser, caller, volunteer audio.Source, frames, before int) (first, last time.Time) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	delivered := func(n int) func() bool {
		return func() bool { return len(b.Received()) >= n && len(a.received()) >= before+n }
	}
	for i := range frames {
		<-tick.C
		rtctest.WaitFor(t, 20*time.Second, fmt.Sprintf("%d frames delivered both ways", i), delivered(i))
		last = time.Now()
		if i == 0 {
			first = last
		}
		a.send(frame(caller))
		if err := b.Send(frame(volunteer)); err != nil {
			t.Fatal(err)
		}
	}
	rtctest.WaitFor(t, 20*time.Second, fmt.Sprintf("%d frames delivered both ways", frames), delivered(frames))
	return first, last
}

// TestLoopbackCall is the media path end to end on loopback: a fake
// Asterisk plays 440 Hz into the relay and a Pion "browser" hears it; the
// browser plays 1 kHz and Asterisk hears it, from the socket it was told,
// as one stream. Mid-call Asterisk switches to a new channel (new SSRC)
// and the browser reconnects with a new PeerConnection; both sides must
// still see one continuous stream, every packet in it.
func TestLoopbackCall(t *testing.T) {
	r := testRelay(t, "loopback")
	ast := withAsterisk(t, r)
	var states stateLog
	r.OnState(states.add)
	tap := r.Tap(1000)
	// The relay's side of the current PeerConnection is connected:
	// upConnected is reset by each offer, so it cannot be the previous
	// connection's state, and is set before OnState reports.
	relayConnected := func() bool { return r.upConnected.Load() && states.last() == StateConnected }

	b1 := rtctest.MustNew(t, rtctest.Options{})
	connect(t, r, b1)
	rtctest.WaitFor(t, 20*time.Second, "relay connected", relayConnected)

	// The voices' phase runs on across the switch.
	caller, volunteer := sine(440), sine(1000)
	const frames = 50
	_, lastOld := converse(t, ast, b1, caller, volunteer, frames, 0)
	// What browser 1 heard of the call; the relay closes its
	// PeerConnection in the background, so it may hear a little more.
	rx1 := b1.Received()

	// Asterisk hands over a new UnicastRTP channel; the volunteer's page
	// reconnects with a fresh RTCPeerConnection (own SSRC, seq and ts).
	ast.newChannel()
	b2 := rtctest.MustNew(t, rtctest.Options{Seq: 40000, Timestamp: 123})
	connect(t, r, b2)
	rtctest.WaitFor(t, 20*time.Second, "relay connected again", relayConnected)
	firstNew, _ := converse(t, ast, b2, caller, volunteer, frames, frames)
	rx2 := b2.Received()

	// The browsers heard the caller's tone.
	for i, got := range [][]rtctest.Packet{rx1, rx2} {
		if len(got) != frames {
			t.Errorf("browser %d received %d packets, want %d", i+1, len(got), frames)
		}
		pcm := rtctest.Payloads(got)
		if r440, r1k := toneLevel(pcm, 440), toneLevel(pcm, 1000); r440 < 0.8 || r1k > 0.05 {
			t.Errorf("browser %d: 440 Hz ratio %.2f, 1 kHz ratio %.2f; want the caller's 440 Hz tone", i+1, r440, r1k)
		}
	}
	// Asterisk heard the volunteer's tone, from its external_host only,
	// every packet: sent in lockstep, none had to wait for the pacer.
	rx := ast.received()
	if st := r.Stats(); len(rx) != 2*frames || st.PacerDropped != 0 || st.PacerSkipped != 0 {
		t.Fatalf("asterisk received %d packets and the pacer dropped %d and skipped %d, want %d and none", len(rx), st.PacerDropped, st.PacerSkipped, 2*frames)
	}
	if r1k, r440 := toneLevel(rtctest.Payloads(rx), 1000), toneLevel(rtctest.Payloads(rx), 440); r1k < 0.8 || r440 > 0.05 {
		t.Errorf("asterisk: 1 kHz ratio %.2f, 440 Hz ratio %.2f; want the volunteer's 1 kHz tone", r1k, r440)
	}
	for i, p := range rx {
		if p.From != r.LocalAddr() {
			t.Fatalf("packet %d came from %s, not the externalMedia socket %s (strict RTP would drop it)", i, p.From, r.LocalAddr())
		}
		if p.Header.PayloadType != 0 || p.Header.SSRC != rx[0].Header.SSRC {
			t.Fatalf("packet %d: PT %d SSRC %#x, want PT 0 and one SSRC %#x for the whole call", i, p.Header.PayloadType, p.Header.SSRC, rx[0].Header.SSRC)
		}
	}
	// Across the switch the timestamp moves on by the time the relay saw
	// pass between the last packet of the old source and the first of the
	// new. That lies between the first new packet's sending and the last
	// old one's arrival, and between the last old packet's sending and the
	// first new one's arrival: bounds taken from the packets themselves,
	// so a slow machine widens them instead of failing the test.
	checkContinuous(t, "asterisk", rx, &resync{at: frames, min: firstNew.Sub(rx[frames-1].At), max: rx[frames].At.Sub(lastOld)})

	// Each browser PeerConnection gets its own SSRC, but the relay's
	// numbering runs on: the second browser continues where the first
	// stopped, across the upstream SSRC change.
	checkContinuous(t, "browser 1", rx1, nil)
	checkContinuous(t, "browser 2", rx2, nil)
	down := append(append([]rtctest.Packet(nil), rx1...), rx2...)
	checkContinuous(t, "browsers", down, &resync{at: len(rx1), min: firstNew.Sub(rx1[len(rx1)-1].At), max: rx2[0].At.Sub(lastOld)})

	st := r.Stats()
	if st.FromAsterisk.Packets != 2*frames || st.ToBrowser.Packets != 2*frames || st.FromBrowser.Packets != 2*frames || st.ToAsterisk.Packets != 2*frames {
		t.Errorf("stats %+v, want %d packets each way", st, 2*frames)
	}
	if st.Malformed+st.WrongType+st.WrongSource+st.NoRemote+st.WriteErrors != 0 {
		t.Errorf("stats %+v, want no refused or lost packets", st)
	}

	// The tap saw both voices.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	var heardCaller, heardVolunteer []byte
	for f := range tap.Frames() {
		switch f.Direction {
		case FromCaller:
			heardCaller = append(heardCaller, f.Payload()...)
		case FromVolunteer:
			heardVolunteer = append(heardVolunteer, f.Payload()...)
		}
	}
	if toneLevel(heardCaller, 440) < 0.8 || toneLevel(heardVolunteer, 1000) < 0.8 {
		t.Errorf("tap: caller 440 Hz ratio %.2f, volunteer 1 kHz ratio %.2f", toneLevel(heardCaller, 440), toneLevel(heardVolunteer, 1000))
	}
	if len(heardCaller) != 2*frames*160 || len(heardVolunteer) != 2*frames*160 || tap.Dropped() != 0 {
		t.Errorf("tap: %d caller and %d volunteer bytes, %d dropped; want %d each, none dropped",
			len(heardCaller), len(heardVolunteer), tap.Dropped(), 2*frames*160)
	}
}

// resync is where a stream must resynchronise: at packet index at, with a
// timestamp step of the time that passed upstream, known to lie between
// min and max, and at least one packet.
type resync struct {
	at       int
	min, max time.Duration
}

// samples is d in timestamp units, rounded down as the relay rounds.
func samples(d time.Duration) uint32 {
	return uint32(max(d, 0) * clockRate / time.Second)
}

// checkContinuous asserts one stream without loss: sequence numbers +1,
// timestamps +160 per 20 ms packet except at the resynchronisation point
// if there is one, which must be marked and move forward by the time that
// passed.
func checkContinuous(t *testing.T, name string, rx []rtctest.Packet, rs *resync) {
	t.Helper()
	for i := 1; i < len(rx); i++ {
		prev, cur := rx[i-1].Header, rx[i].Header
		if cur.SequenceNumber != prev.SequenceNumber+1 {
			t.Errorf("%s: packet %d: seq %d follows %d, want +1", name, i, cur.SequenceNumber, prev.SequenceNumber)
		}
		d := cur.Timestamp - prev.Timestamp
		if rs == nil || i != rs.at {
			if d != 160 || cur.Marker {
				t.Errorf("%s: packet %d: ts %d follows %d, marker %v; want +160 and no marker", name, i, cur.Timestamp, prev.Timestamp, cur.Marker)
			}
			continue
		}
		if lo, hi := max(samples(rs.min), 160), max(samples(rs.max), 160); d < lo || d > hi {
			t.Errorf("%s: ts steps %d across the switch, want %d to %d (%v to %v passed)", name, d, lo, hi, rs.min, rs.max)
		}
		if !cur.Marker {
			t.Errorf("%s: no marker on the first packet after the switch", name)
		}
	}
}

// TestPacerSmoothsBrowserBursts has the browser deliver its audio in
// bursts of five packets (100 ms); a receiver playing in real time, as
// Asterisk does, must never hold more than the pacer's burst credit
// (60 ms) beyond what it plays, and nothing may be lost.
func TestPacerSmoothsBrowserBursts(t *testing.T) {
	r := testRelay(t, "burst")
	ast := withAsterisk(t, r)
	if !ast.kernelTime {
		t.Skip("no kernel receive timestamps on this platform; spacing would measure the scheduler")
	}
	b := rtctest.MustNew(t, rtctest.Options{})
	connect(t, r, b)
	rtctest.WaitFor(t, 5*time.Second, "relay sees connected", r.upConnected.Load)

	// The relay's timers fire late when the box is loaded, and a packet
	// held up between the pacer's decision and the send arrives late while
	// its successors leave on schedule: the bound allows the worst
	// lateness a timer of this process showed during the bursts.
	late := schedulerLateness(t)

	// Each burst starts once the previous one has left and the credit had
	// time to refill, so a slow machine cannot merge two bursts into one
	// big enough to overflow the queue.
	const bursts = 20
	volunteer := sine(1000)
	for i := 0; i < bursts; i++ {
		rtctest.WaitFor(t, 2*time.Second, "previous burst forwarded", func() bool { return r.Stats().ToAsterisk.Packets == uint64(5*i) })
		time.Sleep(50 * time.Millisecond)
		for j := 0; j < 5; j++ {
			if err := b.Send(frame(volunteer)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rtctest.WaitFor(t, 2*time.Second, "all packets", func() bool { return len(ast.received()) >= 5*bursts })

	rx := ast.received()
	if len(rx) != 5*bursts {
		t.Errorf("asterisk got %d packets, want %d", len(rx), 5*bursts)
	}
	sends := make([]sent, len(rx))
	for i, p := range rx {
		sends[i] = sent{p.Header.SequenceNumber, p.At.Sub(rx[0].At)}
	}
	// 2 ms covers the kernel path between the relay's send and the
	// receive stamp.
	if buf, limit := asteriskBuffer(sends), pacerBurst*20*time.Millisecond+2*time.Millisecond+late(); buf > limit {
		t.Errorf("a real-time receiver would buffer %v, want <= %v (bursts not paced)", buf, limit)
	}
	if st := r.Stats(); st.PacerDropped != 0 || st.PacerSkipped != 0 {
		t.Errorf("pacer dropped %d and skipped %d packets of 5-packet bursts, want 0", st.PacerDropped, st.PacerSkipped)
	}
}

// schedulerLateness starts a goroutine that sleeps 1 ms at a time and
// notes how much later than asked it woke. The function returned stops it
// and gives the worst lateness seen.
func schedulerLateness(t *testing.T) func() time.Duration {
	stop, done := make(chan struct{}), make(chan time.Duration, 1)
	go func() {
		var worst time.Duration
		for {
			select {
			case <-stop:
				done <- worst
				return
			default:
			}
			asked := time.Now()
			time.Sleep(time.Millisecond)
			worst = max(worst, time.Since(asked)-time.Millisecond)
		}
	}()
	var once sync.Once
	var worst time.Duration
	get := func() time.Duration {
		once.Do(func() {
			close(stop)
			worst = <-done
			t.Logf("the worst timer lateness during the test: %v", worst)
		})
		return worst
	}
	t.Cleanup(func() { get() })
	return get
}

// TestTrickleICE runs the signaling the way the UI will: candidates both
// ways as RTCIceCandidateInit JSON.
func TestTrickleICE(t *testing.T) {
	r := testRelay(t, "trickle")
	ast := withAsterisk(t, r)
	toBrowser := make(chan []byte, 64)
	r.OnLocalCandidate(func(c []byte) { toBrowser <- c })

	b := rtctest.MustNew(t, rtctest.Options{})
	toRelay := make(chan webrtc.ICECandidateInit, 64)
	b.PC().OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			toRelay <- c.ToJSON()
		}
	})
	offer, err := b.PC().CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PC().SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(offer.SDP, "a=candidate") {
		t.Fatal("offer already carries candidates; the test would not exercise trickle")
	}
	ans, err := r.HandleOffer(context.Background(), offer.SDP)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ans, "a=candidate") {
		t.Error("trickle answer carries candidates; they should arrive through OnLocalCandidate")
	}
	if err := b.SetAnswer(ans); err != nil {
		t.Fatal(err)
	}

	deadline := time.After(10 * time.Second)
	sawEnd, sent := false, 0
	for !sawEnd || sent == 0 {
		select {
		case c := <-toBrowser:
			if c == nil {
				sawEnd = true
				continue
			}
			var init webrtc.ICECandidateInit
			if err := json.Unmarshal(c, &init); err != nil {
				t.Fatalf("local candidate is not RTCIceCandidateInit JSON: %s", c)
			}
			if err := b.PC().AddICECandidate(init); err != nil {
				t.Fatal(err)
			}
		case c := <-toRelay:
			raw, _ := json.Marshal(c)
			if err := r.AddICECandidate(raw); err != nil {
				t.Fatal(err)
			}
			sent++
		case <-deadline:
			t.Fatalf("trickle incomplete: end seen %v, %d browser candidates", sawEnd, sent)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	talk(t, ast, b, sine(440), sine(1000), 10)
	rtctest.WaitFor(t, 2*time.Second, "audio both ways", func() bool {
		return len(b.Received()) >= 8 && len(ast.received()) >= 8
	})

	// A candidate for another ufrag is an earlier offer's leftover.
	stale, _ := json.Marshal(map[string]any{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "usernameFragment": "old"})
	if err := r.AddICECandidate(stale); !errors.Is(err, ErrStaleCandidate) {
		t.Errorf("stale candidate: err %v, want ErrStaleCandidate", err)
	}
}

// TestBadMedia feeds the externalMedia socket garbage and strangers'
// packets: each is counted and dropped, and the relay keeps relaying.
func TestBadMedia(t *testing.T) {
	r := testRelay(t, "bad")
	ast := withAsterisk(t, r)
	tone := frame(sine(440))
	csrc := rtpBytes(0, 1, 1, 1, make([]byte, 20)) // 15 CSRCs need 60 bytes
	csrc[0] |= 0x0f
	pad := rtpBytes(0, 1, 1, 1, tone)
	pad[0] |= 0x20
	pad[len(pad)-1] = 200
	ext := rtpBytes(0, 1, 1, 1, []byte{0xbe, 0xde, 0xff, 0xff})
	ext[0] |= 0x10
	v1 := rtpBytes(0, 1, 1, 1, tone)
	v1[0] = 0x40
	malformed := [][]byte{
		{}, {0x80}, []byte("hello, asterisk"),
		v1, csrc, pad, ext,
		rtpBytes(0, 1, 1, 1, nil),                       // no payload
		rtpBytes(0, 1, 1, 1, make([]byte, 481)),         // longer than 60 ms
		rtpBytes(0, 1, 1, 1, make([]byte, maxDatagram)), // bigger than any datagram we accept
	}
	for _, b := range malformed {
		if _, err := ast.conn.WriteToUDPAddrPort(b, r.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ast.conn.WriteToUDPAddrPort(rtpBytes(8, 1, 1, 1, tone), r.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.WriteToUDPAddrPort(rtpBytes(0, 1, 1, 1, tone), r.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	ast.send(tone)
	// Empty datagrams are not delivered by every kernel path; count what
	// must arrive.
	rtctest.WaitFor(t, 2*time.Second, "counters", func() bool {
		s := r.Stats()
		return s.FromAsterisk.Packets == 1 && s.WrongType == 1 && s.WrongSource == 1 && s.Malformed >= uint64(len(malformed)-1)
	})
	if s := r.Stats(); s.Malformed > uint64(len(malformed)) {
		t.Errorf("malformed %d, sent only %d", s.Malformed, len(malformed))
	}
	if r.Remote() != ast.addr() {
		t.Errorf("remote %s, want %s", r.Remote(), ast.addr())
	}
}

// TestRemoteLearned: without SetRemote the first valid RTP packet's source
// becomes Asterisk's address; garbage cannot claim it, and nobody else can
// afterwards.
func TestRemoteLearned(t *testing.T) {
	r := testRelay(t, "learn")
	first := newFakeAsterisk(t, r.LocalAddr())
	second := newFakeAsterisk(t, r.LocalAddr())
	if _, err := second.conn.WriteToUDPAddrPort([]byte("junk that is not rtp"), r.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	rtctest.WaitFor(t, time.Second, "junk counted", func() bool { return r.Stats().Malformed == 1 })
	first.send(frame(sine(440)))
	rtctest.WaitFor(t, time.Second, "first packet", func() bool { return r.Stats().FromAsterisk.Packets == 1 })
	second.send(frame(sine(440)))
	rtctest.WaitFor(t, time.Second, "stranger counted", func() bool { return r.Stats().WrongSource == 1 })
	if r.Remote() != first.addr() {
		t.Errorf("learned %s, want %s", r.Remote(), first.addr())
	}
	for _, bad := range []netip.AddrPort{{}, netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("0.0.0.0:4000")} {
		if err := r.SetRemote(bad); err == nil {
			t.Errorf("SetRemote(%s) accepted", bad)
		}
	}
	if r.Remote() != first.addr() {
		t.Errorf("a refused SetRemote changed the remote to %s", r.Remote())
	}
}

const opusOnlyOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"

// TestSignalingRejects: bad offers and candidates get clear errors and
// leave the relay without a session.
func TestSignalingRejects(t *testing.T) {
	r := testRelay(t, "reject")
	noFingerprint := strings.Replace(strings.Replace(opusOnlyOffer, "111 opus/48000/2", "0 PCMU/8000", 1), "SAVPF 111", "SAVPF 0", 1)
	noFingerprint = strings.Replace(noFingerprint, "a=fingerprint", "a=x-fingerprint", 1)
	cases := []struct {
		name  string
		offer string
		want  error
	}{
		{"empty", "", ErrBadOffer},
		{"not sdp", "hello", ErrBadOffer},
		{"opus only", opusOnlyOffer, ErrNoPCMU},
		{"rejected audio", strings.Replace(strings.Replace(opusOnlyOffer, "111 opus/48000/2", "0 PCMU/8000", 1), "audio 9 UDP/TLS/RTP/SAVPF 111", "audio 0 UDP/TLS/RTP/SAVPF 0", 1), ErrNoPCMU},
		{"video only", strings.Replace(opusOnlyOffer, "m=audio", "m=video", 1), ErrNoPCMU},
		{"too long", opusOnlyOffer + "a=x:" + strings.Repeat("a", maxSDP) + "\r\n", ErrBadOffer},
		{"no dtls fingerprint", noFingerprint, ErrBadOffer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.HandleOffer(context.Background(), c.offer)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if err := r.AddICECandidate([]byte(`{"candidate":""}`)); !errors.Is(err, ErrNoSession) {
				t.Errorf("after a refused offer AddICECandidate says %v, want ErrNoSession", err)
			}
		})
	}
	for _, raw := range []string{"", "{", `{"candidate": 5}`, strings.Repeat(" ", maxCandidateJSON+1)} {
		if err := r.AddICECandidate([]byte(raw)); !errors.Is(err, ErrBadCandidate) {
			t.Errorf("AddICECandidate(%.20q): %v, want ErrBadCandidate", raw, err)
		}
	}

	// With a session, a garbled candidate line is refused too.
	b := rtctest.MustNew(t, rtctest.Options{})
	connect(t, r, b)
	if err := r.AddICECandidate([]byte(`{"candidate":"candidate:nonsense"}`)); !errors.Is(err, ErrBadCandidate) {
		t.Errorf("garbled candidate: %v, want ErrBadCandidate", err)
	}
}

// TestTapNeverBlocks: a subscriber that never reads costs the call nothing
// but its own dropped frames.
func TestTapNeverBlocks(t *testing.T) {
	r := testRelay(t, "tap")
	ast := withAsterisk(t, r)
	stuck := r.Tap(2)
	closed := r.Tap(2)
	closed.Close()
	closed.Close()
	caller := sine(440)
	for i := 0; i < 20; i++ {
		ast.send(frame(caller))
	}
	rtctest.WaitFor(t, 2*time.Second, "20 packets relayed", func() bool { return r.Stats().FromAsterisk.Packets == 20 })
	if stuck.Dropped() != 18 {
		t.Errorf("stuck tap dropped %d, want 18", stuck.Dropped())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for f := range stuck.Frames() {
		if f.Direction != FromCaller || len(f.Payload()) != 160 || f.Seq != uint16(1000+n) {
			t.Errorf("frame %d: %v seq %d, %d bytes", n, f.Direction, f.Seq, len(f.Payload()))
		}
		n++
	}
	if n != 2 {
		t.Errorf("stuck tap held %d frames, want its 2", n)
	}
	if _, ok := <-closed.Frames(); ok {
		t.Error("closed tap delivered a frame")
	}
	if _, ok := <-r.Tap(5).Frames(); ok {
		t.Error("tap on a closed relay delivered a frame")
	}
	if err := r.SetRemote(ast.addr()); !errors.Is(err, ErrRelayClosed) {
		t.Errorf("SetRemote after Close: %v", err)
	}
	if _, err := r.HandleOffer(context.Background(), opusOnlyOffer); err == nil {
		t.Error("HandleOffer after Close succeeded")
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd: cannot count file descriptors")
	}
	return len(ents)
}

// TestCloseLeavesNothing creates and closes many relays, some with a
// connected browser and audio flowing, and expects goroutines and file
// descriptors back at their baseline.
func TestCloseLeavesNothing(t *testing.T) {
	leakcheck.Check(t)
	e, err := NewEngine(Config{IncludeLoopback: true, IPs: []string{"127.0.0.1"}, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	// Warm up once so lazily started runtime and library goroutines are
	// part of the baseline.
	{
		r, _ := e.NewRelay("warm")
		b := rtctest.MustNew(t, rtctest.Options{})
		connect(t, r, b)
		r.Close()
		b.Close()
	}
	time.Sleep(200 * time.Millisecond)
	baseG, baseFD := runtime.NumGoroutine(), countFDs(t)

	const relays, withBrowser = 40, 6
	var rs []*Relay
	var bs []*rtctest.Browser
	var asts []*fakeAsterisk
	for i := 0; i < relays; i++ {
		r, err := e.NewRelay("leak")
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
		r.Tap(4)
		if i < withBrowser {
			ast := newFakeAsterisk(t, r.LocalAddr())
			if err := r.SetRemote(ast.addr()); err != nil {
				t.Fatal(err)
			}
			b := rtctest.MustNew(t, rtctest.Options{})
			connect(t, r, b)
			bs = append(bs, b)
			caller, volunteer := frame(sine(440)), frame(sine(1000))
			for j := 0; j < 5; j++ {
				ast.send(caller)
				if err := b.Send(volunteer); err != nil {
					t.Error(err)
				}
			}
			asts = append(asts, ast)
		}
	}
	// Half closed by the relay, the other half by Engine.Close.
	for _, r := range rs[:relays/2] {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
	for _, b := range bs {
		b.Close()
	}
	for _, a := range asts {
		a.close()
	}
	if _, err := e.NewRelay("late"); !errors.Is(err, ErrEngineClosed) {
		t.Errorf("NewRelay on a closed engine: %v", err)
	}
	for _, r := range rs {
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), countFDs(t)
		if g <= baseG && fd <= baseFD {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("after closing: %d goroutines (baseline %d), %d fds (baseline %d)\n%s", g, baseG, fd, baseFD, buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
