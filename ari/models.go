package ari

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The models follow the Swagger 1.2 schema of ARI 10.0.0 (Asterisk 22):
// channels.json, bridges.json, playbacks.json, applications.json,
// asterisk.json. Required fields are plain values; optional ones carry
// omitempty so a round trip does not invent fields Asterisk leaves out.

// Time is an ARI timestamp. Asterisk writes them as
// "2006-01-02T15:04:05.000-0700" (milliseconds, numeric zone without colon).
// Unmarshalling also accepts RFC 3339; a value that parses as neither leaves
// the zero time rather than failing the whole event.
type Time struct{ time.Time }

// TimeLayout is the layout Asterisk uses for ARI timestamps.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// MarshalJSON writes the Asterisk layout.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON reads the Asterisk layout or RFC 3339.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ari: timestamp: %w", err)
	}
	for _, layout := range []string{TimeLayout, "2006-01-02T15:04:05.999999999-0700", time.RFC3339Nano} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	t.Time = time.Time{}
	return nil
}

// CallerID is the CallerID model. Both fields identify a person (the name
// often repeats the number), so both are Private: whoever holds a decoded
// CallerID wipes it when done (Wipe, or Channel.Wipe, WipeEvent).
type CallerID struct {
	Name   Private `json:"name"`
	Number Private `json:"number"`
}

// Wipe zeroes the name and the number.
func (c *CallerID) Wipe() {
	c.Name.Wipe()
	c.Number.Wipe()
}

// LogValue keeps a caller id out of logs, whatever the handler.
func (CallerID) LogValue() slog.Value { return slog.StringValue(privatePlaceholder) }

// DialplanCEP is a dialplan location (DialplanCEP model). For an inbound
// trunk call in Stasis, Exten is the dialed number (DID).
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Channel states as reported in Channel.State.
const (
	StateDown    = "Down"
	StateRing    = "Ring"
	StateRinging = "Ringing"
	StateUp      = "Up"
	StateBusy    = "Busy"
)

// Channel is the Channel model.
type Channel struct {
	ID           string            `json:"id"`
	ProtocolID   string            `json:"protocol_id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime Time              `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
	CallerRDNIS  string            `json:"caller_rdnis,omitempty"`
	TenantID     string            `json:"tenantid,omitempty"`
}

// Wipe zeroes the channel's caller and connected-line ids (for a bridged
// channel Asterisk sets the connected line to the other party's caller id).
// Channel variables and the redirecting number are plain strings: the
// daemon sets no variable that carries a caller id.
func (c *Channel) Wipe() {
	c.Caller.Wipe()
	c.Connected.Wipe()
}

// LogValue logs a channel as its id, name and state: a JSON handler would
// otherwise encode its caller ids.
func (c Channel) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("name", c.Name), slog.String("state", c.State))
}

// Channel variables that chan_rtp sets on an externalMedia channel.
const (
	VarUnicastRTPLocalAddress = "UNICASTRTP_LOCAL_ADDRESS"
	VarUnicastRTPLocalPort    = "UNICASTRTP_LOCAL_PORT"
)

