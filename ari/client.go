package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"llamenos/mailbox"
)

// Config configures a Client. URL, Username, Password and App are required.
type Config struct {
	// URL is the ARI base, e.g. "http://127.0.0.1:8088/ari". The events
	// WebSocket URL is derived from it (http→ws, https→wss, + "/events").
	URL      string
	Username string
	Password string
	// App is the Stasis application name; the client holds its one events
	// WebSocket.
	App string

	// HTTPClient is used for REST calls and the WebSocket handshake.
	// Defaults to a client with its own transport, which zeroes the read
	// buffers of its connections before every refill (see wipeConn) and
	// asks for no compressed responses. A client given here keeps its own
	// buffers: whatever they last read, caller ids included, stays in them.
	HTTPClient *http.Client
	// RequestTimeout bounds every REST call (on top of the caller's
	// context). Default 5 s.
	RequestTimeout time.Duration
	// PingInterval is how often the events socket is pinged; a pong missing
	// after PingTimeout drops the connection so a half-open socket is
	// noticed. Defaults 10 s and 5 s.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles
	// after each failed attempt. Defaults 100 ms and 10 s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxQueue caps each event queue (the socket's inbound queue, every
	// subscription's and the notification queue). Beyond it the oldest
	// entry is dropped, counted in Stats and logged at error level: memory
	// stays bounded if a consumer is stuck, and nothing vanishes silently.
	// Default 100000.
	MaxQueue   int
	ownHTTP    bool         // HTTPClient was made here, so Close may close its idle connections
	eventsHTTP *http.Client // for the events socket's handshake: HTTPClient, or one of ours

	// Logger receives connection changes and event problems. Default
	// slog.Default(). Event payloads are never logged (they carry caller
	// numbers).
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.URL == "" || c.App == "" || c.Username == "" {
		return errors.New("ari: config needs URL, Username and App")
	}
	if strings.ContainsAny(c.App, ",/?#") {
		return fmt.Errorf("ari: app name %q must not contain , / ? or #", c.App)
	}
	if c.HTTPClient == nil {
		c.ownHTTP = true
		c.HTTPClient = &http.Client{Transport: newTransport(false)}
		c.eventsHTTP = &http.Client{Transport: newTransport(true)}
	} else {
		c.eventsHTTP = c.HTTPClient
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&c.RequestTimeout, 5*time.Second)
	setDur(&c.PingInterval, 10*time.Second)
	setDur(&c.PingTimeout, 5*time.Second)
	setDur(&c.MinBackoff, 100*time.Millisecond)
	setDur(&c.MaxBackoff, 10*time.Second)
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 100000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Client is an ARI client for one Stasis application: REST calls plus the
// events WebSocket with routing to per-call subscriptions. See the package
// documentation for the consumer model. All methods are safe for concurrent
// use.
type Client struct {
	cfg   Config
	base  *url.URL
	wsURL string
	log   *slog.Logger

	router *router
	notes  *mailbox.Box[Notification]
	notesC chan Notification
	raw    *mailbox.Box[rawMessage]

	connected atomic.Bool
	stats     counters
	replaced  chan struct{} // ApplicationReplaced seen by the dispatcher

	stateMu sync.Mutex
	stateCh chan struct{} // closed and replaced on every connection change

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc // stops Run
	closed  chan struct{}
	wg      sync.WaitGroup // dispatcher, notification pump, subscription pumps
	runDone chan struct{}
}

// New checks cfg and returns a client. It starts the event dispatcher but
// does not connect: call Run for the events socket. REST calls work at once.
func New(cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("ari: URL %q must be http(s)://host[:port]/ari", cfg.URL)
	}
	ws := *base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	ws.Path += "/events"
	ws.RawQuery = url.Values{"app": {cfg.App}, "subscribeAll": {"false"}}.Encode()

	c := &Client{
		cfg:      cfg,
		base:     base,
		wsURL:    ws.String(),
		log:      cfg.Logger.With("component", "ari", "app", cfg.App),
		closed:   make(chan struct{}),
		runDone:  make(chan struct{}),
		notesC:   make(chan Notification),
		replaced: make(chan struct{}, 1),
		stateCh:  make(chan struct{}),
	}
	c.raw = mailbox.New[rawMessage](cfg.MaxQueue).OnDiscard(func(m rawMessage) { clear(m.data) })
	c.notes = mailbox.New[Notification](cfg.MaxQueue).OnDiscard(WipeNotification)
	c.router = newRouter(c)
	c.wg.Add(2)
	go c.dispatchLoop()
	go func() {
		defer c.wg.Done()
		mailbox.Pump(c.notes, c.notesC, c.closed)
	}()
	return c, nil
}

