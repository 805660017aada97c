// Command gosummary runs `go test -json` and tells what happened without
// hiding a failure: each package's result line as it finishes, then every
// failure with its output — data race reports and panics with their header
// and first stacks — and the totals. Tests that never finished (a timeout, a
// crash) count as failed; a package that failed with no failing test (a
// build or setup failure, a panic or data race outside any test, a TestMain
// that exits non-zero) counts as one failure and is named. The whole output
// of the run, as `go test -v` would print it, goes to the -log file.
//
// Usage:
//
//	gosummary -log FILE [-raw FILE] -- go test -json [flags] [packages]
//
// It exits 0 only when the command succeeded and nothing failed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Bounds of what the summary prints; the log keeps everything.
const (
	reportLines = 60 // lines kept of each data race report or panic
	plainHead   = 20 // other output of a failure: its first lines...
	plainTail   = 40 // ...and its last
	testsShown  = 20 // failing tests detailed per package
)

// event is one line of `go test -json` (cmd/test2json and the go command's
// build events).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

// testRun is one test or subtest of a package.
type testRun struct {
	name   string
	result string // "pass", "fail", "skip"; "" while it runs
	out    strings.Builder
}

// pkgRun is one package of the run.
type pkgRun struct {
	path        string
	result      string // "pass", "fail", "skip"; "" until go test reports it
	elapsed     float64
	line        string // go test's own result line ("ok  \tpkg\t1.2s")
	out         strings.Builder
	tests       map[string]*testRun
	order       []string // test names in the order they started
	failedBuild string
}

// summariser collects the events of one run.
type summariser struct {
	progress io.Writer // package result lines, as packages finish
	log      io.Writer // the run's text, as `go test -v` prints it
	raw      io.Writer // the JSON lines as received

	pkgs   map[string]*pkgRun
	order  []string
	builds map[string]*strings.Builder // build output by ImportPath
	other  strings.Builder             // lines that are not test2json events

	passed, failed, skipped int
}

func newSummariser(progress, log, raw io.Writer) *summariser {
	if log == nil {
		log = io.Discard
	}
	if raw == nil {
		raw = io.Discard
	}
	return &summariser{
		progress: progress,
		log:      log,
		raw:      raw,
		pkgs:     make(map[string]*pkgRun),
		builds:   make(map[string]*strings.Builder),
	}
}

// feed reads `go test -json` output until r ends.
func (s *summariser) feed(r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := s.raw.Write(line); werr != nil {
				return fmt.Errorf("write raw log: %w", werr)
			}
			if werr := s.line(line); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read go test output: %w", err)
		}
	}
}

func (s *summariser) line(line []byte) error {
	var e event
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &e) != nil || e.Action == "" {
		text := string(line)
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		s.other.WriteString(text)
		return s.writeLog(text)
	}
	return s.event(e)
}

