// Package mainexit passes its test, but its TestMain exits 1.
package mainexit

import (
	"fmt"
	"os"
	"testing"
)

func TestFine(t *testing.T) {}

func TestMain(m *testing.M) {
	m.Run()
	fmt.Println("mainexit: cleanup failed")
	os.Exit(1)
}
