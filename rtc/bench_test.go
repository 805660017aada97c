package rtc

// BenchmarkBridgedCalls measures the relay under N concurrent calls.
//
// The relay runs in the benchmark process and nothing else does: the load
// (one fake Asterisk RTP endpoint and one Pion "browser" PeerConnection per
// call, both sending 50 packets of 160 bytes per second) runs in a child
// process, the test binary started again in load-generator mode. So
// getrusage of this process is the relay's CPU alone, which is what a real
// box spends; the child's CPU is reported beside it. The same child then
// drives a plain UDP forwarder (one socket and goroutine per call,
// ReadFrom/WriteTo) as the baseline.
//
// Each packet carries its send time and the child, which also receives,
// computes one-way latency through the relay and loss, for packets sent in
// the measured window, twice:
//   - to when its reader got the packet ("p99-ms-down", "p99-ms-up"): an
//     upper bound on what the relay adds, since it also holds the loopback
//     kernel path and the load generator's own wake-up and, towards the
//     browser, its Pion receive path;
//   - to when the kernel queued the packet on the child's socket
//     (SO_TIMESTAMPNS; "relay-p99-ms-down", "relay-p99-ms-up"): the relay's
//     own latency, from the child's send call to the relay's, without the
//     time the load generator takes to get round to reading.
// All of it shares the machine's two cores with the load generator.
//
// Flags (after -args): -rtc.calls, -rtc.window, -rtc.mux,
// -rtc.baseline, -rtc.interceptors.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"llamenos/rtc/rtctest"
)

var (
	benchWindow = flag.Duration("rtc.window", 5*time.Second, "BenchmarkBridgedCalls: measured traffic per run")
	benchCalls  = flag.String("rtc.calls", "50,100,200,400", "BenchmarkBridgedCalls: call counts to run")
	benchMux    = flag.Bool("rtc.mux", true, "BenchmarkBridgedCalls: serve all calls on one UDP port (ICE mux)")
	benchBase   = flag.Bool("rtc.baseline", true, "BenchmarkBridgedCalls: also run the plain UDP forwarder (off when profiling the relay)")
	benchIcpt   = flag.String("rtc.interceptors", "", "BenchmarkBridgedCalls: interceptor set, default or reports (empty: the engine's default)")
	benchBeside = flag.String("rtc.beside", "", "BenchmarkBridgedCallsBeside: the command to run beside the relay (split at spaces)")
	benchRuns   = flag.Int("rtc.runs", 3, "BenchmarkBridgedCallsBeside: runs")
	benchSlice  = flag.Duration("rtc.slice", 2*time.Second, "BenchmarkBridgedCallsBeside: how long the command is stopped, then continued, in turn")
	benchSettle = flag.Duration("rtc.settle", 5*time.Second, "BenchmarkBridgedCallsBeside: how long the command runs before a measurement starts")
)

const (
	loadEnv    = "LLAMENOS_RTC_BENCH_LOAD"
	benchPPS   = 50
	benchBytes = 160
	warmup     = time.Second
	drain      = 500 * time.Millisecond
)

