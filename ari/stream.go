package ari

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("ari: client closed")

// maxFrame bounds one event frame. The library default (32 KiB) is too
// small for a Channel with many variables.
const maxFrame = 16 << 20

// Run keeps the events WebSocket connected until ctx is done or Close is
// called, reconnecting with capped exponential backoff. After every
// successful connection it publishes a Resync. It returns ctx.Err() when ctx
// ends, nil after Close, or ErrApplicationReplaced. Call it once.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("ari: Run called twice")
	}
	select {
	case <-c.closed:
		c.mu.Unlock()
		return ErrClosed
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	c.cancel, c.running = cancel, true
	c.mu.Unlock()
	defer close(c.runDone)
	defer cancel()

	backoff := c.cfg.MinBackoff
	everConnected := false
	for {
		start := time.Now()
		connected, err := c.session(ctx, everConnected)
		if connected {
			everConnected = true
			if time.Since(start) >= c.cfg.MaxBackoff {
				backoff = c.cfg.MinBackoff
			}
		}
		select {
		case <-c.closed:
			return nil
		default:
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrApplicationReplaced) {
			return err
		}
		// ±20% jitter so several clients do not reconnect in lockstep.
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		c.log.Warn("events socket down; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if c.isClosed() {
				return nil
			}
			return ctx.Err()
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Connected reports whether the events socket is up.
func (c *Client) Connected() bool { return c.connected.Load() }

// WaitConnected blocks until the events socket is up or ctx ends.
func (c *Client) WaitConnected(ctx context.Context) error {
	for {
		c.stateMu.Lock()
		ch := c.stateCh
		c.stateMu.Unlock()
		if c.connected.Load() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("ari: wait for events socket: %w", ctx.Err())
		}
	}
}

func (c *Client) setConnected(up bool, err error) {
	c.connected.Store(up)
	c.stateMu.Lock()
	close(c.stateCh)
	c.stateCh = make(chan struct{})
	c.stateMu.Unlock()
	c.notify(&ConnectionState{Connected: up, Err: err, At: time.Now()})
}

// session runs one connection: dial, read, resync, ping, until failure.
func (c *Client) session(ctx context.Context, reconnect bool) (connected bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	auth := base64.StdEncoding.EncodeToString([]byte(c.cfg.Username + ":" + c.cfg.Password))
	conn, resp, err := websocket.Dial(dialCtx, c.wsURL, &websocket.DialOptions{
		HTTPClient: c.cfg.eventsHTTP,
		HTTPHeader: http.Header{"Authorization": {"Basic " + auth}},
		// An inflate window would keep the last 32 KiB of frames.
		CompressionMode: websocket.CompressionDisabled,
	})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return false, fmt.Errorf("ari: events socket: HTTP %d", resp.StatusCode)
		}
		return false, fmt.Errorf("ari: events socket: %w", err)
	}
	conn.SetReadLimit(maxFrame)
	select { // a stale signal from an earlier connection
	case <-c.replaced:
	default:
	}
	if reconnect {
		c.stats.reconnects.Add(1)
	}
	c.log.Info("events socket connected", "reconnect", reconnect)
	c.setConnected(true, nil)

	sctx, scancel := context.WithCancel(ctx)
	// The reader's context outlives ctx: cancelling a read drops the
	// connection, and a client that stops closes it properly first.
	rctx, rcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer rcancel()
	readErr := make(chan error, 1)
	go func() {
		// The reader only reads and enqueues: Asterisk drops a client whose
		// socket blocks its writes for more than 100 ms.
		for {
			data, err := readFrame(rctx, conn)
			if err != nil {
				readErr <- err
				return
			}
			now := time.Now()
			c.stats.events.Add(1)
			if c.raw.Push(rawMessage{data: data, received: now}) {
				c.stats.dropped.Add(1)
				c.log.Error("inbound event queue full: dropped the oldest frame", "max", c.cfg.MaxQueue)
			}
		}
	}()

	resyncDone := make(chan struct{})
	go func() {
		defer close(resyncDone)
		c.resync(sctx, reconnect)
	}()

	ping := time.NewTicker(c.cfg.PingInterval)
	for err == nil {
		select {
		case e := <-readErr:
			err = fmt.Errorf("ari: events socket read: %w", e)
			readErr <- e // let the cleanup below see the reader has ended
		case <-c.replaced:
			err = ErrApplicationReplaced
		case <-ctx.Done():
			err = ctx.Err()
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(sctx, c.cfg.PingTimeout)
			if perr := conn.Ping(pctx); perr != nil {
				err = fmt.Errorf("ari: events socket ping: %w", perr)
			}
			pcancel()
		}
	}
	ping.Stop()
	if c.isClosed() || errors.Is(err, context.Canceled) {
		// Stopping: close the socket properly, so Asterisk does not log an
		// abrupt drop. The reader sees the close and ends.
		closeGracefully(conn)
	}
	rcancel()
	scancel()
	_ = conn.CloseNow()
	<-readErr
	<-resyncDone
	if c.isClosed() || errors.Is(err, context.Canceled) {
		c.setConnected(false, nil)
	} else {
		c.setConnected(false, err)
	}
	return true, err
}

// resync fetches the snapshot published as a Resync notification.
func (c *Client) resync(ctx context.Context, reconnect bool) {
	r := &Resync{Reconnect: reconnect}
	var errs []error
	var err error
	// Asterisk registers the app only once the upgraded socket is set up,
	// which can trail the handshake the client saw: retry a 404 briefly.
	for attempt := 0; ; attempt++ {
		r.Application, err = c.GetApplication(ctx, "")
		if !IsNotFound(err) || attempt == 10 || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if err != nil {
		errs = append(errs, err)
	}
	if r.Channels, err = c.ListChannels(ctx); err != nil {
		errs = append(errs, err)
	}
	if r.Bridges, err = c.ListBridges(ctx); err != nil {
		errs = append(errs, err)
	}
	if ctx.Err() != nil {
		r.Wipe()
		return // the connection is already gone; the next one resyncs
	}
	r.Err = errors.Join(errs...)
	if r.Err != nil {
		c.log.Warn("resync incomplete", "err", r.Err)
	}
	c.notify(r)
}

// closeTimeout bounds the close handshake when the client stops.
const closeTimeout = time.Second

// closeGracefully sends a normal close and waits for Asterisk's, at most
// closeTimeout; then it drops the connection.
func closeGracefully(conn *websocket.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.Close(websocket.StatusNormalClosure, "")
	}()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = conn.CloseNow()
		<-done
	}
}

// readFrame reads one message into a buffer of the client's own (not
// Conn.Read's io.ReadAll, whose outgrown buffers would keep copies). The
// dispatcher zeroes it once decoded.
func readFrame(ctx context.Context, conn *websocket.Conn) ([]byte, error) {
	_, r, err := conn.Reader(ctx)
	if err != nil {
		return nil, err
	}
	return readAll(r, -1, maxFrame+1)
}

// rawMessage is one frame as read off the socket.
type rawMessage struct {
	data     []byte
	received time.Time
}
