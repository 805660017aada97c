// Package daemon assembles the running appliance from its packages: store,
// ARI client, media engine, call engine, auth and the HTTP API, plus the
// control socket and systemd notifications. `llamenos serve` and
// `llamenos demo` both run it; main stays thin.
package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"llamenos/api"
	"llamenos/ari"
	"llamenos/auth"
	"llamenos/bans"
	"llamenos/buildinfo"
	"llamenos/callstats"
	"llamenos/config"
	"llamenos/control"
	"llamenos/hotline"
	"llamenos/people"
	"llamenos/pipeline"
	"llamenos/prompts"
	"llamenos/records"
	"llamenos/retention"
	"llamenos/rtc"
	"llamenos/sdnotify"
	"llamenos/settings"
	"llamenos/store"
	"llamenos/transcribe"
)

// mediaLostAfter is how long the relay hears nothing from a volunteer's
// browser before it reports the connection disconnected, which puts the
// caller on hold (hotline). A live browser sends 50 packets a second, so 2 s
// of nothing is a lost connection, and the caller is not left in silence
// for Pion's default 5 s.
const mediaLostAfter = 2 * time.Second

// Options are what differs between `serve` and `demo`.
type Options struct {
	Log    *slog.Logger
	Static fs.FS
	// Demo, when set, adds the demo routes.
	Demo api.Demo
	// LoopbackMedia offers 127.0.0.1 ICE candidates (browser on the same box).
	LoopbackMedia bool
	// OnSetupURL receives the one-time admin setup link when no admin exists
	// yet, to show it; without it the link is logged.
	OnSetupURL func(url string)
	// Listener, when set, is used instead of listening on cfg.Server.Listen.
	Listener net.Listener
	// MetricsListener, when set, is used instead of listening on
	// cfg.Server.MetricsListen.
	MetricsListener net.Listener
	// Ready is called once everything listens.
	Ready func()
	// LoginsPerMinute overrides the per-address sign-in limit (api.Deps).
	LoginsPerMinute int
	// StallLimit overrides how long the call engine's loops may stand still
	// before the watchdog stops (hotline.Config.StallLimit).
	StallLimit time.Duration
	// Transcriber transcribes voicemails and calls; nil: this build or
	// configuration has none, and voicemails keep their sealed audio only.
	Transcriber transcribe.Transcriber
	// AudioMemory bounds the audio transcription jobs hold in memory before
	// it spills to an encrypted temporary file (pipeline.Runner.MemoryLimit);
	// zero: the default.
	AudioMemory int64
}

