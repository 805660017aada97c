package api

import (
	"encoding/json"
	"time"
)

// The Hub is the call engine's notifier (hotline.Notifier): it delivers the
// engine's events to browsers. Every method only queues messages, so the
// engine never waits on a browser.

// ringMsg is all a ring tells a browser: which call, since when. Never
// anything about the caller.
type ringMsg struct {
	Type      string    `json:"type"`
	CallID    string    `json:"callId"`
	StartedAt time.Time `json:"startedAt"`
	RingAt    time.Time `json:"ringAt"`
}

// ringEntry is one call ringing a volunteer in their welcome: exactly
// what its ring message says.
type ringEntry struct {
	CallID    string    `json:"callId"`
	StartedAt time.Time `json:"startedAt"`
	RingAt    time.Time `json:"ringAt"`
}

// The call events are sent under callMu, so a socket being welcomed gets
// them after its welcome (see Hub.run).

func (h *Hub) Ring(pubkeys []string, callID string, startedAt, ringAt time.Time) {
	msg := ringMsg{Type: "ring", CallID: callID, StartedAt: startedAt.UTC(), RingAt: ringAt.UTC()}
	h.callMu.Lock()
	defer h.callMu.Unlock()
	for _, pk := range pubkeys {
		h.sendTo(pk, msg)
	}
}

func (h *Hub) RingStop(pubkeys []string, callID, reason string) {
	msg := map[string]any{"type": "ring:stop", "callId": callID, "reason": reason}
	h.callMu.Lock()
	defer h.callMu.Unlock()
	for _, pk := range pubkeys {
		h.sendTo(pk, msg)
	}
}

func (h *Hub) Connected(pubkey, callID string) {
	h.callMu.Lock()
	defer h.callMu.Unlock()
	h.sendTo(pubkey, map[string]any{"type": "call:connected", "callId": callID})
}

func (h *Hub) Ended(pubkey, callID, reason string) {
	h.callMu.Lock()
	defer h.callMu.Unlock()
	h.sendTo(pubkey, map[string]any{"type": "call:ended", "callId": callID, "reason": reason})
}

func (h *Hub) Candidate(pubkey, callID string, candidate json.RawMessage) {
	h.sendTo(pubkey, map[string]any{"type": "rtc:candidate", "callId": callID, "candidate": candidate})
}

// CallsChanged asks the server's refresh loop to send fresh presence and
// active calls to everyone. Kicks coalesce, so a burst of changes costs one
// refresh.
func (h *Hub) CallsChanged() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}
