// Package ari is the daemon's client for the Asterisk REST Interface (ARI,
// Asterisk 22 / ARI 10): REST calls over net/http and the events WebSocket
// of one Stasis application, with routing of events to per-call
// subscriptions. It knows nothing of hotlines.
//
// # REST
//
// Every call takes a context and is also bounded by Config.RequestTimeout.
// A 2xx answer is success (204 has no body); anything else is an *Error
// carrying the HTTP status and Asterisk's message. IsNotFound tells "already
// gone", which teardown code treats as done:
//
//	if err := cl.Hangup(ctx, id, ari.ReasonNormal); err != nil && !ari.IsNotFound(err) { ... }
//
// ExternalMedia returns the Channel with its channelvars, so
// Channel.UnicastRTPAddr gives the address Asterisk receives RTP on.
//
// # Events
//
// Run keeps one WebSocket connected, reconnecting with capped exponential
// backoff and pinging it every PingInterval. Its reader goroutine only reads
// frames and queues them (Asterisk drops a client whose socket blocks for
// 100 ms); a dispatcher goroutine decodes and routes them. Malformed frames
// and unmodelled event types are counted and logged, never fatal.
//
// Routing is by resource key ("channel:ID", "bridge:ID", "playback:ID",
// "recording:NAME"), taken from every id an event mentions (a playback's
// target_uri included). A Subscription owns a set of keys and receives, in
// socket order, every event mentioning one of them, through its own queue:
// a slow consumer delays only itself, never the reader or other calls.
//
// A hotline engine with one goroutine per call uses it like this:
//
//	cl, _ := ari.New(cfg)
//	go cl.Run(ctx)
//	for n := range cl.Notifications() {
//		switch n := n.(type) {
//		case *ari.NewChannel: // an unexpected StasisStart: a new inbound call
//			go runCall(n.Subscription, n.Event) // it wipes n.Event once done with it
//			continue
//		case *ari.Resync: // after every (re)connection: adopt or clean up
//			reconcile(n.AppChannels(), n.Bridges)
//		case *ari.ConnectionState: // socket up or down
//		case *ari.Unrouted: // events nobody owns, e.g. late ChannelDestroyed
//		}
//		ari.WipeNotification(n) // done with it
//	}
//
//	func runCall(sub *ari.Subscription, start *ari.StasisStart) {
//		defer sub.Close()
//		// Register client-chosen ids before the request that creates them:
//		// their first event can beat the HTTP response.
//		sub.Expect(ari.BridgeKey(bridgeID), ari.ChannelKey(mediaID))
//		cl.CreateBridge(ctx, bridgeID, ari.BridgeOptions{Types: []string{ari.BridgeMixing}})
//		cl.ExternalMedia(ctx, ari.ExternalMediaParams{ChannelID: mediaID, ExternalHost: local})
//		for ev := range sub.Events() {
//			switch ev := ev.(type) {
//			case *ari.StasisStart: // our externalMedia channel: add it to the bridge now
//			case *ari.StasisEnd, *ari.ChannelDestroyed: // tear down (idempotent)
//			}
//			ari.WipeEvent(ev)
//		}
//	}
//
// The client creates a NewChannel's Subscription itself while routing the
// StasisStart, so no later event of that channel can be missed. Terminal
// events (ChannelDestroyed, BridgeDestroyed, PlaybackFinished,
// RecordingFinished/Failed) drop their key from the routing table on their
// own; Close drops the rest.
//
// Queues grow as needed up to Config.MaxQueue entries each; beyond that the
// oldest entry is dropped, counted in Stats and logged at error level, so a
// wedged consumer cannot exhaust memory and no loss is silent.
//
// # Reconnection
//
// Asterisk does not replay events missed while the socket was down, and sends
// no new StasisStart for channels already in the app. After every successful
// connection (the first one included) the client publishes a Resync with the
// application's channel_ids and bridge_ids and every live channel and bridge,
// so the consumer can re-own calls (Client.Subscribe) or hang up orphans.
// Subscriptions survive reconnects. If another connection takes the app over
// (ApplicationReplaced), Run returns ErrApplicationReplaced instead of
// stealing it back.
//
// # Caller ids
//
// Event payloads and channel listings carry caller numbers: the package
// never logs them, and keeps none it does not wipe. CallerID's Name and
// Number are Private, decoded straight into buffers that can be zeroed,
// never into Go strings. The client reads every event frame and REST
// response body into a buffer of its own and zeroes it once decoded; its
// default HTTP transport zeroes the connections' read buffers before each
// refill, so an idle connection keeps nothing it read; and it wipes the
// events it never hands over (unmodelled types, queue overflow, a closed
// subscription, notifications unread at Close).
//
// What it hands over is the receiver's: the consumer wipes each event taken
// from Subscription.Events (WipeEvent), each notification (WipeNotification:
// a NewChannel's StasisStart, an Unrouted event, a Resync's channels) and
// each Channel a REST call returned (Channel.Wipe), once done with it. An
// event routed to several subscriptions reaches each as a copy of its own.
// Channel variables, values read with GetChannelVar (e.g. CALLERID(num))
// and the redirecting number stay plain strings.
package ari
