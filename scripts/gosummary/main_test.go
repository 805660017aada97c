package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runScript runs scripts/test-go.sh on the given packages of testdata and
// returns its output, exit code and log path.
func runScript(t *testing.T, timeout string, pkgs ...string) (string, int, string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "test-go.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkgs {
		pkgs[i] = "./testdata/" + p
	}
	logPath := filepath.Join(t.TempDir(), "go-test.log")
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(),
		"GO_TEST_PKGS="+strings.Join(pkgs, " "),
		"GO_TEST_LOG="+logPath,
		"GO_TEST_TIMEOUT="+timeout,
	)
	out, err := cmd.CombinedOutput()
	logOnFailure(t, string(out))
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run %s: %v", script, err)
		}
		code = exit.ExitCode()
	}
	return string(out), code, logPath
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

// logOnFailure logs out once the test is over, if it failed.
func logOnFailure(t *testing.T, out string) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
	})
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

const td = "llamenos/scripts/gosummary/testdata/"

func TestScriptReportsEveryKindOfFailure(t *testing.T) {
	t.Parallel()
	out, code, logPath := runScript(t, "5m", "pass", "race", "gopanic", "mainexit", "nobuild", "setupfail")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	// pass: 4 passed, 1 skipped; race: TestRace failed, TestFine passed;
	// gopanic and mainexit: TestFine passed, then the package failed;
	// nobuild and setupfail: the package failed.
	want := "Go tests: 7 passed, 5 failed, 1 skipped (subtests included; failing tests: 1, failing packages with no failing test: 4; log: " + logPath + ")"
	if got := lastLine(out); got != want {
		t.Errorf("totals line\n got %q\nwant %q", got, want)
	}
	mustContain(t, out,
		"ok  \t"+td+"pass\t",
		// The data race, with its header and stacks.
		"FAIL\t"+td+"race\t",
		"  --- FAIL: TestRace\n",
		"      ==================\n      WARNING: DATA RACE\n",
		"Previous write at",
		"race_test.go:10",
		"race_test.go:13",
		"Goroutine ",
		"race detected during execution of test",
		"Data race reports: 1 ("+td+"race)\n",
		// The panic outside any test, with its stack.
		"      panic: goroutine outside any test\n",
		"gopanic_test.go:16",
		// What TestMain printed before it exited 1.
		"      mainexit: cleanup failed\n",
		// The compiler's and the go command's errors.
		"FAIL\t"+td+"nobuild [build failed]\n",
		"undefined: undefinedName",
		"FAIL\t"+td+"setupfail [setup failed]\n",
		"nosuchpackage",
		// Each package with no failing test, named with the reason.
		"Packages that failed with no failing test (each counted as one failure):\n",
		"    "+td+"gopanic: panic outside any test: panic: goroutine outside any test\n",
		"    "+td+"mainexit: the test binary exited non-zero after its tests passed (TestMain or os.Exit)\n",
		"    "+td+"nobuild: build failed\n",
		"    "+td+"setupfail: setup failed\n",
		"---- failures (full log: "+logPath+") ----\n",
	)
	if strings.Contains(out, "TestFine") {
		t.Error("a passing test is shown among the failures")
	}

	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(log), "=== RUN   TestRace\n", "WARNING: DATA RACE\n", "mainexit: cleanup failed\n", "undefined: undefinedName")
	raw, err := os.ReadFile(logPath + ".json")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(raw), `"Action":"fail"`)
}

func TestScriptReportsTimeout(t *testing.T) {
	t.Parallel()
	// TestBlocks blocks forever: the 1s -timeout ends it, however slow the machine.
	out, code, logPath := runScript(t, "1s", "timeout")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := "Go tests: 0 passed, 1 failed, 0 skipped (subtests included; failing tests: 1, failing packages with no failing test: 0; log: " + logPath + ")"
	if got := lastLine(out); got != want {
		t.Errorf("totals line\n got %q\nwant %q", got, want)
	}
	mustContain(t, out,
		"  --- DID NOT FINISH: TestBlocks (timed out)\n",
		"      panic: test timed out after 1s\n",
		"timeout_test.go:7",
		"Timed out: "+td+"timeout\n",
	)
}

