//go:build !unix

package store

import (
	"context"
	"errors"
	"os"
	"time"
)

var errNoLocking = errors.New("file locking is only implemented on unix systems")

func lockFile(context.Context, *os.File, bool, time.Duration) error { return errNoLocking }

func samePath(*os.File, string) (bool, error) { return false, errNoLocking }

func syncDir(string) error { return errNoLocking }
