//go:build asterisk

package realasterisk

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"llamenos/audio"
	"llamenos/audio/audiotest"
)

// caller is one person dialling the hotline: SIPp does the SIP, and the
// test's own UDP socket is the phone's media, sending a tone once Asterisk
// starts sending and recording what comes back.
type caller struct {
	t       *testing.T
	rtpConn *net.UDPConn
	sipp    *exec.Cmd
	sippSIP string // SIPp's SIP address, for the test's "hang up now"
	callID  string
	msgLog  string // SIPp's message trace
	ended   chan struct{}
	err     error // SIPp's exit, once ended is closed
	out     strings.Builder

	mu       sync.Mutex
	heard    []frame
	asterisk *net.UDPAddr // where Asterisk sends from (and takes RTP)
	voice    *switchable  // what the caller says: 440 Hz unless the test says otherwise
	digits   chan byte    // keys to press, as RFC 4733 events
	stop     chan struct{}
	wg       sync.WaitGroup
}

// frame is one packet's audio as its receiver heard it.
type frame struct {
	at      time.Time
	samples []int16
	payload []byte // the µ-law bytes, where the receiver kept them
}

// Tone levels: the caller sends 440 Hz, the volunteer 1 kHz, each at a
// quarter of full scale (-15 dBFS RMS).
const (
	callerHz    = 440
	volunteerHz = 1000
	toneAmp     = 0.25
)

var toneDBFS = dbfs(toneAmp * 32767 / math.Sqrt2)

// dial places a call from callerNumber to the hotline through a's trunk.
func dial(t *testing.T, a *asterisk) *caller {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &caller{
		t: t, rtpConn: conn, ended: make(chan struct{}), stop: make(chan struct{}),
		voice:   newSwitchable(audio.NewTone(audio.SampleRate, toneAmp, callerHz)),
		digits:  make(chan byte, 4),
		sippSIP: fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp")),
		callID:  "llamenos-test-" + hex.EncodeToString(id),
		msgLog:  filepath.Join(dir, "messages.log"),
	}
	_, sippPort, _ := net.SplitHostPort(c.sippSIP)
	rtpPort := conn.LocalAddr().(*net.UDPAddr).Port
	scenario, err := filepath.Abs(filepath.Join("testdata", "caller.xml"))
	if err != nil {
		t.Fatal(err)
	}
	c.sipp = exec.Command(a.tl.sipp, a.sip,
		"-sf", scenario, "-m", "1", "-l", "1",
		"-i", "127.0.0.1", "-p", sippPort, "-mp", fmt.Sprint(freePort(t, "udp")),
		"-s", hotlineNumber, "-key", "caller", callerNumber, "-key", "rtpport", fmt.Sprint(rtpPort),
		"-cid_str", c.callID,
		"-trace_msg", "-message_file", c.msgLog,
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-nostdin", "-timeout", "300s", "-timeout_error",
	)
	c.sipp.Dir = dir
	c.sipp.Stdout, c.sipp.Stderr = &c.out, &c.out
	c.wg.Add(1)
	go c.receive()
	if err := c.sipp.Start(); err != nil {
		c.closeMedia()
		t.Fatal(err)
	}
	go func() {
		c.err = c.sipp.Wait()
		close(c.ended)
	}()
	t.Cleanup(func() {
		select {
		case <-c.ended:
		default:
			_ = c.sipp.Process.Kill()
			<-c.ended
		}
		c.closeMedia()
	})
	return c
}

func (c *caller) closeMedia() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.rtpConn.Close()
	c.wg.Wait()
}

// receive records what the caller hears; on the first packet it starts
// the caller's tone towards where that packet came from.
func (c *caller) receive() {
	defer c.wg.Done()
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, from, err := c.rtpConn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		at := time.Now()
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != 0 {
			continue
		}
		c.mu.Lock()
		c.heard = append(c.heard, frame{at: at, samples: audio.DecodeMulaw(nil, p.Payload), payload: slices.Clone(p.Payload)})
		first := c.asterisk == nil
		if first {
			c.asterisk = from
		}
		c.mu.Unlock()
		if first {
			c.wg.Add(1)
			go c.send(from)
		}
	}
}

