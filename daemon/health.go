package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// health is what the systemd watchdog asks before each ping: whether the
// daemon is doing its job, not merely running. The HTTP server must be
// serving, the call engine's loops must turn over, and the store must
// answer a read. Asterisk being unreachable does not stop the pings: the
// ARI client reconnects by itself, and restarting the daemon would not
// bring Asterisk back. It shows in the status instead, as it does in
// /api/health and llamenos_ari_connected.
type health struct {
	httpDone <-chan struct{} // closed when the HTTP server's Serve returns
	engine   interface{ Alive(now time.Time) error }
	store    *probe
	ari      func() bool
}

// check is the watchdog's question: the status to show, or why the daemon
// is not doing its job.
func (h *health) check(ctx context.Context) (string, error) {
	select {
	case <-h.httpDone:
		return "", errors.New("the HTTP server has stopped")
	default:
	}
	if err := h.engine.Alive(time.Now()); err != nil {
		return "", err
	}
	if err := h.store.check(ctx); err != nil {
		return "", err
	}
	return h.status(), nil
}

// status is the state a healthy daemon shows in systemctl status.
func (h *health) status() string {
	if h.ari() {
		return "answering calls"
	}
	return "Asterisk (ARI) is not connected; connecting. New calls cannot reach the hotline"
}

// probe reads the store off the watchdog's goroutine, so a database that
// hangs cannot hang the check: a read that has not returned within timeout
// counts as failed, and no second read starts while one hangs.
type probe struct {
	read    func(context.Context) error
	timeout time.Duration
	wg      *sync.WaitGroup // the daemon's, so it waits for a read in flight

	result  chan error // the read in flight, or nil; used by check only
	started time.Time
}

// check starts a read if none is in flight and waits for it until timeout
// has passed since it started. Call it from one goroutine.
func (p *probe) check(ctx context.Context) error {
	if p.result == nil {
		res := make(chan error, 1)
		p.result, p.started = res, time.Now()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			res <- p.read(ctx)
		}()
	}
	t := time.NewTimer(p.timeout - time.Since(p.started))
	defer t.Stop()
	select {
	case err := <-p.result:
		return p.done(err)
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		select {
		case err := <-p.result: // it returned just now
			return p.done(err)
		default:
			return fmt.Errorf("a store read has not returned in %s", time.Since(p.started).Round(time.Millisecond))
		}
	}
}

func (p *probe) done(err error) error {
	p.result = nil
	if err != nil {
		return fmt.Errorf("the store cannot be read: %w", err)
	}
	return nil
}
