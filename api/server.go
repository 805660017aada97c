// Package api is the daemon's HTTP face: the JSON API and WebSocket the
// browser app uses (docs/api.md), the embedded app itself, and the security
// headers on every response. Handlers parse a request, call one function of
// a domain package (auth, people, records, bans, settings, the call engine)
// and map its refusal to a status; the rules live in those packages. The
// server never sees a secret in plaintext.
package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"llamenos/auth"
	"llamenos/bans"
	"llamenos/buildinfo"
	"llamenos/callstats"
	"llamenos/config"
	"llamenos/devicelink"
	"llamenos/people"
	"llamenos/prompts"
	"llamenos/records"
	"llamenos/settings"
	"llamenos/store"
	"llamenos/transcribe"
)

// AuditLog reads the audit chain (store.Store).
type AuditLog interface {
	AuditSearch(ctx context.Context, f store.AuditFilter, cursor string, limit int) ([]store.AuditEntry, string, error)
	VerifyAudit(ctx context.Context) (store.AuditHead, error)
}

// ICEServer is one STUN/TURN server as the browser's RTCPeerConnection
// takes it.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Deps is what the server needs from the rest of the daemon, every part
// built before the server.
type Deps struct {
	Auth     *auth.Service
	People   *people.Service
	Records  *records.Service
	Bans     *bans.Service
	Settings *settings.Service
	Audit    AuditLog
	Calls    CallEngine
	// Prompts, if set, lets admins replace the caller prompts.
	Prompts *prompts.Service
	// Stats computes the admins' dashboard from call metadata.
	Stats *callstats.Service
	// CallMetrics, if set, adds the call counters and histograms to
	// /metrics; the engine feeds it each call's final record.
	CallMetrics *callstats.Metrics
	// Hub carries the call engine's events to browsers; the engine got it
	// as its notifier before the server was built.
	Hub       *Hub
	Static    fs.FS  // the built browser app
	PublicURL string // server.public_url: the only accepted Origin
	Log       *slog.Logger
	Now       func() time.Time
	// ARIConnected reports the Asterisk link for the metrics listener's
	// /api/health and llamenos_ari_connected.
	ARIConnected func() bool
	// ICEServers returns the STUN/TURN servers handed to a browser for one
	// call, with fresh credentials where they expire; nil: none.
	ICEServers func() []ICEServer
	// Demo adds the /api/demo routes that drive the embedded simulator.
	Demo Demo
	// RequestTimeout bounds reading one request, body included; answering
	// it may take twice as long. Zero: 15 s.
	RequestTimeout time.Duration
	// LoginsPerMinute limits sign-in attempts (setup, invites, login) per
	// client address; bursts of half as many pass at once. Default 60.
	LoginsPerMinute int
	// MaxSocketsPerAccount caps one account's open WebSockets, and
	// MaxSockets everyone's: a socket past either is closed at once with
	// code 4029 or 1013 (docs/api.md). Defaults: config's.
	MaxSocketsPerAccount int
	MaxSockets           int
	// CallsRefused counts the callers the call engine turned away at its
	// cap on live calls, for llamenos_calls_refused_total; nil: none.
	CallsRefused func() uint64
	// Transcription says whether this daemon transcribes, and if not why,
	// for the admin dashboard.
	Transcription transcribe.Status
}

// Server serves the API, the WebSocket and the app.
type Server struct {
	Deps
	origin string
	// publicHost and publicScheme are the public URL's host[:port] and
	// scheme: the only Host requests may name.
	publicHost, publicScheme string
	headers                  map[string][]string
	routes                   []route
	mux                      *http.ServeMux
	authRL                   *limiter
	chalRL                   *limiter
	links                    *devicelink.Registry
}

// access says who may call a route before any per-record check.
type access int

const (
	public access = iota
	signedIn
	adminOnly
)

type handler func(w http.ResponseWriter, r *http.Request, who auth.Identity) error

type route struct {
	method  string
	pattern string
	access  access
	limit   int64    // request body limit; 0 = default
	rl      *limiter // optional per-IP rate limit
	// enrol: open to a session that must enrol a passkey before anything
	// else (auth.Identity.MustEnrolPasskey).
	enrol bool
	h     handler
}

// New builds the server. Routes are a table so the role-matrix test can
// check that every one of them has an expectation.
func New(d Deps) (*Server, error) {
	u, err := url.Parse(d.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("api: public URL %q is not an origin", d.PublicURL)
	}
	switch {
	case d.Auth == nil, d.People == nil, d.Records == nil, d.Bans == nil, d.Settings == nil, d.Audit == nil, d.Calls == nil, d.Hub == nil:
		return nil, errors.New("api: Deps needs Auth, People, Records, Bans, Settings, Audit, Calls and Hub")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 15 * time.Second
	}
	if d.LoginsPerMinute <= 0 {
		d.LoginsPerMinute = 60
	}
	if d.MaxSocketsPerAccount <= 0 {
		d.MaxSocketsPerAccount = config.DefaultMaxSocketsPerAccount
	}
	if d.MaxSockets <= 0 {
		d.MaxSockets = config.DefaultMaxSockets
	}
	if d.CallsRefused == nil {
		d.CallsRefused = func() uint64 { return 0 }
	}
	if d.ARIConnected == nil {
		d.ARIConnected = func() bool { return false }
	}
	s := &Server{
		Deps:       d,
		origin:     u.Scheme + "://" + u.Host,
		publicHost: u.Host, publicScheme: u.Scheme,
		headers: securityHeaders(d.PublicURL),
		mux:     http.NewServeMux(),
		authRL:  newLimiter(d.LoginsPerMinute, d.LoginsPerMinute/2, d.Now),
		chalRL:  newLimiter(2*d.LoginsPerMinute, d.LoginsPerMinute, d.Now),
		links:   devicelink.New(d.Now, 0, 0),
	}
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.mux.HandleFunc("GET /api/ws", s.serveWS)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.Log, errNotFound("no such API endpoint"))
	})
	s.mux.HandleFunc("/", s.serveStatic)
	return s, nil
}

