package hotline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"llamenos/ari"
	"llamenos/pipeline"
	"llamenos/rtc"
	"llamenos/store"
)

// Notifier receives the events browsers need. The api WebSocket hub
// implements it. Methods are called from call goroutines and must not block:
// queue and return.
type Notifier interface {
	// Ring: these volunteers are being rung for callID. Nothing about the
	// caller is passed, ever: only the call's own random id and times.
	Ring(pubkeys []string, callID string, startedAt, ringAt time.Time)
	// RingStop: stop ringing callID for these volunteers (RingStop* reasons).
	RingStop(pubkeys []string, callID, reason string)
	// Connected: pubkey won the call; the browser now sends an offer.
	Connected(pubkey, callID string)
	// Ended: the answered call is over for pubkey (End* reasons).
	Ended(pubkey, callID, reason string)
	// Candidate: a local ICE candidate for the answering browser, as
	// RTCIceCandidateInit JSON; nil means gathering is complete (send null
	// to the browser's addIceCandidate).
	Candidate(pubkey, callID string, candidate json.RawMessage)
	// CallsChanged: the active calls or who is on a call changed (admins'
	// view, presence). Call Engine.Active / Engine.OnCall for the state.
	CallsChanged()
}

// RingStop reasons.
const (
	RingStopAnswered          = "answered"           // you answered it (other tabs of the winner)
	RingStopAnsweredElsewhere = "answered-elsewhere" // another volunteer answered
	RingStopCallerHungUp      = "caller-hung-up"
	RingStopTimeout           = "timeout"     // queue timeout: the caller went to voicemail or heard "unavailable"
	RingStopDeclined          = "declined"    // you declined (other tabs)
	RingStopUnavailable       = "unavailable" // you are no longer eligible: availability, break, shift, another call
	RingStopEnded             = "ended"       // the call ended otherwise: banned, error, shutdown
)

// Ended reasons.
const (
	EndCallerHungUp = "caller-hung-up"
	// EndCallerLost: the caller's line went away without their hangup:
	// Asterisk hung it up itself (stopping, a soft hangup the daemon did not
	// ask for), or it vanished while the ARI events were down.
	EndCallerLost      = "caller-lost"
	EndVolunteerHungUp = "volunteer-hung-up"
	EndBrowserLost     = "browser-lost"
	EndBanned          = "banned"
	EndError           = "error" // media failure, Asterisk error, daemon shutdown
)

// Reach says whether a volunteer can be rung now: a browser of theirs holds
// the daemon's socket, or held it a moment ago and may be reconnecting. The
// api hub implements it. It must not block.
type Reach interface {
	Reachable(pubkey string) bool
}

// Ring is a call ringing a volunteer, with what a Ring notification tells
// them: the call's own id and times, nothing about the caller.
type Ring struct {
	CallID    string
	StartedAt time.Time
	RingAt    time.Time
}

// Active call states.
const (
	StateRinging   = "ringing"
	StateConnected = "connected"
)

// ActiveCall is one call in Engine.Active.
type ActiveCall struct {
	CallID     string    `json:"callId"`
	State      string    `json:"state"` // StateRinging or StateConnected
	StartedAt  time.Time `json:"startedAt"`
	AnsweredBy string    `json:"answeredBy,omitempty"`
}

// Errors of the request methods. Every refusal for "you may not do that to
// this call" wraps ErrNotRung, so one errors.Is check maps them all to 403.
var (
	ErrNoCall          = errors.New("hotline: no such call")                     // 404
	ErrNotRung         = errors.New("hotline: this call is not ringing for you") // 403
	ErrAlreadyAnswered = errors.New("hotline: the call was already answered")    // 409
	// ErrNotAnswerer: only the volunteer who answered may do this.
	ErrNotAnswerer = fmt.Errorf("%w: only the answering volunteer may do this", ErrNotRung)
	// ErrBusy: the volunteer is already on another call.
	ErrBusy = fmt.Errorf("%w: you are on another call", ErrNotRung)
	// ErrNotBannable: the caller's number was withheld or not a valid E.164
	// number, or the call ended longer ago than store.CallerHashWindow and
	// its record no longer holds the caller's hash, so there is nothing to
	// ban by. (409 or 422)
	ErrNotBannable = errors.New("hotline: the caller's number is withheld or invalid, or the call is too old to hold its caller hash; it cannot be banned from the call")
	// ErrBadSignal: the browser's SDP offer or ICE candidate was refused
	// (malformed, or no PCMU). The wrapped error says what was wrong.
	ErrBadSignal = errors.New("hotline: the browser's media offer or candidate was refused")
)

