package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Key names an ARI resource the way event target URIs and subscriptions do:
// "channel:ID", "bridge:ID", "playback:ID", "recording:NAME".
type Key string

// ChannelKey, BridgeKey, PlaybackKey and RecordingKey build Keys.
func ChannelKey(id string) Key     { return Key("channel:" + id) }
func BridgeKey(id string) Key      { return Key("bridge:" + id) }
func PlaybackKey(id string) Key    { return Key("playback:" + id) }
func RecordingKey(name string) Key { return Key("recording:" + name) }

// Kind returns the part before the colon ("channel", "bridge", ...).
func (k Key) Kind() string { kind, _, _ := strings.Cut(string(k), ":"); return kind }

// ID returns the part after the colon.
func (k Key) ID() string { _, id, _ := strings.Cut(string(k), ":"); return id }

// Event is one decoded ARI event. Switch on the concrete type (*StasisStart,
// *ChannelDestroyed, ...).
type Event interface {
	// Base returns the fields every event has.
	Base() *EventBase
	// Keys returns every resource the event refers to, for routing. Empty
	// ids are left out.
	Keys() []Key
}

// EventBase holds the fields common to all events (Message and Event in
// events.json) plus the local time the client read the frame off the socket.
type EventBase struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	Timestamp   Time   `json:"timestamp"`
	AsteriskID  string `json:"asterisk_id,omitempty"`
	// Received is when the client's reader took the frame off the socket;
	// Received minus Timestamp is the delivery lag.
	Received time.Time `json:"-"`
}

// Base implements Event.
func (b *EventBase) Base() *EventBase { return b }

// StasisStart: a channel entered the app. For a trunk call Channel.Caller
// is the caller and Channel.Dialplan.Exten the dialed number; the daemon's
// own externalMedia channels arrive here too.
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left the app (usually hung up).
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelCreated: a channel was created (seen for subscribed sources only).
type ChannelCreated struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelStateChange: Channel.State changed (e.g. to Up after answer).
type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDtmfReceived: a DTMF digit ended.
type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMS int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

