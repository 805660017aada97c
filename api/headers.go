package api

import (
	"net/http"
	"net/url"
	"strings"
)

// securityHeaders returns the headers every response carries (HSTS, a strict
// CSP, no framing, no sniffing, no referrer, only the microphone), computed
// once from the public origin so the CSP can name the WebSocket URL.
func securityHeaders(publicURL string) http.Header {
	wsOrigin := "'self'"
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		scheme := "wss"
		if u.Scheme == "http" {
			scheme = "ws"
		}
		wsOrigin = scheme + "://" + u.Host
	}
	csp := strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"media-src 'self' blob:",
		"font-src 'self'",
		"connect-src 'self' " + wsOrigin,
		"worker-src 'self'",
		"manifest-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-src 'none'",
		"frame-ancestors 'none'",
	}, "; ")
	h := http.Header{}
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=(), payment=(), usb=(), serial=(), magnetometer=(), accelerometer=(), gyroscope=(), display-capture=()")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("X-Permitted-Cross-Domain-Policies", "none")
	return h
}

// withSecurityHeaders sets the headers before the handler runs, so they are
// present on every response it writes: API, static, 404, 500, refusals.
func withSecurityHeaders(h http.Header, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dst := w.Header()
		for k, v := range h {
			dst[k] = v
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			dst.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}