// errNotYours: a ban asked by someone who neither answered the call nor
// administers the hotline; BanCaller answers ErrNoCall for it.
var errNotYours = errors.New("hotline: not the answerer's or an admin's call")

// Prompts names the sounds the caller hears, without the "sound:" prefix;
// "a&b" plays a then b, as in Asterisk's dialplan. Asterisk picks the file
// for the caller's language. The defaults are the appliance's own
// recordings (package sounds, installed by `llamenos asterisk-config`
// under <sounds>/<lang>/llamenos/), which admins may replace with theirs.
type Prompts struct {
	Greeting     string // before the hold music; default "llamenos/greeting"
	Busy         string // rate-limited caller; default "llamenos/busy"
	Unavailable  string // nobody answered or nobody is on shift; default "llamenos/unavailable"
	Error        string // something broke; default "llamenos/error"
	LanguageMenu string // played once per language, in that language, then the digit ("for English, press" 1); default "llamenos/language-menu"
	CaptchaIntro string // "please enter the following digits"; default "llamenos/captcha-intro"
	CaptchaRetry string // "that was not right, try again"; default "llamenos/captcha-retry"
	CaptchaFail  string // before hanging up after the last attempt; default "llamenos/captcha-fail"
	Voicemail    string // "leave a message after the tone", before the beep; default "llamenos/voicemail"
	Transcribed  string // "this call is transcribed", before the caller is rung; default "llamenos/transcribed"
}

// sounds is a prompt's media list: "a&b" → sound:a, sound:b.
func sounds(prompt string) []string {
	var out []string
	for _, name := range strings.Split(prompt, "&") {
		out = append(out, "sound:"+name)
	}
	return out
}

func (p *Prompts) setDefaults() {
	set := func(s *string, def string) {
		if *s == "" {
			*s = def
		}
	}
	set(&p.Greeting, "llamenos/greeting")
	set(&p.Busy, "llamenos/busy")
	set(&p.Unavailable, "llamenos/unavailable")
	set(&p.Error, "llamenos/error")
	set(&p.LanguageMenu, "llamenos/language-menu")
	set(&p.CaptchaIntro, "llamenos/captcha-intro")
	set(&p.CaptchaRetry, "llamenos/captcha-retry")
	set(&p.CaptchaFail, "llamenos/captcha-fail")
	set(&p.Voicemail, "llamenos/voicemail")
	set(&p.Transcribed, "llamenos/transcribed")
}

// DefaultBrowserGrace is Config.BrowserGrace unless set: a reload, or a
// crashed browser reopened, then the passphrase typed and the key derived
// takes a volunteer well under a minute; 90 s leaves room for a slow
// laptop or a fumbled passphrase, and the caller hears music on hold, not
// silence, while they wait.
const DefaultBrowserGrace = 90 * time.Second