// ChannelHangupRequest: a hangup was requested. Cause is a Q.850 cause for a
// far-end hangup; for an ARI hangup Soft is true and Cause holds Asterisk's
// soft-hangup flag, not a Q.850 value.
type ChannelHangupRequest struct {
	EventBase
	Cause     *int    `json:"cause,omitempty"`
	TechCause *int    `json:"tech_cause,omitempty"`
	Soft      *bool   `json:"soft,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelDestroyed: the channel is gone; Cause is the Q.850 hangup cause.
type ChannelDestroyed struct {
	EventBase
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause *int    `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelEnteredBridge: a channel joined a bridge. Channel is optional in
// the schema.
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelLeftBridge: a channel left a bridge.
type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// ChannelVarset: a variable changed. Channel is absent for globals.
type ChannelVarset struct {
	EventBase
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

// ChannelHold and ChannelUnhold: the far end put the call on (or off) hold.
type ChannelHold struct {
	EventBase
	Channel    Channel `json:"channel"`
	MusicClass string  `json:"musicclass,omitempty"`
}

// ChannelUnhold: see ChannelHold.
type ChannelUnhold struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingStarted and ChannelTalkingFinished come from TALK_DETECT.
type ChannelTalkingStarted struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingFinished: see ChannelTalkingStarted; Duration in ms.
type ChannelTalkingFinished struct {
	EventBase
	Channel  Channel `json:"channel"`
	Duration int     `json:"duration"`
}

// ChannelCallerID: the caller id changed.
type ChannelCallerID struct {
	EventBase
	CallerPresentation    int     `json:"caller_presentation"`
	CallerPresentationTxt string  `json:"caller_presentation_txt"`
	Channel               Channel `json:"channel"`
}

// ChannelConnectedLine: the connected line changed.
type ChannelConnectedLine struct {
	EventBase
	Channel Channel `json:"channel"`
}

// BridgeCreated and BridgeDestroyed report bridge life.
type BridgeCreated struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeDestroyed: see BridgeCreated.
type BridgeDestroyed struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// PlaybackStarted, PlaybackContinuing and PlaybackFinished follow a playback;
// Playback.State tells done from failed at the end.
type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackContinuing: the next URI of a multi-URI playback started.
type PlaybackContinuing struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackFinished: see PlaybackStarted.
type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

// RecordingStarted, RecordingFinished and RecordingFailed follow a live
// recording.
type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFinished: see RecordingStarted.
type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFailed: see RecordingStarted.
type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// Dial reports progress of an outbound dial; DialStatus is ANSWER, BUSY,
// NOANSWER, CANCEL, ... or empty while it is still going.
type Dial struct {
	EventBase
	Caller     *Channel `json:"caller,omitempty"`
	Peer       Channel  `json:"peer"`
	Forward    string   `json:"forward,omitempty"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	DialString string   `json:"dialstring,omitempty"`
	DialStatus string   `json:"dialstatus"`
}

// ApplicationReplaced: another WebSocket took this app over; this socket gets
// no more events.
type ApplicationReplaced struct {
	EventBase
}

// ApplicationMoveFailed: a /move to another app failed.
type ApplicationMoveFailed struct {
	EventBase
	Channel     Channel  `json:"channel"`
	Destination string   `json:"destination"`
	Args        []string `json:"args"`
}

// UnknownEvent is any event type this package does not model. The dispatcher
// logs, wipes and drops these; DecodeEvent returns them so tools can
// inspect Raw, a copy of the frame that WipeEvent zeroes.
type UnknownEvent struct {
	EventBase
	Raw json.RawMessage `json:"-"`
}

// ErrMalformedEvent is wrapped by DecodeEvent errors.
var ErrMalformedEvent = errors.New("ari: malformed event")

// DecodeEvent decodes one events-socket frame. It never panics: bad JSON, a
// missing type or a field of the wrong shape give an error wrapping
// ErrMalformedEvent; an unmodelled type gives *UnknownEvent. The caller ids
// of the event are copied out of data into Private buffers (and wiped
// again on error); data is left for the caller to zero.
func DecodeEvent(data []byte) (Event, error) {
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if head.Type == nil || *head.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrMalformedEvent)
	}
	var ev Event
	switch *head.Type {
	case "StasisStart":
		ev = new(StasisStart)
	case "StasisEnd":
		ev = new(StasisEnd)
	case "ChannelCreated":
		ev = new(ChannelCreated)
	case "ChannelStateChange":
		ev = new(ChannelStateChange)
	case "ChannelDtmfReceived":
		ev = new(ChannelDtmfReceived)
	case "ChannelHangupRequest":
		ev = new(ChannelHangupRequest)
	case "ChannelDestroyed":
		ev = new(ChannelDestroyed)
	case "ChannelEnteredBridge":
		ev = new(ChannelEnteredBridge)
	case "ChannelLeftBridge":
		ev = new(ChannelLeftBridge)
	case "ChannelVarset":
		ev = new(ChannelVarset)
	case "ChannelHold":
		ev = new(ChannelHold)
	case "ChannelUnhold":
		ev = new(ChannelUnhold)
	case "ChannelTalkingStarted":
		ev = new(ChannelTalkingStarted)
	case "ChannelTalkingFinished":
		ev = new(ChannelTalkingFinished)
	case "ChannelCallerId":
		ev = new(ChannelCallerID)
	case "ChannelConnectedLine":
		ev = new(ChannelConnectedLine)
	case "BridgeCreated":
		ev = new(BridgeCreated)
	case "BridgeDestroyed":
		ev = new(BridgeDestroyed)
	case "PlaybackStarted":
		ev = new(PlaybackStarted)
	case "PlaybackContinuing":
		ev = new(PlaybackContinuing)
	case "PlaybackFinished":
		ev = new(PlaybackFinished)
	case "RecordingStarted":
		ev = new(RecordingStarted)
	case "RecordingFinished":
		ev = new(RecordingFinished)
	case "RecordingFailed":
		ev = new(RecordingFailed)
	case "Dial":
		ev = new(Dial)
	case "ApplicationReplaced":
		ev = new(ApplicationReplaced)
	case "ApplicationMoveFailed":
		ev = new(ApplicationMoveFailed)
	default:
		u := &UnknownEvent{Raw: append(json.RawMessage(nil), data...)}
		if err := json.Unmarshal(data, &u.EventBase); err != nil {
			clear(u.Raw)
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformedEvent, *head.Type, err)
		}
		return u, nil
	}
	if err := json.Unmarshal(data, ev); err != nil {
		WipeEvent(ev) // what was decoded before the error
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedEvent, *head.Type, err)
	}
	return ev, nil
}

// keys collects non-empty keys without duplicates.
type keys []Key

func (k *keys) add(key Key) {
	if key.ID() == "" {
		return
	}
	for _, have := range *k {
		if have == key {
			return
		}
	}
	*k = append(*k, key)
}

func (k *keys) channel(c *Channel) {
	if c != nil {
		k.add(ChannelKey(c.ID))
	}
}

// target adds a target_uri ("channel:ID"/"bridge:ID") when it has that shape.
func (k *keys) target(uri string) {
	kind, id, ok := strings.Cut(uri, ":")
	if ok && id != "" && (kind == "channel" || kind == "bridge" || kind == "endpoint" || kind == "deviceState") {
		k.add(Key(uri))
	}
}

func (e *StasisStart) Keys() []Key {
	var k keys
	k.channel(&e.Channel)
	k.channel(e.ReplaceChannel)
	return k
}
func (e *StasisEnd) Keys() []Key          { return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)] }
func (e *ChannelCreated) Keys() []Key     { return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)] }
func (e *ChannelStateChange) Keys() []Key { return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)] }
func (e *ChannelDtmfReceived) Keys() []Key {
	return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)]
}
func (e *ChannelHangupRequest) Keys() []Key {
	return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)]
}
func (e *ChannelDestroyed) Keys() []Key { return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)] }
func (e *ChannelEnteredBridge) Keys() []Key {
	var k keys
	k.channel(e.Channel)
	k.add(BridgeKey(e.Bridge.ID))
	return k
}
func (e *ChannelLeftBridge) Keys() []Key {
	var k keys
	k.channel(&e.Channel)
	k.add(BridgeKey(e.Bridge.ID))
	return k
}
func (e *ChannelVarset) Keys() []Key {
	var k keys
	k.channel(e.Channel)
	return k
}
func (e *ChannelHold) Keys() []Key   { return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)] }
func (e *ChannelUnhold) Keys() []Key { return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)] }
func (e *ChannelTalkingStarted) Keys() []Key {
	return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)]
}
func (e *ChannelTalkingFinished) Keys() []Key {
	return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)]
}
func (e *ChannelCallerID) Keys() []Key { return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)] }
func (e *ChannelConnectedLine) Keys() []Key {
	return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)]
}
func (e *BridgeCreated) Keys() []Key   { return []Key{BridgeKey(e.Bridge.ID)}[:nz(e.Bridge.ID)] }
func (e *BridgeDestroyed) Keys() []Key { return []Key{BridgeKey(e.Bridge.ID)}[:nz(e.Bridge.ID)] }
func (e *PlaybackStarted) Keys() []Key { return playbackKeys(&e.Playback) }
func (e *PlaybackContinuing) Keys() []Key {
	return playbackKeys(&e.Playback)
}
func (e *PlaybackFinished) Keys() []Key  { return playbackKeys(&e.Playback) }
func (e *RecordingStarted) Keys() []Key  { return recordingKeys(&e.Recording) }
func (e *RecordingFinished) Keys() []Key { return recordingKeys(&e.Recording) }
func (e *RecordingFailed) Keys() []Key   { return recordingKeys(&e.Recording) }
func (e *Dial) Keys() []Key {
	var k keys
	k.channel(&e.Peer)
	k.channel(e.Caller)
	k.channel(e.Forwarded)
	return k
}
func (e *ApplicationReplaced) Keys() []Key { return nil }
func (e *ApplicationMoveFailed) Keys() []Key {
	return []Key{ChannelKey(e.Channel.ID)}[:nz(e.Channel.ID)]
}
func (e *UnknownEvent) Keys() []Key { return nil }

func playbackKeys(p *Playback) []Key {
	var k keys
	k.add(PlaybackKey(p.ID))
	k.target(p.TargetURI)
	return k
}

func recordingKeys(r *LiveRecording) []Key {
	var k keys
	k.add(RecordingKey(r.Name))
	k.target(r.TargetURI)
	return k
}

// nz is 1 for a non-empty id and 0 otherwise: it trims a one-key slice to
// nothing when the id is missing.
func nz(id string) int {
	if id == "" {
		return 0
	}
	return 1
}