func (s *summariser) writeLog(text string) error {
	if _, err := io.WriteString(s.log, text); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

func (s *summariser) pkg(path string) *pkgRun {
	p, ok := s.pkgs[path]
	if !ok {
		p = &pkgRun{path: path, tests: make(map[string]*testRun)}
		s.pkgs[path] = p
		s.order = append(s.order, path)
	}
	return p
}

func (s *summariser) event(e event) error {
	switch e.Action {
	case "build-output":
		b, ok := s.builds[e.ImportPath]
		if !ok {
			b = new(strings.Builder)
			s.builds[e.ImportPath] = b
		}
		b.WriteString(e.Output)
		return s.writeLog(e.Output)
	case "build-fail":
		return nil
	}
	if e.Package == "" {
		return nil
	}
	p := s.pkg(e.Package)
	if e.Test != "" {
		t, ok := p.tests[e.Test]
		if !ok {
			t = &testRun{name: e.Test}
			p.tests[e.Test] = t
			p.order = append(p.order, e.Test)
		}
		switch e.Action {
		case "output":
			t.out.WriteString(e.Output)
			return s.writeLog(e.Output)
		case "pass", "fail", "skip":
			if t.result == "" {
				t.result = e.Action
				s.count(e.Action)
			}
		}
		return nil
	}
	switch e.Action {
	case "output":
		p.out.WriteString(e.Output)
		if isResultLine(e.Output) {
			p.line = strings.TrimRight(e.Output, "\n")
		}
		return s.writeLog(e.Output)
	case "pass", "fail", "skip":
		p.result = e.Action
		p.elapsed = e.Elapsed
		p.failedBuild = e.FailedBuild
		s.finish(p)
	}
	return nil
}

func (s *summariser) count(result string) {
	switch result {
	case "pass":
		s.passed++
	case "fail":
		s.failed++
	case "skip":
		s.skipped++
	}
}

// finish counts the tests of p that started and never ended as failed, prints
// p's result line, and drops the output of a package that passed.
func (s *summariser) finish(p *pkgRun) {
	for _, name := range p.order {
		if p.tests[name].result == "" {
			s.failed++
		}
	}
	if s.progress != nil {
		fmt.Fprintln(s.progress, p.resultLine())
	}
	if !p.failing() {
		p.out.Reset()
		p.tests = make(map[string]*testRun)
		p.order = nil
	}
}

// isResultLine tells go test's one-line package results.
func isResultLine(s string) bool {
	return strings.HasPrefix(s, "ok  \t") || strings.HasPrefix(s, "FAIL\t") || strings.HasPrefix(s, "?   \t")
}

func (p *pkgRun) resultLine() string {
	if p.line != "" {
		return p.line
	}
	switch p.result {
	case "pass":
		return fmt.Sprintf("ok  \t%s\t%.3fs", p.path, p.elapsed)
	case "skip":
		return fmt.Sprintf("?   \t%s\t[no test files]", p.path)
	case "fail":
		return fmt.Sprintf("FAIL\t%s", p.path)
	}
	return fmt.Sprintf("FAIL\t%s [no result: go test ended before it reported this package]", p.path)
}

// failing reports whether p failed; a package go test never reported on did.
func (p *pkgRun) failing() bool { return p.result != "pass" && p.result != "skip" }

// failingTests are p's tests that failed or never finished.
func (p *pkgRun) failingTests() []*testRun {
	var out []*testRun
	for _, name := range p.order {
		if t := p.tests[name]; t.result == "fail" || t.result == "" {
			out = append(out, t)
		}
	}
	return out
}

// whyNoTest says why p failed when none of its tests did.
func (p *pkgRun) whyNoTest() string {
	out := p.out.String()
	switch {
	case p.failedBuild != "" && strings.Contains(p.line, "[setup failed]"):
		return "setup failed"
	case p.failedBuild != "":
		return "build failed"
	case p.result == "":
		return "no result: go test ended before it reported this package"
	case p.raceReports() > 0:
		return "data race outside any failing test"
	}
	if first := firstPanic(out); first != "" {
		return "panic outside any test: " + first
	}
	return "the test binary exited non-zero after its tests passed (TestMain or os.Exit)"
}

// firstPanic is the first line of the first panic or fatal error in out.
func firstPanic(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if isPanicStart(l) {
			return l
		}
	}
	return ""
}

func isPanicStart(l string) bool {
	return strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ")
}

const (
	timeoutPanic = "panic: test timed out"
	raceFence    = "=================="
	raceHeader   = "WARNING: DATA RACE"
)

// timedOut reports whether p's test binary hit its -timeout.
func (p *pkgRun) timedOut() bool {
	if strings.Contains(p.out.String(), timeoutPanic) {
		return true
	}
	for _, t := range p.tests {
		if strings.Contains(t.out.String(), timeoutPanic) {
			return true
		}
	}
	return false
}

// raceReports counts the data race reports in p's output.
func (p *pkgRun) raceReports() int {
	n := strings.Count(p.out.String(), raceHeader)
	for _, t := range p.tests {
		n += strings.Count(t.out.String(), raceHeader)
	}
	return n
}

// chunk is a piece of a failure's output: a data race report, a panic, or
// one other line.
type chunk struct {
	lines  []string
	report bool
	more   int // lines of the report left out
}

