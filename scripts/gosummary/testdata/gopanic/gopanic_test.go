// Package gopanic passes its test, then panics in a goroutine outside any test.
package gopanic

import (
	"os"
	"testing"
)

func TestFine(t *testing.T) {}

func TestMain(m *testing.M) {
	code := m.Run()
	done := make(chan struct{})
	go func() {
		defer close(done)
		panic("goroutine outside any test")
	}()
	<-done
	os.Exit(code)
}
