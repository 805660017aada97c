package aritest

import (
	"cmp"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"llamenos/ari"
	"llamenos/audio"
)

type handlerFunc func(req *request, args []string) response

type route struct {
	pattern []string // "*" matches one segment
	methods map[string]handlerFunc
}

// routes lists the ARI operations the simulator implements, literal paths
// before wildcard ones (channels/externalMedia before channels/{id}).
func (s *Server) routes() []route {
	return []route{
		{[]string{"asterisk", "ping"}, map[string]handlerFunc{"GET": s.asteriskPing}},
		{[]string{"asterisk", "info"}, map[string]handlerFunc{"GET": s.asteriskInfo}},
		{[]string{"applications"}, map[string]handlerFunc{"GET": s.listApplications}},
		{[]string{"applications", "*"}, map[string]handlerFunc{"GET": s.getApplication}},
		{[]string{"applications", "*", "subscription"}, map[string]handlerFunc{"POST": s.subscribe, "DELETE": s.unsubscribe}},
		{[]string{"channels"}, map[string]handlerFunc{"GET": s.listChannels}},
		{[]string{"channels", "externalMedia"}, map[string]handlerFunc{"POST": s.externalMedia}},
		{[]string{"channels", "*"}, map[string]handlerFunc{"GET": s.getChannel, "DELETE": s.hangup}},
		{[]string{"channels", "*", "answer"}, map[string]handlerFunc{"POST": s.answer}},
		{[]string{"channels", "*", "ring"}, map[string]handlerFunc{"POST": s.ring, "DELETE": s.ringStop}},
		{[]string{"channels", "*", "continue"}, map[string]handlerFunc{"POST": s.continueInDialplan}},
		{[]string{"channels", "*", "variable"}, map[string]handlerFunc{"GET": s.getVar, "POST": s.setVar}},
		{[]string{"channels", "*", "moh"}, map[string]handlerFunc{"POST": s.channelMOHStart, "DELETE": s.channelMOHStop}},
		{[]string{"channels", "*", "play"}, map[string]handlerFunc{"POST": s.channelPlay}},
		{[]string{"channels", "*", "play", "*"}, map[string]handlerFunc{"POST": s.channelPlay}},
		{[]string{"bridges"}, map[string]handlerFunc{"GET": s.listBridges, "POST": s.createBridge}},
		{[]string{"bridges", "*"}, map[string]handlerFunc{"GET": s.getBridge, "POST": s.createBridge, "DELETE": s.destroyBridge}},
		{[]string{"bridges", "*", "addChannel"}, map[string]handlerFunc{"POST": s.addChannel}},
		{[]string{"bridges", "*", "removeChannel"}, map[string]handlerFunc{"POST": s.removeChannel}},
		{[]string{"bridges", "*", "moh"}, map[string]handlerFunc{"POST": s.bridgeMOHStart, "DELETE": s.bridgeMOHStop}},
		{[]string{"bridges", "*", "play"}, map[string]handlerFunc{"POST": s.bridgePlay}},
		{[]string{"bridges", "*", "play", "*"}, map[string]handlerFunc{"POST": s.bridgePlay}},
		{[]string{"playbacks", "*"}, map[string]handlerFunc{"GET": s.getPlayback, "DELETE": s.stopPlayback}},
	}
}

func (s *Server) handle(req *request) response {
	for _, rt := range s.routes() {
		args, ok := matchRoute(rt.pattern, req.segs)
		if !ok {
			continue
		}
		h := rt.methods[req.method]
		if h == nil {
			return fail(errf(http.StatusMethodNotAllowed, "Invalid method"))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return fail(errf(http.StatusServiceUnavailable, "Shutting down"))
		}
		// A request sees what is due before it, as Asterisk would: a
		// playback started just after its request, a key pressed.
		s.runDueLocked(nil)
		return h(req, args)
	}
	return fail(errf(http.StatusNotFound, "Resource not found"))
}