func TestScriptPasses(t *testing.T) {
	t.Parallel()
	out, code, logPath := runScript(t, "5m", "pass")
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	want := "Go tests: 4 passed, 0 failed, 1 skipped (subtests included; log: " + logPath + ")"
	if got := lastLine(out); got != want {
		t.Errorf("totals line\n got %q\nwant %q", got, want)
	}
	if strings.Contains(out, "failures") {
		t.Errorf("a passing run prints failures:\n%s", out)
	}
}

// summarise feeds the events to a summariser and returns its report and
// whether it said the run failed.
func summarise(t *testing.T, status int, events ...event) (string, bool) {
	t.Helper()
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	var progress, out bytes.Buffer
	s := newSummariser(&progress, nil, nil)
	if err := s.feed(&in); err != nil {
		t.Fatal(err)
	}
	failed := s.report(&out, status, "", "LOG")
	logOnFailure(t, progress.String()+out.String())
	return progress.String() + out.String(), failed
}

func output(pkg, test, text string) event {
	return event{Action: "output", Package: pkg, Test: test, Output: text}
}

// raceReport is a data race report with n stack lines.
func raceReport(n int) string {
	var b strings.Builder
	b.WriteString(raceFence + "\n" + raceHeader + "\nWrite at 0x00c000012345 by goroutine 7:\n")
	for i := range n {
		fmt.Fprintf(&b, "  frame%d()\n", i)
	}
	b.WriteString(raceFence + "\n")
	return b.String()
}

func TestExcerptCutsEachRaceReport(t *testing.T) {
	out := "before\n" + raceReport(200) + "between\n" + raceReport(3) + "after\n"
	got := excerpt(out)
	joined := strings.Join(got, "\n")
	for _, w := range []string{"before", "between", "after", "Write at 0x00c000012345 by goroutine 7:", "frame0()", "… 144 more lines of this report in the log"} {
		if !strings.Contains(joined, w) {
			t.Errorf("excerpt lacks %q", w)
		}
	}
	if strings.Contains(joined, "frame57()") {
		t.Error("the long report is not cut after its first lines")
	}
	if n := strings.Count(joined, raceHeader); n != 2 {
		t.Errorf("%d report headers, want 2", n)
	}
	// 1, 60+1 lines of the first report, 1, 7 lines of the second, 1.
	if len(got) != 71 {
		t.Errorf("%d lines, want 71:\n%s", len(got), joined)
	}
}

func TestExcerptCutsPanicAndKeepsHeadAndTail(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "    x_test.go:%d: line %d\n", i, i)
		if i == 50 {
			b.WriteString("=== RUN   TestX\n--- FAIL: TestX (0.00s)\n")
		}
	}
	b.WriteString("panic: boom\n\ngoroutine 1 [running]:\n")
	for range 100 {
		b.WriteString("main.f()\n\t/x.go:1 +0x1\n")
	}
	b.WriteString("FAIL\tpkg\t0.1s\n")
	got := excerpt(b.String())
	joined := strings.Join(got, "\n")
	for _, w := range []string{"x_test.go:19: line 19", "… 40 lines left out (see the log)", "x_test.go:60: line 60", "x_test.go:99: line 99", "panic: boom", "goroutine 1 [running]:", "… 143 more lines of this report in the log"} {
		if !strings.Contains(joined, w) {
			t.Errorf("excerpt lacks %q", w)
		}
	}
	for _, w := range []string{"x_test.go:20: line 20", "x_test.go:59: line 59", "=== RUN", "--- FAIL", "FAIL\tpkg"} {
		if strings.Contains(joined, w) {
			t.Errorf("excerpt holds %q", w)
		}
	}
	if len(got) != 20+1+40+60+1 {
		t.Errorf("%d lines, want %d", len(got), 20+1+40+60+1)
	}
}

