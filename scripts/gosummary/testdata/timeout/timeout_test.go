// Package timeout has a test that blocks until the test binary's -timeout ends it.
package timeout

import "testing"

func TestBlocks(t *testing.T) {
	select {}
}
