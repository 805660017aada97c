// Package nobuild does not compile: it uses a name that does not exist.
package nobuild

import "testing"

func TestNever(t *testing.T) { undefinedName(t) }
