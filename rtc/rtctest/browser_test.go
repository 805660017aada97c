package rtctest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"llamenos/audio"
	"llamenos/audio/audiotest"
	"llamenos/leakcheck"
)

// answerer makes b answer offers as a plain PeerConnection would, with
// every candidate in the answer.
func answerer(b *Browser) func(context.Context, string) (string, error) {
	return func(ctx context.Context, offer string) (string, error) {
		pc := b.PC()
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
			return "", err
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			return "", err
		}
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(ans); err != nil {
			return "", err
		}
		select {
		case <-done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		return pc.LocalDescription().SDP, nil
	}
}

// TestSendAndReceive connects two browsers, one answering through its
// PeerConnection, and checks numbering, recording and audio both ways.
func TestSendAndReceive(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := MustNew(t, Options{Seq: 65530, Timestamp: 1000})
	b := MustNew(t, Options{Interceptors: true})
	if err := a.Connect(ctx, answerer(b)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	tone := audio.NewTone(audio.SampleRate, 0.25, 440)
	const frames = 25
	for range frames {
		if err := a.Send(audiotest.AppendMulaw(nil, tone, audio.FrameSamples)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Play(audio.NewTone(audio.SampleRate, 0.25, 1000))
	WaitFor(t, 10*time.Second, "both tones", func() bool {
		return len(b.Received()) == frames && len(a.Heard()) >= 4000
	})

	rx := b.Received()
	for i, p := range rx {
		if p.Header.SequenceNumber != uint16(65530+i) || p.Header.Timestamp != uint32(1000+160*i) || p.Header.PayloadType != 0 {
			t.Fatalf("packet %d: seq %d ts %d PT %d, want seq %d ts %d PT 0", i, p.Header.SequenceNumber, p.Header.Timestamp, p.Header.PayloadType, uint16(65530+i), 1000+160*i)
		}
		if p.At.IsZero() || i > 0 && p.At.Before(rx[i-1].At) {
			t.Fatalf("packet %d: arrival %v after %v", i, p.At, rx[i-1].At)
		}
	}
	if got := Payloads(rx); len(got) != frames*audio.FrameSamples {
		t.Errorf("payloads join to %d bytes, want %d", len(got), frames*audio.FrameSamples)
	}
	if lvl := audio.ToneLevel(b.Heard(), audio.SampleRate, 440); lvl < 0.9 {
		t.Errorf("b hears 440 Hz at level %.2f, want > 0.9", lvl)
	}
	if lvl := audio.ToneLevel(a.Heard()[:4000], audio.SampleRate, 1000); lvl < 0.9 {
		t.Errorf("a hears 1 kHz at level %.2f, want > 0.9", lvl)
	}

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := a.Stats(); st != nil {
		t.Errorf("Stats after Close: %d entries, want nil", len(st))
	}
	if err := a.Send(make([]byte, 160)); err != nil {
		t.Errorf("Send after Close: %v, want the packet dropped", err)
	}
	a.Play(audio.Silence{}) // must not start anything Close would miss
}

// TestOnRTP: with a callback nothing is recorded.
func TestOnRTP(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var n atomic.Int32
	a := MustNew(t, Options{OnRTP: func(p *rtp.Packet) {
		if len(p.Payload) == 160 {
			n.Add(1)
		}
	}})
	b := MustNew(t, Options{})
	if err := a.Connect(ctx, answerer(b)); err != nil {
		t.Fatal(err)
	}
	b.Play(audio.Silence{})
	WaitFor(t, 10*time.Second, "packets through the callback", func() bool { return n.Load() >= 5 })
	if len(a.Received()) != 0 || len(a.Heard()) != 0 {
		t.Errorf("recorded %d packets with OnRTP set", len(a.Received()))
	}
}

// rtpCounter counts the RTP datagrams read from its socket.
type rtpCounter struct {
	*net.UDPConn
	rtp atomic.Int32
}

func (c *rtpCounter) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.UDPConn.ReadFrom(b)
	if err == nil && n >= 12 && b[0]>>6 == 2 && (b[1] < 192 || b[1] > 223) {
		c.rtp.Add(1)
	}
	return n, from, err
}

// TestOwnSocket: a browser given a socket offers that socket's address
// alone, receives every packet through it, and closes it.
func TestOwnSocket(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sock := &rtpCounter{UDPConn: conn}
	var got atomic.Int32
	a := MustNew(t, Options{UDPConn: sock, OnRTP: func(*rtp.Packet) { got.Add(1) }})
	b := MustNew(t, Options{})
	if err := a.Connect(ctx, answerer(b)); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port)
	var cands, elsewhere []string
	for _, l := range strings.Split(a.PC().LocalDescription().SDP, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			cands = append(cands, l)
			if f := strings.Fields(l); len(f) < 6 || f[4] != "127.0.0.1" || f[5] != port {
				elsewhere = append(elsewhere, l)
			}
		}
	}
	if len(cands) == 0 || len(elsewhere) != 0 {
		t.Fatalf("candidates %q, want them all on 127.0.0.1:%s", cands, port)
	}
	b.Play(audio.Silence{})
	WaitFor(t, 10*time.Second, "packets through the socket", func() bool { return got.Load() >= 10 })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n, read := got.Load(), sock.rtp.Load(); read < n {
		t.Errorf("the browser handed over %d packets, read %d from its socket", n, read)
	}
	if _, _, err := conn.ReadFrom(make([]byte, 1500)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("socket after Close: %v, want closed", err)
	}
}

// TestTrickledCandidatesWaitForAnswer: candidates given before the answer
// are held, then used: the remote host candidates show in the stats.
func TestTrickledCandidatesWaitForAnswer(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := MustNew(t, Options{})
	b := MustNew(t, Options{})
	if err := a.AddCandidate(json.RawMessage(`{"candidate":`)); err == nil {
		t.Error("malformed candidate JSON accepted")
	}
	offer, err := a.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cands := make(chan *webrtc.ICECandidate, 16)
	b.PC().OnICECandidate(func(c *webrtc.ICECandidate) { cands <- c })
	if err := b.PC().SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	ans, err := b.PC().CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PC().SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}
	var ports []uint16
	for c := range cands {
		if c == nil {
			break
		}
		ports = append(ports, c.Port)
		raw, _ := json.Marshal(c.ToJSON())
		if err := a.AddCandidate(raw); err != nil {
			t.Fatal(err)
		}
	}
	if len(ports) == 0 {
		t.Fatal("the answerer gathered no candidate")
	}
	if err := a.SetAnswer(ans.SDP); err != nil { // the answer without candidates
		t.Fatal(err)
	}
	if err := a.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	host := 0
	for _, s := range a.Stats() {
		if c, ok := s.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeRemoteCandidate && c.CandidateType == webrtc.ICECandidateTypeHost {
			host++
		}
	}
	if host != len(ports) {
		t.Errorf("%d remote host candidates known, want the %d trickled before the answer", host, len(ports))
	}
}
