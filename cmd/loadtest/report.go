package main

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

type check struct {
	ok  bool
	msg string
}

// report gathers every figure of the run.
type report struct {
	machine string

	idleRSS, idleVolsRSS    int64
	idleGoroutines, idleFDs int

	fanout    []time.Duration
	fanoutCPU cpuShare

	answer           []time.Duration
	rampTook         time.Duration
	rampCPU          cpuShare
	steadyCPU        cpuShare
	bridged          int
	activeRSS        int64
	activeGoroutines int
	activeFDs        int
	activeThreads    int
	capacity         lossCounts
	base             *baselineResult

	soakTook        time.Duration
	soakCPU         cpuShare
	soakLoss        lossCounts
	soakChecks      []check
	soakActive      string
	afterGoroutines int
	afterFDs        int

	errors, daemonErrors, daemonWarns int64
	relays                            string // the daemon's relay counters, summed
	afterDump                         string // the daemon's goroutines when they did not return to idle
	errorSamples                      []string
}

func numCPU() int { return runtime.NumCPU() }

func (r *report) ok() bool {
	if r.errors != 0 || r.daemonErrors != 0 || r.capacity.lost() != 0 || r.soakLoss.lost() != 0 {
		return false
	}
	for _, c := range r.soakChecks {
		if !c.ok {
			return false
		}
	}
	if r.soakTook > 0 && (r.afterGoroutines > r.idleGoroutines+5 || r.afterFDs > r.idleFDs+5) {
		return false
	}
	return true
}

func (r *report) print(w io.Writer, o options) {
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "\n== llamenos load test: %d volunteers, %s\n", o.volunteers, r.machine)
	fmt.Fprintf(w, "idle RSS: %.1f MB fresh; %.1f MB with %d volunteers connected (%d goroutines, %d fds)\n",
		mb(r.idleRSS), mb(r.idleVolsRSS), o.volunteers, r.idleGoroutines, r.idleFDs)
	if len(r.fanout) > 0 {
		fmt.Fprintf(w, "ring fan-out, StasisStart → ring frame at each of %d volunteers, %d calls (%d frames): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			o.volunteers, o.fanout, len(r.fanout), ms(percentile(r.fanout, 50)), ms(percentile(r.fanout, 99)), ms(percentile(r.fanout, 100)))
		fmt.Fprintf(w, "  meanwhile: %s\n", r.fanoutCPU)
	}
	if o.calls > 0 {
		fmt.Fprintf(w, "answer → first caller packet at the browser, %d calls: p50 %.1f ms, p99 %.1f ms, max %.1f ms (ramp to %d calls took %v)\n",
			len(r.answer), ms(percentile(r.answer, 50)), ms(percentile(r.answer, 99)), ms(percentile(r.answer, 100)), o.calls, r.rampTook.Round(time.Second))
		fmt.Fprintf(w, "  during the ramp: %s\n", r.rampCPU)
		fmt.Fprintf(w, "bridged calls: %d of %d held for %v; %s\n", r.bridged, o.calls, o.window, r.capacity)
		fmt.Fprintf(w, "  steady state: %s\n", r.steadyCPU)
		perCall := r.steadyCPU.Daemon / float64(max(1, r.bridged))
		fmt.Fprintf(w, "  daemon CPU per call %.3f%% of one core; RSS %.1f MB, %.0f KB per call over idle; %d goroutines, %d fds, %d threads\n",
			perCall, mb(r.activeRSS), float64(r.activeRSS-r.idleVolsRSS)/1024/float64(max(1, r.bridged)), r.activeGoroutines, r.activeFDs, r.activeThreads)
		if r.base != nil {
			bPerCall := 100 * r.base.cpu.Seconds() / r.base.wall.Seconds() / float64(o.calls)
			fmt.Fprintf(w, "  plain UDP forwarder, %d calls: %.3f%% of one core per call (%d of %d packets arrived); meanwhile %s\n",
				o.calls, bPerCall, r.base.recv, r.base.sent, r.base.others)
			if bPerCall > 0 {
				fmt.Fprintf(w, "  daemon / forwarder CPU: %.2f×\n", perCall/bPerCall)
			}
		}
	}
	if r.soakTook > 0 {
		fmt.Fprintf(w, "soak: %v at %d calls held %v–%v each; %s\n", r.soakTook.Round(time.Second), o.soakCalls, o.holdMin, o.holdMax, r.soakLoss)
		fmt.Fprintf(w, "  meanwhile: %s\n", r.soakCPU)
		for _, c := range r.soakChecks {
			fmt.Fprintf(w, "  %s\n", c.msg)
		}
		fmt.Fprintf(w, "  (%s)\n", r.soakActive)
		fmt.Fprintf(w, "  after the last call: %d goroutines, %d fds (idle before: %d, %d)\n", r.afterGoroutines, r.afterFDs, r.idleGoroutines, r.idleFDs)
		if r.afterDump != "" {
			fmt.Fprintf(w, "  the daemon's goroutines then: %s\n", r.afterDump)
		}
	}
	if r.relays != "" {
		fmt.Fprintf(w, "%s\n", r.relays)
	}
	fmt.Fprintf(w, "errors: %d in the load tool, %d logged by the daemon at error level (%d warnings)\n", r.errors, r.daemonErrors, r.daemonWarns)
	for _, e := range r.errorSamples {
		fmt.Fprintf(w, "  %s\n", e)
	}
	if r.ok() {
		fmt.Fprintln(w, "result: PASS (no loss, no errors, flat)")
	} else {
		fmt.Fprintln(w, "result: FAIL")
	}
}
