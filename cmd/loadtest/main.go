// Command loadtest measures the whole appliance under load: the real
// daemon binary (bin/llamenos serve) in its own process, and in this one
// the Asterisk simulator placing calls, hundreds of volunteers signed in
// over the API with their WebSockets open, and a stand-in browser
// (rtc/rtctest) per answered call carrying audio both ways. It reports the
// figures of docs/performance.md: ring fan-out, answer to first audio,
// bridged calls without loss, the daemon's CPU against a plain UDP
// forwarder's, memory, and with -soak the flat-line check of a long run.
//
// Everything listens and connects on loopback; counts and times are
// bounded by the flags. Each volunteer connects from its own address in
// 127.0.0.0/8, as real volunteers come from their own addresses: the
// daemon rightly caps connections and sign-ins per address.
//
//	go build -o bin/loadtest ./cmd/loadtest && bin/loadtest -bin bin/llamenos
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"llamenos/ari/aritest"
	"llamenos/audio"
	"llamenos/audio/audiotest"
)

type options struct {
	bin         string
	volunteers  int
	calls       int
	window      time.Duration
	fanout      int
	baseline    bool
	soak        time.Duration
	soakCalls   int
	holdMin     time.Duration
	soakRamp    time.Duration
	holdMax     time.Duration
	sampleEvery time.Duration
	profile     string
}

func main() {
	var o options
	forwarder := flag.Bool("forwarder", false, "internal: run as the baseline UDP forwarder")
	flag.StringVar(&o.bin, "bin", "bin/llamenos", "the daemon binary (make build)")
	flag.IntVar(&o.volunteers, "volunteers", 500, "volunteers signed in with a WebSocket open (1..2000)")
	flag.IntVar(&o.calls, "calls", 500, "concurrent bridged calls for the capacity figure (0: skip; at most -volunteers)")
	flag.DurationVar(&o.window, "window", 30*time.Second, "measured steady state with every call bridged")
	flag.IntVar(&o.fanout, "fanout", 20, "calls rung to every volunteer for the fan-out figure (0: skip)")
	flag.BoolVar(&o.baseline, "baseline", true, "also run the plain UDP forwarder with -calls calls")
	flag.DurationVar(&o.soak, "soak", 0, "run the soak this long after the other figures (0: no soak)")
	flag.IntVar(&o.soakCalls, "soak-calls", 200, "concurrent calls during the soak")
	flag.DurationVar(&o.soakRamp, "soak-ramp", 2*time.Minute, "soak: reach -soak-calls over this long, as a night gets busy (at most half the warm-up)")
	flag.DurationVar(&o.holdMin, "hold-min", 20*time.Second, "soak: shortest call")
	flag.DurationVar(&o.holdMax, "hold-max", 100*time.Second, "soak: longest call")
	flag.StringVar(&o.profile, "cpuprofile", "", "write the daemon's CPU profile of the steady window to this file")
	flag.DurationVar(&o.sampleEvery, "sample", 15*time.Second, "soak: sampling interval of RSS, goroutines and fds")
	flag.Parse()
	if *forwarder {
		if err := runForwarder(); err != nil {
			fmt.Fprintln(os.Stderr, "forwarder:", err)
			os.Exit(1)
		}
		return
	}
	switch {
	case o.volunteers < 1 || o.volunteers > 2000:
		fmt.Fprintln(os.Stderr, "loadtest: -volunteers must be 1..2000")
		os.Exit(2)
	case o.calls < 0 || o.calls > o.volunteers || o.soak > 0 && o.soakCalls > o.volunteers:
		fmt.Fprintln(os.Stderr, "loadtest: -calls and -soak-calls must be at most -volunteers")
		os.Exit(2)
	case o.soakRamp < 0:
		fmt.Fprintln(os.Stderr, "loadtest: -soak-ramp must not be negative")
		os.Exit(2)
	case o.holdMin <= 0 || o.holdMax < o.holdMin:
		fmt.Fprintln(os.Stderr, "loadtest: need 0 < -hold-min <= -hold-max")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(ctx, o, log); err != nil {
		log.Error("load test failed", "err", err)
		os.Exit(1)
	}
}

// loader is the load side: simulator, volunteers, and what they measured.
type loader struct {
	o       options
	log     *slog.Logger
	sim     *aritest.Server
	d       *daemonProc
	vols    []*volunteer
	payload []byte // a 20 ms packet of sound: 1 kHz at -10 dBFS
	quiet   []byte // a 20 ms packet of silence

	errCount atomic.Int64
	// Gaps of more than lateGap between a browser's packets, and the
	// packets beyond lateGap in them: the tool's own stalls.
	lateGaps, late atomic.Int64
	errMu          sync.Mutex
	errs           []string

	fanMu    sync.Mutex
	fanOn    bool
	fanStart time.Time
	fanCall  string
	fanLat   []time.Duration
	fanGot   int
	fanStops int
	fanAll   chan struct{}
	fanStop  chan struct{}

	claimMu  sync.Mutex
	dispatch func(claim) // takes each claimed call; nil: rings are only recorded
	claimed  map[string]bool
	callsWG  sync.WaitGroup
	callSeq  atomic.Int64
	placed   atomic.Int64
	finished atomic.Int64

	simMu    sync.Mutex
	simCalls map[string]*aritest.Call // by caller channel, until a volunteer's call is matched to it

	answerMu  sync.Mutex
	answerLat []time.Duration
	totals    lossTotals
}

type claim struct {
	id string
	v  *volunteer
}

// lossCounts add up, over calls, what each side received against what
// was sent.
type lossCounts struct {
	calls             int64
	downRecv, downExp int64
	// Browser → caller: packets with sound sent and heard; quiet ones
	// (pauses) sent and heard. The relay may shorten a pause to take up
	// a backlog, so only the first pair is loss.
	upSent, upHeard       int64
	upQuiet, upQuietHeard int64
	endedOther            int64
}

func (t lossCounts) lost() int64 { return t.downExp - t.downRecv + t.upSent - t.upHeard }

func (t lossCounts) String() string {
	pct := func(lost, of int64) float64 {
		if of == 0 {
			return 0
		}
		return 100 * float64(lost) / float64(of)
	}
	return fmt.Sprintf("%d calls; caller→browser %d of %d packets lost (%.4f%%); browser→caller %d of %d packets with sound lost (%.4f%%), %d of %d quiet ones not heard (pauses shortened)",
		t.calls, t.downExp-t.downRecv, t.downExp, pct(t.downExp-t.downRecv, t.downExp),
		t.upSent-t.upHeard, t.upSent, pct(t.upSent-t.upHeard, t.upSent), t.upQuiet-t.upQuietHeard, t.upQuiet)
}

type lossTotals struct {
	mu sync.Mutex
	c  lossCounts
}

func (t *lossTotals) add(o lossCounts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.c.calls += o.calls
	t.c.downRecv += o.downRecv
	t.c.downExp += o.downExp
	t.c.upSent += o.upSent
	t.c.upHeard += o.upHeard
	t.c.upQuiet += o.upQuiet
	t.c.upQuietHeard += o.upQuietHeard
	t.c.endedOther += o.endedOther
}

// take returns the totals and starts afresh.
func (t *lossTotals) take() lossCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.c
	t.c = lossCounts{}
	return c
}

