package aritest

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"llamenos/ari"
	"llamenos/audio"
)

type channelKind int

const (
	kindCaller channelKind = iota // a trunk call placed with PlaceCall
	kindUnicastRTP
)

type channel struct {
	id, name   string
	protocolID string
	kind       channelKind
	state      string
	// callerName and callerNumber are the caller id; every snapshot gets
	// its own copy, which whoever decodes or receives it may wipe.
	callerName, callerNumber string
	dialplan                 ari.DialplanCEP
	created                  time.Time
	app                      string // Stasis app; "" when not (or no longer) in Stasis
	inStasis                 bool
	vars                     map[string]string
	bridge                   *bridge
	moh                      bool
	ringing                  bool
	playing                  *playback
	queue                    []*playback
	call                     *Call   // kindCaller
	rtp                      *rtpLeg // kindUnicastRTP
	hungUp                   bool
	frame                    []int16 // this media frame's caller audio
	frameAt                  int64
}

func (ch *channel) snapshot(withVars bool) ari.Channel {
	c := ari.Channel{
		ID:           ch.id,
		ProtocolID:   ch.protocolID,
		Name:         ch.name,
		State:        ch.state,
		Caller:       ari.CallerID{Name: ari.NewPrivate(ch.callerName), Number: ari.NewPrivate(ch.callerNumber)},
		Connected:    ari.CallerID{},
		AccountCode:  "",
		Dialplan:     ch.dialplan,
		CreationTime: ari.Time{Time: ch.created},
		Language:     "en",
	}
	if withVars && ch.rtp != nil {
		c.ChannelVars = map[string]string{
			ari.VarUnicastRTPLocalAddress: ch.vars[ari.VarUnicastRTPLocalAddress],
			ari.VarUnicastRTPLocalPort:    ch.vars[ari.VarUnicastRTPLocalPort],
		}
	}
	return c
}

type bridge struct {
	id, name string
	typ      string // mixing or holding
	created  time.Time
	members  []*channel
	moh      bool
	playing  *playback
	queue    []*playback
	vars     map[string]string
	frame    []int16 // this media frame's bridge audio (MOH, playback)
	frameAt  int64
	mohSrc   audio.Source
	playSrc  audio.Source
}

func (b *bridge) technology() string {
	switch {
	case b.typ == ari.BridgeHolding:
		return "holding_bridge"
	case len(b.members) > 2 || b.moh || b.playing != nil:
		// Announcer channels (MOH, playback) join the bridge and switch it
		// to softmix, as in Asterisk.
		return "softmix"
	default:
		return "simple_bridge"
	}
}

func (b *bridge) snapshot() ari.Bridge {
	ids := make([]string, 0, len(b.members))
	for _, m := range b.members {
		ids = append(ids, m.id)
	}
	return ari.Bridge{
		ID:           b.id,
		Technology:   b.technology(),
		BridgeType:   b.typ,
		BridgeClass:  "stasis",
		Creator:      "Stasis",
		Name:         b.name,
		Channels:     ids,
		CreationTime: ari.Time{Time: b.created},
		VideoMode:    "talker",
	}
}

func (b *bridge) remove(ch *channel) {
	b.members = slices.DeleteFunc(b.members, func(m *channel) bool { return m == ch })
}

type playback struct {
	id     string
	media  []string
	idx    int
	target string // "channel:ID" or "bridge:ID"
	lang   string
	state  string
	timer  interface{ Stop() bool }
	ch     *channel      // target channel, or nil
	br     *bridge       // target bridge, or nil
	file   []*PromptPlay // the callers' records of the sound file playing now
}

func (p *playback) snapshot() ari.Playback {
	pb := ari.Playback{
		ID:        p.id,
		MediaURI:  p.media[min(p.idx, len(p.media)-1)],
		TargetURI: p.target,
		Language:  p.lang,
		State:     p.state,
	}
	if p.idx+1 < len(p.media) {
		pb.NextMediaURI = p.media[p.idx+1]
	}
	return pb
}

func (s *Server) sortedChannelsLocked() []*channel {
	chans := slices.Collect(maps.Values(s.channels))
	slices.SortFunc(chans, func(a, b *channel) int { return a.created.Compare(b.created) })
	return chans
}

func (s *Server) sortedBridgesLocked() []*bridge {
	brs := slices.Collect(maps.Values(s.bridges))
	slices.SortFunc(brs, func(a, b *bridge) int { return a.created.Compare(b.created) })
	return brs
}

// Q.850 causes used by hangup reasons, with Asterisk's cause texts.
var hangupReasons = map[string]int{
	"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18,
	"rejected": 21, "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28,
	"codec_mismatch": 58, "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}

func causeText(cause int) string {
	switch cause {
	case 0:
		return "Unknown"
	case 1:
		return "Unallocated (unassigned) number"
	case 16:
		return "Normal Clearing"
	case 17:
		return "User busy"
	case 18:
		return "No user responding"
	case 19:
		return "User alerting, no answer"
	case 21:
		return "Call Rejected"
	case 26:
		return "Answered elsewhere"
	case 28:
		return "Invalid number format (addr incomplete)"
	case 31:
		return "Normal, unspecified"
	case 34:
		return "Circuit/channel congestion"
	case 38:
		return "Network out of order"
	case 58:
		return "Bearer capability not available"
	case 127:
		return "Interworking, unspecified"
	}
	return "Unknown"
}

// softHangupExplicit is AST_SOFTHANGUP_EXPLICIT, which an ARI hangup puts in
// ChannelHangupRequest's cause field (with soft=true).
const softHangupExplicit = 0x20

// softHangupShutdown is AST_SOFTHANGUP_SHUTDOWN: Asterisk is stopping.
const softHangupShutdown = 0x04

func jsonEmpty() []json.RawMessage { return []json.RawMessage{} }