// excerpt is what the summary prints of one test's or package's output:
// every data race report and panic, each cut to its first reportLines lines,
// and the first plainHead and last plainTail of the other lines, without
// go test's progress lines.
func excerpt(out string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var chunks []chunk
	plain := 0
	for i := 0; i < len(lines); {
		l := lines[i]
		switch {
		case l == raceFence && i+1 < len(lines) && lines[i+1] == raceHeader:
			end := i + 2
			for end < len(lines) && lines[end] != raceFence {
				end++
			}
			if end < len(lines) {
				end++ // the closing fence
			}
			chunks = append(chunks, reportChunk(lines[i:end]))
			i = end
		case isPanicStart(l):
			end := i + 1
			for end < len(lines) && !endsPanic(lines[end]) {
				end++
			}
			chunks = append(chunks, reportChunk(lines[i:end]))
			i = end
		default:
			if !isNoise(l) {
				chunks = append(chunks, chunk{lines: []string{l}})
				plain++
			}
			i++
		}
	}
	var res []string
	seen := 0
	for _, c := range chunks {
		if c.report {
			res = append(res, c.lines...)
			if c.more > 0 {
				res = append(res, fmt.Sprintf("… %d more lines of this report in the log", c.more))
			}
			continue
		}
		seen++
		switch {
		case plain <= plainHead+plainTail, seen <= plainHead, seen > plain-plainTail:
			res = append(res, c.lines...)
		case seen == plainHead+1:
			res = append(res, fmt.Sprintf("… %d lines left out (see the log)", plain-plainHead-plainTail))
		}
	}
	return res
}

// reportChunk keeps the first reportLines lines of a report.
func reportChunk(lines []string) chunk {
	c := chunk{lines: lines, report: true}
	if len(lines) > reportLines {
		c.lines, c.more = lines[:reportLines], len(lines)-reportLines
	}
	return c
}

// endsPanic tells the line after a panic's goroutine dump: go test's verdict.
func endsPanic(l string) bool {
	return l == "FAIL" || isResultLine(l) || strings.HasPrefix(l, "exit status ")
}

// isNoise tells go test's progress lines, which say nothing a failure's
// header does not.
func isNoise(l string) bool {
	t := strings.TrimLeft(l, " ")
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- SKIP", "--- FAIL"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return l == "PASS" || l == "FAIL" || l == "" || isResultLine(l) || strings.HasPrefix(l, "exit status ")
}

// finishRun marks the packages go test never reported on as failed, with
// their started tests.
func (s *summariser) finishRun() {
	for _, path := range s.order {
		if p := s.pkgs[path]; p.result == "" {
			s.finish(p)
		}
	}
}

// report prints every failure and the totals to w, and tells whether the run
// failed. status is go test's exit status; stderr what it wrote there.
func (s *summariser) report(w io.Writer, status int, stderr, logPath string) bool {
	s.finishRun()
	var failing, noTest []*pkgRun
	races := 0
	var racePkgs, timedOut []string
	for _, path := range s.order {
		p := s.pkgs[path]
		if !p.failing() {
			continue
		}
		failing = append(failing, p)
		if len(p.failingTests()) == 0 {
			noTest = append(noTest, p)
		}
		if n := p.raceReports(); n > 0 {
			races += n
			racePkgs = append(racePkgs, p.path)
		}
		if p.timedOut() {
			timedOut = append(timedOut, p.path)
		}
	}
	failed := s.failed + len(noTest)
	unexplained := status != 0 && failed == 0
	if unexplained {
		failed = 1
	}
	if failed > 0 {
		fmt.Fprintf(w, "---- failures (full log: %s) ----\n", logPath)
	}
	for _, p := range failing {
		s.printPackage(w, p)
	}
	if other := strings.TrimSpace(s.other.String() + stderr); other != "" && failed > 0 {
		fmt.Fprintln(w, "go test's other output:")
		printIndented(w, "    ", excerpt(other))
	}
	if len(noTest) > 0 {
		fmt.Fprintln(w, "Packages that failed with no failing test (each counted as one failure):")
		for _, p := range noTest {
			fmt.Fprintf(w, "    %s: %s\n", p.path, p.whyNoTest())
		}
	}
	if races > 0 {
		fmt.Fprintf(w, "Data race reports: %d (%s)\n", races, strings.Join(racePkgs, ", "))
	}
	if len(timedOut) > 0 {
		fmt.Fprintf(w, "Timed out: %s\n", strings.Join(timedOut, ", "))
	}
	detail := ""
	switch {
	case unexplained:
		detail = fmt.Sprintf("the run failed (go test exit status %d) but reported no failing test or package; ", status)
	case failed > 0:
		detail = fmt.Sprintf("failing tests: %d, failing packages with no failing test: %d; ", s.failed, len(noTest))
	}
	fmt.Fprintf(w, "Go tests: %d passed, %d failed, %d skipped (subtests included; %slog: %s)\n",
		s.passed, failed, s.skipped, detail, logPath)
	return failed > 0
}

