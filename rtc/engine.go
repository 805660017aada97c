// Package rtc is the media bridge between Asterisk and a volunteer's
// browser: one loopback UDP socket per call carries the externalMedia RTP
// (µ-law, PT 0), and one Pion PeerConnection carries the same audio to and
// from the browser. The payload passes through untouched; the relay only
// rewrites RTP headers so each side sees one continuous stream, paces the
// browser's bursts towards Asterisk, and offers read-only taps of both
// directions for transcription and voicemail.
//
// Life of a call, as the call engine drives it:
//
//	r, _ := engine.NewRelay(callID)
//	addr := r.LocalAddr()        // external_host for POST /channels/externalMedia
//	r.SetRemote(asteriskAddr)    // UNICASTRTP_LOCAL_ADDRESS:PORT from channelvars
//	r.OnLocalCandidate(send); r.OnState(watch)
//	answer, _ := r.HandleOffer(ctx, offer)   // the browser is the offerer
//	r.AddICECandidate(fromBrowser)           // trickle ICE
//	tap := r.Tap(256)                        // optional: recording, voicemail
//	r.Close()
package rtc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// ICEServer is a STUN or TURN server, in the shape of the browser's
// RTCIceServer so it can be sent to the UI as JSON unchanged.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Config is the engine's part of the daemon configuration.
type Config struct {
	// MediaHost is the IP the per-call externalMedia sockets bind to and
	// the host part of external_host. Default 127.0.0.1: Asterisk runs on
	// the same box and the voice never leaves it on that leg.
	MediaHost string

	// UDPPort, when non-zero, serves every PeerConnection on this one UDP
	// port (ICE UDP mux), so the firewall needs one rule. Zero uses an
	// ephemeral port per call.
	UDPPort int
	// TCPPort, when non-zero, also offers ICE-TCP (passive) on this port
	// for volunteers whose network blocks UDP.
	TCPPort int
	// PublicIPs are added as host candidates for a box behind 1:1 NAT
	// (cloud elastic IPs). The private addresses stay advertised too, so
	// volunteers on the same LAN do not depend on NAT hairpinning.
	PublicIPs []string
	// ICEServers are the STUN/TURN servers, used by the browser (see
	// Engine.ICEServers) and by Pion alike.
	ICEServers []ICEServer
	// TURNSecret, when set, is the TURN server's shared secret: TURN
	// servers listed without a username get fresh time-limited
	// credentials for every call (see mintTURN).
	TURNSecret string

	// IncludeLoopback gathers 127.0.0.1 candidates: for tests and the demo,
	// where browser and daemon share a machine.
	IncludeLoopback bool
	// Interfaces, when set, restricts candidates to these interface names;
	// otherwise every interface but container and VM bridges is offered.
	Interfaces []string
	// IPs, when set, restricts candidates to these local addresses. The UDP
	// mux binds each of them; the ICE-TCP listener binds the first.
	IPs []string

	// ICE liveness: how long without traffic before the PeerConnection is
	// reported disconnected, then failed, and how often keepalives go out.
	// Zero keeps Pion's defaults (5 s, 25 s, 2 s).
	DisconnectedTimeout time.Duration
	FailedTimeout       time.Duration
	KeepaliveInterval   time.Duration

	// Logger receives the engine's and Pion's messages. Default slog.Default().
	Logger *slog.Logger

	// interceptors selects Pion's RTP/RTCP processing; the benchmark
	// compares the sets.
	interceptors interceptorSet
}

// interceptorSet is a choice of Pion interceptors.
type interceptorSet int