// TestMain turns the test binary into the load generator when the
// benchmark starts it as its child.
func TestMain(m *testing.M) {
	if os.Getenv(loadEnv) != "" {
		if err := runLoad(); err != nil {
			fmt.Fprintln(os.Stderr, "rtc load generator:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// --- protocol between benchmark and load generator (JSON lines on fds 3/4)

type loadMsg struct {
	Type string `json:"type"` // setup, calls, peers, start, stop, result

	Mode     string        `json:"mode,omitempty"` // relay, baseline
	N        int           `json:"n,omitempty"`
	Window   time.Duration `json:"window,omitempty"`
	Beside   int           `json:"beside,omitempty"` // process group to stop and continue, slice by slice
	Slice    time.Duration `json:"slice,omitempty"`
	Calls    []loadCallMsg `json:"calls,omitempty"`
	Result   *loadResult   `json:"result,omitempty"`
	ErrorMsg string        `json:"error,omitempty"`
}

type loadCallMsg struct {
	Asterisk string `json:"asterisk,omitempty"` // child's fake Asterisk socket
	Browser  string `json:"browser,omitempty"`  // child's plain browser socket (baseline)
	Offer    string `json:"offer,omitempty"`
	Relay    string `json:"relay,omitempty"` // parent's socket for this call
	Answer   string `json:"answer,omitempty"`
}

type loadResult struct {
	sideResult             // the packets sent while nothing ran beside
	Beside     *sideResult `json:"beside,omitempty"` // those sent while the Beside group ran
	CPU, Wall  time.Duration
}

type sideResult struct {
	SentDown, RecvDown, SentUp, RecvUp int64
	Down, Up                           latencySummary // to the reader
	KernelDown, KernelUp               latencySummary // to the kernel's receive time
}

type latencySummary struct {
	P50, P99, Max time.Duration
	Count         int64
}

// --- the benchmark (parent)

func BenchmarkBridgedCalls(b *testing.B) {
	for _, n := range benchCounts(b) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			load, _ := os.ReadFile("/proc/loadavg")
			relay := runPhase(b, "relay", n, 0)
			if !*benchBase {
				b.Logf("relay cpu %.2f%%/call, load generator %.0f%%, other processes %.0f%% of one core; down loss %.3f%% p50 %.2fms p99 %.2fms (kernel-stamped p50 %.2fms p99 %.2fms); up loss %.3f%% p50 %.2fms p99 %.2fms (kernel-stamped p50 %.2fms p99 %.2fms); %d GCs",
					100*relay.cpu.Seconds()/relay.wall.Seconds()/float64(n), 100*relay.res.CPU.Seconds()/relay.res.Wall.Seconds(), 100*relay.others.Seconds()/relay.wall.Seconds(),
					relay.res.lossDown(), ms(relay.res.Down.P50), ms(relay.res.Down.P99), ms(relay.res.KernelDown.P50), ms(relay.res.KernelDown.P99),
					relay.res.lossUp(), ms(relay.res.Up.P50), ms(relay.res.Up.P99), ms(relay.res.KernelUp.P50), ms(relay.res.KernelUp.P99), relay.gcs)
				return
			}
			base := runPhase(b, "baseline", n, 0)

			perCall := func(p phaseResult) float64 {
				return 100 * p.cpu.Seconds() / p.wall.Seconds() / float64(n)
			}
			b.ReportMetric(perCall(relay), "cpu%/call")
			b.ReportMetric(perCall(base), "base-cpu%/call")
			b.ReportMetric(relay.cpu.Seconds()/base.cpu.Seconds(), "cpu-ratio")
			b.ReportMetric(relay.res.lossDown(), "loss%-down")
			b.ReportMetric(relay.res.lossUp(), "loss%-up")
			b.ReportMetric(ms(relay.res.Down.P50), "p50-ms-down")
			b.ReportMetric(ms(relay.res.Down.P99), "p99-ms-down")
			b.ReportMetric(ms(relay.res.Up.P50), "p50-ms-up")
			b.ReportMetric(ms(relay.res.Up.P99), "p99-ms-up")
			b.ReportMetric(ms(relay.res.KernelDown.P99), "relay-p99-ms-down")
			b.ReportMetric(ms(relay.res.KernelUp.P99), "relay-p99-ms-up")
			b.ReportMetric(ms(max(base.res.Down.P99, base.res.Up.P99)), "base-p99-ms")
			b.ReportMetric(relay.allocsPerPacket, "allocs/pkt")
			b.ReportMetric(100*relay.others.Seconds()/relay.wall.Seconds(), "other-cpu%")
			b.ReportMetric(0, "ns/op")
			icpt := *benchIcpt
			if icpt == "" {
				icpt = "reports"
			}
			b.Logf("N=%d mux=%v interceptors=%s window=%v GOMAXPROCS=%d loadavg before: %s", n, *benchMux, icpt, *benchWindow, runtime.GOMAXPROCS(0), strings.TrimSpace(string(load)))
			for _, p := range []phaseResult{relay, base} {
				b.Logf("  %-8s cpu %.2f%%/call (%.0f%% of one core), load generator %.0f%%, other processes %.0f%%; down: loss %.3f%% p50 %.2fms p99 %.2fms max %.1fms, kernel-stamped p99 %.2fms; up: loss %.3f%% p50 %.2fms p99 %.2fms max %.1fms, kernel-stamped p99 %.2fms; %d goroutines; %d GCs, %v paused",
					p.mode, perCall(p), 100*p.cpu.Seconds()/p.wall.Seconds(), 100*p.res.CPU.Seconds()/p.res.Wall.Seconds(), 100*p.others.Seconds()/p.wall.Seconds(),
					p.res.lossDown(), ms(p.res.Down.P50), ms(p.res.Down.P99), ms(p.res.Down.Max), ms(p.res.KernelDown.P99),
					p.res.lossUp(), ms(p.res.Up.P50), ms(p.res.Up.P99), ms(p.res.Up.Max), ms(p.res.KernelUp.P99), p.goroutines, p.gcs, p.gcPause)
			}
			if relay.dropped != 0 {
				b.Logf("  relay counters: %d packets refused or undeliverable", relay.dropped)
			}
		})
	}
}

// BenchmarkBridgedCallsBeside measures what another program costs the
// relay, at the first -rtc.calls count. The command (-rtc.beside) starts
// -rtc.settle before the measurement; during it, the load generator stops
// and continues the command's process group (SIGSTOP, SIGCONT) every
// -rtc.slice and counts each packet with the slice it was sent in. So the
// relay alone and the relay beside the command are measured in the same
// run, slice by slice, under the same conditions of the machine: on a
// shared or virtual machine two runs of the same thing can differ by more
// than the effect. -rtc.runs such runs; the figures are medians over them
// of how much the p99 latency grew beside the command:
// "relay-p99-growth-ms" from the kernel's receive times (the relay's own
// latency), "p99-growth-ms" to the load generator's reads. "loss%" is the
// worst loss beside the command.
func BenchmarkBridgedCallsBeside(b *testing.B) {
	if *benchBeside == "" {
		b.Skip("give -rtc.beside COMMAND")
	}
	argv := strings.Fields(*benchBeside)
	if *benchRuns <= 0 || *benchSlice < 10*guardAfterToggle {
		b.Fatalf("bad -rtc.runs %d or -rtc.slice %v (at least %v)", *benchRuns, *benchSlice, 10*guardAfterToggle)
	}
	n := benchCounts(b)[0]
	p99 := func(x, y latencySummary) float64 { return ms(max(x.P99, y.P99)) }
	var growth, growthK []float64
	var worst float64
	for i := range *benchRuns {
		p := runBeside(b, argv, n)
		alone, beside := &p.res.sideResult, p.res.Beside
		growth = append(growth, p99(beside.Down, beside.Up)-p99(alone.Down, alone.Up))
		growthK = append(growthK, p99(beside.KernelDown, beside.KernelUp)-p99(alone.KernelDown, alone.KernelUp))
		worst = max(worst, beside.loss())
		b.Logf("run %d: p99 %.2f → %.2f ms, kernel-stamped %.2f → %.2f ms (p50 %.2f → %.2f); loss %.3f%% → %.3f%%; %d and %d packets; the command and other processes used %.0f%% of a core",
			i+1, p99(alone.Down, alone.Up), p99(beside.Down, beside.Up),
			p99(alone.KernelDown, alone.KernelUp), p99(beside.KernelDown, beside.KernelUp),
			ms(max(alone.KernelDown.P50, alone.KernelUp.P50)), ms(max(beside.KernelDown.P50, beside.KernelUp.P50)),
			alone.loss(), beside.loss(), alone.SentDown+alone.SentUp, beside.SentDown+beside.SentUp, 100*p.others.Seconds()/p.wall.Seconds())
	}
	median := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
	}
	b.ReportMetric(median(growthK), "relay-p99-growth-ms")
	b.ReportMetric(median(growth), "p99-growth-ms")
	b.ReportMetric(worst, "loss%")
	b.ReportMetric(0, "ns/op")
	b.Logf("N=%d, %d runs of %v in slices of %v: p99 growth beside the command, kernel-stamped %.2f ms (%.2f to %.2f), to the reads %.2f ms (%.2f to %.2f); worst loss beside %.3f%%",
		n, len(growth), *benchWindow, *benchSlice, median(growthK), slices.Min(growthK), slices.Max(growthK), median(growth), slices.Min(growth), slices.Max(growth), worst)
}