// UnicastRTPAddr returns the address Asterisk receives externalMedia RTP on,
// from the channelvars of the externalMedia response.
func (c *Channel) UnicastRTPAddr() (netip.AddrPort, error) {
	host, port := c.ChannelVars[VarUnicastRTPLocalAddress], c.ChannelVars[VarUnicastRTPLocalPort]
	if host == "" || port == "" {
		return netip.AddrPort{}, fmt.Errorf("ari: channel %s has no %s/%s", c.ID, VarUnicastRTPLocalAddress, VarUnicastRTPLocalPort)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("ari: channel %s: %s %q: %w", c.ID, VarUnicastRTPLocalAddress, host, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, fmt.Errorf("ari: channel %s: %s %q is not a port", c.ID, VarUnicastRTPLocalPort, port)
	}
	return netip.AddrPortFrom(addr, uint16(p)), nil
}

// Technology returns the channel driver part of the name ("PJSIP",
// "UnicastRTP", "Snoop", ...), which tells trunk calls from the daemon's own
// media channels.
func (c *Channel) Technology() string {
	tech, _, _ := strings.Cut(c.Name, "/")
	return tech
}

// Bridge types for CreateBridge. Several can be combined (comma list).
const (
	BridgeMixing     = "mixing"
	BridgeHolding    = "holding"
	BridgeDTMFEvents = "dtmf_events"
	BridgeProxyMedia = "proxy_media"
)

// Bridge is the Bridge model.
type Bridge struct {
	ID            string            `json:"id"`
	Technology    string            `json:"technology"`
	BridgeType    string            `json:"bridge_type"`
	BridgeClass   string            `json:"bridge_class"`
	Creator       string            `json:"creator"`
	Name          string            `json:"name"`
	Channels      []string          `json:"channels"`
	VideoMode     string            `json:"video_mode,omitempty"`
	VideoSourceID string            `json:"video_source_id,omitempty"`
	CreationTime  Time              `json:"creationtime"`
	BridgeVars    map[string]string `json:"bridgevars,omitempty"`
}

// Playback states.
const (
	PlaybackStateQueued     = "queued"
	PlaybackStatePlaying    = "playing"
	PlaybackStateContinuing = "continuing"
	PlaybackStateDone       = "done"
	PlaybackStateFailed     = "failed"
)

// Playback is the Playback model. TargetURI is "channel:ID" or "bridge:ID".
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language,omitempty"`
	State        string `json:"state"`
}

// LiveRecording is the LiveRecording model (recordings.json), carried by the
// Recording* events.
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        *int   `json:"duration,omitempty"`
	TalkingDuration *int   `json:"talking_duration,omitempty"`
	SilenceDuration *int   `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

// Application is the Application model: what Asterisk knows of a Stasis app,
// in particular the channels and bridges it is subscribed to.
type Application struct {
	Name             string            `json:"name"`
	ChannelIDs       []string          `json:"channel_ids"`
	BridgeIDs        []string          `json:"bridge_ids"`
	EndpointIDs      []string          `json:"endpoint_ids"`
	DeviceNames      []string          `json:"device_names"`
	EventsAllowed    []json.RawMessage `json:"events_allowed"`
	EventsDisallowed []json.RawMessage `json:"events_disallowed"`
}

// Variable is the Variable model (the value of a channel variable).
type Variable struct {
	Value string `json:"value"`
}

// AsteriskPing is the AsteriskPing model.
type AsteriskPing struct {
	AsteriskID string `json:"asterisk_id"`
	Ping       string `json:"ping"`
	Timestamp  string `json:"timestamp"`
}

// AsteriskInfo is the AsteriskInfo model; every part is optional.
type AsteriskInfo struct {
	Build  *BuildInfo  `json:"build,omitempty"`
	System *SystemInfo `json:"system,omitempty"`
	Config *ConfigInfo `json:"config,omitempty"`
	Status *StatusInfo `json:"status,omitempty"`
}

// BuildInfo is the BuildInfo model.
type BuildInfo struct {
	OS      string `json:"os"`
	Kernel  string `json:"kernel"`
	Options string `json:"options"`
	Machine string `json:"machine"`
	Date    string `json:"date"`
	User    string `json:"user"`
}

// SystemInfo is the SystemInfo model.
type SystemInfo struct {
	Version  string `json:"version"`
	EntityID string `json:"entity_id"`
}

// SetID is the SetId model.
type SetID struct {
	User  string `json:"user"`
	Group string `json:"group"`
}

// ConfigInfo is the ConfigInfo model.
type ConfigInfo struct {
	Name            string   `json:"name"`
	DefaultLanguage string   `json:"default_language"`
	MaxChannels     *int     `json:"max_channels,omitempty"`
	MaxOpenFiles    *int     `json:"max_open_files,omitempty"`
	MaxLoad         *float64 `json:"max_load,omitempty"`
	SetID           SetID    `json:"setid"`
}

// StatusInfo is the StatusInfo model.
type StatusInfo struct {
	StartupTime    Time `json:"startup_time"`
	LastReloadTime Time `json:"last_reload_time"`
}
