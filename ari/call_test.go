package ari_test

import (
	"bytes"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"llamenos/ari"
	"llamenos/ari/aritest"
	"llamenos/audio"
)

// TestFullCall drives one call the way the hotline engine will: StasisStart
// → answer → mixing bridge → externalMedia → both in the bridge → RTP both
// ways → caller hangs up → StasisEnd and ChannelDestroyed → nothing left.
func TestFullCall(t *testing.T) {
	base := runtime.NumGoroutine()
	// Cleanups run last-in first-out: this one runs after newEnv's.
	t.Cleanup(func() { checkGoroutines(t, base) })
	fullCall(t, newEnv(t, aritest.Options{Seed: 7}, nil))
}

func fullCall(t *testing.T, e *env) {
	ctx := e.ctx
	first := note[*ari.Resync](e)
	if first.Reconnect || first.Err != nil || len(first.Channels) != 0 {
		t.Fatalf("initial resync: %+v", first)
	}

	call, err := e.sim.PlaceCall(aritest.CallSpec{
		App: testApp, CallerNumber: "+15551230000", DialedNumber: "+15559870000",
		Args: []string{"inbound"}, Audio: audio.NewTone(audio.SampleRate, 0.3, 440),
	})
	mustOK(t, err)

	nc := note[*ari.NewChannel](e)
	sub, start := nc.Subscription, nc.Event
	defer sub.Close()
	if start.Channel.ID != call.ChannelID() || string(start.Channel.Caller.Number.Bytes()) != "+15551230000" ||
		start.Channel.Dialplan.Exten != "+15559870000" || len(start.Args) != 1 || start.Args[0] != "inbound" {
		t.Fatalf("StasisStart = %+v", start)
	}
	if start.Channel.State != ari.StateRing || start.Channel.Technology() != "PJSIP" {
		t.Fatalf("caller channel %q in state %q", start.Channel.Name, start.Channel.State)
	}
	callerID := start.Channel.ID

	mustOK(t, e.cl.Answer(ctx, callerID))
	sc, _ := next[*ari.ChannelStateChange](t, sub)
	if sc.Channel.State != ari.StateUp {
		t.Fatalf("state after answer: %s", sc.Channel.State)
	}

	bridgeID := "call-1-bridge"
	sub.Expect(ari.BridgeKey(bridgeID))
	br, err := e.cl.CreateBridge(ctx, bridgeID, ari.BridgeOptions{Types: []string{ari.BridgeMixing}, Name: "call-1"})
	mustOK(t, err)
	if br.ID != bridgeID || br.BridgeType != "mixing" {
		t.Fatalf("bridge = %+v", br)
	}
	mustOK(t, e.cl.AddChannel(ctx, bridgeID, []string{callerID}, nil))
	if ent, _ := next[*ari.ChannelEnteredBridge](t, sub); ent.Channel == nil || ent.Channel.ID != callerID {
		t.Fatalf("entered: %+v", ent)
	}

	// The daemon's side of the media: one socket, send and receive.
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	mustOK(t, err)
	defer udp.Close()
	mediaID := "call-1-media"
	sub.Expect(ari.ChannelKey(mediaID))
	em, err := e.cl.ExternalMedia(ctx, ari.ExternalMediaParams{
		ChannelID: mediaID, ExternalHost: udp.LocalAddr().String(), Format: "ulaw", Data: "media",
	})
	mustOK(t, err)
	asteriskRTP, err := em.UnicastRTPAddr()
	mustOK(t, err)
	if em.Technology() != "UnicastRTP" {
		t.Fatalf("externalMedia channel name %q", em.Name)
	}
	// Its StasisStart comes on the call's subscription, not as a new call.
	emStart, _ := next[*ari.StasisStart](t, sub)
	if emStart.Channel.ID != mediaID || len(emStart.Args) != 1 || emStart.Args[0] != "media" {
		t.Fatalf("externalMedia StasisStart = %+v", emStart)
	}
	mustOK(t, e.cl.AddChannel(ctx, bridgeID, []string{mediaID}, nil))
	ent, _ := next[*ari.ChannelEnteredBridge](t, sub)
	if len(ent.Bridge.Channels) != 2 {
		t.Fatalf("bridge members after adding media: %v", ent.Bridge.Channels)
	}

	// Caller → daemon: 1 s of RTP carrying the caller's 440 Hz tone.
	pcm, pkts := receiveRTP(t, udp, asteriskRTP, 50)
	if !audio.DetectTone(pcm[1600:], audio.SampleRate, 440, 0.8) || audio.DetectTone(pcm[1600:], audio.SampleRate, 1000, 0.1) {
		t.Fatalf("caller audio: 440 Hz level %.2f, 1 kHz level %.2f",
			audio.ToneLevel(pcm[1600:], audio.SampleRate, 440), audio.ToneLevel(pcm[1600:], audio.SampleRate, 1000))
	}
	checkRTPStream(t, pkts)

	// Daemon → caller: 1 s of 1 kHz from the same socket, plus a stranger
	// sending 2 kHz from another port, which strict RTP must refuse.
	rogue, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	mustOK(t, err)
	defer rogue.Close()
	sendTone(t, udp, asteriskRTP, 1000, 50, rogue)
	deadline := time.Now().Add(2 * time.Second)
	var heard []int16
	for time.Now().Before(deadline) {
		if heard = call.Heard(); len(heard) >= 50*160 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(heard) < 50*160 {
		t.Fatalf("caller heard %d samples, want %d", len(heard), 50*160)
	}
	if lvl := audio.ToneLevel(heard, audio.SampleRate, 1000); lvl < 0.8 {
		t.Fatalf("caller heard 1 kHz at level %.2f (2 kHz %.2f)", lvl, audio.ToneLevel(heard, audio.SampleRate, 2000))
	}
	if n := call.HeardSoundFrames(); n != 50 {
		t.Fatalf("caller heard %d frames with sound, want 50", n)
	}
	// Ten frames of silence: heard, but not as sound.
	before := call.HeardSamples()
	for i := range 10 {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(200 + i), Timestamp: uint32(20000 + 160*i), SSRC: 0x1234},
			Payload: bytes.Repeat([]byte{0xff}, 160)}
		b, _ := p.Marshal()
		if _, err := udp.WriteToUDPAddrPort(b, asteriskRTP); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); call.HeardSamples() < before+1600 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got, n := call.HeardSamples()-before, call.HeardSoundFrames(); got != 1600 || n != 50 {
		t.Fatalf("after 10 silent frames: %d more samples heard, %d frames with sound; want 1600 and still 50", got, n)
	}
	st, ok := e.sim.ExternalMediaStats(mediaID)
	if !ok || st.StrictDrops != 50 || st.Received != 60 || st.Remote != netip.MustParseAddrPort(udp.LocalAddr().String()) {
		t.Fatalf("RTP stats %+v", st)
	}

	// Caller hangs up.
	call.Hangup()
	var seen []string
	for _, want := range []string{"ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd", "ChannelDestroyed"} {
		select {
		case ev := <-sub.Events():
			seen = append(seen, ev.Base().Type)
			if ev.Base().Type != want {
				t.Fatalf("hangup sequence %v, want %s next", seen, want)
			}
			if d, ok := ev.(*ari.ChannelDestroyed); ok && (d.Cause != 16 || d.CauseTxt != "Normal Clearing" || d.Channel.ID != callerID) {
				t.Fatalf("ChannelDestroyed = %+v", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("hangup sequence stopped at %v", seen)
		}
	}

	// The engine's cleanup: hang up the media channel, destroy the bridge.
	mustOK(t, e.cl.Hangup(ctx, mediaID, ari.ReasonNormal))
	mustOK(t, e.cl.DestroyBridge(ctx, bridgeID))
	if _, skipped := next[*ari.BridgeDestroyed](t, sub); len(skipped) < 3 {
		t.Fatalf("media channel teardown events: %s", types(skipped))
	}
	chans, err := e.cl.ListChannels(ctx)
	mustOK(t, err)
	brs, err := e.cl.ListBridges(ctx)
	mustOK(t, err)
	if len(chans) != 0 || len(brs) != 0 || len(e.sim.Channels()) != 0 || len(e.sim.Bridges()) != 0 {
		t.Fatalf("left behind: channels %v, bridges %v", chans, brs)
	}
	if keys := sub.Keys(); len(keys) != 0 {
		t.Fatalf("routes left after teardown: %v", keys)
	}
	select {
	case <-call.Done():
	default:
		t.Fatal("call handle not done")
	}
}

// receiveRTP reads n packets from conn, all from want, and returns the
// decoded audio and the packets.
// receiveRTP reads RTP from want until n packets in a row came without a
// gap in their timestamps, and returns that run's audio and every packet
// read. A machine so loaded that the simulator's media clock skips frames
// sends a gap, as a real line loses packets; a tone is measured across
// audio that has none.
func receiveRTP(t *testing.T, conn *net.UDPConn, want netip.AddrPort, n int) ([]int16, []rtp.Packet) {
	t.Helper()
	var pcm []int16
	var pkts []rtp.Packet
	buf := make([]byte, 1500)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	for run := 0; run < n; {
		if len(pkts) >= 10*n {
			t.Fatalf("%d packets without %d in a row", len(pkts), n)
		}
		m, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(pkts), err)
		}
		if from != want {
			t.Fatalf("RTP from %v, want %v", from, want)
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:m]...)); err != nil {
			t.Fatal(err)
		}
		if len(pkts) > 0 && p.Timestamp-pkts[len(pkts)-1].Timestamp != uint32(len(p.Payload)) {
			pcm, run = pcm[:0], 0
		}
		pkts = append(pkts, p)
		pcm = audio.DecodeMulaw(pcm, p.Payload)
		run++
	}
	return pcm, pkts
}