// runBeside runs one relay phase beside argv, which runs in its own
// process group and is killed after it.
func runBeside(b *testing.B, argv []string, n int) phaseResult {
	b.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatalf("-rtc.beside: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}()
	ended := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	time.Sleep(*benchSettle)
	if ended() {
		b.Fatalf("-rtc.beside ended before the measurement: %s", out.String())
	}
	p := runPhase(b, "relay", n, cmd.Process.Pid)
	if ended() {
		b.Fatalf("-rtc.beside ended during the measurement (make it run longer): %s", out.String())
	}
	if p.res.Beside == nil {
		b.Fatal("the load generator measured nothing beside the command")
	}
	return p
}

// benchCounts is -rtc.calls: the call counts to run.
func benchCounts(b *testing.B) []int {
	var counts []int
	for _, s := range strings.Split(*benchCalls, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n <= 0 {
			b.Fatalf("bad -rtc.calls entry %q", s)
		}
		counts = append(counts, n)
	}
	return counts
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type phaseResult struct {
	mode            string
	cpu, wall       time.Duration
	res             loadResult
	allocsPerPacket float64
	goroutines      int
	dropped         uint64
	others          time.Duration // CPU other processes used meanwhile
	gcs             uint32
	gcPause         time.Duration
}

func (s sideResult) lossDown() float64 { return lossPct(s.SentDown, s.RecvDown) }
func (s sideResult) lossUp() float64   { return lossPct(s.SentUp, s.RecvUp) }
func (s sideResult) loss() float64     { return max(s.lossDown(), s.lossUp()) }

func lossPct(sent, recv int64) float64 {
	if sent == 0 {
		return 100
	}
	return 100 * float64(sent-recv) / float64(sent)
}

// machineBusy is the CPU time all processes have used so far (from
// /proc/stat), to tell how much of a run's machine other work took.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err == nil && i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runPhase starts a load generator, bridges its n calls through the relay
// (or the baseline forwarder) and measures; beside, when not 0, is the
// process group the load generator stops and continues slice by slice.
func runPhase(b *testing.B, mode string, n, beside int) phaseResult {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	toChildR, toChildW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	fromChildR, fromChildW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), loadEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{toChildR, fromChildW}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	toChildR.Close()
	fromChildW.Close()
	enc := json.NewEncoder(toChildW)
	dec := json.NewDecoder(fromChildR)
	defer func() {
		toChildW.Close()
		fromChildR.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("load generator: %v", err)
		}
	}()
	recv := func(want string) loadMsg {
		var m loadMsg
		if err := dec.Decode(&m); err != nil {
			b.Fatalf("load generator: waiting for %s: %v", want, err)
		}
		if m.Type != want {
			b.Fatalf("load generator: got %q (%s), want %q", m.Type, m.ErrorMsg, want)
		}
		return m
	}
	send := func(m loadMsg) {
		if err := enc.Encode(m); err != nil {
			b.Fatalf("load generator: send %s: %v", m.Type, err)
		}
	}

	send(loadMsg{Type: "setup", Mode: mode, N: n, Window: *benchWindow, Beside: beside, Slice: *benchSlice})
	calls := recv("calls").Calls
	if len(calls) != n {
		b.Fatalf("load generator offered %d calls, want %d", len(calls), n)
	}

	var (
		relays   []*Relay
		engine   *Engine
		forwards []*net.UDPConn
		fwdWG    sync.WaitGroup
	)
	switch mode {
	case "relay":
		cfg := Config{IncludeLoopback: true, IPs: []string{"127.0.0.1"}, Logger: quietLog}
		switch *benchIcpt {
		case "default":
			cfg.interceptors = interceptorsDefault
		case "reports":
			cfg.interceptors = interceptorsReports
		}
		if *benchMux {
			cfg.UDPPort = freeUDPPort(b)
		}
		engine, err = NewEngine(cfg)
		if err != nil {
			b.Fatal(err)
		}
		relays = make([]*Relay, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		sem := make(chan struct{}, 8)
		for i := range calls {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				r, err := engine.NewRelay(fmt.Sprint("bench", i))
				if err != nil {
					errs <- err
					return
				}
				relays[i] = r
				if err := r.SetRemote(netip.MustParseAddrPort(calls[i].Asterisk)); err != nil {
					errs <- err
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				ans, err := r.HandleOffer(ctx, calls[i].Offer)
				if err != nil {
					errs <- err
					return
				}
				calls[i] = loadCallMsg{Relay: r.LocalAddr().String(), Answer: ans}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		defer engine.Close()
	case "baseline":
		for i := range calls {
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			forwards = append(forwards, conn)
			ast := netip.MustParseAddrPort(calls[i].Asterisk)
			bro := netip.MustParseAddrPort(calls[i].Browser)
			fwdWG.Add(1)
			go func() {
				defer fwdWG.Done()
				forward(conn, ast, bro)
			}()
			calls[i] = loadCallMsg{Relay: conn.LocalAddr().String()}
		}
		defer func() {
			for _, c := range forwards {
				c.Close()
			}
			fwdWG.Wait()
		}()
	}
	send(loadMsg{Type: "peers", Calls: calls})

	recv("start")
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, wall0, busy0 := cpuTime(), time.Now(), machineBusy()
	recv("stop")
	cpu1, wall1, busy1 := cpuTime(), time.Now(), machineBusy()
	runtime.ReadMemStats(&ms1)
	goroutines := runtime.NumGoroutine()
	res := recv("result").Result

	p := phaseResult{
		mode:       mode,
		cpu:        cpu1 - cpu0,
		wall:       wall1.Sub(wall0),
		res:        *res,
		goroutines: goroutines,
	}
	p.others = max(busy1-busy0-p.cpu-res.CPU, 0) // /proc/stat ticks are coarse
	for _, r := range []*sideResult{&res.sideResult, res.Beside} {
		if r != nil && (r.KernelDown.Count != r.RecvDown || r.KernelUp.Count != r.RecvUp) {
			b.Errorf("%s: the kernel stamped %d of %d packets down and %d of %d up", mode, r.KernelDown.Count, r.RecvDown, r.KernelUp.Count, r.RecvUp)
		}
	}
	p.gcs = ms1.NumGC - ms0.NumGC
	p.gcPause = time.Duration(ms1.PauseTotalNs - ms0.PauseTotalNs)
	if pkts := res.SentDown + res.SentUp; pkts > 0 {
		p.allocsPerPacket = float64(ms1.Mallocs-ms0.Mallocs) / float64(pkts)
	}
	for _, r := range relays {
		s := r.Stats()
		p.dropped += s.Malformed + s.WrongType + s.WrongSource + s.PacerDropped + s.PacerSkipped + s.NoRemote + s.WriteErrors + s.ReadErrors
		r.Close()
	}
	return p
}

// forward is the baseline: the least a userspace relay can do per packet.
func forward(conn *net.UDPConn, ast, bro netip.AddrPort) {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		to := ast
		if from == ast {
			to = bro
		}
		_, _ = conn.WriteToUDPAddrPort(buf[:n], to)
	}
}

func freeUDPPort(b *testing.B) int {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	return u.LocalAddr().(*net.UDPAddr).Port
}

// --- the load generator (child)

// histogram records latencies in 10 µs buckets up to 1 s, lock-free.
type histogram struct {
	buckets [100000]atomic.Uint32
	over    atomic.Uint32
	max     atomic.Int64
}

const bucketWidth = 10 * time.Microsecond

func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
	i := int(d / bucketWidth)
	if i >= len(h.buckets) {
		h.over.Add(1)
		return
	}
	h.buckets[i].Add(1)
}

func (h *histogram) summary() latencySummary {
	var total uint64
	for i := range h.buckets {
		total += uint64(h.buckets[i].Load())
	}
	total += uint64(h.over.Load())
	s := latencySummary{Max: time.Duration(h.max.Load()), Count: int64(total)}
	if total == 0 {
		return s
	}
	pct := func(p float64) time.Duration {
		target := uint64(p * float64(total))
		var cum uint64
		for i := range h.buckets {
			cum += uint64(h.buckets[i].Load())
			if cum > target {
				return time.Duration(i)*bucketWidth + bucketWidth/2
			}
		}
		return time.Second
	}
	s.P50, s.P99 = pct(0.50), pct(0.99)
	return s
}

type loadGen struct {
	epoch time.Time
	// slice is what a packet sent now counts for: notCounted, sliceAlone
	// or sliceBeside.
	slice atomic.Uint32
	side  [2]struct{ down, up direction } // alone, beside
}

// A packet's slice (byte 8 of its payload).
const (
	notCounted = iota
	sliceAlone
	sliceBeside
)

// guardAfterToggle: packets sent this soon after the command beside is
// stopped or continued count for neither slice.
const guardAfterToggle = 20 * time.Millisecond

// direction is one way through the relay, for one slice.
type direction struct {
	sent, recv atomic.Int64
	read       histogram // latency to the reader
	kernel     histogram // latency to the kernel's receive time
}

func (d *direction) summary() (sent, recv int64, read, kernel latencySummary) {
	return d.sent.Load(), d.recv.Load(), d.read.summary(), d.kernel.summary()
}

func (g *loadGen) result(side int) *sideResult {
	var r sideResult
	r.SentDown, r.RecvDown, r.Down, r.KernelDown = g.side[side].down.summary()
	r.SentUp, r.RecvUp, r.Up, r.KernelUp = g.side[side].up.summary()
	return &r
}

// stamp writes the payload: send time (monotonic since the epoch, then
// the wall clock in nanoseconds, which is the clock of the kernel's
// receive times), the slice, call index. It counts the packet as sent in
// its slice's direction (down or up).
func (g *loadGen) stamp(p []byte, call int, down bool) {
	binary.BigEndian.PutUint64(p[0:8], uint64(time.Since(g.epoch)))
	binary.BigEndian.PutUint64(p[13:21], uint64(time.Now().UnixNano()))
	sl := g.slice.Load()
	p[8] = byte(sl)
	binary.BigEndian.PutUint32(p[9:13], uint32(call))
	if sl != notCounted {
		g.dir(sl, down).sent.Add(1)
	}
}

func (g *loadGen) dir(slice uint32, down bool) *direction {
	if down {
		return &g.side[slice-1].down
	}
	return &g.side[slice-1].up
}

// arrived records a payload that came out of the relay, and kernelAt, the
// wall-clock time the kernel queued it on the receiving socket (0 when
// the socket did not say).
func (g *loadGen) arrived(p []byte, down bool, kernelAt int64) {
	if len(p) < 21 || p[8] != sliceAlone && p[8] != sliceBeside {
		return
	}
	d := g.dir(uint32(p[8]), down)
	sentAt := time.Duration(binary.BigEndian.Uint64(p[0:8]))
	d.read.record(time.Since(g.epoch) - sentAt)
	if kernelAt != 0 {
		d.kernel.record(time.Duration(kernelAt - int64(binary.BigEndian.Uint64(p[13:21]))))
	}
	d.recv.Add(1)
}

// measure counts the packets sent for window: all alone, or, with a
// process group beside, in slices alone (the group stopped) and beside
// it (continued), in turn. The group is left running.
func (g *loadGen) measure(window time.Duration, beside int, slice time.Duration) error {
	if beside == 0 {
		g.slice.Store(sliceAlone)
		time.Sleep(window)
		g.slice.Store(notCounted)
		return nil
	}
	defer func() { _ = syscall.Kill(-beside, syscall.SIGCONT) }()
	end := time.Now().Add(window)
	for i := 0; time.Now().Before(end); i++ {
		sl, sig := uint32(sliceAlone), syscall.SIGSTOP
		if i%2 == 1 {
			sl, sig = sliceBeside, syscall.SIGCONT
		}
		g.slice.Store(notCounted)
		if err := syscall.Kill(-beside, sig); err != nil {
			return fmt.Errorf("signal the command beside: %w", err)
		}
		time.Sleep(guardAfterToggle)
		g.slice.Store(sl)
		time.Sleep(min(slice-guardAfterToggle, time.Until(end)))
	}
	g.slice.Store(notCounted)
	return nil
}

// enableRxStamps has the kernel note each datagram's receive time,
// which readStamped returns.
func enableRxStamps(c *net.UDPConn) error {
	if !enableRxTimestamps(c) {
		return errors.New("the kernel does not stamp datagrams on arrival here (SO_TIMESTAMPNS)")
	}
	return nil
}

// rxOOB is the control buffer readStamped needs.
const rxOOB = 128

// readStamped reads one datagram and the kernel's receive time of it,
// in wall-clock nanoseconds (0 when the control message is missing).
func readStamped(c *net.UDPConn, buf, oob []byte) (int, netip.AddrPort, int64, error) {
	n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		return n, from, 0, err
	}
	if at, ok := rxTimestamp(oob[:oobn]); ok {
		return n, from, at.UnixNano(), nil
	}
	return n, from, 0, nil
}

