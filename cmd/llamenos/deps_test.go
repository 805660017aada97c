package main

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// openingPackage holds the side of the envelope format that needs a secret
// key: Open, signing, nsec. Only tests may import it.
const openingPackage = "llamenos/e2ee/e2eetest"

// TestDaemonCannotOpen: the daemon seals envelopes and checks their headers
// but must have no way to read a note. It fails if the opening package is
// among the daemon's dependencies, directly or through any other package.
func TestDaemonCannotOpen(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	// The list must be the real one: the daemon does use the sealing side.
	if !slices.Contains(deps, "llamenos/e2ee") || !slices.Contains(deps, "llamenos/cmd/llamenos") {
		t.Fatalf("go list -deps gave no llamenos/e2ee or llamenos/cmd/llamenos:\n%s", out)
	}
	if slices.Contains(deps, openingPackage) {
		t.Fatalf("the daemon depends on %s, which opens envelopes; only tests may import it", openingPackage)
	}
}