// send plays the caller's voice to Asterisk in 20 ms packets, and the keys
// the test presses as RFC 4733 events (payload type 101, as the SDP offers)
// in their place.
func (c *caller) send(to *net.UDPAddr) {
	defer c.wg.Done()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 0x11a3e205}}
	payload := make([]byte, 0, audio.FrameSamples)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// An event being sent: its code, its start timestamp, how many
	// packets of it went out.
	var key struct {
		on    bool
		code  byte
		start uint32
		sent  int
	}
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if !key.on {
			select {
			case d := <-c.digits:
				key.on, key.code, key.start, key.sent = true, dtmfCode(d), p.Timestamp, 0
			default:
			}
		}
		if key.on {
			// 160 ms of the key, then its end three times over, all
			// stamped with the event's start.
			key.sent++
			dur := min(key.sent, dtmfPackets) * audio.FrameSamples
			flags := byte(10) // volume -10 dBm0
			if key.sent >= dtmfPackets {
				flags |= 0x80 // end
			}
			p.PayloadType, p.Marker, p.Timestamp = 101, key.sent == 1, key.start
			p.Payload = []byte{key.code, flags, byte(dur >> 8), byte(dur)}
		} else {
			p.PayloadType, p.Marker = 0, false
			p.Payload = audiotest.AppendMulaw(payload[:0], c.voice, audio.FrameSamples)
		}
		b, err := p.Marshal()
		if err != nil {
			c.t.Errorf("caller RTP: %v", err)
			return
		}
		if _, err := c.rtpConn.WriteToUDP(b, to); err != nil {
			return
		}
		p.SequenceNumber++
		switch {
		case !key.on:
			p.Timestamp += audio.FrameSamples
		case key.sent == dtmfPackets+2:
			// The voice goes on where the wall clock is.
			key.on = false
			p.Timestamp = key.start + uint32(key.sent*audio.FrameSamples)
		}
	}
}

// dtmfPackets is how many 20 ms packets a key press lasts.
const dtmfPackets = 8

// dtmfCode is the RFC 4733 event code of a key.
func dtmfCode(d byte) byte {
	switch {
	case d >= '0' && d <= '9':
		return d - '0'
	case d == '*':
		return 10
	case d == '#':
		return 11
	}
	panic(fmt.Sprintf("no DTMF key %q", d))
}

// press makes the caller press key d once their media flows.
func (c *caller) press(d byte) { c.digits <- d }

// say makes the caller say src from the next packet on, in place of what
// they said so far.
func (c *caller) say(src audio.Source) { c.voice.set(src) }

// waitSaid waits until the caller has sent d of what say gave them.
func (c *caller) waitSaid(d, within time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for c.voice.played() < d {
		select {
		case <-ctx.Done():
			c.t.Fatalf("the caller said %v in %v, want %v", c.voice.played(), within, d)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// switchable is an audio source whose source can be changed while it
// plays: what a caller or a volunteer says next.
type switchable struct {
	mu      sync.Mutex
	src     audio.Source
	samples int // taken from src so far
}

func newSwitchable(src audio.Source) *switchable { return &switchable{src: src} }

func (s *switchable) set(src audio.Source) {
	s.mu.Lock()
	s.src, s.samples = src, 0
	s.mu.Unlock()
}

// played is how much of the current source was taken so far.
func (s *switchable) played() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.samples) * time.Second / audio.SampleRate
}

// Fill implements audio.Source.
func (s *switchable) Fill(dst []int16) {
	s.mu.Lock()
	s.src.Fill(dst)
	s.samples += len(dst)
	s.mu.Unlock()
}

// frames returns what the caller heard so far.
func (c *caller) frames() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.heard)
}

// heardSince returns the audio the caller received after t0.
func (c *caller) heardSince(t0 time.Time) []int16 {
	var out []int16
	for _, f := range c.frames() {
		if f.at.After(t0) {
			out = append(out, f.samples...)
		}
	}
	return out
}

