// Package aritest is an in-process Asterisk 22 for tests, benchmarks and
// `llamenos demo`: the ARI REST routes and events WebSocket the daemon uses,
// with Asterisk's paths, authentication (Basic or api_key), JSON models,
// status codes and event sequences, plus real externalMedia RTP.
//
// Start one with New, point an ari.Client at URL with Username and
// Password, and script callers with PlaceCall:
//
//	sim, _ := aritest.New(aritest.Options{})
//	defer sim.Close()
//	call, _ := sim.PlaceCall(aritest.CallSpec{
//		App: "hotline", CallerNumber: "+15551230000", DialedNumber: "+15559870000",
//		Audio: audio.NewTone(audio.SampleRate, 0.3, 440), // or audio.NewLoop(samples, true)
//		DTMF:  []aritest.DTMF{{Digit: "1", At: 2 * time.Second}},
//	})
//	...
//	call.Hangup()
//
// Behaviour follows Asterisk's source (res/ari/resource_*.c, main/channel.c,
// chan_rtp) where the schema is silent:
//
//   - A caller enters the app in state Ring (StasisStart with the Stasis
//     args; caller.number and dialplan.exten carry the caller and the DID).
//     PlaceCall fails with ErrAppInactive when no socket holds the app, as
//     Stasis() would.
//   - Answer gives ChannelStateChange (Up). Operations on a channel not in
//     Stasis answer 409, on a Down/Ringing channel 412, on an unknown one
//     404; addChannel answers 400 for an unknown channel and 422 for one
//     not yet in Stasis (an externalMedia channel before its StasisStart,
//     see Options.StasisStartDelay).
//   - A far-end hangup emits ChannelHangupRequest (Q.850 cause), then
//     ChannelLeftBridge, StasisEnd and ChannelDestroyed; an ARI hangup the
//     same with a soft request (soft=true, cause = AST_SOFTHANGUP_EXPLICIT).
//     Bridge destroy removes the members (ChannelLeftBridge) and emits
//     BridgeDestroyed to apps that had a channel in it. ARI-created bridges
//     get no BridgeCreated, as the app is not subscribed to them yet.
//   - Playbacks answer 201 in state queued, then PlaybackStarted,
//     PlaybackContinuing per further URI and PlaybackFinished (done or
//     failed); a channel or bridge plays one at a time, in order. Sound
//     lengths come from Options.SoundDurations, or from the file itself
//     when Options.Sounds holds one for the playback's language (the
//     caller's Call.Prompts then records the audio it heard); tone: URIs
//     play until stopped. Music on hold plays until stopped, and a channel play
//     suspends it for good.
//   - externalMedia (rtp/udp/ulaw only) returns the Channel with
//     channelvars UNICASTRTP_LOCAL_ADDRESS/PORT for a real UDP socket on
//     127.0.0.1, then enters the app by itself. While it shares a bridge
//     with someone it sends 20 ms µ-law packets (PT 0, one random SSRC,
//     consecutive sequence numbers, timestamps +160, marker after a gap) of
//     the other members' audio to external_host, and it accepts RTP only
//     from external_host (strict RTP); bridged callers hear what it receives
//     (Call.Heard).
//   - A second events socket for an app sends ApplicationReplaced to the
//     first. DropEvents cuts the sockets; while an app has none its events
//     are dropped (MissedEvents), as in Asterisk.
//   - Shutdown hangs every channel up as a stopping Asterisk does (a soft
//     request with cause = AST_SOFTHANGUP_SHUTDOWN, then the usual
//     teardown events); Restart makes everything vanish without an event.
//   - An events-socket write blocked for Options.WriteTimeout (100 ms)
//     drops the client, as websocket_write_timeout does. Each frame's
//     timestamp is the moment it is written, so a client can measure its own
//     read lag.
//
// Deliberate differences: unknown query parameters get 400 (Asterisk ignores
// them) unless Options.LaxParams; only the operations the daemon uses exist
// (others answer 404 like an unknown resource); ChannelVarset is sent only
// for variables set with report_events.
//
// One media clock goroutine serves every call (about 4 µs of CPU per call
// per 20 ms frame), plus one blocked reader goroutine per externalMedia
// socket. Close stops every goroutine the server started.
package aritest
