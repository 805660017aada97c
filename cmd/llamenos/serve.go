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
	"llamenos/control"
	"llamenos/daemon"
	"llamenos/demo"
	"llamenos/sounds"
	"llamenos/transcribe"
	"llamenos/transcribe/transcribetest"
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
	loopbackMedia := fs.Bool("loopback-media", false, "also offer 127.0.0.1 ICE candidates (browsers on this machine: load tests)")
	debugListen := fs.String("debug-listen", "", "serve Go's profiles (/debug/pprof/) on this loopback host:port (load tests, profiling)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("%w: --config FILE is required (see README: Install on a real box)", errUsage)
	}
	if *debugListen != "" {
		if err := debugListenOK(*debugListen); err != nil {
			return err
		}
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	if !ui.Built() {
		log.Warn("this binary has no browser app built in; build it with `make build`")
	}
	if *debugListen != "" {
		stop, err := serveDebug(ctx, *debugListen, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return daemon.Run(ctx, cfg, daemon.Options{Log: log, Static: ui.FS(), LoopbackMedia: *loopbackMedia})
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "loopback address and port for the browser app (open it as http://localhost:PORT)")
	dataDir := fs.String("data", "", "data directory (default: a temporary one, deleted on exit)")
	verbose := fs.Bool("v", false, "log at debug level (default: info)")
	testTranscriber := fs.Bool("test-transcriber", false, "for the browser tests: transcribe with the test transcriber, which hears tones (\"600 Hz\"), not speech, and keep no job audio in memory, so every job goes through the encrypted spill file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: llamenos demo [--listen 127.0.0.1:PORT] [--data DIR] [-v] [--test-transcriber]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs the whole product on this machine, an embedded Asterisk simulator standing in")
		fmt.Fprintln(stderr, "for the phone line. It serves plain HTTP to browsers on this machine only.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := demoListenOK(*listen); err != nil {
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
	if *verbose {
		cfg.Log.Level = "debug"
	}
	cfg.Server.Listen = ln.Addr().String()
	// Passkeys need a name, not an IP, and the browser signs the origin it
	// shows: localhost is the one address the demo answers to.
	cfg.Server.PublicURL = fmt.Sprintf("http://localhost:%d", port)
	cfg.Data.Dir = *dataDir
	cfg.Server.MetricsListen = "" // several demos (and test runs) may share a machine
	// The demo's own sounds directory, so admins can try replacing prompts.
	cfg.Asterisk.SoundsDir = filepath.Join(*dataDir, "sounds")
	if _, err := sounds.Install(cfg.Asterisk.SoundsDir, 0o700, 0o600, false); err != nil {
		ln.Close()
		return err
	}
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

	// `llamenos backup FILE` run while the demo runs finds it through this.
	if withdraw, err := control.Announce(cfg.Data.Dir); err != nil {
		log.Warn("`llamenos backup` will need --data to find this demo", "err", err)
	} else {
		defer withdraw()
	}
	var setupURL string
	var tr transcribe.Transcriber
	var audioMemory int64
	if *testTranscriber {
		tr, audioMemory = &transcribetest.Transcriber{}, 1
	}
	return daemon.Run(ctx, cfg, daemon.Options{
		Transcriber: tr, AudioMemory: audioMemory,
		Log: log, Static: ui.FS(), Demo: demo.New(sim, cfg.Asterisk.App), LoopbackMedia: true, Listener: ln,
		// Everyone (and every browser test) signs in from 127.0.0.1 here.
		LoginsPerMinute: 1200,
		OnSetupURL:      func(url string) { setupURL = url },
		Ready: func() {
			fmt.Fprint(stdout, demoBanner(cfg.Server.PublicURL, setupURL, *dataDir, *verbose))
		},
	})
}

// demoListenOK refuses a --listen address that is not on loopback: the demo
// serves plain HTTP, which browsers trust (passkeys, the microphone) only
// on this machine, and it has no TLS settings.
func demoListenOK(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: --listen %q: want 127.0.0.1:PORT", errUsage, addr)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("%w: --listen %s: the demo listens on this machine only (127.0.0.1:%s, then open http://localhost:%s); "+
		"it serves plain HTTP, which browsers accept for passkeys and the microphone only on localhost. "+
		"To answer other machines, install the daemon with TLS (llamenos serve, docs/operations.md)", errUsage, addr, port, port)
}

// demoBanner is what the demo prints once it listens: the one address to
// open, the setup link on a first run, where the data is, and what to try.
func demoBanner(publicURL, setupURL, dataDir string, verbose bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nLlámenos demo is running. Open it in a browser on this machine at exactly:\n\n")
	if setupURL != "" {
		fmt.Fprintf(&b, "  %s\n\n", setupURL)
		fmt.Fprintf(&b, "That one-time link creates the admin (first run). Afterwards: %s\n", publicURL)
	} else {
		fmt.Fprintf(&b, "  %s\n\n", publicURL)
	}
	fmt.Fprintf(&b, "Use %s, not 127.0.0.1 or another name: sign-in and passkeys are bound to it.\n", strings.TrimPrefix(publicURL, "http://"))
	self := "llamenos"
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") && !strings.HasSuffix(os.Args[0], ".test") {
		self = os.Args[0] // bin/llamenos, as `make demo` runs it
	}
	fmt.Fprintf(&b, "Data: %s (`%s backup FILE` finds it while the demo runs).\n", dataDir, self)
	fmt.Fprintln(&b, "An embedded Asterisk simulator stands in for the phone line.")
	fmt.Fprintln(&b, "  1. Open the link above and create the admin.")
	fmt.Fprintln(&b, "  2. Admin > Invites: invite a volunteer; open the link in another browser profile.")
	fmt.Fprintln(&b, "  3. Both: set yourselves available. Admin: \"Simulate an incoming call\".")
	fmt.Fprintln(&b, "  4. Answer in the browser and listen.")
	if verbose {
		fmt.Fprintln(&b, "Logging at debug level. Ctrl-C stops the demo.")
	} else {
		fmt.Fprintln(&b, "Logging at info level (-v for debug). Ctrl-C stops the demo.")
	}
	return b.String()
}