// hangUp makes the caller hang up: the test's INFO, carrying this call's
// Call-ID, tells SIPp to send its BYE.
func (c *caller) hangUp() {
	c.t.Helper()
	conn, err := net.Dial("udp4", c.sippSIP)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := strings.Join([]string{
		"INFO sip:caller@" + c.sippSIP + " SIP/2.0",
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-hangup-" + c.callID,
		"From: <sip:test@" + local + ">;tag=test",
		"To: <sip:caller@" + c.sippSIP + ">",
		"Call-ID: " + c.callID,
		"CSeq: 1 INFO",
		"Max-Forwards: 70",
		"Content-Length: 0",
		"", "",
	}, "\r\n")
	if _, err := conn.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

// wait waits for SIPp to finish the call and fails the test if the call
// did not go as the scenario says.
func (c *caller) wait(d time.Duration) {
	c.t.Helper()
	select {
	case <-c.ended:
	case <-time.After(d):
		c.t.Fatalf("the call did not end within %v", d)
	}
	if c.err != nil {
		b, _ := os.ReadFile(c.msgLog)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		c.t.Fatalf("sipp: %v\n%s\nmessages (end):\n%s", c.err, c.out.String(), b)
	}
}

// inviteSent is when SIPp sent the INVITE, from its message trace.
func (c *caller) inviteSent() time.Time {
	c.t.Helper()
	f, err := os.Open(c.msgLog)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var stamp string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "----------------------------------------------- ") {
			stamp = strings.TrimPrefix(line, "----------------------------------------------- ")
			continue
		}
		if strings.HasPrefix(line, "INVITE ") && stamp != "" {
			at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", stamp, time.Local)
			if err != nil {
				c.t.Fatalf("SIPp trace time %q: %v", stamp, err)
			}
			return at
		}
	}
	c.t.Fatalf("no INVITE in SIPp's trace %s", c.msgLog)
	return time.Time{}
}

// tone measures a received tone: the frequency with the most energy
// (a Goertzel scan over the telephone band, 10 Hz steps), the share of
// the energy at want, and the RMS level in dBFS.
type tone struct {
	peakHz float64
	share  float64
	level  float64
}

func measure(samples []int16, want float64) tone {
	var m tone
	best := -1.0
	for f := 300.0; f <= 3400; f += 10 {
		if l := audio.ToneLevel(samples, audio.SampleRate, f); l > best {
			best, m.peakHz = l, f
		}
	}
	m.share = audio.ToneLevel(samples, audio.SampleRate, want)
	m.level = dbfs(audiotest.RMS(samples))
	return m
}

func dbfs(rms float64) float64 {
	if rms == 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(rms/32768)
}

func (m tone) String() string {
	return fmt.Sprintf("%.0f Hz, %.2f of the energy, %.1f dBFS", m.peakHz, m.share, m.level)
}

// checkTone fails t unless samples carry want at the level it was sent.
func checkTone(t *testing.T, who string, samples []int16, want float64) tone {
	t.Helper()
	m := measure(samples, want)
	t.Logf("%s hears %s (%d ms)", who, m, len(samples)/8)
	if math.Abs(m.peakHz-want) > 10 || m.share < 0.9 {
		t.Errorf("%s hears %v, want %v Hz", who, m, want)
	}
	if math.Abs(m.level-toneDBFS) > 2 {
		t.Errorf("%s hears the tone at %.1f dBFS, it was sent at %.1f dBFS", who, m.level, toneDBFS)
	}
	return m
}

// waitHeard waits until the caller has heard d of audio after t0.
func (c *caller) waitHeard(t0 time.Time, d, within time.Duration) []int16 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		s := c.heardSince(t0)
		if time.Duration(len(s))*time.Second/audio.SampleRate >= d {
			return s
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("the caller heard %v of audio in %v, want %v", time.Duration(len(s))*time.Second/audio.SampleRate, within, d)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