// printPackage prints a failed package: its failing tests, any test output
// holding a data race report, its output outside tests, its build output.
func (s *summariser) printPackage(w io.Writer, p *pkgRun) {
	fmt.Fprintln(w, p.resultLine())
	timedOut := p.timedOut()
	for i, t := range p.failingTests() {
		if i == testsShown {
			fmt.Fprintf(w, "  … %d more failing tests (see the log)\n", len(p.failingTests())-testsShown)
			break
		}
		if t.result == "" {
			why := "the test binary ended while it ran"
			if timedOut {
				why = "timed out"
			}
			fmt.Fprintf(w, "  --- DID NOT FINISH: %s (%s)\n", t.name, why)
		} else {
			fmt.Fprintf(w, "  --- FAIL: %s\n", t.name)
		}
		printIndented(w, "      ", excerpt(t.out.String()))
	}
	for _, name := range p.order {
		t := p.tests[name]
		if t.result == "fail" || t.result == "" || !strings.Contains(t.out.String(), raceHeader) {
			continue
		}
		fmt.Fprintf(w, "  output of %s (%s), which holds a data race report:\n", t.name, t.result)
		printIndented(w, "      ", excerpt(t.out.String()))
	}
	if lines := excerpt(p.out.String()); len(lines) > 0 {
		fmt.Fprintln(w, "  output outside any test:")
		printIndented(w, "      ", lines)
	}
	if p.failedBuild != "" {
		if b, ok := s.builds[p.failedBuild]; ok {
			fmt.Fprintln(w, "  build output:")
			printIndented(w, "      ", excerpt(b.String()))
		}
	}
}

func printIndented(w io.Writer, indent string, lines []string) {
	for _, l := range lines {
		if l = strings.TrimRight(l, " \t"); l == "" {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintln(w, indent+l)
	}
}

// run runs the command, summarises its output to stdout and returns the exit
// status gosummary should end with.
func run(args []string, logPath, rawPath string, stdout io.Writer) (code int) {
	var files []*os.File
	open := func(path string) (io.Writer, error) {
		if path == "" {
			return io.Discard, nil
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return f, nil
	}
	defer func() {
		for _, f := range files {
			if err := f.Close(); err != nil {
				fmt.Fprintf(stdout, "gosummary: %v\n", err)
				code = 1
			}
		}
	}()
	logW, err := open(logPath)
	if err != nil {
		fmt.Fprintf(stdout, "gosummary: %v\n", err)
		return 2
	}
	rawW, err := open(rawPath)
	if err != nil {
		fmt.Fprintf(stdout, "gosummary: %v\n", err)
		return 2
	}
	s := newSummariser(stdout, logW, rawW)
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stdout, "gosummary: %v\n", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stdout, "gosummary: start %s: %v\n", strings.Join(args, " "), err)
		fmt.Fprintf(stdout, "Go tests: 0 passed, 1 failed, 0 skipped (go test did not start; log: %s)\n", logPath)
		return 1
	}
	feedErr := s.feed(out)
	if feedErr != nil {
		// Keep the command from blocking on a pipe nobody reads.
		_, _ = io.Copy(io.Discard, out)
	}
	status := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			fmt.Fprintf(stdout, "gosummary: %s: %v\n", args[0], err)
			status = 1
		} else if status = exit.ExitCode(); status == -1 {
			status = 1 // killed by a signal
		}
	}
	if stderr.Len() > 0 {
		_ = s.writeLog(stderr.String())
	}
	if feedErr != nil {
		fmt.Fprintf(stdout, "gosummary: %v\n", feedErr)
		if status == 0 {
			status = 1
		}
	}
	if s.report(stdout, status, stderr.String(), logPath) || status != 0 {
		return 1
	}
	return 0
}

func main() {
	logPath := flag.String("log", "", "write the run's text output to this file")
	rawPath := flag.String("raw", "", "write the go test -json lines to this file")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: gosummary -log FILE [-raw FILE] -- go test -json [flags] [packages]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(flag.Args(), *logPath, *rawPath, os.Stdout))
}
