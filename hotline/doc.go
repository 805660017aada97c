// Package hotline is the call engine: it receives calls from Asterisk over
// ARI, checks bans and rate limits, holds the caller, rings the volunteers
// who are on shift and available, lets the first answer win, bridges the
// caller to that volunteer's browser through the media relay, and writes the
// call record.
//
// # Wiring
//
//	eng, _ := hotline.New(hotline.Config{BrowserGrace: cfg.RTC.BrowserGrace, MOHClass: cfg.Trunk.MusicOnHoldClass},
//		hotline.Deps{ARI: ariClient, RTC: rtcEngine, Store: st, Notify: hub, Log: log})
//	go ariClient.Run(ctx)
//	err := eng.Run(ctx) // until ctx ends; then every call is torn down
//	ariClient.Close()   // after Run returned
//
// The api layer implements Notifier and Reach (its WebSocket hub) and calls
// Answer, Decline, Hangup, Offer, Candidate, BanCaller, Active, OnCall,
// Ringable, Ringing, CurrentCall, VolunteersChanged and BrowserGone. Errors: ErrNoCall (404), anything
// wrapping ErrNotRung (403: not rung, declined, not the answerer, on another
// call), ErrAlreadyAnswered (409), ErrNotBannable (withheld number),
// rtc.ErrBadOffer / rtc.ErrNoPCMU / rtc.ErrBadCandidate (400), store.ErrInvalid
// (a malformed ban reason envelope, 400).
//
// # One goroutine per call
//
// Each call is an actor: one goroutine owns its state and takes, in order,
// the ARI events of its channels, bridge and playbacks (its own
// ari.Subscription) and a mailbox (package mailbox) of API requests, relay callbacks, timers
// and engine signals. Nothing else touches a call's state, so there are no
// locks around it, and concurrent Answer requests are decided by their order
// in the mailbox: exactly one wins. Call ids are random UUIDs drawn by the
// engine, never Asterisk ids or anything from the caller.
//
// A call moves forward through these phases:
//
//	start     StasisStart. The caller's number is hashed (CallerHash) and
//	          sealed to every active admin; in one store transaction the ban
//	          list and the rate limit are checked and the first call record
//	          ("in_progress") written; then the number is wiped. Nothing has
//	          been answered or played.
//	          Banned: hang up with reason rejected. Rate-limited: answer,
//	          play Prompts.Busy, hang up. Arrived with Config.MaxCalls
//	          calls live: answer, play Prompts.Unavailable, hang up
//	          (outcome unanswered; counted by CallsRefused).
//	menu      (settings.Languages > 1) one prompt per language in that
//	          language, Prompts.LanguageMenu then "digits:N" (its digit);
//	          one digit, MenuTimeout after the last prompt; a missing or
//	          invalid digit picks the first language.
//	captcha   (settings.CaptchaEnabled) Prompts.CaptchaIntro then
//	          "digits:NNNN", fresh digits each attempt, CaptchaTimeout per
//	          attempt; after CaptchaAttempts wrong answers Prompts.CaptchaFail
//	          and hang up (outcome failed).
//	queued    Voicemail mode "always": straight to voicemail. With call
//	          transcripts on (and a transcriber), Prompts.Transcribed first.
//	          If nobody is eligible (on shift or in the fallback group,
//	          available, free, and reachable: a browser connected, see
//	          Reach): voicemail, or with mode "never" Prompts.Unavailable and
//	          hang up (outcome unanswered). Otherwise the greeting, then music on hold,
//	          while every eligible volunteer gets Ring. The ring set is
//	          re-read on VolunteersChanged, every RingRefresh, and when a
//	          volunteer's call ends: newly eligible volunteers are rung, rings
//	          stop ("unavailable") for those no longer eligible. At the queue
//	          timeout (settings.QueueTimeoutSeconds): RingStop "timeout",
//	          then voicemail, or Prompts.Unavailable and hang up (outcome
//	          unanswered) with mode "never".
//	voicemail Prompts.Voicemail and a beep; then the caller's channel is
//	          bridged with an externalMedia channel into the call's relay, as
//	          for a volunteer, and a tap copies their audio into the
//	          pipeline's memory (Asterisk records nothing). `#`, the hangup,
//	          the maximum length or a long silence (VoicemailSilence) ends
//	          it; the pipeline seals it to the admins and stores it; the
//	          caller is hung up (outcome voicemail; unanswered if they said
//	          nothing).
//	connected The first Answer wins: RingStop "answered-elsewhere" to the
//	          others (and "answered" to the winner's other tabs), hold music
//	          stopped, the record updated with the answer (so notes can refer
//	          to it), Connected to the winner. Then the media: a mixing bridge
//	          and an externalMedia channel with client-chosen ids registered
//	          before the requests, the relay's loopback socket as
//	          external_host, its remote from the channelvars; caller and
//	          UnicastRTP channel join the bridge on the latter's StasisStart.
//	          The browser has ConnectTimeout to connect after the answer and
//	          after each offer.
//	closing   A last prompt plays (unavailable, busy, error, CAPTCHA
//	          failure), bounded by PromptLimit, then the caller is hung up.
//
// Either side ends a call: the caller hanging up (StasisEnd or
// ChannelDestroyed; RingStop "caller-hung-up" or Ended "caller-hung-up"),
// the caller's line lost (Asterisk hung it up itself, with a soft hangup the
// call did not ask for, as when it stops; or the channel vanished while the
// events socket was down, so nobody knows who hung up: RingStop "ended" and
// outcome failed, or Ended "caller-lost"), Hangup by the answering volunteer (Ended "volunteer-hung-up"), BanCaller
// (Ended "banned"), a lost browser (below), a media failure (Ended "error",
// the caller hears Prompts.Error). Teardown always hangs up the UnicastRTP
// channel, destroys the bridge and closes the relay; the final record has
// the times, queue wait, duration, answerer and outcome.
//
// Outcomes: answered (whenever a volunteer answered, however it ended),
// abandoned (caller hung up before an answer), unanswered, banned,
// rate_limited, failed (broken before an answer, CAPTCHA failed, or the
// daemon stopped). QueueWait runs from entering the queue (after menu and
// CAPTCHA) to the answer, or to the end for unanswered calls; Duration runs
// from the answer to the end. The record also keeps QueuedAt and RangAt (when
// the answerer's ring started), and Deps.Recorded gets each final record.
//
// # A lost browser
//
// The relay reporting disconnected, failed or closed, or BrowserGone (the
// volunteer's last WebSocket closed) starts BrowserGrace. The relay
// reconnecting (a new Offer from the answering volunteer, from whatever
// socket or session, replaces the PeerConnection) stops it; an Offer gives
// ConnectTimeout or the rest of a running grace, whichever is longer. When it
// runs out the call ends with Ended "browser-lost" and Prompts.Error for the
// caller, unless the relay is still receiving the volunteer's audio: a
// closed signaling socket, or ICE reporting a connection lost while the
// audio flows on another candidate pair, does not end a call that is
// carrying voice. So a reload, a crashed browser reopened or a network
// change rejoins the call within BrowserGrace. While the relay reports the
// browser disconnected, failed or closed and none of its audio arrived for
// a second, the caller's bridge plays music on hold (MOHClass), stopped when
// the relay is connected or the audio flows again: the caller hears that
// the call goes on, not silence. A caller is never left waiting for longer
// than BrowserGrace (or ConnectTimeout right after an answer).
//
// # Caller numbers
//
// The plaintext number is in the daemon's memory during the call only, and
// then only in buffers that are wiped. The call copies it out of the
// StasisStart into a buffer of its own, hashes it (CallerHash) and seals it
// in screening, and wipes it as soon as screening is over, whatever the
// outcome (refused as banned included). Every ARI event and REST answer
// about the caller's channel carries it again: the engine wipes each event
// once handled (ari.WipeEvent), the StasisStart once the call has its copy,
// late events of ended calls (Unrouted), the channels of a Resync snapshot
// before anything else is done with it (keeping a copy only for a caller it
// may adopt), and the channels REST calls return. docs/threat-model.md says
// what remains. It is never logged, never sent to a browser (Ring carries
// the call id and times only), and stored only as an e2ee envelope (purpose
// caller-number, context the call id) sealed to every active admin. Bans and
// the rate limit use CallerHash: Argon2id under the store's caller key,
// computed in the call's own goroutine (tens of milliseconds, so other calls
// go on), plus the v1 hash under each legacy secret, with which a ban from
// before schema v2 is found and re-keyed. The call record keeps the hash
// for store.CallerHashWindow only (record leaves it out after that, and the
// retention task erases it), so a past call can be banned from its record
// only within that minute; after it, an admin bans the number itself. A withheld or non-E.164 number is "anonymous": its hash is
// zero, it cannot be banned, and anonymous calls together may make
// anonymousRateFactor (10) times the per-caller limit per minute.
//
// # ARI outages and restarts
//
// Media does not depend on the events socket, so calls carry on while it is
// down. After every (re)connection the ari client publishes a Resync; calls
// that started before that connection compare it with what they own (a
// caller or media channel or bridge that vanished during the gap ends the
// call as a lost line; a playback that finished during the gap is taken as finished) and
// re-subscribe. The engine then cleans up what no call owns: bridges of the
// app or named after it are destroyed, media channels (UnicastRTP, Snoop,
// or externalMedia data "llamenos-media") hung up, and caller channels in
// the app adopted as new calls: a caller still waiting or talking when a
// previous daemon died is re-queued (hold music, ring, no greeting, not
// rate-limited again). At start, call records a previous run left
// "in_progress" (last 30 days) become "failed".
//
// When Run's context ends the engine tears every call down within
// ShutdownTimeout: callers hung up (RingStop "ended", Ended "error"), media
// channels hung up, bridges destroyed, relays closed, records written
// (outcome failed for unanswered calls). Requests after that get ErrNoCall.
//
// Bad ARI input is never fatal: unknown events are ignored, REST errors are
// logged and end the call with the error prompt where one can still play,
// a missing UNICASTRTP_* address falls back to GET variable and then to the
// relay learning Asterisk's address from its first packet, and a panic in a
// call's goroutine is logged with its stack and tears only that call down.
package hotline
