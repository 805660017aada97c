package transcribe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// ServeWorker is the worker process's side (`llamenos transcribe-worker`):
// it reads one job from r, lowers its own CPU priority, bounds its address
// space, runs the engine that open loads and writes the result to w. It
// holds no key and writes no file. An error of the engine is sent as the
// result; an error returned means the protocol failed.
func ServeWorker(ctx context.Context, r io.Reader, w io.Writer, open OpenEngine) error {
	var j job
	if err := readJSON(r, &j); err != nil {
		return fmt.Errorf("transcribe worker: reading the job: %w", err)
	}
	mulaw, err := readFrame(r)
	if err != nil {
		return fmt.Errorf("transcribe worker: reading the audio: %w", err)
	}
	if err := confine(j.Nice, j.MemoryLimit); err != nil {
		return fmt.Errorf("transcribe worker: %w", err)
	}
	segs, err := runJob(ctx, j, mulaw, open)
	res := result{Segments: segs}
	if err != nil {
		res = result{Error: err.Error()}
	}
	return writeJSON(w, res)
}

func runJob(ctx context.Context, j job, mulaw []byte, open OpenEngine) ([]Segment, error) {
	e, err := open(j.Model, j.Threads)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.Run(ctx, EngineAudio(mulaw), j.Language)
}

// confine puts every thread of this process under SCHED_IDLE with the
// niceness nice (threads created later inherit both from their creator) and bounds the growth of
// its address space to limit bytes past what it has now, so that inference
// only takes CPU time nothing else wants and an allocation past the bound
// fails this process alone. The bound counts from the present size because
// the Go runtime (and the race detector's shadow memory in tests) reserves
// address space it does not use.
func confine(nice int, limit int64) error {
	if nice < 0 || nice > 19 {
		return fmt.Errorf("niceness %d out of 0..19", nice)
	}
	// On Linux the niceness belongs to each thread. A thread started while
	// the list is read is caught by the next pass; the Go runtime starts
	// only a few, so the passes end quickly.
	for pass := 0; pass < 8; pass++ {
		changed, err := niceThreads(nice)
		if err != nil {
			return err
		}
		if !changed {
			break
		}
	}
	if limit > 0 {
		size, err := addressSpace()
		if err != nil {
			return err
		}
		lim := syscall.Rlimit{Cur: uint64(size + limit), Max: uint64(size + limit)}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			return fmt.Errorf("bounding memory to %d bytes more: %w", limit, err)
		}
	}
	return nil
}

// addressSpace is the process's virtual memory size in bytes (VmSize).
func addressSpace() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading the process status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading VmSize %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmSize in /proc/self/status")
}

// schedIdle is Linux's SCHED_IDLE policy: the thread runs only when no
// other thread of the box wants the CPU, and yields it at once when one
// wakes (a relay goroutine with a packet), whatever its niceness.
const schedIdle = 5

// niceThreads puts every thread of the process under SCHED_IDLE at
// niceness nice and reports whether any needed it.
func niceThreads(nice int) (bool, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return false, fmt.Errorf("listing threads: %w", err)
	}
	changed := false
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// getpriority's raw system call returns 20 − nice.
		cur, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
		if errors.Is(err, syscall.ESRCH) {
			continue // the thread has ended
		}
		if err != nil {
			return false, fmt.Errorf("reading the priority of thread %d: %w", tid, err)
		}
		policy, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
		if errno == syscall.ESRCH {
			continue
		}
		if errno != 0 {
			return false, fmt.Errorf("reading the scheduling policy of thread %d: %w", tid, errno)
		}
		if 20-cur == nice && policy == schedIdle {
			continue
		}
		var param [1]int32 // struct sched_param: priority 0
		if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param))); errno != 0 && errno != syscall.ESRCH {
			return false, fmt.Errorf("putting thread %d under SCHED_IDLE: %w", tid, errno)
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, syscall.ESRCH) {
			return false, fmt.Errorf("lowering the priority of thread %d: %w", tid, err)
		}
		changed = true
	}
	return changed, nil
}