const (
	// interceptorsReports registers RTCP sender reports only. It is the
	// engine's choice: Pion's other defaults do nothing useful for one
	// fixed-rate 64 kbit/s G.711 stream. NACK is negotiated for video
	// only; TWCC feedback drives bandwidth estimation, and PCMU has no
	// bitrate to adapt; the stats interceptor feeds GetStats, which the
	// daemon does not call, at two allocations per packet. Dropping them
	// saves 10-25 % of the relay's CPU per call (BenchmarkBridgedCalls
	// with -rtc.interceptors=default|reports) and two 100 ms tickers per
	// call, and keeps the transport-cc extension out of the answer, so the
	// browser does not stamp it and expect feedback.
	//
	// Receiver reports are left out too. Pion's receiver-report
	// interceptor parses the header of every packet from the browser into
	// a new attribute map and header: 60 % of all the daemon's allocation
	// over 30 s with 200 calls bridged. It does so on the goroutine that
	// carries the volunteer's voice, and Go has the goroutines that
	// allocate during a collection do part of its marking (half of it,
	// there), so collections held that audio up: in a 10-minute soak at
	// 200 calls the playout buffer had to drop packets 15 times, each time
	// its 1.1 s grace after a collection's mark phase. Without receiver
	// reports the same soak had 2 such drops. The browser would use the
	// reports for its statistics (loss and jitter as the server saw them)
	// and for a round-trip time that nothing adapts to with PCMU; the
	// relay's own counters (audio.* in each call's log line, and the
	// llamenos_audio_packets_total metric) tell a sysadmin about loss.
	interceptorsReports interceptorSet = iota
	// interceptorsDefault is webrtc.RegisterDefaultInterceptors, for
	// comparison.
	interceptorsDefault
)

// Engine owns what all calls share: the Pion API (PCMU only), the ICE
// sockets when muxed, and the STUN/TURN list. One per daemon.
type Engine struct {
	cfg        Config
	log        *slog.Logger
	api        *webrtc.API
	pcConfig   webrtc.Configuration
	mediaHost  netip.Addr
	iceServers []ICEServer

	udpMux      *ice.MultiUDPMuxDefault
	tcpMux      *ice.TCPMuxDefault
	tcpListener net.Listener

	mu     sync.Mutex
	relays map[*Relay]struct{}
	closed bool
}

// ErrEngineClosed is returned by NewRelay after Close.
var ErrEngineClosed = errors.New("rtc: engine closed")

// pcmuCodec is the only codec the engine offers or accepts.
var pcmuCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: clockRate},
	PayloadType:        payloadTypePCMU,
}

// NewEngine validates cfg, opens the shared ICE sockets if configured and
// builds the Pion API.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MediaHost == "" {
		cfg.MediaHost = "127.0.0.1"
	}
	e := &Engine{cfg: cfg, log: cfg.Logger.With("pkg", "rtc"), relays: map[*Relay]struct{}{}}
	if err := e.validate(); err != nil {
		return nil, err
	}

	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(pcmuCodec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtc: register PCMU: %w", err)
	}
	ir := &interceptor.Registry{}
	var err error
	if cfg.interceptors == interceptorsDefault {
		err = webrtc.RegisterDefaultInterceptors(me, ir)
	} else {
		var sender *report.SenderInterceptorFactory
		if sender, err = report.NewSenderInterceptor(); err == nil {
			ir.Add(sender)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("rtc: register interceptors: %w", err)
	}

	se, err := e.settingEngine()
	if err != nil {
		e.closeMuxes()
		return nil, err
	}
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return e, nil
}

