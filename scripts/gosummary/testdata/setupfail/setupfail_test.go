// Package setupfail imports a package that does not exist.
package setupfail

import (
	"testing"

	"llamenos/scripts/gosummary/testdata/nosuchpackage"
)

func TestNever(t *testing.T) { nosuchpackage.Do() }
