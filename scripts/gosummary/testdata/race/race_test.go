// Package race has a test with a data race that the race detector reports.
package race

import "testing"

func TestRace(t *testing.T) {
	n := 0
	done := make(chan struct{})
	go func() {
		n++
		close(done)
	}()
	n++
	<-done
	t.Log(n)
}

func TestFine(t *testing.T) {}
