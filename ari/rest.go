package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Hangup reasons accepted by Hangup (the `reason` parameter of DELETE
// /channels/{id}); each maps to a Q.850 cause in Asterisk.
const (
	ReasonNormal            = "normal"
	ReasonBusy              = "busy"
	ReasonCongestion        = "congestion"
	ReasonNoAnswer          = "no_answer"
	ReasonTimeout           = "timeout"
	ReasonRejected          = "rejected"
	ReasonUnallocated       = "unallocated"
	ReasonNormalUnspecified = "normal_unspecified"
	ReasonNumberIncomplete  = "number_incomplete"
	ReasonCodecMismatch     = "codec_mismatch"
	ReasonInterworking      = "interworking"
	ReasonFailure           = "failure"
	ReasonAnsweredElsewhere = "answered_elsewhere"
)

// ---- channels ----

// ListChannels returns every channel Asterisk has (not only this app's).
func (c *Client) ListChannels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	if err := c.do(ctx, http.MethodGet, "/channels", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetChannel returns one channel.
func (c *Client) GetChannel(ctx context.Context, id string) (*Channel, error) {
	var out Channel
	if err := c.do(ctx, http.MethodGet, "/channels/"+seg(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Answer answers a channel in Stasis.
func (c *Client) Answer(ctx context.Context, channelID string) error {
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/answer", nil, nil, nil)
}

// Ring indicates ringing (SIP 180) to the caller before answer.
func (c *Client) Ring(ctx context.Context, channelID string) error {
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/ring", nil, nil, nil)
}

// RingStop stops the ringing indication.
func (c *Client) RingStop(ctx context.Context, channelID string) error {
	return c.do(ctx, http.MethodDelete, "/channels/"+seg(channelID)+"/ring", nil, nil, nil)
}

// Hangup hangs up a channel with one of the Reason* constants ("" lets
// Asterisk use normal clearing). Teardown code may treat IsNotFound(err) as
// success: the channel was already gone.
func (c *Client) Hangup(ctx context.Context, channelID, reason string) error {
	var q url.Values
	if reason != "" {
		q = url.Values{"reason": {reason}}
	}
	return c.do(ctx, http.MethodDelete, "/channels/"+seg(channelID), q, nil, nil)
}

// HangupWithCode hangs up a channel with an explicit Q.850 cause code.
func (c *Client) HangupWithCode(ctx context.Context, channelID string, cause int) error {
	q := url.Values{"reason_code": {strconv.Itoa(cause)}}
	return c.do(ctx, http.MethodDelete, "/channels/"+seg(channelID), q, nil, nil)
}

// ContinueOptions says where ContinueInDialplan sends the channel. Empty
// fields keep Asterisk's defaults (the next priority of the current place).
type ContinueOptions struct {
	Context   string
	Extension string
	Priority  int
	Label     string
}

// ContinueInDialplan makes the channel leave Stasis and go on in the
// dialplan (e.g. to a fallback message).
func (c *Client) ContinueInDialplan(ctx context.Context, channelID string, o ContinueOptions) error {
	q := url.Values{}
	setIf(q, "context", o.Context)
	setIf(q, "extension", o.Extension)
	if o.Priority > 0 {
		q.Set("priority", strconv.Itoa(o.Priority))
	}
	setIf(q, "label", o.Label)
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/continue", q, nil, nil)
}

// GetChannelVar reads a channel variable or dialplan function, e.g.
// "CALLERID(num)".
func (c *Client) GetChannelVar(ctx context.Context, channelID, name string) (string, error) {
	var out Variable
	q := url.Values{"variable": {name}}
	if err := c.do(ctx, http.MethodGet, "/channels/"+seg(channelID)+"/variable", q, nil, &out); err != nil {
		return "", err
	}
	return out.Value, nil
}

// SetChannelVar sets a channel variable or writable function, e.g.
// "JITTERBUFFER(adaptive)" = "default".
func (c *Client) SetChannelVar(ctx context.Context, channelID, name, value string) error {
	q := url.Values{"variable": {name}, "value": {value}}
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/variable", q, nil, nil)
}

// StartChannelMOH starts music on hold on a channel (class "" = default).
// A later PlayChannel on the channel suspends the music and Asterisk does
// not resume it by itself.
func (c *Client) StartChannelMOH(ctx context.Context, channelID, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/moh", q, nil, nil)
}

// StopChannelMOH stops music on hold on a channel.
func (c *Client) StopChannelMOH(ctx context.Context, channelID string) error {
	return c.do(ctx, http.MethodDelete, "/channels/"+seg(channelID)+"/moh", nil, nil, nil)
}

// PlayOptions are the optional parameters of a play request.
type PlayOptions struct {
	Lang     string
	OffsetMS int // skip this much of the first URI
	SkipMS   int // step for forward/reverse control; 0 keeps Asterisk's 3000
	// AnnouncerFormat applies to bridge playback only.
	AnnouncerFormat string
}

func (o *PlayOptions) query(media []string, bridge bool) url.Values {
	q := url.Values{"media": {strings.Join(media, ",")}}
	if o == nil {
		return q
	}
	setIf(q, "lang", o.Lang)
	if o.OffsetMS > 0 {
		q.Set("offsetms", strconv.Itoa(o.OffsetMS))
	}
	if o.SkipMS > 0 {
		q.Set("skipms", strconv.Itoa(o.SkipMS))
	}
	if bridge {
		setIf(q, "announcer_format", o.AnnouncerFormat)
	}
	return q
}

// PlayChannel plays media URIs ("sound:…", "digits:…", "tone:…", …) in order
// to a channel. Give a playbackID and Subscription.Expect(PlaybackKey(id))
// first so PlaybackStarted cannot slip past; with "" Asterisk picks the id.
func (c *Client) PlayChannel(ctx context.Context, channelID, playbackID string, media []string, o *PlayOptions) (*Playback, error) {
	if len(media) == 0 {
		return nil, fmt.Errorf("ari: play on channel %s: no media", channelID)
	}
	path := "/channels/" + seg(channelID) + "/play"
	if playbackID != "" {
		path += "/" + seg(playbackID)
	}
	var out Playback
	if err := c.do(ctx, http.MethodPost, path, o.query(media, false), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PlayBridge plays media to every member of a bridge.
func (c *Client) PlayBridge(ctx context.Context, bridgeID, playbackID string, media []string, o *PlayOptions) (*Playback, error) {
	if len(media) == 0 {
		return nil, fmt.Errorf("ari: play on bridge %s: no media", bridgeID)
	}
	path := "/bridges/" + seg(bridgeID) + "/play"
	if playbackID != "" {
		path += "/" + seg(playbackID)
	}
	var out Playback
	if err := c.do(ctx, http.MethodPost, path, o.query(media, true), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPlayback returns a playback's current state.
func (c *Client) GetPlayback(ctx context.Context, playbackID string) (*Playback, error) {
	var out Playback
	if err := c.do(ctx, http.MethodGet, "/playbacks/"+seg(playbackID), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopPlayback stops (or dequeues) a playback.
func (c *Client) StopPlayback(ctx context.Context, playbackID string) error {
	return c.do(ctx, http.MethodDelete, "/playbacks/"+seg(playbackID), nil, nil, nil)
}

// ExternalMediaParams are the parameters of ExternalMedia. ExternalHost
// ("127.0.0.1:port") is where Asterisk sends RTP; send back from that same
// socket, since strict RTP accepts that address at once.
type ExternalMediaParams struct {
	ChannelID    string // client-chosen; Expect(ChannelKey(id)) first
	App          string // default: the client's app
	ExternalHost string
	Format       string // default "ulaw"
	// Encapsulation, Transport, ConnectionType and Direction default (in
	// Asterisk) to rtp, udp, client and both.
	Encapsulation  string
	Transport      string
	ConnectionType string
	Direction      string
	Data           string // becomes the StasisStart args
	TransportData  string
	Variables      map[string]string
}

// ExternalMedia creates an externalMedia channel. The returned Channel keeps
// the channelvars with UNICASTRTP_LOCAL_ADDRESS/PORT (see UnicastRTPAddr).
// The channel enters the app by itself: its StasisStart arrives as an event,
// possibly before this call returns; add it to a bridge only after that.
func (c *Client) ExternalMedia(ctx context.Context, p ExternalMediaParams) (*Channel, error) {
	if p.App == "" {
		p.App = c.cfg.App
	}
	if p.Format == "" {
		p.Format = "ulaw"
	}
	q := url.Values{"app": {p.App}, "format": {p.Format}}
	setIf(q, "channelId", p.ChannelID)
	setIf(q, "external_host", p.ExternalHost)
	setIf(q, "encapsulation", p.Encapsulation)
	setIf(q, "transport", p.Transport)
	setIf(q, "connection_type", p.ConnectionType)
	setIf(q, "direction", p.Direction)
	setIf(q, "data", p.Data)
	setIf(q, "transport_data", p.TransportData)
	var body any
	if len(p.Variables) > 0 {
		body = map[string]any{"variables": p.Variables}
	}
	var out Channel
	if err := c.do(ctx, http.MethodPost, "/channels/externalMedia", q, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- bridges ----

// BridgeOptions are the optional parameters of CreateBridge.
type BridgeOptions struct {
	Types []string // Bridge* constants; default (Asterisk) mixing
	Name  string
}

// CreateBridge creates a bridge. Give a bridgeID (and Expect its key first)
// to receive its events; "" lets Asterisk choose.
func (c *Client) CreateBridge(ctx context.Context, bridgeID string, o BridgeOptions) (*Bridge, error) {
	q := url.Values{}
	if len(o.Types) > 0 {
		q.Set("type", strings.Join(o.Types, ","))
	}
	setIf(q, "name", o.Name)
	path := "/bridges"
	if bridgeID != "" {
		path += "/" + seg(bridgeID)
	}
	var out Bridge
	if err := c.do(ctx, http.MethodPost, path, q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListBridges returns every bridge.
func (c *Client) ListBridges(ctx context.Context) ([]Bridge, error) {
	var out []Bridge
	if err := c.do(ctx, http.MethodGet, "/bridges", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetBridge returns one bridge.
func (c *Client) GetBridge(ctx context.Context, bridgeID string) (*Bridge, error) {
	var out Bridge
	if err := c.do(ctx, http.MethodGet, "/bridges/"+seg(bridgeID), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DestroyBridge destroys a bridge; its members stay in Stasis.
func (c *Client) DestroyBridge(ctx context.Context, bridgeID string) error {
	return c.do(ctx, http.MethodDelete, "/bridges/"+seg(bridgeID), nil, nil, nil)
}

// AddChannelOptions are the optional parameters of AddChannel.
type AddChannelOptions struct {
	Role                        string
	AbsorbDTMF                  bool
	Mute                        bool
	InhibitConnectedLineUpdates bool
}

// AddChannel adds channels to a bridge. Asterisk answers 422 for a channel
// whose StasisStart has not happened yet.
func (c *Client) AddChannel(ctx context.Context, bridgeID string, channelIDs []string, o *AddChannelOptions) error {
	if len(channelIDs) == 0 {
		return fmt.Errorf("ari: add to bridge %s: no channel", bridgeID)
	}
	q := url.Values{"channel": {strings.Join(channelIDs, ",")}}
	if o != nil {
		setIf(q, "role", o.Role)
		setBool(q, "absorbDTMF", o.AbsorbDTMF)
		setBool(q, "mute", o.Mute)
		setBool(q, "inhibitConnectedLineUpdates", o.InhibitConnectedLineUpdates)
	}
	return c.do(ctx, http.MethodPost, "/bridges/"+seg(bridgeID)+"/addChannel", q, nil, nil)
}

// RemoveChannel removes channels from a bridge.
func (c *Client) RemoveChannel(ctx context.Context, bridgeID string, channelIDs ...string) error {
	if len(channelIDs) == 0 {
		return fmt.Errorf("ari: remove from bridge %s: no channel", bridgeID)
	}
	q := url.Values{"channel": {strings.Join(channelIDs, ",")}}
	return c.do(ctx, http.MethodPost, "/bridges/"+seg(bridgeID)+"/removeChannel", q, nil, nil)
}

// StartBridgeMOH plays music on hold to the whole bridge.
func (c *Client) StartBridgeMOH(ctx context.Context, bridgeID, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	return c.do(ctx, http.MethodPost, "/bridges/"+seg(bridgeID)+"/moh", q, nil, nil)
}

// StopBridgeMOH stops music on hold on a bridge.
func (c *Client) StopBridgeMOH(ctx context.Context, bridgeID string) error {
	return c.do(ctx, http.MethodDelete, "/bridges/"+seg(bridgeID)+"/moh", nil, nil, nil)
}

// ---- applications and asterisk ----

// GetApplication returns what Asterisk knows of an app ("" = this client's),
// including its channel_ids and bridge_ids.
func (c *Client) GetApplication(ctx context.Context, name string) (*Application, error) {
	if name == "" {
		name = c.cfg.App
	}
	var out Application
	if err := c.do(ctx, http.MethodGet, "/applications/"+seg(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SubscribeApplication subscribes this client's app to event sources such
// as "channel:ID" or "bridge:ID" (ChannelKey and BridgeKey give these).
func (c *Client) SubscribeApplication(ctx context.Context, sources ...Key) (*Application, error) {
	return c.subscription(ctx, http.MethodPost, sources)
}

// UnsubscribeApplication removes event-source subscriptions.
func (c *Client) UnsubscribeApplication(ctx context.Context, sources ...Key) (*Application, error) {
	return c.subscription(ctx, http.MethodDelete, sources)
}

func (c *Client) subscription(ctx context.Context, method string, sources []Key) (*Application, error) {
	if len(sources) == 0 {
		return nil, fmt.Errorf("ari: %s subscription: no event source", method)
	}
	s := make([]string, len(sources))
	for i, k := range sources {
		s[i] = string(k)
	}
	q := url.Values{"eventSource": {strings.Join(s, ",")}}
	var out Application
	if err := c.do(ctx, method, "/applications/"+seg(c.cfg.App)+"/subscription", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ping checks that Asterisk answers.
func (c *Client) Ping(ctx context.Context) (*AsteriskPing, error) {
	var out AsteriskPing
	if err := c.do(ctx, http.MethodGet, "/asterisk/ping", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Info returns Asterisk's build, system, config and status information.
func (c *Client) Info(ctx context.Context) (*AsteriskInfo, error) {
	var out AsteriskInfo
	if err := c.do(ctx, http.MethodGet, "/asterisk/info", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setBool(q url.Values, k string, v bool) {
	if v {
		q.Set(k, "true")
	}
}
