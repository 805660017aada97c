// Package systemd holds the unit files; this test keeps the hardening honest.
package systemd

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// The daemon's unit must score 2.0 or lower in `systemd-analyze security`.
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
