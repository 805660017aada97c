package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"llamenos/config"
)

// Listen opens the browser-facing listener: TLS from certificate files or
// ACME (TLS-ALPN-01 on this port, no port 80 needed), or plain HTTP, which
// config.Validate allows only on loopback. Connections are capped per
// address and in total.
func Listen(c config.Server, dataDir string) (net.Listener, error) {
	raw, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("api: listen %s: %w", c.Listen, err)
	}
	// Capped below TLS, so a refused connection costs no handshake and
	// net/http still sees the TLS connections it serves.
	ln := limitConns(raw, maxConnsPerAddr, maxConns)
	switch {
	case c.TLSCertFile != "":
		kp := &keyPair{cert: c.TLSCertFile, key: c.TLSKeyFile}
		if _, err := kp.get(nil); err != nil {
			ln.Close()
			return nil, err
		}
		return tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.get}), nil
	case len(c.ACMEDomains) > 0:
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(c.ACMEDomains...),
			Cache:      autocert.DirCache(filepath.Join(dataDir, "acme")),
			Email:      c.ACMEEmail,
		}
		cfg := m.TLSConfig()
		cfg.MinVersion = tls.VersionTLS12
		return tls.NewListener(ln, cfg), nil
	default:
		return ln, nil
	}
}

// keyPair serves a certificate from files and reloads it when the files
// change, so a renewal by certbot needs no restart.
type keyPair struct {
	cert, key string
	mu        sync.Mutex
	loaded    *tls.Certificate
	modTime   time.Time
	checked   time.Time
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded != nil && time.Since(k.checked) < time.Minute {
		return k.loaded, nil
	}
	k.checked = time.Now()
	st, err := os.Stat(k.cert)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		return nil, fmt.Errorf("api: tls certificate: %w", err)
	}
	if k.loaded != nil && st.ModTime().Equal(k.modTime) {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil // keep serving the old one until the pair is consistent
		}
		return nil, fmt.Errorf("api: tls certificate: %w", err)
	}
	k.loaded, k.modTime = &c, st.ModTime()
	return k.loaded, nil
}

// Serve answers requests on ln until ctx ends, then closes every WebSocket
// and drains requests for up to five seconds. If the listener fails first,
// Serve closes what is open and returns the failure at once: the daemon must
// not run on without HTTP.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		s.refreshLoop(loopCtx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopLoop()
		s.Hub.closeAll()
		_ = srv.Close()
		<-loopDone
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	s.Hub.closeAll()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-loopDone
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", err)
	}
	return err
}
