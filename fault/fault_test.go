package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindSurvivesWrapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind Kind
	}{
		{Invalidf("bad %d", 1), KindInvalid},
		{Forbidden("no"), KindForbidden},
		{NotFound("none"), KindNotFound},
		{Conflict("busy"), KindConflict},
		{Gone("used"), KindGone},
		{errors.New("plain"), 0},
	} {
		wrapped := fmt.Errorf("context: %w", tc.err)
		if got := KindOf(wrapped); got != tc.kind {
			t.Errorf("KindOf(%v) = %d, want %d", wrapped, got, tc.kind)
		}
	}
	if e, ok := As(fmt.Errorf("x: %w", Invalidf("field %q", "a"))); !ok || e.Msg != `field "a"` {
		t.Fatalf("As = %v, %v", e, ok)
	}
}