func matchRoute(pattern, segs []string) ([]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var args []string
	for i, p := range pattern {
		switch {
		case p == "*":
			args = append(args, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return args, true
}

// params checks req against the operation's declared query parameters
// (unless LaxParams) and returns the first problem.
func (s *Server) params(req *request, allowed ...string) *apiError {
	if s.opts.LaxParams {
		return nil
	}
	for k, v := range req.params {
		if !slices.Contains(allowed, k) {
			return errf(http.StatusBadRequest, "Unknown parameter %s", k)
		}
		if len(v) > 1 {
			return errf(http.StatusBadRequest, "Parameter %s given more than once (lists are comma-separated)", k)
		}
	}
	return nil
}

func boolParam(req *request, name string) (bool, *apiError) {
	switch v := req.params.Get(name); v {
	case "", "false", "no", "0":
		return false, nil
	case "true", "yes", "1":
		return true, nil
	default:
		return false, errf(http.StatusBadRequest, "%s: %q is not a boolean", name, v)
	}
}

func intParam(req *request, name string) (int, bool, *apiError) {
	v := req.params.Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, errf(http.StatusBadRequest, "%s: %q is not an integer", name, v)
	}
	return n, true, nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// findControl is res_ari's lookup: 404 for no channel, 409 for a channel
// not in Stasis.
func (s *Server) findControl(id string) (*channel, *apiError) {
	ch := s.channels[id]
	if ch == nil {
		return nil, errf(http.StatusNotFound, "Channel not found")
	}
	if !ch.inStasis {
		return nil, errf(http.StatusConflict, "Channel not in Stasis application")
	}
	return ch, nil
}

// stateInvalid is Asterisk's channel_state_invalid: operations that touch
// media or channel state fail with 412 on outbound channels not yet up.
// commandable checks a channel command's parameters, then finds the
// channel (in this app, answered or at least not down or ringing).
func (s *Server) commandable(req *request, id string, allowed ...string) (*channel, *apiError) {
	if e := s.params(req, allowed...); e != nil {
		return nil, e
	}
	ch, e := s.findControl(id)
	if e == nil {
		e = stateInvalid(ch)
	}
	return ch, e
}

// commandableBridge checks a bridge command's parameters, then finds the bridge.
func (s *Server) commandableBridge(req *request, id string, allowed ...string) (*bridge, *apiError) {
	if e := s.params(req, allowed...); e != nil {
		return nil, e
	}
	b := s.bridges[id]
	if b == nil {
		return nil, errf(http.StatusNotFound, "Bridge not found")
	}
	return b, nil
}

func stateInvalid(ch *channel) *apiError {
	switch ch.state {
	case ari.StateDown, "Rsrved", ari.StateRinging:
		return errf(http.StatusPreconditionFailed, "Channel in invalid state")
	}
	return nil
}

// ---- asterisk ----

func (s *Server) asteriskPing(req *request, _ []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	return ok(ari.AsteriskPing{AsteriskID: asteriskID, Ping: "pong", Timestamp: time.Now().Format(ari.TimeLayout)})
}

func (s *Server) asteriskInfo(req *request, _ []string) response {
	if e := s.params(req, "only"); e != nil {
		return fail(e)
	}
	want := map[string]bool{"build": true, "system": true, "config": true, "status": true}
	if only := req.params.Get("only"); only != "" {
		clear(want)
		for _, part := range splitList(only) {
			switch part {
			case "build", "system", "config", "status":
				want[part] = true
			default:
				return fail(errf(http.StatusBadRequest, "Unknown info section %s", part))
			}
		}
	}
	var info ari.AsteriskInfo
	if want["build"] {
		info.Build = &ari.BuildInfo{OS: "Linux", Kernel: "6.1.0", Options: "", Machine: "x86_64", Date: "2025-01-01 00:00:00 UTC", User: "llamenos"}
	}
	if want["system"] {
		info.System = &ari.SystemInfo{Version: "22.10.1 (aritest)", EntityID: asteriskID}
	}
	if want["config"] {
		info.Config = &ari.ConfigInfo{Name: "aritest", DefaultLanguage: "en", SetID: ari.SetID{User: "asterisk", Group: "asterisk"}}
	}
	if want["status"] {
		info.Status = &ari.StatusInfo{StartupTime: ari.Time{Time: s.started}, LastReloadTime: ari.Time{Time: s.started}}
	}
	return ok(info)
}

// ---- applications ----

func (s *Server) appSnapshotLocked(a *app) ari.Application {
	out := ari.Application{
		Name: a.name, ChannelIDs: []string{}, BridgeIDs: []string{}, EndpointIDs: []string{},
		DeviceNames: []string{}, EventsAllowed: nil, EventsDisallowed: nil,
	}
	for _, ch := range s.sortedChannelsLocked() {
		if (ch.inStasis && ch.app == a.name) || a.channels[ch.id] {
			out.ChannelIDs = append(out.ChannelIDs, ch.id)
		}
	}
	for _, b := range s.sortedBridgesLocked() {
		if a.bridges[b.id] {
			out.BridgeIDs = append(out.BridgeIDs, b.id)
		}
	}
	out.EventsAllowed = jsonEmpty()
	out.EventsDisallowed = jsonEmpty()
	return out
}

func (s *Server) listApplications(req *request, _ []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	names := make([]string, 0, len(s.apps))
	for n := range s.apps {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]ari.Application, 0, len(names))
	for _, n := range names {
		out = append(out, s.appSnapshotLocked(s.apps[n]))
	}
	return ok(out)
}

func (s *Server) getApplication(req *request, args []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	a := s.apps[args[0]]
	if a == nil {
		return fail(errf(http.StatusNotFound, "Application not found"))
	}
	return ok(s.appSnapshotLocked(a))
}

func (s *Server) subscribe(req *request, args []string) response {
	return s.subscription(req, args[0], true)
}

func (s *Server) unsubscribe(req *request, args []string) response {
	return s.subscription(req, args[0], false)
}

func (s *Server) subscription(req *request, name string, add bool) response {
	if e := s.params(req, "eventSource"); e != nil {
		return fail(e)
	}
	sources := splitList(req.params.Get("eventSource"))
	if len(sources) == 0 {
		return fail(errf(http.StatusBadRequest, "Missing parameter eventSource"))
	}
	a := s.apps[name]
	if a == nil {
		return fail(errf(http.StatusNotFound, "Application not found"))
	}
	for _, src := range sources {
		scheme, id, _ := strings.Cut(src, ":")
		var set map[string]bool
		switch scheme {
		case "channel":
			if s.channels[id] == nil {
				return fail(errf(http.StatusUnprocessableEntity, "Event source does not exist: %s", src))
			}
			set = a.channels
		case "bridge":
			if s.bridges[id] == nil {
				return fail(errf(http.StatusUnprocessableEntity, "Event source does not exist: %s", src))
			}
			set = a.bridges
		case "endpoint", "deviceState":
			return fail(errf(http.StatusUnprocessableEntity, "Event source does not exist: %s", src))
		default:
			return fail(errf(http.StatusBadRequest, "Invalid event source URI scheme '%s'", scheme))
		}
		if add {
			set[id] = true
		} else {
			if !set[id] {
				return fail(errf(http.StatusConflict, "Application not subscribed to event source %s", src))
			}
			delete(set, id)
		}
	}
	return ok(s.appSnapshotLocked(a))
}

// ---- channels ----

func (s *Server) listChannels(req *request, _ []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	out := make([]ari.Channel, 0, len(s.channels))
	for _, ch := range s.sortedChannelsLocked() {
		out = append(out, ch.snapshot(false))
	}
	return ok(out)
}

func (s *Server) getChannel(req *request, args []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	ch := s.channels[args[0]]
	if ch == nil {
		return fail(errf(http.StatusNotFound, "Channel not found"))
	}
	return ok(ch.snapshot(false))
}

func (s *Server) hangup(req *request, args []string) response {
	if e := s.params(req, "reason", "reason_code"); e != nil {
		return fail(e)
	}
	ch := s.channels[args[0]]
	if ch == nil {
		return fail(errf(http.StatusNotFound, "Channel not found"))
	}
	reason, code := req.params.Get("reason"), req.params.Get("reason_code")
	cause := 16
	switch {
	case reason != "" && code != "":
		return fail(errf(http.StatusBadRequest, "The reason and reason_code can't both be specified"))
	case code != "":
		n, err := strconv.Atoi(code)
		if err != nil {
			return fail(errf(http.StatusBadRequest, "Invalid reason for hangup reason code provided"))
		}
		cause = n
	case reason != "":
		n, known := hangupReasons[reason]
		if !known {
			return fail(errf(http.StatusBadRequest, "Invalid reason for hangup reason provided"))
		}
		cause = n
	}
	s.ariHangupLocked(ch, cause)
	return noContent()
}

func (s *Server) answer(req *request, args []string) response {
	ch, e := s.commandable(req, args[0])
	if e != nil {
		return fail(e)
	}
	s.answerLocked(ch)
	return noContent()
}

func (s *Server) ring(req *request, args []string) response {
	return s.ringing(req, args[0], true)
}

func (s *Server) ringStop(req *request, args []string) response {
	return s.ringing(req, args[0], false)
}

func (s *Server) ringing(req *request, id string, on bool) response {
	ch, e := s.commandable(req, id)
	if e != nil {
		return fail(e)
	}
	ch.ringing = on
	if on && ch.call != nil {
		ch.call.rang = true
	}
	return noContent()
}

func (s *Server) continueInDialplan(req *request, args []string) response {
	ch, e := s.commandable(req, args[0], "context", "extension", "priority", "label")
	if e != nil {
		return fail(e)
	}
	prio, given, e := intParam(req, "priority")
	if e != nil {
		return fail(e)
	}
	cep := ari.DialplanCEP{Context: req.params.Get("context"), Exten: req.params.Get("extension"), Priority: int64(prio)}
	if cep.Context == "" {
		cep.Context = ch.dialplan.Context
		if cep.Exten == "" {
			cep.Exten = ch.dialplan.Exten
		}
	} else if cep.Exten == "" {
		cep.Exten = "s"
	}
	if !given {
		cep.Priority = ch.dialplan.Priority + 1
	}
	if ch.bridge != nil {
		s.leaveBridgeLocked(ch, ch.bridge)
	}
	s.stopChannelPlaybacksLocked(ch)
	ch.inStasis = false
	snap := ch.snapshot(false)
	s.emitLocked([]string{ch.app}, func() ari.Event {
		return &ari.StasisEnd{EventBase: base("StasisEnd"), Channel: snap}
	})
	ch.app = ""
	ch.dialplan.Context, ch.dialplan.Exten, ch.dialplan.Priority = cep.Context, cep.Exten, cep.Priority
	if ch.call != nil {
		c := cep
		ch.call.continued = &c
	}
	// The dialplan runs on (a message, then Hangup()) out of the app's sight.
	s.afterLocked(50*time.Millisecond, func() {
		if s.channels[ch.id] == ch {
			s.dropChannelLocked(ch, 16)
		}
	})
	return noContent()
}

// channelVar resolves the variables and functions the simulator knows.
func channelVar(ch *channel, name string) (string, bool) {
	switch name {
	case "CALLERID(num)":
		return ch.callerNumber, true
	case "CALLERID(name)":
		return ch.callerName, true
	case "CHANNEL(name)":
		return ch.name, true
	case "UNIQUEID":
		return ch.id, true
	}
	v, ok := ch.vars[name]
	return v, ok
}

func (s *Server) getVar(req *request, args []string) response {
	if e := s.params(req, "variable"); e != nil {
		return fail(e)
	}
	name := req.params.Get("variable")
	if name == "" {
		return fail(errf(http.StatusBadRequest, "Variable name is required"))
	}
	ch, e := s.findControl(args[0])
	if e != nil {
		return fail(e)
	}
	v, found := channelVar(ch, name)
	if !found {
		return fail(errf(http.StatusNotFound, "Provided variable was not found"))
	}
	return ok(ari.Variable{Value: v})
}

func (s *Server) setVar(req *request, args []string) response {
	if e := s.params(req, "variable", "value", "report_events"); e != nil {
		return fail(e)
	}
	name := req.params.Get("variable")
	if name == "" {
		return fail(errf(http.StatusBadRequest, "Variable name is required"))
	}
	report, e := boolParam(req, "report_events")
	if e != nil {
		return fail(e)
	}
	ch, e := s.findControl(args[0])
	if e != nil {
		return fail(e)
	}
	value := req.params.Get("value")
	ch.vars[name] = value
	if report {
		snap := ch.snapshot(false)
		s.emitLocked(s.channelAppsLocked(ch), func() ari.Event {
			c := snap
			return &ari.ChannelVarset{EventBase: base("ChannelVarset"), Variable: name, Value: value, Channel: &c}
		})
	}
	return noContent()
}

func (s *Server) channelMOHStart(req *request, args []string) response {
	ch, e := s.commandable(req, args[0], "mohClass")
	if e != nil {
		return fail(e)
	}
	ch.moh = true
	if ch.call != nil {
		ch.call.played = append(ch.call.played, "moh:"+cmp.Or(req.params.Get("mohClass"), "default"))
	}
	return noContent()
}

func (s *Server) channelMOHStop(req *request, args []string) response {
	ch, e := s.commandable(req, args[0])
	if e != nil {
		return fail(e)
	}
	ch.moh = false
	return noContent()
}

// playParams validates the shared play parameters.
func (s *Server) playParams(req *request, bridge bool) ([]string, *apiError) {
	allowed := []string{"media", "lang", "offsetms", "skipms", "playbackId"}
	if bridge {
		allowed = append(allowed, "announcer_format")
	}
	if e := s.params(req, allowed...); e != nil {
		return nil, e
	}
	media := splitList(req.params.Get("media"))
	if len(media) == 0 {
		return nil, errf(http.StatusBadRequest, "media: Missing required parameter")
	}
	for _, name := range []string{"offsetms", "skipms"} {
		n, _, e := intParam(req, name)
		if e != nil {
			return nil, e
		}
		if n < 0 {
			return nil, errf(http.StatusBadRequest, "%s cannot be negative", name)
		}
	}
	return media, nil
}

func (s *Server) channelPlay(req *request, args []string) response {
	if len(args) == 2 && req.params.Has("playbackId") {
		return fail(errf(http.StatusBadRequest, "Unknown parameter playbackId"))
	}
	media, e := s.playParams(req, false)
	if e != nil {
		return fail(e)
	}
	ch, e := s.findControl(args[0])
	if e == nil {
		e = stateInvalid(ch)
	}
	if e != nil {
		return fail(e)
	}
	id := req.params.Get("playbackId")
	if len(args) == 2 {
		id = args[1]
	}
	return s.startPlayback(id, media, req.params.Get("lang"), ch, nil)
}

func (s *Server) startPlayback(id string, media []string, lang string, ch *channel, br *bridge) response {
	if id == "" {
		id = fmt.Sprintf("%016x-pb", s.rng.Uint64())
	}
	if s.playbacks[id] != nil {
		return fail(errf(http.StatusInternalServerError, "Failed to queue media for playback"))
	}
	p := &playback{id: id, media: media, lang: cmp.Or(lang, "en"), state: ari.PlaybackStateQueued, ch: ch, br: br}
	if ch != nil {
		p.target = "channel:" + ch.id
	} else {
		p.target = "bridge:" + br.id
	}
	snap := p.snapshot()
	s.enqueuePlaybackLocked(p)
	return response{status: http.StatusCreated, body: snap, location: "/playbacks/" + id}
}

func (s *Server) externalMedia(req *request, _ []string) response {
	if e := s.params(req, "channelId", "app", "external_host", "encapsulation", "transport",
		"connection_type", "format", "direction", "data", "transport_data"); e != nil {
		return fail(e)
	}
	p := req.params
	appName, format := p.Get("app"), p.Get("format")
	switch {
	case appName == "":
		return fail(errf(http.StatusBadRequest, "app: Missing required parameter"))
	case format == "":
		return fail(errf(http.StatusBadRequest, "format: Missing required parameter"))
	case cmp.Or(p.Get("encapsulation"), "rtp") != "rtp" || cmp.Or(p.Get("transport"), "udp") != "udp":
		return fail(errf(http.StatusNotImplemented, "The simulator only implements encapsulation=rtp transport=udp"))
	case cmp.Or(p.Get("connection_type"), "client") != "client":
		return fail(errf(http.StatusBadRequest, "connection_type=server is only valid for the websocket transport"))
	case cmp.Or(p.Get("direction"), "both") != "both":
		return fail(errf(http.StatusBadRequest, "Invalid direction"))
	case format != "ulaw":
		return fail(errf(http.StatusBadRequest, "The simulator only implements format=ulaw"))
	case p.Get("external_host") == "":
		return fail(errf(http.StatusBadRequest, "external_host is required for all but websocket connections"))
	}
	remote, err := resolveHost(p.Get("external_host"))
	if err != nil {
		return fail(errf(http.StatusBadRequest, "Invalid external_host: %v", err))
	}
	id := p.Get("channelId")
	if id == "" {
		id = s.newIDLocked()
	}
	if s.channels[id] != nil {
		return fail(errf(http.StatusConflict, "Channel with given unique ID already exists"))
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fail(errf(http.StatusInternalServerError, "Failed to create RTP socket"))
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	leg := &rtpLeg{
		conn: conn, local: local, remote: remote,
		ssrc: s.rng.Uint32(), seq: uint16(s.rng.Uint32()), ts: s.rng.Uint32(), lastFrame: -1,
		mix: make([]int16, audio.FrameSamples), payload: make([]byte, 0, audio.FrameSamples),
	}
	leg.stats.Local, leg.stats.Remote, leg.stats.SSRC = local, remote, leg.ssrc
	var args []string
	if d := p.Get("data"); d != "" {
		args = []string{d}
	}
	ch := &channel{
		id:         id,
		name:       fmt.Sprintf("UnicastRTP/%s-0x%08x", p.Get("external_host"), s.rng.Uint32()),
		protocolID: "",
		kind:       kindUnicastRTP,
		state:      ari.StateDown,
		dialplan:   ari.DialplanCEP{Context: "default", Exten: "s", Priority: 1},
		created:    time.Now(),
		vars: map[string]string{
			ari.VarUnicastRTPLocalAddress: local.Addr().String(),
			ari.VarUnicastRTPLocalPort:    strconv.Itoa(int(local.Port())),
		},
		rtp: leg,
	}
	for k, v := range req.vars {
		ch.vars[k] = v
	}
	s.channels[id] = ch
	s.wg.Add(1)
	go s.readRTP(ch, leg)
	resp := ch.snapshot(true)
	// chan_rtp answers at once; the channel then enters the app on its own.
	s.afterLocked(s.opts.StasisStartDelay, func() {
		if s.channels[id] != ch || ch.hungUp {
			return
		}
		ch.state = ari.StateUp
		ch.app, ch.inStasis = appName, true
		ch.dialplan.AppName, ch.dialplan.AppData = "Stasis", joinArgs(appName, args)
		s.appLocked(appName)
		snap := ch.snapshot(false)
		a := append([]string{}, args...)
		s.emitLocked([]string{appName}, func() ari.Event {
			return &ari.StasisStart{EventBase: base("StasisStart"), Args: a, Channel: snap}
		})
	})
	return ok(resp)
}

func resolveHost(hostport string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	ua, err := net.ResolveUDPAddr("udp4", hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// ---- bridges ----

func (s *Server) listBridges(req *request, _ []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	out := make([]ari.Bridge, 0, len(s.bridges))
	for _, b := range s.sortedBridgesLocked() {
		out = append(out, b.snapshot())
	}
	return ok(out)
}

func (s *Server) getBridge(req *request, args []string) response {
	b, e := s.commandableBridge(req, args[0])
	if e != nil {
		return fail(e)
	}
	return ok(b.snapshot())
}

func (s *Server) createBridge(req *request, args []string) response {
	allowed := []string{"type", "name"}
	id := ""
	if len(args) == 1 {
		id = args[0]
	} else {
		allowed = append(allowed, "bridgeId")
		id = req.params.Get("bridgeId")
	}
	if e := s.params(req, allowed...); e != nil {
		return fail(e)
	}
	if id != "" && s.bridges[id] != nil {
		return fail(errf(http.StatusConflict, "Bridge with id '%s' already exists", id))
	}
	mixing, holding := false, false
	types := splitList(req.params.Get("type"))
	if len(types) == 0 {
		types = []string{"mixing"}
	}
	for _, t := range types {
		switch t {
		case "mixing":
			mixing = true
		case "holding":
			holding = true
		case "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label":
		default:
			return fail(errf(http.StatusInternalServerError, "Unable to create bridge"))
		}
	}
	if mixing == holding {
		// Neither, or both: Asterisk refuses holding+mixing and needs one.
		return fail(errf(http.StatusInternalServerError, "Unable to create bridge"))
	}
	if id == "" {
		id = fmt.Sprintf("%016x-br", s.rng.Uint64())
	}
	b := &bridge{id: id, name: req.params.Get("name"), typ: ari.BridgeMixing, created: time.Now(), vars: req.vars}
	if holding {
		b.typ = ari.BridgeHolding
	}
	s.bridges[id] = b
	return ok(b.snapshot())
}

func (s *Server) destroyBridge(req *request, args []string) response {
	b, e := s.commandableBridge(req, args[0])
	if e != nil {
		return fail(e)
	}
	s.stopBridgePlaybacksLocked(b)
	b.moh = false
	for len(b.members) > 0 {
		s.leaveBridgeLocked(b.members[0], b)
	}
	snap := b.snapshot()
	s.emitLocked(s.bridgeAppsLocked(b), func() ari.Event {
		return &ari.BridgeDestroyed{EventBase: base("BridgeDestroyed"), Bridge: snap}
	})
	delete(s.bridges, b.id)
	for _, a := range s.apps {
		delete(a.bridges, b.id)
	}
	return noContent()
}

// bridgeChannels resolves addChannel/removeChannel's channel list with
// resource_bridges.c's codes: 400 unknown channel, 422 not in Stasis.
func (s *Server) bridgeChannels(req *request) ([]*channel, *apiError) {
	ids := splitList(req.params.Get("channel"))
	if len(ids) == 0 {
		return nil, errf(http.StatusBadRequest, "Missing parameter channel")
	}
	out := make([]*channel, 0, len(ids))
	for _, id := range ids {
		ch := s.channels[id]
		if ch == nil {
			return nil, errf(http.StatusBadRequest, "Channel not found")
		}
		if !ch.inStasis {
			return nil, errf(http.StatusUnprocessableEntity, "Channel not in Stasis application")
		}
		out = append(out, ch)
	}
	return out, nil
}

func (s *Server) addChannel(req *request, args []string) response {
	if e := s.params(req, "channel", "role", "absorbDTMF", "mute", "inhibitConnectedLineUpdates"); e != nil {
		return fail(e)
	}
	for _, name := range []string{"absorbDTMF", "mute", "inhibitConnectedLineUpdates"} {
		if _, e := boolParam(req, name); e != nil {
			return fail(e)
		}
	}
	b := s.bridges[args[0]]
	if b == nil {
		return fail(errf(http.StatusNotFound, "Bridge not found"))
	}
	chans, e := s.bridgeChannels(req)
	if e != nil {
		return fail(e)
	}
	for _, ch := range chans {
		s.enterBridgeLocked(ch, b)
	}
	return noContent()
}

func (s *Server) removeChannel(req *request, args []string) response {
	b, e := s.commandableBridge(req, args[0], "channel")
	if e != nil {
		return fail(e)
	}
	chans, e := s.bridgeChannels(req)
	if e != nil {
		return fail(e)
	}
	for _, ch := range chans {
		if ch.bridge != b {
			return fail(errf(http.StatusUnprocessableEntity, "Channel not in this bridge"))
		}
	}
	for _, ch := range chans {
		s.leaveBridgeLocked(ch, b)
	}
	return noContent()
}

func (s *Server) bridgeMOHStart(req *request, args []string) response {
	b, e := s.commandableBridge(req, args[0], "mohClass")
	if e != nil {
		return fail(e)
	}
	b.moh = true
	for _, m := range b.members {
		if m.call != nil {
			m.call.played = append(m.call.played, "moh:"+cmp.Or(req.params.Get("mohClass"), "default"))
		}
	}
	return noContent()
}

func (s *Server) bridgeMOHStop(req *request, args []string) response {
	b, e := s.commandableBridge(req, args[0])
	if e != nil {
		return fail(e)
	}
	if !b.moh {
		return fail(errf(http.StatusConflict, "Bridge isn't playing music on hold"))
	}
	b.moh = false
	return noContent()
}

func (s *Server) bridgePlay(req *request, args []string) response {
	if len(args) == 2 && req.params.Has("playbackId") {
		return fail(errf(http.StatusBadRequest, "Unknown parameter playbackId"))
	}
	media, e := s.playParams(req, true)
	if e != nil {
		return fail(e)
	}
	b := s.bridges[args[0]]
	if b == nil {
		return fail(errf(http.StatusNotFound, "Bridge not found"))
	}
	if f := req.params.Get("announcer_format"); f != "" && f != "ulaw" && f != "slin" && f != "alaw" {
		return fail(errf(http.StatusUnprocessableEntity, "specified announcer_format is unknown on this system"))
	}
	id := req.params.Get("playbackId")
	if len(args) == 2 {
		id = args[1]
	}
	return s.startPlayback(id, media, req.params.Get("lang"), nil, b)
}

// ---- playbacks ----

func (s *Server) getPlayback(req *request, args []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	p := s.playbacks[args[0]]
	if p == nil {
		return fail(errf(http.StatusNotFound, "Playback not found"))
	}
	return ok(p.snapshot())
}

func (s *Server) stopPlayback(req *request, args []string) response {
	if e := s.params(req); e != nil {
		return fail(e)
	}
	p := s.playbacks[args[0]]
	if p == nil {
		return fail(errf(http.StatusNotFound, "Playback not found"))
	}
	s.finishPlaybackLocked(p, ari.PlaybackStateDone)
	return noContent()
}