func (l *loader) fail(err error) {
	l.errCount.Add(1)
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, err.Error())
		l.log.Warn("load error", "err", err)
	}
}

// rang is every ring frame any volunteer received.
func (l *loader) rang(v *volunteer, id string, at time.Time) {
	l.fanMu.Lock()
	if l.fanOn {
		if l.fanCall == "" {
			l.fanCall = id
		}
		if id == l.fanCall {
			l.fanLat = append(l.fanLat, at.Sub(l.fanStart))
			if l.fanGot++; l.fanGot == len(l.vols) {
				close(l.fanAll)
			}
		}
	}
	l.fanMu.Unlock()

	// A free volunteer takes a ring nobody has taken yet, as a person
	// would pick up a ringing phone.
	l.claimMu.Lock()
	defer l.claimMu.Unlock()
	if l.dispatch == nil || l.claimed[id] {
		return
	}
	v.mu.Lock()
	free := !v.busy
	v.busy = true
	v.mu.Unlock()
	if !free {
		return
	}
	l.claimed[id] = true
	run := l.dispatch
	l.callsWG.Add(1)
	go func() {
		defer l.callsWG.Done()
		run(claim{id, v})
	}()
}

func (l *loader) setDispatch(f func(claim)) {
	l.claimMu.Lock()
	l.dispatch = f
	l.claimMu.Unlock()
}

