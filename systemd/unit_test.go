// Package systemd holds the unit files; this test keeps the hardening honest.
package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The daemon's unit must score at most 2.0 in `systemd-analyze security`.
func TestSecurityExposure(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed; cannot score the unit here")
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", "./llamenos.service").CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for llamenos.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no score (err %v):\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure %.1f", score)
	if score > 2.0 {
		t.Fatalf("exposure %.1f > 2.0:\n%s", score, out)
	}
}

func TestUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", "./llamenos.service").CombinedOutput()
	// verify complains that the binary is not installed on a build box; anything else is a unit error.
	re := regexp.MustCompile(`(?m)^.*llamenos\.service.*$`)
	for _, line := range re.FindAllString(string(out), -1) {
		if regexp.MustCompile(`Command /usr/local/bin/llamenos is not executable|not executable: No such file`).MatchString(line) {
			continue
		}
		t.Errorf("verify: %s", line)
	}
	_ = err
}

// TestNoCoreDumps: the unit forbids core dumps (the last LimitCORE= of the
// [Service] section is 0), so a crash leaves no image of the daemon's
// memory on disk.
func TestNoCoreDumps(t *testing.T) {
	f, err := os.Open("llamenos.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	section, limit := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]" && strings.HasPrefix(line, "LimitCORE="):
			limit = strings.TrimSpace(strings.TrimPrefix(line, "LimitCORE="))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if limit != "0" {
		t.Fatalf("[Service] LimitCORE=%q, want 0", limit)
	}
}
