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
		{TooLarge("%d bytes", 9), KindTooLarge},
		{Quota("%d notes", 9), KindQuota},
		{errors.New("plain"), 0},
	} {
		wrapped := fmt.Errorf("context: %w", tc.err)
		var got Kind
		if e, ok := As(wrapped); ok {
			got = e.Kind
		}
		if got != tc.kind {
			t.Errorf("kind of %v = %d, want %d", wrapped, got, tc.kind)
		}
	}
	if e, ok := As(fmt.Errorf("x: %w", Invalidf("field %q", "a"))); !ok || e.Msg != `field "a"` {
		t.Fatalf("As = %v, %v", e, ok)
	}
}
