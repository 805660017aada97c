package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// Defaults to a client with its own transport.
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
	MaxQueue int
	ownHTTP  bool // HTTPClient was made here, so Close may close its idle connections

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
		c.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               nil, // ARI is on loopback; never route it through a proxy
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		}}
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
	c.raw = mailbox.New[rawMessage](cfg.MaxQueue)
	c.notes = mailbox.New[Notification](cfg.MaxQueue)
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
	if c.cfg.ownHTTP {
		c.cfg.HTTPClient.CloseIdleConnections()
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
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

// seg escapes one path segment (ids may contain anything, e.g. '/').
func seg(s string) string { return url.PathEscape(s) }
