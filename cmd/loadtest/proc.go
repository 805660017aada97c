package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times; 100 on
// every Linux this runs on.
const clockTicks = 100

// procSample is what /proc tells about one process at one moment.
type procSample struct {
	At      time.Time
	CPU     time.Duration // user + system since start
	RSS     int64         // bytes
	Threads int
	FDs     int
}

func sampleProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("proc: %w", err)
	}
	// The command name may hold spaces; fields count from after its ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return s, fmt.Errorf("proc: malformed stat of %d", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("proc: short stat of %d", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	s.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("proc: %w", err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		v = strings.TrimSpace(v)
		switch k {
		case "VmRSS":
			kb, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			s.RSS = kb << 10
		case "Threads":
			s.Threads, _ = strconv.Atoi(v)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("proc: %w", err)
	}
	s.FDs = len(fds)
	return s, nil
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the CPU time every process has used so far (/proc/stat),
// to tell what the rest of the machine took meanwhile.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// goroutineProfile hands the daemon's goroutine profile, grouped by
// stack, to read, within 10 s.
func goroutineProfile(ctx context.Context, debugAddr string, read func(io.Reader) error) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+debugAddr+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("goroutine profile: %w", err)
	}
	defer res.Body.Close()
	return read(res.Body)
}

// goroutines reads the daemon's goroutine count from its profile listener.
func goroutines(ctx context.Context, debugAddr string) (int, error) {
	var n int
	err := goroutineProfile(ctx, debugAddr, func(r io.Reader) error {
		line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
		if err != nil {
			return fmt.Errorf("goroutines: %w", err)
		}
		if _, err := fmt.Sscanf(line, "goroutine profile: total %d", &n); err != nil {
			return fmt.Errorf("goroutines: %q: %w", line, err)
		}
		return nil
	})
	return n, err
}

// saveGoroutines writes the daemon's goroutine profile to a new file in
// the temporary directory and returns its path.
func saveGoroutines(ctx context.Context, debugAddr string) (string, error) {
	f, err := os.CreateTemp("", "llamenos-loadtest-goroutines-*.txt")
	if err != nil {
		return "", err
	}
	err = goroutineProfile(ctx, debugAddr, func(r io.Reader) error {
		if _, err := io.Copy(f, r); err != nil {
			return fmt.Errorf("goroutine profile: %w", err)
		}
		return nil
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// cpuMeter measures, over an interval, the CPU of the daemon, of this
// process and of everything else on the machine.
type cpuMeter struct {
	pid            int
	at             time.Time
	daemon, self   time.Duration
	machine        time.Duration
	loadavgAtStart string
}

func startCPU(pid int) (*cpuMeter, error) {
	s, err := sampleProc(pid)
	if err != nil {
		return nil, err
	}
	return &cpuMeter{pid: pid, at: time.Now(), daemon: s.CPU, self: selfCPU(), machine: machineCPU(), loadavgAtStart: loadAvg()}, nil
}

// cpuShare is CPU used over wall time, in percent of one core.
type cpuShare struct {
	Wall                  time.Duration
	Daemon, Self, Others  float64
	LoadBefore, LoadAfter string
}

func (m *cpuMeter) stop() (cpuShare, error) {
	s, err := sampleProc(m.pid)
	if err != nil {
		return cpuShare{}, err
	}
	wall := time.Since(m.at)
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / wall.Seconds() }
	d, self := s.CPU-m.daemon, selfCPU()-m.self
	others := machineCPU() - m.machine - d - self
	return cpuShare{Wall: wall, Daemon: pct(d), Self: pct(self), Others: max(0, pct(others)), LoadBefore: m.loadavgAtStart, LoadAfter: loadAvg()}, nil
}

func (c cpuShare) String() string {
	return fmt.Sprintf("daemon %.0f%%, load tool %.0f%%, other processes %.0f%% of one core over %v; load average %s → %s",
		c.Daemon, c.Self, c.Others, c.Wall.Round(time.Second), c.LoadBefore, c.LoadAfter)
}