// stampedConn is a browser's socket that keeps the kernel's receive time
// of each RTP packet it reads, by SSRC and sequence number (both in the
// clear in SRTP), until the browser hands the decrypted packet over.
type stampedConn struct {
	*net.UDPConn
	oob []byte // the ICE mux has one reader

	mu sync.Mutex
	at map[uint64]int64
}

func newStampedConn() (*stampedConn, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if err := enableRxStamps(c); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadBuffer(1 << 20)
	return &stampedConn{UDPConn: c, oob: make([]byte, rxOOB), at: make(map[uint64]int64)}, nil
}

func rtpKey(ssrc uint32, seq uint16) uint64 { return uint64(ssrc)<<16 | uint64(seq) }

// ReadFrom is what the ICE mux reads with (it goes round a wrapper's
// other read methods only for a bare *net.UDPConn).
func (c *stampedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, at, err := readStamped(c.UDPConn, b, c.oob)
	if err == nil && at != 0 {
		// The relay's own parser: audio only, so no RTCP, STUN or DTLS.
		if h, perr := parseRTP(b[:n], payloadTypePCMU); perr == nil {
			c.mu.Lock()
			if len(c.at) >= 4096 { // packets that never came out of SRTP
				clear(c.at)
			}
			c.at[rtpKey(h.ssrc, h.seq)] = at
			c.mu.Unlock()
		}
	}
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// receivedAt returns and forgets the receive time of a packet.
func (c *stampedConn) receivedAt(p *rtp.Packet) int64 {
	k := rtpKey(p.SSRC, p.SequenceNumber)
	c.mu.Lock()
	defer c.mu.Unlock()
	at := c.at[k]
	delete(c.at, k)
	return at
}

type loadCall struct {
	idx  int
	ast  *net.UDPConn
	bro  *net.UDPConn     // baseline
	peer *rtctest.Browser // relay
	to   netip.AddrPort   // the relay's or forwarder's socket
}

func runLoad() error {
	in := json.NewDecoder(os.NewFile(3, "from-bench"))
	outFile := os.NewFile(4, "to-bench")
	out := json.NewEncoder(outFile)
	var setup loadMsg
	if err := in.Decode(&setup); err != nil {
		return fmt.Errorf("read setup: %w", err)
	}
	g := &loadGen{epoch: time.Now()}

	calls := make([]*loadCall, setup.N)
	msg := loadMsg{Type: "calls", Calls: make([]loadCallMsg, setup.N)}
	var wg sync.WaitGroup
	errs := make(chan error, setup.N)
	sem := make(chan struct{}, 8)
	for i := range calls {
		c := &loadCall{idx: i}
		calls[i] = c
		var err error
		if c.ast, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			return err
		}
		_ = c.ast.SetReadBuffer(1 << 20)
		if err := enableRxStamps(c.ast); err != nil {
			return err
		}
		msg.Calls[i].Asterisk = c.ast.LocalAddr().String()
		if setup.Mode == "baseline" {
			if c.bro, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
				return err
			}
			if err := enableRxStamps(c.bro); err != nil {
				return err
			}
			msg.Calls[i].Browser = c.bro.LocalAddr().String()
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			offer, err := c.startPeer(g)
			if err != nil {
				errs <- err
				return
			}
			msg.Calls[i].Offer = offer
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	if err := out.Encode(msg); err != nil {
		return err
	}

	var peers loadMsg
	if err := in.Decode(&peers); err != nil {
		return fmt.Errorf("read peers: %w", err)
	}
	for i, c := range calls {
		c.to = netip.MustParseAddrPort(peers.Calls[i].Relay)
		if c.peer != nil {
			if err := c.peer.SetAnswer(peers.Calls[i].Answer); err != nil {
				return fmt.Errorf("call %d: %w", i, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, c := range calls {
		if c.peer == nil {
			continue
		}
		if err := c.peer.WaitConnected(ctx); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
	}

	// Traffic: every call sends one packet each way every 20 ms. Calls
	// start at random phases, as real calls do.
	stop := make(chan struct{})
	var traffic sync.WaitGroup
	for _, c := range calls {
		traffic.Add(2)
		go func() {
			defer traffic.Done()
			c.readAsterisk(g)
		}()
		go func() {
			defer traffic.Done()
			c.send(g, stop)
		}()
		if c.bro != nil {
			traffic.Add(1)
			go func() {
				defer traffic.Done()
				c.readBrowserSocket(g)
			}()
		}
	}
	time.Sleep(warmup)
	cpu0, wall0 := cpuTime(), time.Now()
	if err := out.Encode(loadMsg{Type: "start"}); err != nil {
		return err
	}
	if err := g.measure(setup.Window, setup.Beside, setup.Slice); err != nil {
		return err
	}
	if err := out.Encode(loadMsg{Type: "stop"}); err != nil {
		return err
	}
	cpu1, wall1 := cpuTime(), time.Now()
	time.Sleep(drain)

	res := &loadResult{
		sideResult: *g.result(0),
		CPU:        cpu1 - cpu0, Wall: wall1.Sub(wall0),
	}
	if setup.Beside != 0 {
		res.Beside = g.result(1)
	}
	if err := out.Encode(loadMsg{Type: "result", Result: res}); err != nil {
		return err
	}
	close(stop)
	for _, c := range calls {
		c.ast.Close()
		if c.bro != nil {
			c.bro.Close()
		}
		if c.peer != nil {
			c.peer.Close()
		}
	}
	traffic.Wait()
	_, _ = io.Copy(io.Discard, os.NewFile(3, ""))
	return nil
}

// startPeer creates the browser side of one call and returns its offer.
// It sends and answers RTCP as Chrome does; what it receives goes
// straight to the latency histogram.
func (c *loadCall) startPeer(g *loadGen) (string, error) {
	conn, err := newStampedConn()
	if err != nil {
		return "", err
	}
	c.peer, err = rtctest.New(rtctest.Options{
		Interceptors: true,
		UDPConn:      conn,
		OnRTP:        func(p *rtp.Packet) { g.arrived(p.Payload, true, conn.receivedAt(p)) },
	})
	if err != nil {
		conn.Close()
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.peer.Offer(ctx)
}

func (c *loadCall) send(g *loadGen, stop <-chan struct{}) {
	// Random phase within one packet time.
	select {
	case <-time.After(time.Duration(rand.Int64N(int64(time.Second / benchPPS)))):
	case <-stop:
		return
	}
	tick := time.NewTicker(time.Second / benchPPS)
	defer tick.Stop()
	down := make([]byte, 12+benchBytes)
	up := make([]byte, 12+benchBytes)
	ssrc := rand.Uint32()
	var seq uint16
	var ts uint32
	for {
		select {
		case <-tick.C:
		case <-stop:
			return
		}
		putRTPHeader(down, false, seq, ts, ssrc)
		g.stamp(down[12:], c.idx, true)
		_, _ = c.ast.WriteToUDPAddrPort(down, c.to)

		g.stamp(up[12:], c.idx, false)
		if c.peer != nil {
			_ = c.peer.Send(up[12:]) // numbered as seq and ts, from 0
		} else {
			putRTPHeader(up, false, seq, ts, ssrc+1)
			_, _ = c.bro.WriteToUDPAddrPort(up, c.to)
		}
		seq++
		ts += benchBytes
	}
}

func (c *loadCall) readAsterisk(g *loadGen) {
	buf, oob := make([]byte, maxDatagram), make([]byte, rxOOB)
	for {
		n, _, at, err := readStamped(c.ast, buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n > rtpHeaderLen {
			g.arrived(buf[rtpHeaderLen:n], false, at)
		}
	}
}

func (c *loadCall) readBrowserSocket(g *loadGen) {
	buf, oob := make([]byte, maxDatagram), make([]byte, rxOOB)
	for {
		n, _, at, err := readStamped(c.bro, buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n > rtpHeaderLen {
			g.arrived(buf[rtpHeaderLen:n], true, at)
		}
	}
}