// App returns the Stasis application name.
func (c *Client) App() string { return c.cfg.App }

// Close stops Run, closes every subscription and waits for the client's
// goroutines to end. REST calls made after Close still work (they need no
// goroutine of the client); events are no longer delivered.
func (c *Client) Close() error {
	c.mu.Lock()
	select {
	case <-c.closed:
		c.mu.Unlock()
		return nil
	default:
	}
	close(c.closed)
	cancel, running := c.cancel, c.running
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if running {
		<-c.runDone
	}
	c.router.closeAll()
	c.wg.Wait()
	// Frames not yet decoded and notifications nobody read are wiped.
	c.raw.Close()
	c.notes.Close()
	if c.cfg.ownHTTP {
		c.cfg.HTTPClient.CloseIdleConnections()
		c.cfg.eventsHTTP.CloseIdleConnections()
	}
	return nil
}

// errNoContent marks a response with no body where one was expected.
var errNoContent = errors.New("empty response body")

// maxBody bounds REST response bodies; channel lists on a busy box are large
// but never near this.
const maxBody = 32 << 20

// do performs one REST call. path is relative to the ARI base and already
// escaped; query may be nil; body, when non-nil, is sent as JSON; out, when
// non-nil, receives the decoded JSON answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	u := c.base.String() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("ari: %s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	// Channels in the answer carry caller ids: the body is read into a
	// buffer of ours and zeroed once decoded.
	data, err := readAll(resp.Body, resp.ContentLength, maxBody)
	defer clear(data)
	if err != nil {
		return fmt.Errorf("ari: %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode, Method: method, Path: path}
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &m) == nil && m.Message != "" {
			e.Message = m.Message
		} else {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("ari: %s %s: %d: %w", method, path, resp.StatusCode, errNoContent)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("ari: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// readAll reads r to its end, or to limit bytes, into a buffer sized by
// hint (a Content-Length, or -1) and doubled as needed. Every buffer it
// outgrows is zeroed, so the returned one is the only copy of what was
// read; on error it returns nil and leaves no copy either.
func readAll(r io.Reader, hint, limit int64) ([]byte, error) {
	size := int64(4096)
	if hint >= 0 {
		size = min(hint+1, limit) // +1: reaching EOF needs no growth
	}
	buf := make([]byte, 0, max(size, 1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				return buf, nil
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit))
			copy(grown, buf)
			clear(buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			clear(buf)
			return nil, err
		}
	}
}

// idleConnTimeout is how long an unused REST connection to Asterisk stays
// open.
const idleConnTimeout = 30 * time.Second

// newTransport is the client's own HTTP transport: loopback, no proxy, no
// compression (a gzip reader would keep the plain text in its window), and
// connections that wipe their read buffers (wipeConn). events is for the
// events socket's handshake.
func newTransport(events bool) *http.Transport {
	dialer := &net.Dialer{}
	return &http.Transport{
		Proxy: nil, // ARI is on loopback; never route it through a proxy
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &wipeConn{Conn: conn, head: events}, nil
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 32,
		// A burst of calls opens up to MaxIdleConnsPerHost connections;
		// a quiet spell closes them again (two goroutines each).
		IdleConnTimeout: idleConnTimeout,
	}
}

// wipeConn zeroes the buffer it is asked to read into before each read.
// The HTTP client and the WebSocket library read through bufio.Readers that
// refill from the start of their buffer once it is consumed, and keep what
// was read there only until the next refill; with wipeConn underneath, each
// refill first erases what earlier responses and frames left behind. A
// reader waits for the next frame or response in a refill, so an idle
// connection holds nothing it read.
//
// One buffer is never refilled: the HTTP client's, on the events socket's
// connection, which the WebSocket library takes over after the handshake.
// Frames that arrive with the handshake response (a call coming in just as
// the socket connects) would stay in it. With head set, reads return one
// byte at a time until the response header has ended, so that buffer never
// holds anything past the header.
type wipeConn struct {
	net.Conn
	head bool
	last uint32 // the last four bytes read while head is set
}

func (c *wipeConn) Read(p []byte) (int, error) {
	clear(p)
	if !c.head || len(p) == 0 {
		return c.Conn.Read(p)
	}
	n, err := c.Conn.Read(p[:1])
	if n == 1 {
		c.last = c.last<<8 | uint32(p[0])
		c.head = c.last != 0x0d0a0d0a // "\r\n\r\n": the header is over
	}
	return n, err
}

// seg escapes one path segment (ids may contain anything, e.g. '/').
func seg(s string) string { return url.PathEscape(s) }
