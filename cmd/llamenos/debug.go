package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveDebug serves Go's runtime profiles on addr, which must be a loopback
// host:port: profiles show the process's insides and are for whoever runs
// it, never for the network. It returns once the address listens; stop
// shuts the server down.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) (stop func(), err error) {
	stop, _, err = serveDebugAddr(ctx, addr, log)
	return stop, err
}

// serveDebugAddr is serveDebug, also returning the address it listens on.
func serveDebugAddr(ctx context.Context, addr string, log *slog.Logger) (stop func(), bound string, err error) {
	if err := debugListenOK(addr); err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("debug: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug listener stopped", "err", err)
		}
	}()
	log.Info("serving profiles", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, ln.Addr().String(), nil
}

// debugListenOK refuses a --debug-listen address that is not on loopback.
func debugListenOK(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: --debug-listen %q: want 127.0.0.1:PORT", errUsage, addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: --debug-listen %s: profiles are served on loopback only", errUsage, addr)
	}
	return nil
}