func (l *loader) ringStopped(id string) {
	l.fanMu.Lock()
	defer l.fanMu.Unlock()
	if l.fanOn && id == l.fanCall {
		if l.fanStops++; l.fanStops == len(l.vols) {
			close(l.fanStop)
		}
	}
}

func (l *loader) spec() aritest.CallSpec {
	n := l.callSeq.Add(1)
	// 555-01xx numbers are fictional.
	return aritest.CallSpec{App: "llamenos", CallerNumber: fmt.Sprintf("+1555010%04d", n%10000), DialedNumber: "+15550100000",
		Audio: audio.NewTone(audio.SampleRate, 0.3, 440)}
}

// place places one call; whichever free volunteer hears its ring first
// takes it.
func (l *loader) place() error {
	call, err := l.sim.PlaceCall(l.spec())
	if err != nil {
		return err
	}
	l.simMu.Lock()
	l.simCalls[call.ChannelID()] = call
	l.simMu.Unlock()
	l.placed.Add(1)
	return nil
}

// simCall finds the simulated caller of the daemon's call id: the one in
// the call's bridge (named after the id).
func (l *loader) simCall(ctx context.Context, id string) (*aritest.Call, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, b := range l.sim.Bridges() {
			if b.ID != id+"-bridge" {
				continue
			}
			l.simMu.Lock()
			for _, ch := range b.Channels {
				if c := l.simCalls[ch]; c != nil {
					delete(l.simCalls, ch)
					l.simMu.Unlock()
					return c, nil
				}
			}
			l.simMu.Unlock()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("call %s: no caller in its bridge within 10 s", id)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// hangUpStragglers hangs up placed calls no volunteer took, and says how
// many there were.
func (l *loader) hangUpStragglers() int {
	l.simMu.Lock()
	defer l.simMu.Unlock()
	n := len(l.simCalls)
	for ch, c := range l.simCalls {
		c.Hangup()
		delete(l.simCalls, ch)
	}
	return n
}

// runCall answers a placed call, keeps it until hold ends, then stops the
// browser's audio, lets the last packets arrive, counts what each side
// received against what was sent, and has the caller hang up.
func (l *loader) runCall(ctx context.Context, cl claim, holdFor func() <-chan struct{}, up func(ok bool)) {
	defer l.finished.Add(1)
	v := cl.v
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, lat, err := v.answer(actx, cl.id)
	var call *aritest.Call
	if err == nil {
		call, err = l.simCall(actx, cl.id)
	}
	cancel()
	up(err == nil)
	if err != nil {
		l.fail(err)
		if call != nil {
			call.Hangup()
		} else if c != nil {
			// Without its caller the call is ended from the browser side.
			_ = v.do(ctx, "POST", "/api/calls/"+cl.id+"/hangup", nil, nil)
		}
		if c != nil {
			select {
			case <-c.ended:
			case <-time.After(10 * time.Second):
			}
			v.release(c)
		} else {
			v.mu.Lock()
			v.busy = false
			v.mu.Unlock()
		}
		return
	}
	l.answerMu.Lock()
	l.answerLat = append(l.answerLat, lat)
	l.answerMu.Unlock()
	select {
	case <-holdFor():
	case <-ctx.Done():
	case r := <-c.ended:
		l.fail(fmt.Errorf("volunteer %d: call ended early: %s", v.idx, r))
		v.release(c)
		call.Hangup()
		return
	}
	c.sending.Store(false)
	drain := time.NewTimer(time.Second)
	select {
	case <-drain.C:
	case <-ctx.Done():
	}
	recv, exp := c.downCounts()
	heard, sound := int64(call.HeardSamples()/audio.FrameSamples), int64(call.HeardSoundFrames())
	t := lossCounts{calls: 1, downRecv: recv, downExp: exp, upSent: c.sent.Load(), upHeard: sound,
		upQuiet: c.sentQuiet.Load(), upQuietHeard: heard - sound}
	call.Hangup()
	select {
	case r := <-c.ended:
		if r != "caller-hung-up" {
			t.endedOther++
			l.fail(fmt.Errorf("volunteer %d: call ended %q, want caller-hung-up", v.idx, r))
		}
	case <-time.After(15 * time.Second):
		l.fail(fmt.Errorf("volunteer %d: no call:ended within 15 s of the hangup", v.idx))
	}
	v.release(c)
	l.totals.add(t)
}

// lateGap is the longest gap between packets the relay's playout buffer
// passes without queueing: its three packets of credit.
const lateGap = 40 * time.Millisecond

// sendAudio sends every bridged browser's microphone, 20 ms packets,
// from a few goroutines, until ctx ends.
func (l *loader) sendAudio(ctx context.Context) {
	const shards = 64
	var wg sync.WaitGroup
	for s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				for i := s; i < len(l.vols); i += shards {
					v := l.vols[i]
					v.mu.Lock()
					c := v.call
					v.mu.Unlock()
					if c == nil || !c.sending.Load() {
						continue
					}
					now := time.Now()
					if gap := now.Sub(c.lastSend); !c.lastSend.IsZero() && gap > lateGap {
						// The relay's playout buffer passes up to three
						// packets at once; a longer gap leaves a backlog.
						l.late.Add(int64((gap - lateGap) / (20 * time.Millisecond)))
						l.lateGaps.Add(1)
					}
					c.lastSend = now
					sound := c.talk.next()
					payload := l.quiet
					if sound {
						payload = l.payload
					}
					if err := c.browser.Send(payload); err != nil {
						l.fail(err)
						continue
					}
					if sound {
						c.sent.Add(1)
					} else {
						c.sentQuiet.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("daemon binary: %w (make build)", err)
	}
	// Asterisk drops an events socket whose write blocks for
	// websocket_write_timeout; the appliance configures 1000 ms
	// (asterisk-config), not Asterisk's default 100 ms, and so does the
	// simulator here.
	sim, err := aritest.New(aritest.Options{LaxParams: true, HeardSeconds: 1, WriteTimeout: time.Second})
	if err != nil {
		return err
	}
	defer sim.Close()
	d, err := startDaemon(ctx, daemonConfig{bin: o.bin, ariURL: sim.URL(), user: sim.Username(), pass: sim.Password(),
		maxCalls: max(o.calls, o.soakCalls) + 50, maxSocket: o.volunteers + 100, log: log})
	if err != nil {
		return err
	}
	defer func() {
		if err := d.Close(); err != nil {
			log.Warn("daemon stop", "err", err)
		}
	}()
	l := &loader{o: o, log: log, sim: sim, d: d, claimed: map[string]bool{}, simCalls: map[string]*aritest.Call{}}
	// A 1 kHz tone: 160 samples are 20 whole periods, so one packet repeated
	// is a continuous tone, never quiet (the relay's pacer may skip quiet
	// packets).
	l.payload = audiotest.AppendMulaw(nil, audio.NewTone(audio.SampleRate, 0.3, 1000), audio.FrameSamples)
	l.quiet = audiotest.AppendMulaw(nil, audio.NewTone(audio.SampleRate, 0, 1000), audio.FrameSamples)
	r := &report{}
	r.machine = fmt.Sprintf("%d CPUs, load average %s at start", numCPU(), loadAvg())

	time.Sleep(2 * time.Second) // let the fresh daemon settle before the idle figure
	idle, err := sampleProc(d.pid())
	if err != nil {
		return err
	}
	r.idleRSS = idle.RSS
	if err := waitARI(ctx, sim); err != nil {
		return err
	}

	start := time.Now()
	admin, err := setupAdmin(ctx, d)
	if err != nil {
		return fmt.Errorf("admin setup: %w", err)
	}
	// Each socket is read from the moment it opens: the daemon pings it,
	// and a page that does not answer is cut off.
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	var readers sync.WaitGroup
	defer func() {
		for _, v := range l.vols {
			if v == nil {
				continue
			}
			v.mu.Lock()
			v.stopped = true
			v.mu.Unlock()
			v.ws.Close(1000, "done")
		}
		rcancel()
		readers.Wait()
	}()
	if err := l.signIn(ctx, admin, func(v *volunteer) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			v.read(rctx)
		}()
	}); err != nil {
		return err
	}
	log.Info("volunteers signed in and connected", "n", len(l.vols), "took", time.Since(start).Round(time.Second))
	go l.sendAudio(rctx)
	// Every volunteer is rung only once the daemon counts them reachable;
	// settle, then read the idle figure with everyone connected.
	time.Sleep(3 * time.Second)
	l.closeIdle()
	idleVols, err := sampleProc(d.pid())
	if err != nil {
		return err
	}
	r.idleVolsRSS = idleVols.RSS
	r.idleGoroutines, _ = goroutines(ctx, d.debugAddr)
	r.idleFDs = idleVols.FDs

	if o.fanout > 0 {
		if err := l.measureFanout(ctx, r); err != nil {
			return err
		}
	}
	if o.calls > 0 {
		if err := l.measureCapacity(ctx, r); err != nil {
			return err
		}
		if o.baseline {
			b, err := runBaseline(ctx, o.calls, o.window, l.payload)
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			r.base = &b
		}
	}
	if o.soak > 0 {
		if err := l.soak(ctx, r); err != nil {
			return err
		}
	}
	r.errors = l.errCount.Load()
	r.daemonErrors = d.errs.Load()
	r.daemonWarns = d.warns.Load()
	// The daemon logs a call's end after telling the browser.
	d.audio.wait(r.capacity.calls+r.soakLoss.calls, 10*time.Second)
	r.relays = d.audio.String() + fmt.Sprintf("; the stand-in browsers' own send gaps over %v: %d (%d packets beyond it)", lateGap, l.lateGaps.Load(), l.late.Load())
	l.errMu.Lock()
	r.errorSamples = l.errs
	l.errMu.Unlock()
	r.print(os.Stdout, o)
	if !r.ok() {
		return errors.New("a check failed (see the report)")
	}
	return nil
}

// waitARI waits until the daemon holds the simulator's events socket.
func waitARI(ctx context.Context, sim *aritest.Server) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		probe, err := sim.PlaceCall(aritest.CallSpec{App: "llamenos", CallerNumber: "+15550109999", DialedNumber: "+15550100000", HangupAfter: time.Millisecond})
		if err == nil {
			<-probe.Done()
			return nil
		}
		if !errors.Is(err, aritest.ErrAppInactive) || time.Now().After(deadline) {
			return fmt.Errorf("daemon never connected to ARI: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// signIn makes the volunteers, 16 at a time, and opens their sockets.
func (l *loader) signIn(ctx context.Context, admin *account, opened func(*volunteer)) error {
	l.vols = make([]*volunteer, l.o.volunteers)
	var wg sync.WaitGroup
	errc := make(chan error, len(l.vols))
	sem := make(chan struct{}, 16)
	for i := range l.vols {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := join(ctx, admin, accountIP(i))
			if err != nil {
				errc <- fmt.Errorf("volunteer %d: %w", i, err)
				return
			}
			v := &volunteer{account: a, idx: i, l: l}
			if err := v.connect(ctx); err != nil {
				errc <- err
				return
			}
			l.vols[i] = v
			opened(v)
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func (l *loader) measureFanout(ctx context.Context, r *report) error {
	cpu, err := startCPU(l.d.pid())
	if err != nil {
		return err
	}
	for range l.o.fanout {
		l.fanMu.Lock()
		l.fanOn, l.fanCall, l.fanGot, l.fanStops = true, "", 0, 0
		l.fanAll, l.fanStop = make(chan struct{}), make(chan struct{})
		l.fanStart = time.Now()
		l.fanMu.Unlock()
		call, err := l.sim.PlaceCall(l.spec())
		if err != nil {
			return err
		}
		wait := func(what string, ch <-chan struct{}) error {
			select {
			case <-ch:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Second):
				l.fanMu.Lock()
				defer l.fanMu.Unlock()
				return fmt.Errorf("fan-out: %s: %d rings, %d stops of %d volunteers within 20 s", what, l.fanGot, l.fanStops, len(l.vols))
			}
		}
		if err := wait("ring", l.fanAll); err != nil {
			return err
		}
		call.Hangup()
		if err := wait("ring:stop", l.fanStop); err != nil {
			return err
		}
		<-call.Done()
		l.fanMu.Lock()
		l.fanOn = false
		l.fanMu.Unlock()
	}
	r.fanoutCPU, err = cpu.stop()
	l.fanMu.Lock()
	r.fanout = l.fanLat
	l.fanLat = nil
	l.fanMu.Unlock()
	return err
}

// inFlight is how many calls may be placed and not yet bridged: enough to
// keep the ramp going, few enough that a call's setup is measured, not a
// queue.
const inFlight = 8

func (l *loader) measureCapacity(ctx context.Context, r *report) error {
	n := int64(l.o.calls)
	hold := make(chan struct{})
	var ok, failed atomic.Int64
	progress := make(chan struct{}, 1)
	l.setDispatch(func(cl claim) {
		l.runCall(ctx, cl, func() <-chan struct{} { return hold }, func(good bool) {
			if good {
				ok.Add(1)
			} else {
				failed.Add(1)
			}
			select {
			case progress <- struct{}{}:
			default:
			}
		})
	})
	rampCPU, err := startCPU(l.d.pid())
	if err != nil {
		return err
	}
	rampStart := time.Now()
	deadline := time.Now().Add(15 * time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	lastLog := time.Now()
	for ok.Load()+failed.Load() < n && time.Now().Before(deadline) && ctx.Err() == nil {
		for l.placed.Load() < n && l.placed.Load()-ok.Load()-failed.Load() < inFlight {
			if err := l.place(); err != nil {
				l.fail(err)
				break
			}
		}
		select {
		case <-progress:
		case <-tick.C:
		case <-ctx.Done():
		}
		if time.Since(lastLog) > 10*time.Second {
			l.log.Info("ramp", "bridged", ok.Load(), "failed", failed.Load(), "placed", l.placed.Load())
			lastLog = time.Now()
		}
	}
	tick.Stop()
	r.rampCPU, _ = rampCPU.stop()
	r.rampTook = time.Since(rampStart)
	l.log.Info("calls bridged", "n", ok.Load(), "failed", failed.Load(), "ramp", r.rampTook.Round(time.Second))
	time.Sleep(2 * time.Second) // the last calls' first seconds are not steady state
	before, err := sampleProc(l.d.pid())
	if err != nil {
		return err
	}
	steady, err := startCPU(l.d.pid())
	if err != nil {
		return err
	}
	prof := make(chan error, 1)
	if l.o.profile != "" {
		go func() { prof <- l.d.cpuProfile(ctx, l.o.window, l.o.profile) }()
	} else {
		prof <- nil
	}
	select {
	case <-time.After(l.o.window):
	case <-ctx.Done():
	}
	if err := <-prof; err != nil {
		l.fail(err)
	}
	r.steadyCPU, err = steady.stop()
	if err != nil {
		return err
	}
	after, err := sampleProc(l.d.pid())
	if err != nil {
		return err
	}
	r.activeGoroutines, _ = goroutines(ctx, l.d.debugAddr)
	r.bridged = l.bridged()
	r.activeRSS = max(before.RSS, after.RSS)
	r.activeFDs = after.FDs
	r.activeThreads = after.Threads
	l.log.Info("steady state", "bridged", r.bridged, "cpu", r.steadyCPU.String(), "rss_mb", r.activeRSS>>20)
	close(hold)
	l.setDispatch(nil)
	l.callsWG.Wait()
	if n := l.hangUpStragglers(); n > 0 {
		l.fail(fmt.Errorf("%d placed calls were never taken", n))
	}
	r.capacity = l.totals.take()
	l.answerMu.Lock()
	r.answer = l.answerLat
	l.answerLat = nil
	l.answerMu.Unlock()
	l.log.Info("capacity", "loss", r.capacity.String(), "answer_p99_ms", ms(percentile(r.answer, 99)))
	return nil
}

// closeIdle closes the volunteers' idle keep-alive connections, so the
// daemon's goroutines and fds can be compared between idle moments.
func (l *loader) closeIdle() {
	for _, v := range l.vols {
		v.client.CloseIdleConnections()
	}
}

// bridgedOrUp counts the calls a volunteer holds.
func (l *loader) bridgedOrUp() int {
	n := 0
	for _, v := range l.vols {
		v.mu.Lock()
		if v.call != nil {
			n++
		}
		v.mu.Unlock()
	}
	return n
}

// bridged counts the calls whose browser is sending.
func (l *loader) bridged() int {
	n := 0
	for _, v := range l.vols {
		v.mu.Lock()
		if v.call != nil && v.call.sending.Load() {
			n++
		}
		v.mu.Unlock()
	}
	return n
}

// soak keeps o.soakCalls calls going, each held a random time, for
// o.soak, sampling the daemon; then checks that nothing grew.
func (l *loader) soak(ctx context.Context, r *report) error {
	sctx, cancel := context.WithTimeout(ctx, l.o.soak)
	defer cancel()
	start := time.Now()
	var seed atomic.Uint64
	l.setDispatch(func(cl claim) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 1))
		d := l.o.holdMin + time.Duration(rng.Int64N(int64(l.o.holdMax-l.o.holdMin)+1))
		l.runCall(ctx, cl, func() <-chan struct{} {
			// Held d, or until the soak ends: its counts still add up.
			hold := make(chan struct{})
			var once sync.Once
			t := time.AfterFunc(d, func() { once.Do(func() { close(hold) }) })
			context.AfterFunc(sctx, func() { t.Stop(); once.Do(func() { close(hold) }) })
			return hold
		}, func(bool) {})
	})
	// The first samples are the ramp to soakCalls calls; the check starts
	// once they are all up, a fifth of the way in at most.
	warm := min(3*time.Minute, l.o.soak/5)
	ramp := min(l.o.soakRamp, warm/2)
	placer := make(chan struct{})
	go func() {
		defer close(placer)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for sctx.Err() == nil {
			// Keep soakCalls calls live (fewer during the ramp), placing
			// at most inFlight at once.
			live := int64(l.o.soakCalls)
			if el := time.Since(start); el < ramp {
				live = 1 + live*int64(el)/int64(ramp)
			}
			for sctx.Err() == nil && l.placed.Load()-l.finished.Load() < live && int64(l.bridgedOrUp())+inFlight > l.placed.Load()-l.finished.Load() {
				if err := l.place(); err != nil {
					l.fail(err)
					break
				}
			}
			select {
			case <-sctx.Done():
			case <-tick.C:
			}
		}
	}()
	var rss, gor, fds, thr, active series
	rss.name, gor.name, fds.name, thr.name, active.name = "RSS (MB)", "goroutines", "open fds", "threads", "bridged calls"
	tick := time.NewTicker(l.o.sampleEvery)
	cpu, err := startCPU(l.d.pid())
	if err != nil {
		return err
	}
	for sctx.Err() == nil {
		select {
		case <-sctx.Done():
			continue
		case <-tick.C:
		}
		at := time.Since(start)
		s, err := sampleProc(l.d.pid())
		if err != nil {
			return err
		}
		g, err := goroutines(ctx, l.d.debugAddr)
		if err != nil {
			l.fail(err)
			continue
		}
		b := l.bridged()
		l.log.Info("soak", "at", at.Round(time.Second), "bridged", b, "rss_mb", s.RSS>>20, "goroutines", g, "fds", s.FDs, "threads", s.Threads, "errors", l.errCount.Load(), "daemon_errors", l.d.errs.Load())
		if at < warm {
			continue
		}
		rss.add(at, float64(s.RSS)/(1<<20))
		gor.add(at, float64(g))
		fds.add(at, float64(s.FDs))
		thr.add(at, float64(s.Threads))
		active.add(at, float64(b))
	}
	tick.Stop()
	<-placer
	l.setDispatch(nil)
	l.callsWG.Wait()
	if n := l.hangUpStragglers(); n > 0 {
		l.fail(fmt.Errorf("%d placed calls were never taken", n))
	}
	r.soakCPU, _ = cpu.stop()
	r.soakTook = time.Since(start)
	r.soakLoss = l.totals.take()
	// Goroutines per call vary by a few with what each call is doing; a
	// leak of one per call would add thousands over the soak.
	r.soakChecks = nil
	for _, c := range []struct {
		s          series
		tol, slack float64
	}{{rss, 0.10, 8}, {gor, 0.05, 20}, {fds, 0.05, 10}, {thr, 0.25, 4}} {
		ok, msg := flatCheck(c.s, c.tol, c.slack)
		r.soakChecks = append(r.soakChecks, check{ok, msg})
	}
	_, msg := flatCheck(active, 1, 0)
	r.soakActive = msg
	// Back to idle: once every call has ended, the daemon holds what it
	// held before the first call.
	// The daemon's REST connections to Asterisk close after 30 s unused.
	l.closeIdle()
	deadline := time.Now().Add(45 * time.Second)
	for {
		g, gerr := goroutines(ctx, l.d.debugAddr)
		s, serr := sampleProc(l.d.pid())
		if gerr == nil && serr == nil && g <= r.idleGoroutines+5 && s.FDs <= r.idleFDs+5 {
			r.afterGoroutines, r.afterFDs = g, s.FDs
			break
		}
		if time.Now().After(deadline) {
			r.afterGoroutines, r.afterFDs = g, s.FDs
			// What is left, for whoever looks into it.
			if path, err := saveGoroutines(ctx, l.d.debugAddr); err == nil {
				r.afterDump = path
			} else {
				l.fail(err)
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil
}