// Run runs the appliance until ctx ends or a part fails.
func Run(ctx context.Context, cfg config.Config, opt Options) error {
	log := opt.Log
	info := buildinfo.Get()
	log.Info("starting llamenos", "version", info.Version, "commit", info.Commit, "go", info.GoVersion)

	if err := privateDir(cfg.Data.Dir); err != nil {
		return err
	}
	if cfg.Data.CallerKeyFile == "" {
		return errors.New("data.caller_key_file: must be set (the key of caller-number hashes lives outside the data directory)")
	}
	st, err := store.Open(ctx, filepath.Join(cfg.Data.Dir, store.DefaultFileName), store.Options{Logger: log, KeyFile: cfg.Data.CallerKeyFile})
	if err != nil {
		return err
	}
	defer st.Close()
	if head, err := st.VerifyAudit(ctx); err != nil {
		log.Error("audit log does not verify; investigate before trusting it", "err", err)
	} else {
		// Logged so an anchor of the chain exists outside the database (journald).
		log.Info("audit log verified", "head", head.String())
	}

	// Transcription runs only on a model that verifies; without one, or in
	// a build without whisper.cpp, voicemail keeps its sealed audio and the
	// log, the admin dashboard and `llamenos check` say why.
	// Each job runs in this binary re-executed as `llamenos transcribe-worker`.
	// Options.Transcriber (the demo's and the tests' stand-in) takes the
	// worker's place.
	transcriber, transcription := opt.Transcriber, transcribe.Status{Available: true, Built: transcribe.Built, Model: "a stand-in transcriber for tests"}
	if transcriber == nil {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this binary for transcription workers: %w", err)
		}
		transcriber, transcription = transcribe.Start(transcribe.Setup{
			DataDir: cfg.Data.Dir, Model: cfg.Transcription.Model, Threads: cfg.Transcription.Threads,
			Command: []string{exe, "transcribe-worker"}, Log: log.With("component", "transcribe"),
		})
	}

	ariClient, err := ari.New(ari.Config{
		URL: cfg.Asterisk.ARIURL, Username: cfg.Asterisk.ARIUser, Password: cfg.Asterisk.ARIPassword,
		App: cfg.Asterisk.App, Logger: log, // the client names itself in its log lines
	})
	if err != nil {
		return err
	}
	defer ariClient.Close()

	var ice []rtc.ICEServer
	for _, u := range cfg.RTC.STUNURLs {
		ice = append(ice, rtc.ICEServer{URLs: []string{u}})
	}
	if len(cfg.RTC.TURNURLs) > 0 {
		ice = append(ice, rtc.ICEServer{URLs: cfg.RTC.TURNURLs, Username: cfg.RTC.TURNUsername, Credential: cfg.RTC.TURNPassword})
	}
	media, err := rtc.NewEngine(rtc.Config{
		MediaHost: cfg.Asterisk.MediaHost, UDPPort: cfg.RTC.UDPPort, TCPPort: cfg.RTC.TCPPort,
		PublicIPs: cfg.RTC.PublicIPs, ICEServers: ice, TURNSecret: cfg.RTC.TURNSecret, IncludeLoopback: opt.LoopbackMedia,
		Interfaces: cfg.RTC.Interfaces, IPs: cfg.RTC.IPs,
		DisconnectedTimeout: mediaLostAfter,
		Logger:              log.With("component", "rtc"),
	})
	if err != nil {
		return err
	}
	defer media.Close()

	saved, err := store.Read(ctx, st, func(tx *store.Tx) (store.Settings, error) { return tx.Settings() })
	if err != nil {
		return err
	}
	authSvc, err := auth.NewService(st, cfg.Server.PublicURL, saved.HotlineName, time.Now, log.With("component", "auth"))
	if err != nil {
		return err
	}
	// Each part is built once, in dependency order: the hub first (the
	// engine's notifier), then the engine, the domain services over the
	// store, and last the server that fronts them.
	hub := api.NewHub(log.With("component", "api"))
	callMetrics := callstats.NewMetrics()
	// The spill folder is the daemon's own: Run deletes what a crash left.
	pipe := &pipeline.Runner{
		Store: st, Transcriber: transcriber, Rand: rand.Reader, Log: log,
		MemoryLimit: opt.AudioMemory, SpillDir: filepath.Join(cfg.Data.Dir, "spill"),
	}
	engine, err := hotline.New(hotline.Config{
		App: cfg.Asterisk.App, BrowserGrace: cfg.RTC.BrowserGrace,
		MOHClass: cfg.Trunk.MusicOnHoldClass, StallLimit: opt.StallLimit,
		MaxCalls: cfg.Limits.MaxCalls,
	}, hotline.Deps{
		ARI: ariClient, RTC: media, Store: st, Notify: hub, Reach: hub,
		Log: log, Now: time.Now, Rand: rand.Reader, Recorded: callMetrics.Observe, Pipeline: pipe,
		Relayed: func(st rtc.Stats) { callMetrics.ObserveAudio(audioCounts(st)) },
	})
	if err != nil {
		return err
	}
	browserICE := func() []api.ICEServer {
		var out []api.ICEServer
		for _, s := range media.ICEServers() {
			out = append(out, api.ICEServer(s))
		}
		return out
	}
	srv, err := api.New(api.Deps{
		Auth:     authSvc,
		People:   &people.Service{Store: st, Engine: engine, Now: time.Now},
		Records:  &records.Service{Store: st, Transcribes: pipe.Transcribes()},
		Bans:     &bans.Service{Store: st},
		Settings: &settings.Service{Store: st, Engine: engine},
		Prompts:  &prompts.Service{Dir: cfg.Asterisk.SoundsDir, Store: st, Log: log.With("component", "prompts")},
		Audit:    st,
		Calls:    engine,
		Hub:      hub,
		Static:   opt.Static, PublicURL: cfg.Server.PublicURL,
		Log: log.With("component", "api"), Now: time.Now, ARIConnected: ariClient.Connected,
		Stats: &callstats.Service{Store: st, VoicemailTaken: hotline.TakesVoicemail}, CallMetrics: callMetrics,
		ICEServers: browserICE, Demo: opt.Demo, LoginsPerMinute: opt.LoginsPerMinute,
		MaxSocketsPerAccount: cfg.Limits.MaxSocketsPerAccount, MaxSockets: cfg.Limits.MaxSockets,
		CallsRefused:  engine.CallsRefused,
		Transcription: transcription,
	})
	if err != nil {
		return err
	}

	ln := opt.Listener
	if ln == nil {
		if ln, err = api.Listen(cfg.Server, cfg.Data.Dir); err != nil {
			return err
		}
	}
	need, err := authSvc.NeedsSetup(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	if need {
		tok, err := authSvc.NewSetupToken()
		if err != nil {
			ln.Close()
			return err
		}
		url := cfg.Server.PublicURL + "/#/setup/" + tok
		// The one-time setup link is printed once: by the caller when it
		// shows it itself (the demo), else to the log.
		if opt.OnSetupURL != nil {
			opt.OnSetupURL(url)
		} else {
			log.Warn("no admin yet: open this one-time link in a browser to create the first admin", "url", url)
		}
	}

	// The control socket listens before Ready: `llamenos backup`, run as
	// soon as the daemon says it is up, finds it.
	ctlLn, err := control.Listen(control.SocketPath(cfg.Data.Dir))
	if err != nil {
		ln.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	part := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
			cancel() // one part ending ends the daemon: systemd restarts it
		}()
	}
	part("ari", ariClient.Run)
	part("hotline", engine.Run)
	part("pipeline", pipe.Run)
	purger := &retention.Purger{Store: st, Log: log.With("component", "retention")}
	part("retention", purger.Run)
	httpDone := make(chan struct{})
	part("http", func(ctx context.Context) error {
		defer close(httpDone)
		return srv.Serve(ctx, ln)
	})
	if cfg.Server.MetricsListen != "" || opt.MetricsListener != nil {
		part("metrics", func(ctx context.Context) error {
			return serveMetrics(ctx, opt.MetricsListener, cfg.Server.MetricsListen, srv.MetricsHandler())
		})
	}
	part("control", func(ctx context.Context) error {
		return control.ServeListener(ctx, ctlLn, st, log.With("component", "control"))
	})

	notify := sdnotify.FromEnv(os.Getenv)
	// The store read must return within a quarter of the watchdog interval,
	// so a check that waits for it still pings in time.
	h := &health{httpDone: httpDone, engine: engine, ari: ariClient.Connected, store: &probe{
		read: func(ctx context.Context) error {
			_, err := store.Read(ctx, st, func(tx *store.Tx) (store.Settings, error) { return tx.Settings() })
			return err
		},
		timeout: notify.WatchdogInterval() / 4, wg: &wg,
	}}
	_ = notify.Notify("READY=1\nSTATUS=" + h.status())
	wg.Add(1)
	go func() {
		defer wg.Done()
		notify.Watchdog(ctx, log.With("component", "watchdog"), h.check)
	}()
	log.Info("listening", "url", cfg.Server.PublicURL, "addr", ln.Addr().String())
	if opt.Ready != nil {
		opt.Ready()
	}

	<-ctx.Done()
	_ = notify.Notify("STOPPING=1")
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	log.Info("stopped")
	return errors.Join(all...)
}

// serveMetrics serves Prometheus metrics and the detailed health check on
// ln, or on a loopback address, until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, addr string, h http.Handler) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// audioCounts is the part of a relay's counters the metrics export.
func audioCounts(st rtc.Stats) callstats.Audio {
	return callstats.Audio{
		FromCaller: st.FromAsterisk.Packets, ToVolunteer: st.ToBrowser.Packets,
		FromVolunteer: st.FromBrowser.Packets, ToCaller: st.ToAsterisk.Packets,
		PlayoutDropped: st.PacerDropped, PlayoutSkipped: st.PacerSkipped,
	}
}
