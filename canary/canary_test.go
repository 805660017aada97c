package canary

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"llamenos/ari"
	"llamenos/ari/aritest"
	"llamenos/e2ee/e2eetest"
	"llamenos/hotline"
	"llamenos/rtc"
	"llamenos/store"
)

// simEnv makes the test binary run as the Asterisk simulator (TestMain).
const simEnv = "LLAMENOS_CANARY_SIMULATOR"

const (
	testApp = "llamenos"
	// numberDigits: '+' and 14 digits, a valid E.164 number that random
	// memory is very unlikely to hold by chance.
	numberDigits = 14
	// waitFor bounds every wait of the test and of the simulator.
	waitFor = 15 * time.Second
)

func TestMain(m *testing.M) {
	if os.Getenv(simEnv) == "1" {
		os.Exit(simulator(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// hello is the simulator's first line: where it listens, and the caller
// number it made up, masked.
type hello struct {
	URL, Username, Password string
	Masked, Key             []byte
}

// simulator runs aritest for the parent process, which drives it with one
// command per line on in and reads one reply line per command on out.
func simulator(in io.Reader, out io.Writer) int {
	number := make([]byte, 1+numberDigits)
	number[0] = '+'
	if _, err := crand.Read(number[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 1; i < len(number); i++ {
		if i == 1 {
			number[i] = '1' + number[i]%9
		} else {
			number[i] = '0' + number[i]%10
		}
	}
	key := make([]byte, len(number))
	if _, err := crand.Read(key); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mask := make([]byte, len(number))
	for i := range number {
		mask[i] = number[i] ^ key[i]
	}
	sim, err := aritest.New(aritest.Options{Record: true, DefaultSoundDuration: 20 * time.Millisecond, SymbolDuration: 5 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sim.Close()
	if err := json.NewEncoder(out).Encode(hello{URL: sim.URL(), Username: sim.Username(), Password: sim.Password(), Masked: mask, Key: key}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := &simState{sim: sim, number: string(number), calls: map[string]*aritest.Call{}}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		reply, err := s.do(cmd, arg)
		if err != nil {
			fmt.Fprintf(out, "error %s: %v\n", cmd, err)
			continue
		}
		fmt.Fprintf(out, "ok %s\n", reply)
	}
	return 0
}

type simState struct {
	sim    *aritest.Server
	number string
	calls  map[string]*aritest.Call
	dropAt int // exchanges recorded before the last drop
}

func (s *simState) do(cmd, arg string) (string, error) {
	switch cmd {
	case "call": // "call" from the number, "call withheld" from no number
		if err := waitUntil(func() bool { return s.sim.AppConnected(testApp) }); err != nil {
			return "", err
		}
		// The caller's name often repeats the number; here it does.
		spec := aritest.CallSpec{App: testApp, CallerNumber: s.number, CallerName: s.number, DialedNumber: "+15550000000", Args: []string{"inbound"}}
		if arg == "withheld" {
			spec.CallerNumber, spec.CallerName = "", ""
		}
		c, err := s.sim.PlaceCall(spec)
		if err != nil {
			return "", err
		}
		s.calls[c.ChannelID()] = c
		return c.ChannelID(), nil
	case "bridged": // the caller's channel shares a bridge with the media channel
		return "", waitUntil(func() bool {
			for _, b := range s.sim.Bridges() {
				if slices.Contains(b.Channels, arg) && len(b.Channels) == 2 {
					return true
				}
			}
			return false
		})
	case "drop": // cut the events socket: the client reconnects and resyncs
		s.dropAt = len(s.sim.Exchanges())
		s.sim.DropEvents()
		return "", nil
	case "resubscribed": // the call of this channel subscribed again after the drop
		return "", waitUntil(func() bool {
			for _, x := range s.sim.Exchanges()[s.dropAt:] {
				if x.Method == "POST" && x.Path == "/applications/"+testApp+"/subscription" &&
					slices.Contains(strings.Split(x.Query.Get("eventSource"), ","), "channel:"+arg) {
					return true
				}
			}
			return false
		})
	case "gone": // the channel was destroyed
		c := s.calls[arg]
		if c == nil {
			return "", fmt.Errorf("no call %q", arg)
		}
		return "", waitUntil(func() bool {
			select {
			case <-c.Done():
				return true
			default:
				return false
			}
		})
	case "hangup":
		c := s.calls[arg]
		if c == nil {
			return "", fmt.Errorf("no call %q", arg)
		}
		c.Hangup()
		return "", nil
	}
	return "", fmt.Errorf("unknown command")
}

// waitUntil polls cond for at most waitFor.
func waitUntil(cond func() bool) error {
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// simProc is the simulator child process.
type simProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	hello hello
}

func startSimulator(t *testing.T) *simProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), simEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &simProc{t: t, cmd: cmd, in: in, lines: make(chan string, 1)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		in.Close()
		for range p.lines { // the simulator exits when its input ends
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("simulator process: %v", err)
		}
	})
	if err := json.Unmarshal([]byte(p.line()), &p.hello); err != nil {
		t.Fatalf("simulator hello: %v", err)
	}
	return p
}

func (p *simProc) line() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatal("the simulator process ended")
		}
		return l
	case <-time.After(2 * waitFor):
		p.t.Fatal("the simulator process does not answer")
	}
	return ""
}

// do sends one command and returns its reply.
func (p *simProc) do(cmd string) string {
	p.t.Helper()
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		p.t.Fatal(err)
	}
	reply := p.line()
	res, ok := strings.CutPrefix(reply, "ok ")
	if !ok {
		p.t.Fatalf("simulator: %s", reply)
	}
	return res
}

// ---- the daemon's side ----

type notifier struct {
	mu      sync.Mutex
	rings   []string
	changed chan struct{}
}

func (n *notifier) Ring(_ []string, callID string, _, _ time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rings = append(n.rings, callID)
	close(n.changed)
	n.changed = make(chan struct{})
}
func (n *notifier) RingStop([]string, string, string)         {}
func (n *notifier) Connected(string, string)                  {}
func (n *notifier) Ended(string, string, string)              {}
func (n *notifier) Candidate(string, string, json.RawMessage) {}
func (n *notifier) CallsChanged()                             {}
func (n *notifier) firstRing(t *testing.T) string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		n.mu.Lock()
		ch := n.changed
		if len(n.rings) > 0 {
			id := n.rings[0]
			n.mu.Unlock()
			return id
		}
		n.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("the call never rang")
		}
	}
}