// Handler is the whole site with security headers on every response,
// including errors and recovered panics.
func (s *Server) Handler() http.Handler {
	return withSecurityHeaders(s.headers, s.recoverer(s.checkHost(s.deadlines(s.mux))))
}

// deadlines bounds how long one request may take to arrive (its body
// included) and to be answered, so a client that trickles a body or never
// reads the answer cannot hold a connection. The WebSocket keeps none: it
// lives until it is closed, with its own pings.
func (s *Server) deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/ws" {
			rc := http.NewResponseController(w)
			now := time.Now()
			_ = rc.SetReadDeadline(now.Add(s.RequestTimeout))
			_ = rc.SetWriteDeadline(now.Add(2 * s.RequestTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// checkHost answers only requests addressed to the public URL's host. A
// page whose own name was pointed at this box (DNS rebinding) cannot reach
// the API, and someone who typed another address (the IP instead of the
// name) is told which one to open: sign-in would fail there anyway, since
// the browser signs its origin. /api/health answers any name, for probes.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sameHost(r.Host, s.publicHost, s.publicScheme) || r.URL.Path == "/api/health" {
			next.ServeHTTP(w, r)
			return
		}
		msg := fmt.Sprintf("this hotline is at %s; open that address instead", s.origin)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, r, s.Log, &apiError{Status: http.StatusMisdirectedRequest, Code: "wrong_host", Message: msg, Origin: s.origin})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintln(w, strings.ToUpper(msg[:1])+msg[1:]+".")
	})
}

// sameHost compares a request's Host with the public URL's host, a missing
// port standing for the scheme's default.
func sameHost(reqHost, public, scheme string) bool {
	split := func(h string) (string, string) {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			host, port = strings.Trim(h, "[]"), ""
		}
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[scheme]
		}
		return strings.ToLower(strings.TrimSuffix(host, ".")), port
	}
	rh, rp := split(reqHost)
	ph, pp := split(public)
	return rh == ph && rp == pp
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, s.Log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func stateChanging(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// checkOrigin is the CSRF defence: browsers always send Origin on
// cross-site and same-site state-changing fetches; it must be ours. The
// refusal names the address to open, so a person who reached the app under
// another name (a proxy that rewrites Host, say) is told what to do, and the
// log says it at info level: it is how a misconfigured public_url shows.
func (s *Server) checkOrigin(r *http.Request) error {
	got := r.Header.Get("Origin")
	if got == s.origin {
		return nil
	}
	s.Log.Info("request from another origin refused: browsers must open the hotline at its public URL",
		"origin", got, "public_url", s.origin, "route", r.Pattern)
	return errWrongOrigin(s.origin)
}

const cookieName = "__Host-llamenos_session"

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stateChanging(r.Method) {
			if err := s.checkOrigin(r); err != nil {
				writeError(w, r, s.Log, err)
				return
			}
		}
		if rt.rl != nil && !rt.rl.allow(rateKey(r)) {
			writeError(w, r, s.Log, errTooMany())
			return
		}
		var who auth.Identity
		if rt.access != public {
			id, err := s.identify(r)
			if err != nil {
				writeError(w, r, s.Log, err)
				return
			}
			if id.MustEnrolPasskey && !rt.enrol {
				writeError(w, r, s.Log, errEnrolFirst())
				return
			}
			if rt.access == adminOnly && !id.IsAdmin() {
				writeError(w, r, s.Log, errForbidden("admins only"))
				return
			}
			who = id
		}
		limit := rt.limit
		if limit == 0 {
			limit = defaultBodyLimit
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := rt.h(w, r, who); err != nil {
			writeError(w, r, s.Log, err)
		}
	})
}

func (s *Server) identify(r *http.Request) (auth.Identity, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return auth.Identity{}, errUnauthorized("sign in first")
	}
	id, err := s.Auth.Authenticate(r.Context(), c.Value)
	if errors.Is(err, auth.ErrUnauthorized) {
		return auth.Identity{}, errUnauthorized("your session has ended; sign in again")
	}
	return id, err
}

func (s *Server) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// Static files: the app's entry points only; everything else is a 404 that
// still carries the security headers.
var staticTypes = map[string]string{
	"/":            "text/html; charset=utf-8",
	"/app.js":      "text/javascript; charset=utf-8",
	"/app.css":     "text/css; charset=utf-8",
	"/favicon.svg": "image/svg+xml",
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	ctype, ok := staticTypes[r.URL.Path]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "not found")
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(s.Static, name)
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "the browser app is not built into this binary; run `make build`")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

// health tells anyone that the daemon answers, and nothing else: the
// version and the Asterisk link are on the loopback metrics listener
// (MetricsHandler), for the box's own monitoring.
func (s *Server) health(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// healthDetails is /api/health on the metrics listener.
func (s *Server) healthDetails(w http.ResponseWriter) {
	ari := "disconnected"
	if s.ARIConnected() {
		ari = "connected"
	}
	info := buildinfo.Get()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": info.Version, "commit": info.Commit, "ari": ari})
}

func (s *Server) rtcConfig(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var servers []ICEServer
	if s.ICEServers != nil {
		servers = s.ICEServers()
	}
	writeJSON(w, http.StatusOK, map[string]any{"iceServers": nonNil(servers)})
	return nil
}