func (e *Engine) validate() error {
	ip, err := netip.ParseAddr(e.cfg.MediaHost)
	if err != nil {
		return fmt.Errorf("rtc: media host %q is not an IP address", e.cfg.MediaHost)
	}
	e.mediaHost = ip.Unmap()
	for _, p := range []struct {
		name string
		v    int
	}{{"udp_port", e.cfg.UDPPort}, {"tcp_port", e.cfg.TCPPort}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("rtc: %s %d is outside 0-65535", p.name, p.v)
		}
	}
	for _, s := range e.cfg.PublicIPs {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("rtc: public IP %q is not an IP address", s)
		}
	}
	for _, s := range e.cfg.IPs {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("rtc: candidate IP %q is not an IP address", s)
		}
	}
	for _, s := range e.cfg.ICEServers {
		if len(s.URLs) == 0 {
			return errors.New("rtc: an ICE server has no URL")
		}
		for _, u := range s.URLs {
			uri, err := stun.ParseURI(u)
			if err != nil {
				return fmt.Errorf("rtc: ICE server URL %q: %w", u, err)
			}
			turn := uri.Scheme == stun.SchemeTypeTURN || uri.Scheme == stun.SchemeTypeTURNS
			if turn && (s.Username == "" || s.Credential == "") && (e.cfg.TURNSecret == "" || s.Username != "" || s.Credential != "") {
				return fmt.Errorf("rtc: TURN server %q needs a username and a credential, or the shared secret alone", u)
			}
		}
		e.iceServers = append(e.iceServers, ICEServer{URLs: slices.Clone(s.URLs), Username: s.Username, Credential: s.Credential})
	}
	for _, d := range []time.Duration{e.cfg.DisconnectedTimeout, e.cfg.FailedTimeout, e.cfg.KeepaliveInterval} {
		if d < 0 {
			return errors.New("rtc: ICE timeouts must not be negative")
		}
	}
	return nil
}

// settingEngine turns the configuration into Pion settings, opening the
// mux sockets on the way.
func (e *Engine) settingEngine() (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLoggerFactory{log: e.log}
	// The browser's mDNS host names only resolve on its own LAN, and its
	// connectivity checks reveal its address anyway (peer-reflexive), so
	// the per-call multicast socket mDNS needs buys nothing on a server.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(e.cfg.IncludeLoopback)

	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if e.cfg.TCPPort != 0 {
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)

	// Without a list, container and VM bridges are left out: volunteers
	// cannot reach them, and they would only tell every browser how the
	// box is laid out inside.
	ifFilter := offerInterface
	if len(e.cfg.Interfaces) > 0 {
		names := slices.Clone(e.cfg.Interfaces)
		ifFilter = func(name string) bool { return slices.Contains(names, name) }
	}
	se.SetInterfaceFilter(ifFilter)
	var ipFilter func(net.IP) bool
	if len(e.cfg.IPs) > 0 {
		var allowed []netip.Addr
		for _, s := range e.cfg.IPs {
			allowed = append(allowed, netip.MustParseAddr(s).Unmap())
		}
		ipFilter = func(ip net.IP) bool {
			a, ok := netip.AddrFromSlice(ip)
			return ok && slices.Contains(allowed, a.Unmap())
		}
		se.SetIPFilter(ipFilter)
	}

	if len(e.cfg.PublicIPs) > 0 {
		rule := webrtc.ICEAddressRewriteRule{
			External:        slices.Clone(e.cfg.PublicIPs),
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
		}
		if err := se.SetICEAddressRewriteRules(rule); err != nil {
			return se, fmt.Errorf("rtc: public IPs: %w", err)
		}
	}

	if e.cfg.DisconnectedTimeout != 0 || e.cfg.FailedTimeout != 0 || e.cfg.KeepaliveInterval != 0 {
		se.SetICETimeouts(
			cmp.Or(e.cfg.DisconnectedTimeout, 5*time.Second),
			cmp.Or(e.cfg.FailedTimeout, 25*time.Second),
			cmp.Or(e.cfg.KeepaliveInterval, 2*time.Second),
		)
	}

	pionLog := pionLoggerFactory{log: e.log}.NewLogger("ice")
	if e.cfg.UDPPort != 0 {
		opts := []ice.UDPMuxFromPortOption{
			ice.UDPMuxFromPortWithLogger(pionLog),
			ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
			// Every call's media shares this socket; a deep kernel buffer
			// absorbs scheduling hiccups instead of dropping audio.
			ice.UDPMuxFromPortWithReadBufferSize(4 << 20),
			ice.UDPMuxFromPortWithWriteBufferSize(4 << 20),
		}
		opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(ifFilter))
		if ipFilter != nil {
			opts = append(opts, ice.UDPMuxFromPortWithIPFilter(ipFilter))
		}
		if e.cfg.IncludeLoopback {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback())
		}
		mux, err := ice.NewMultiUDPMuxFromPort(e.cfg.UDPPort, opts...)
		if err != nil {
			return se, fmt.Errorf("rtc: listen on udp port %d: %w", e.cfg.UDPPort, err)
		}
		e.udpMux = mux
		if len(mux.GetListenAddresses()) == 0 {
			return se, fmt.Errorf("rtc: udp port %d: no local address left to listen on (check interfaces and IPs)", e.cfg.UDPPort)
		}
		se.SetICEUDPMux(mux)
	}
	if e.cfg.TCPPort != 0 {
		host := ""
		if len(e.cfg.IPs) > 0 {
			host = e.cfg.IPs[0]
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(e.cfg.TCPPort)))
		if err != nil {
			return se, fmt.Errorf("rtc: listen on tcp port %d: %w", e.cfg.TCPPort, err)
		}
		e.tcpListener = ln
		e.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:        ln,
			Logger:          pionLog,
			ReadBufferSize:  64,
			WriteBufferSize: 4 << 20,
		})
		se.SetICETCPMux(e.tcpMux)
	}
	return se, nil
}