// lockedBuffer keeps the daemon's log in memory, so the scan covers it too.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// TestCallerNumberLeavesNoCopy places two calls from one number: the first
// is answered, lives through an events-socket drop and resync, and is
// banned by the volunteer; the second is refused as banned before anything
// plays. A third call from a withheld number then shows the engine has
// handled every event before it. The whole memory of this process must
// then hold no copy of the number, whole or as digits only: neither at once
// (garbage included) nor after a garbage collection.
func TestCallerNumberLeavesNoCopy(t *testing.T) {
	if err := probeOwnMemory(); err != nil {
		t.Skipf("this process cannot read its own memory through /proc/self/mem (%v); the canary cannot run here", err)
	}
	sim := startSimulator(t)
	number := masked{text: sim.hello.Masked, key: sim.hello.Key}
	if number.len() != 1+numberDigits || len(number.key) != number.len() {
		t.Fatalf("simulator sent a number of %d bytes", number.len())
	}

	ctx := context.Background()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "canary.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin := newKey(t)
	volunteer := newKey(t)
	err = st.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateVolunteer(store.Volunteer{PubKey: admin, Role: store.RoleAdmin, Active: true}); err != nil {
			return err
		}
		if _, err := tx.CreateVolunteer(store.Volunteer{PubKey: volunteer, Role: store.RoleVolunteer, Active: true, Available: true}); err != nil {
			return err
		}
		id, err := store.NewID()
		if err != nil {
			return err
		}
		_, err = tx.PutShiftRule(store.ShiftRule{ID: id, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, Start: "00:00", End: "24:00", Volunteers: []string{volunteer}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	media, err := rtc.NewEngine(rtc.Config{IncludeLoopback: true, IPs: []string{"127.0.0.1"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { media.Close() })
	// The client as the daemon makes it: its own HTTP client and transport.
	cl, err := ari.New(ari.Config{
		URL: sim.hello.URL, Username: sim.hello.Username, Password: sim.hello.Password, App: testApp,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifier{changed: make(chan struct{})}
	eng, err := hotline.New(hotline.Config{}, hotline.Deps{ARI: cl, RTC: media, Store: st, Notify: n, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ariDone, engDone := make(chan error, 1), make(chan error, 1)
	go func() { ariDone <- cl.Run(runCtx) }()
	go func() { engDone <- eng.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-engDone; err != nil {
			t.Errorf("engine: %v", err)
		}
		cl.Close()
		<-ariDone
	})

	// The first call: answered, resynced, banned.
	chan1 := sim.do("call")
	call1 := n.firstRing(t)
	opCtx, opCancel := context.WithTimeout(ctx, waitFor)
	defer opCancel()
	if err := eng.Answer(opCtx, call1, volunteer); err != nil {
		t.Fatal(err)
	}
	sim.do("bridged " + chan1)
	sim.do("drop")
	sim.do("resubscribed " + chan1)
	if err := eng.BanCaller(opCtx, call1, volunteer, nil); err != nil {
		t.Fatal(err)
	}
	sim.do("gone " + chan1)

	// The second call from the number is refused before anything plays.
	chan2 := sim.do("call")
	sim.do("gone " + chan2)

	// A withheld number next: once its record exists, the engine has
	// handled every event of the socket before its StasisStart.
	chan3 := sim.do("call withheld")
	var records []store.Call
	waitTest(t, "the third call's record", func() bool {
		err := st.View(ctx, func(tx *store.Tx) error {
			var err error
			records, _, err = tx.ListCalls(store.CallFilter{}, "", 10)
			return err
		})
		return err == nil && len(records) == 3
	})
	outcomes := map[string]store.Outcome{}
	for _, r := range records {
		outcomes[r.ID] = r.Outcome
	}
	if outcomes[call1] != store.OutcomeAnswered {
		t.Errorf("first call: outcome %q, want answered", outcomes[call1])
	}
	var call2 string
	for id, o := range outcomes {
		if id != call1 && o == store.OutcomeBanned {
			call2 = id
		}
	}
	if call2 == "" {
		t.Fatalf("the second call was not refused as banned: %v", outcomes)
	}
	for _, id := range []string{call1, call2} {
		waitTest(t, "call "+id+" to be over", func() bool {
			return errors.Is(eng.Decline(opCtx, id, volunteer), hotline.ErrNoCall)
		})
	}

	// First as a core dump taken now would find it, garbage included; then
	// after the runtime has collected and returned what it can.
	scan := func(when string) {
		start := time.Now()
		res, err := scanSelf(number)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		t.Logf("%s: scanned in %v: %v", when, time.Since(start).Round(time.Millisecond), res)
		if res.digits != 0 {
			t.Errorf("%s, the number outlived its calls: %v", when, res)
		}
	}
	scan("right after the calls")
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	scan("after GC and FreeOSMemory")
	sim.do("hangup " + chan3)
}

// TestDecodeLeavesNoCopy: decoding an event frame copies the caller id
// once, into buffers WipeEvent zeroes; a frame that fails to decode after
// its caller id, or an unmodelled one, leaves no copy either. The number is
// written into the frames only, straight from its masked form.
func TestDecodeLeavesNoCopy(t *testing.T) {
	if err := probeOwnMemory(); err != nil {
		t.Skipf("this process cannot read its own memory through /proc/self/mem (%v)", err)
	}
	number := randomMasked(t)
	frame := func(parts ...string) []byte {
		// Each "%N" part stands for the number.
		n := 0
		for _, p := range parts {
			if p == "%N" {
				n += number.len()
			} else {
				n += len(p)
			}
		}
		b := make([]byte, 0, n)
		for _, p := range parts {
			if p != "%N" {
				b = append(b, p...)
				continue
			}
			for j := range number.text {
				b = append(b, number.text[j]^number.key[j])
			}
		}
		return b
	}
	valid := frame(`{"type":"StasisStart","channel":{"id":"c1","caller":{"name":"`, "%N", `","number":"`, "%N", `"}}}`)
	ev, err := ari.DecodeEvent(valid)
	clear(valid)
	if err != nil {
		t.Fatal(err)
	}
	if n := ev.(*ari.StasisStart).Channel.Caller.Number.Len(); n != number.len() {
		t.Fatalf("decoded a number of %d bytes", n)
	}
	ari.WipeEvent(ev)
	broken := frame(`{"type":"StasisStart","channel":{"caller":{"name":"`, "%N", `","number":"`, "%N", `"},"state":7}}`)
	if _, err := ari.DecodeEvent(broken); !errors.Is(err, ari.ErrMalformedEvent) {
		t.Fatalf("a state of the wrong type decoded: %v", err)
	}
	clear(broken)
	unknown := frame(`{"type":"ChannelUserevent","channel":{"caller":{"number":"`, "%N", `"}}}`)
	ev, err = ari.DecodeEvent(unknown)
	clear(unknown)
	if _, ok := ev.(*ari.UnknownEvent); err != nil || !ok {
		t.Fatalf("unmodelled event: %T, %v", ev, err)
	}
	ari.WipeEvent(ev)
	res, err := scanSelf(number)
	if err != nil {
		t.Fatal(err)
	}
	if res.digits != 0 {
		t.Errorf("decoding left copies: %v", res)
	}
}

// randomMasked makes up a number ('+' and numberDigits digits) and returns
// it masked; the plain number exists only for the moment it is masked.
func randomMasked(t *testing.T) masked {
	t.Helper()
	plain := make([]byte, 1+numberDigits)
	key := make([]byte, len(plain))
	if _, err := crand.Read(plain); err != nil {
		t.Fatal(err)
	}
	if _, err := crand.Read(key); err != nil {
		t.Fatal(err)
	}
	plain[0] = '+'
	for i := 1; i < len(plain); i++ {
		plain[i] = '1' + plain[i]%9
	}
	m := masked{text: make([]byte, len(plain)), key: key}
	for i := range plain {
		m.text[i] = plain[i] ^ key[i]
	}
	clear(plain)
	return m
}

// TestScanFindsACopy checks the scanner itself: a copy of a number made on
// purpose is found, and no longer once wiped.
func TestScanFindsACopy(t *testing.T) {
	if err := probeOwnMemory(); err != nil {
		t.Skipf("this process cannot read its own memory through /proc/self/mem (%v)", err)
	}
	// Made up here, not a literal: the binary's data must not hold it.
	plain := make([]byte, 1+numberDigits)
	key := make([]byte, len(plain))
	if _, err := crand.Read(plain); err != nil {
		t.Fatal(err)
	}
	if _, err := crand.Read(key); err != nil {
		t.Fatal(err)
	}
	plain[0] = '+'
	for i := 1; i < len(plain); i++ {
		plain[i] = '1' + plain[i]%9
	}
	m := masked{text: make([]byte, len(plain)), key: key}
	for i := range plain {
		m.text[i] = plain[i] ^ key[i]
	}
	copies := [][]byte{bytes.Clone(plain), append([]byte("tel:"), plain[1:]...)}
	clear(plain)
	res, err := scanSelf(m)
	if err != nil {
		t.Fatal(err)
	}
	if res.full != 1 || res.digits != 2 {
		t.Fatalf("planted one number and one digits-only copy: %v", res)
	}
	for _, c := range copies {
		clear(c)
	}
	if res, err = scanSelf(m); err != nil || res.digits != 0 {
		t.Fatalf("after wiping the copies: %v, %v", res, err)
	}
	runtime.KeepAlive(copies)
}

// probeOwnMemory reads one byte of this process's heap through
// /proc/self/mem.
func probeOwnMemory() error {
	f, err := os.Open("/proc/self/mem")
	if err != nil {
		return err
	}
	defer f.Close()
	v := new(uint64)
	*v = 0x5a
	var b [1]byte
	if _, err := f.ReadAt(b[:], int64(uintptr(unsafe.Pointer(v)))); err != nil {
		return err
	}
	if b[0] != 0x5a {
		return errors.New("read back a different byte")
	}
	return nil
}

func newKey(t *testing.T) string {
	t.Helper()
	sk, err := e2eetest.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sk.Public().String()
}

func waitTest(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := waitUntil(cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
