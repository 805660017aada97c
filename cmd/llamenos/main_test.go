package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "llamenos dev (commit unknown, go1.") {
		t.Fatalf("got %q", out.String())
	}
}

func TestUnknownCommandAndStrayArgs(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errb); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
	if code := run(context.Background(), []string{"version", "extra"}, &out, &errb); code != 2 {
		t.Fatalf("stray arg exit %d", code)
	}
}
