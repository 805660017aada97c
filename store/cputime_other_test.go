//go:build !unix

package store

import (
	"testing"
	"time"
)

// cpuTime: without getrusage the benchmark reports wall time only.
func cpuTime(b *testing.B) time.Duration {
	b.Skip("no getrusage here")
	return 0
}