// ICEServers is the STUN/TURN list to hand to the browser's
// RTCPeerConnection, minted afresh on every call. It includes TURN
// credentials, so send it to authenticated volunteers only.
func (e *Engine) ICEServers() []ICEServer { return e.servers(time.Now()) }

// peerConfig is one PeerConnection's configuration, with fresh TURN
// credentials when they come from the shared secret.
func (e *Engine) peerConfig() webrtc.Configuration {
	c := e.pcConfig
	c.ICEServers = nil
	for _, s := range e.servers(time.Now()) {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return c
}

// Close closes every relay still open and releases the shared sockets.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	relays := make([]*Relay, 0, len(e.relays))
	for r := range e.relays {
		relays = append(relays, r)
	}
	e.mu.Unlock()
	for _, r := range relays {
		r.Close()
	}
	return e.closeMuxes()
}

func (e *Engine) closeMuxes() error {
	var errs []error
	if e.udpMux != nil {
		errs = append(errs, e.udpMux.Close())
	}
	if e.tcpMux != nil {
		// TCPMuxDefault.Close closes the listener too.
		errs = append(errs, e.tcpMux.Close())
	} else if e.tcpListener != nil {
		errs = append(errs, e.tcpListener.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rtc: close ICE sockets: %w", err)
	}
	return nil
}

func (e *Engine) track(r *Relay) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrEngineClosed
	}
	e.relays[r] = struct{}{}
	return nil
}

func (e *Engine) forget(r *Relay) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.relays, r)
}

// pionLoggerFactory routes Pion's logging into slog, one level down: Pion
// warns about routine teardown races ("stream is already closed") and
// reports per-connection events as errors that are the browser's problem,
// not the daemon's. Its trace, debug and info lines are dropped: they are
// its internals (struct dumps, every state change, which the relay logs
// itself) and some carry secrets, such as the ICE password of a call.
type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, args...))
}

func (pionLogger) Trace(string)                        {}
func (pionLogger) Tracef(string, ...any)               {}
func (pionLogger) Debug(string)                        {}
func (pionLogger) Debugf(string, ...any)               {}
func (pionLogger) Info(string)                         {}
func (pionLogger) Infof(string, ...any)                {}
func (l pionLogger) Warn(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }

// bridgePrefixes name the interfaces that container and VM tools create
// on a host: Docker, Podman, LXC/LXD, libvirt, Kubernetes CNIs.
var bridgePrefixes = []string{"docker", "br-", "veth", "virbr", "vnet", "lxcbr", "lxdbr", "podman", "cni", "flannel", "cali", "weave", "kube"}

// offerInterface is the default interface filter: everything but bridges.
func offerInterface(name string) bool {
	for _, p := range bridgePrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}
