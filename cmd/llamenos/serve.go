package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	_ "time/tzdata" // shift time zones work on hosts without /usr/share/zoneinfo

	"llamenos/ari/aritest"
	"llamenos/config"
	"llamenos/daemon"
	"llamenos/demo"
	"llamenos/ui"
)

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	cfgPath := fs.String("config", "", "configuration file (TOML); LLAMENOS_* variables override it")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("%w: --config FILE is required (see README: Install on a real box)", errUsage)
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	if !ui.Built() {
		log.Warn("this binary has no browser app built in; build it with `make build`")
	}
	return daemon.Run(ctx, cfg, daemon.Options{Log: log, Static: ui.FS()})
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address for the browser app (loopback)")
	dataDir := fs.String("data", "", "data directory (default: a temporary one, deleted on exit)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	tempData := *dataDir == ""
	if tempData {
		dir, err := os.MkdirTemp("", "llamenos-demo-")
		if err != nil {
			ln.Close()
			return err
		}
		defer os.RemoveAll(dir)
		*dataDir = dir
	}
	// The caller key lives outside the data directory, as in a real
	// install: beside a data directory given with --data, else in a
	// temporary directory thrown away with the temporary data.
	keyFile := filepath.Clean(*dataDir) + "." + config.CallerKeyName
	if tempData {
		keyDir, err := os.MkdirTemp("", "llamenos-demo-key-")
		if err != nil {
			ln.Close()
			return err
		}
		defer os.RemoveAll(keyDir)
		keyFile = filepath.Join(keyDir, config.CallerKeyName)
	}
	cfg := config.Default()
	cfg.Data.CallerKeyFile = keyFile
	cfg.Log.Level = "debug"
	cfg.Server.Listen = ln.Addr().String()
	cfg.Server.PublicURL = fmt.Sprintf("http://localhost:%d", port)
	cfg.Data.Dir = *dataDir
	cfg.Server.MetricsListen = "" // several demos (and test runs) may share a machine
	if err := cfg.Validate(); err != nil {
		ln.Close()
		return err
	}
	log := newLogger(cfg.Log, stderr)
	sim, err := aritest.New(aritest.Options{Logger: log.With("component", "simulator"), LaxParams: true})
	if err != nil {
		ln.Close()
		return err
	}
	defer sim.Close()
	cfg.Asterisk.ARIURL = sim.URL()
	cfg.Asterisk.ARIUser, cfg.Asterisk.ARIPassword = sim.Username(), sim.Password()

	return daemon.Run(ctx, cfg, daemon.Options{
		Log: log, Static: ui.FS(), Demo: demo.New(sim, cfg.Asterisk.App), LoopbackMedia: true, Listener: ln,
		// Everyone (and every browser test) signs in from 127.0.0.1 here.
		LoginsPerMinute: 1200,
		OnSetupURL: func(url string) {
			fmt.Fprintf(stdout, "Llámenos demo: no admin yet. Open this one-time link to create one:\n  %s\n", url)
		},
		Ready: func() {
			fmt.Fprintln(stdout, strings.TrimSpace(fmt.Sprintf(`
Llámenos demo is running at %s (data in %s).
An embedded Asterisk simulator stands in for the phone line.
  1. Open the setup link above (first run) and create the admin.
  2. Admin > Invites: invite a volunteer; open the link in another browser profile.
  3. Both: set yourselves available. Admin: "Simulate an incoming call".
  4. Answer in the browser and listen. Ctrl-C stops the demo.`, cfg.Server.PublicURL, *dataDir)))
		},
	})
}