func checkRTPStream(t *testing.T, pkts []rtp.Packet) {
	t.Helper()
	for i, p := range pkts {
		if p.PayloadType != 0 || len(p.Payload) != 160 || p.Version != 2 {
			t.Fatalf("packet %d: PT %d, %d bytes", i, p.PayloadType, len(p.Payload))
		}
		if i == 0 {
			continue
		}
		prev := pkts[i-1]
		if p.SSRC != prev.SSRC || p.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("packet %d: ssrc %x seq %d after ssrc %x seq %d", i, p.SSRC, p.SequenceNumber, prev.SSRC, prev.SequenceNumber)
		}
		if d := p.Timestamp - prev.Timestamp; d%160 != 0 || d == 0 || (d != 160 && !p.Marker) {
			t.Fatalf("packet %d: timestamp step %d (marker %v)", i, d, p.Marker)
		}
	}
}

// sendTone sends n 20 ms packets of freq Hz from conn to dst, paced in real
// time; each packet is shadowed by a 2 kHz packet from rogue.
func sendTone(t *testing.T, conn *net.UDPConn, dst netip.AddrPort, freq float64, n int, rogue *net.UDPConn) {
	t.Helper()
	tone := audio.NewTone(audio.SampleRate, 0.3, freq)
	other := audio.NewTone(audio.SampleRate, 0.3, 2000)
	frame := make([]int16, 160)
	ssrc, seq, ts := uint32(0x1234), uint16(100), uint32(5000)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range n {
		tone.Fill(frame)
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc, Marker: i == 0},
			Payload: audio.EncodeMulaw(nil, frame)}
		b, _ := p.Marshal()
		if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
			t.Fatal(err)
		}
		other.Fill(frame)
		p.Payload = audio.EncodeMulaw(nil, frame)
		b, _ = p.Marshal()
		if _, err := rogue.WriteToUDPAddrPort(b, dst); err != nil {
			t.Fatal(err)
		}
		seq++
		ts += 160
		<-tick.C
	}
}