func TestRaceReportSplitAcrossEvents(t *testing.T) {
	// test2json cuts long lines into several output events.
	const pkg = "example.com/p"
	out, failed := summarise(t, 1,
		event{Action: "start", Package: pkg},
		event{Action: "run", Package: pkg, Test: "TestA"},
		output(pkg, "TestA", raceFence+"\nWARNING: DATA"),
		output(pkg, "TestA", " RACE\nRead at 0x1 by goroutine 3:\n"+raceFence+"\n"),
		event{Action: "pass", Package: pkg, Test: "TestA"},
		output(pkg, "", "FAIL\t"+pkg+"\t0.1s\n"),
		event{Action: "fail", Package: pkg},
	)
	if !failed {
		t.Error("the run is not reported as failed")
	}
	mustContain(t, out,
		"  output of TestA (pass), which holds a data race report:\n      ==================\n      WARNING: DATA RACE\n",
		"Data race reports: 1 (example.com/p)\n",
		"    example.com/p: data race outside any failing test\n",
		"Go tests: 1 passed, 1 failed, 0 skipped",
	)
}

func TestUnfinishedRunFails(t *testing.T) {
	// go test was killed: a test started, no package reported a result.
	out, failed := summarise(t, 1,
		event{Action: "start", Package: "example.com/a"},
		event{Action: "run", Package: "example.com/a", Test: "TestA"},
		output("example.com/a", "TestA", "=== RUN   TestA\nworking\n"),
		event{Action: "start", Package: "example.com/b"},
	)
	if !failed {
		t.Error("the run is not reported as failed")
	}
	mustContain(t, out,
		"FAIL\texample.com/a [no result: go test ended before it reported this package]\n",
		"  --- DID NOT FINISH: TestA (the test binary ended while it ran)\n      working\n",
		"    example.com/b: no result: go test ended before it reported this package\n",
		"Go tests: 0 passed, 2 failed, 0 skipped",
	)
}

func TestExitStatusAloneFails(t *testing.T) {
	out, failed := summarise(t, 2)
	if !failed {
		t.Error("the run is not reported as failed")
	}
	want := "Go tests: 0 passed, 1 failed, 0 skipped (subtests included; the run failed (go test exit status 2) but reported no failing test or package; log: LOG)\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("got\n%s\nwant it to end with\n%s", out, want)
	}
}

func TestOtherOutputShownOnFailure(t *testing.T) {
	var progress, out bytes.Buffer
	s := newSummariser(&progress, nil, nil)
	if err := s.feed(strings.NewReader("go: no such flag -x\n")); err != nil {
		t.Fatal(err)
	}
	if !s.report(&out, 2, "stderr says this\n", "LOG") {
		t.Error("the run is not reported as failed")
	}
	mustContain(t, out.String(), "go test's other output:\n    go: no such flag -x\n    stderr says this\n")
}

func TestPassingRunSaysNothingElse(t *testing.T) {
	const pkg = "example.com/p"
	out, failed := summarise(t, 0,
		event{Action: "start", Package: pkg},
		event{Action: "run", Package: pkg, Test: "TestA"},
		event{Action: "pass", Package: pkg, Test: "TestA"},
		event{Action: "run", Package: pkg, Test: "TestB"},
		event{Action: "skip", Package: pkg, Test: "TestB"},
		output(pkg, "", "ok  \t"+pkg+"\t0.1s\n"),
		event{Action: "pass", Package: pkg},
		event{Action: "start", Package: "example.com/q"},
		event{Action: "skip", Package: "example.com/q"},
	)
	if failed {
		t.Error("a passing run is reported as failed")
	}
	want := "ok  \texample.com/p\t0.1s\n?   \texample.com/q\t[no test files]\nGo tests: 1 passed, 0 failed, 1 skipped (subtests included; log: LOG)\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}
