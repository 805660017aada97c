package hotline

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// The heartbeat shows that the engine's loops turn over. Run's loop ticks
// every StallLimit/4: each tick stamps the loop's own beat and posts a
// beatMsg to every live call that has none outstanding; the call answers it
// from its own loop, between events. A loop stuck on a lock, a hung request
// or a store that does not return neither stamps nor answers, and Alive
// reports it once StallLimit has passed. Alive takes no lock a loop holds,
// so asking never waits on the thing it asks about.
type heartbeat struct {
	mu      sync.Mutex
	loop    time.Time           // the last turn of Run's loop
	pending map[*call]time.Time // when each call was sent the beat it has not answered yet
	stopped bool                // Run has returned
}

// beatMsg asks a call's loop to show it turns over.
type beatMsg struct{}

// ErrStopped is Alive's answer once Run has returned.
var ErrStopped = errors.New("hotline: the call engine has stopped")

// Alive reports whether the engine's loops turned over within StallLimit of
// now: Run's loop, and every live call's loop. It never blocks.
func (e *Engine) Alive(now time.Time) error {
	e.hb.mu.Lock()
	defer e.hb.mu.Unlock()
	if e.hb.stopped {
		return ErrStopped
	}
	limit := e.cfg.StallLimit
	if d := now.Sub(e.hb.loop); d > limit {
		return fmt.Errorf("hotline: the call engine's event loop has not turned over for %s", d.Round(time.Millisecond))
	}
	stuck, worst := 0, time.Duration(0)
	for _, sent := range e.hb.pending {
		if d := now.Sub(sent); d > limit {
			stuck++
			worst = max(worst, d)
		}
	}
	if stuck > 0 {
		return fmt.Errorf("hotline: %d call loop(s) have not turned over for %s", stuck, worst.Round(time.Millisecond))
	}
	return nil
}

// beat is one tick of Run's loop, at now.
func (e *Engine) beat(now time.Time) {
	e.mu.Lock()
	live := make(map[*call]bool, len(e.calls))
	for _, c := range e.calls {
		live[c] = true
	}
	e.mu.Unlock()

	var ask []*call
	e.hb.mu.Lock()
	e.hb.loop = now
	for c := range e.hb.pending {
		if !live[c] { // ended since it was asked
			delete(e.hb.pending, c)
		}
	}
	for c := range live {
		if _, asked := e.hb.pending[c]; !asked {
			e.hb.pending[c] = now
			ask = append(ask, c)
		}
	}
	e.hb.mu.Unlock()
	for _, c := range ask {
		c.mbox.Push(beatMsg{})
	}
}

// beatAnswered records that c's loop turned over.
func (e *Engine) beatAnswered(c *call) {
	e.hb.mu.Lock()
	delete(e.hb.pending, c)
	e.hb.mu.Unlock()
}

// beatStopped records that Run has returned.
func (e *Engine) beatStopped() {
	e.hb.mu.Lock()
	e.hb.stopped = true
	clear(e.hb.pending)
	e.hb.mu.Unlock()
}