// Config tunes the engine. The zero value works with Deps alone.
type Config struct {
	// App is the Stasis application; default Deps.ARI.App(). Bridges the
	// engine creates carry it as their name, which is how a restarted
	// daemon recognises its leftovers.
	App string
	// BrowserGrace is how long a caller may be left without the volunteer's
	// browser (WebRTC failed or disconnected, or BrowserGone) before the
	// call ends; the caller hears music on hold meanwhile. It must cover a
	// volunteer reloading the page or reopening a crashed browser and
	// unlocking it again. Default 90 s (DefaultBrowserGrace).
	BrowserGrace time.Duration
	// ConnectTimeout is how long the answering browser has to bring its
	// WebRTC connection up after answering or after a new offer. Default 20 s.
	ConnectTimeout time.Duration
	// MOHClass is the music-on-hold class; default "default".
	MOHClass string
	// Prompts are the sounds played to callers.
	Prompts Prompts
	// MenuTimeout is how long the language menu waits for a digit after the
	// last prompt (default 8 s); CaptchaTimeout the same for the CAPTCHA
	// digits (default 10 s).
	MenuTimeout    time.Duration
	CaptchaTimeout time.Duration
	// PromptLimit bounds a closing prompt; the caller is hung up even if
	// Asterisk never reports the playback finished. Default 60 s.
	PromptLimit time.Duration
	// ShutdownTimeout bounds the teardown when Run returns, in real time
	// whatever Deps.Clock is. Default 3 s.
	ShutdownTimeout time.Duration
	// RingRefresh is how often a waiting call re-reads who is eligible, so
	// a shift starting during the wait rings its volunteers. Default 15 s.
	RingRefresh time.Duration
	// MaxCalls caps the calls the engine handles at once, counted from the
	// caller's arrival to the hangup (language menu, CAPTCHA, queue and
	// conversation alike). A caller arriving at the cap is screened as
	// usual (a banned caller is still rejected, a rate-limited one still
	// hears the busy prompt), then hears Prompts.Unavailable and is hung
	// up, outcome unanswered, and CallsRefused counts them. Callers a
	// restarted daemon adopts are always taken back. Zero: no cap.
	MaxCalls int
	// StallLimit is how long Run's loop or a call's loop may go without
	// turning over before Alive reports the engine stuck. A call's loop may
	// legitimately wait on a few ARI requests in a row (each bounded by the
	// client's request timeout) or on a store write. Default 30 s.
	StallLimit time.Duration
	// VoicemailSilence ends a voicemail after this much silence from the
	// caller (DefaultVoicemailSilence).
	VoicemailSilence time.Duration
}

func (c *Config) setDefaults(d *Deps) {
	if c.App == "" {
		c.App = d.ARI.App()
	}
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&c.BrowserGrace, DefaultBrowserGrace)
	def(&c.ConnectTimeout, 20*time.Second)
	def(&c.MenuTimeout, 8*time.Second)
	def(&c.CaptchaTimeout, 10*time.Second)
	def(&c.PromptLimit, 60*time.Second)
	def(&c.ShutdownTimeout, 3*time.Second)
	def(&c.RingRefresh, 15*time.Second)
	def(&c.StallLimit, 30*time.Second)
	def(&c.VoicemailSilence, DefaultVoicemailSilence)
	if c.MOHClass == "" {
		c.MOHClass = "default"
	}
	c.Prompts.setDefaults()
}

// TakesVoicemail says whether the engine records voicemail: it does, as
// the voicemail setting says (a hotline whose mode is "never" counts 0).
const TakesVoicemail = true

// DefaultVoicemailSilence is Config.VoicemailSilence unless set.
const DefaultVoicemailSilence = 8 * time.Second

// Deps are the engine's collaborators. ARI, RTC, Store and Notify are
// required.
type Deps struct {
	// ARI is the client of the Stasis app. Its owner runs it (Client.Run)
	// and closes it after Engine.Run has returned; the engine only reads its
	// Notifications and calls REST.
	ARI    *ari.Client
	RTC    *rtc.Engine
	Store  *store.Store
	Notify Notifier
	// Reach tells who has a browser to ring. Nil: every volunteer counts as
	// reachable, for an engine without browsers (tests, tools).
	Reach Reach
	// Log defaults to slog.Default(). Caller numbers are never logged.
	Log *slog.Logger
	// Clock runs the call timers; default the real clock.
	Clock Clock
	// Now defaults to Clock.Now; it stamps call records and ring events.
	Now func() time.Time
	// Rand defaults to crypto/rand.Reader; it must be safe for concurrent
	// use. It draws call ids, CAPTCHA digits and envelope randomness.
	Rand io.Reader
	// Recorded, if set, gets each call's final record once it is written,
	// without the caller's hash and number (the daemon counts calls for
	// its metrics). It runs on the call's loop and must not block.
	Recorded func(store.Call)
	// Relayed, if set, gets what each answered call's relay carried, once
	// the call has ended (the daemon's audio metrics). It runs on the
	// call's loop and must not block.
	Relayed func(rtc.Stats)
	// Pipeline seals and stores voicemails and transcribes what is to be
	// transcribed. Its owner runs it (Runner.Run). Nil: the engine makes
	// one without a transcriber and runs it itself, within Run.
	Pipeline *pipeline.Runner
}
