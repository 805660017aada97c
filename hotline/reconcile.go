package hotline

import (
	"context"
	"time"

	"llamenos/ari"
	"llamenos/store"
)

// reconcile compares a Resync snapshot with the calls: every live call
// checks that its channels and bridge still exist (events of the gap are
// lost for good); anything of ours that no call owns is cleaned up:
// bridges destroyed, media channels hung up, and callers still in the app
// (left by a crashed daemon, or whose StasisStart raced the resync) adopted
// as new calls.
func (e *Engine) reconcile(r *ari.Resync, epoch int) {
	e.reconcileMu.Lock()
	defer e.reconcileMu.Unlock()

	// The snapshot carries every channel's caller ids. They are wiped before
	// anything else happens; only a caller in the app that no call owns
	// keeps a copy of its number, for the call that may adopt it.
	appChans := r.AppChannels()
	for i := range appChans {
		ch := &appChans[i]
		var number ari.Private
		if !isMediaChannel(ch, nil) && !isOurMediaID(ch.ID) && !e.isOwned(ari.ChannelKey(ch.ID)) {
			number = ch.Caller.Number.Clone()
		}
		ch.Caller, ch.Connected = ari.CallerID{Number: number}, ari.CallerID{}
	}
	r.Wipe()
	defer func() {
		for i := range appChans {
			appChans[i].Wipe()
		}
	}()

	// A nil list means its fetch failed; an empty one means Asterisk has none.
	var chans, bridges map[string]bool
	if r.Channels != nil {
		chans = make(map[string]bool, len(r.Channels))
		for _, ch := range r.Channels {
			chans[ch.ID] = true
		}
	}
	if r.Bridges != nil {
		bridges = make(map[string]bool, len(r.Bridges))
		for _, b := range r.Bridges {
			bridges[b.ID] = true
		}
	}
	e.mu.Lock()
	for _, c := range e.calls {
		if c.epoch < epoch {
			c.mbox.Push(resyncMsg{channels: chans, bridges: bridges})
		}
	}
	stopped := e.stopped
	e.mu.Unlock()
	if stopped || r.Application == nil {
		if r.Err != nil {
			e.log.Warn("resync incomplete; orphans are cleaned up at the next one", "err", r.Err)
		}
		return
	}

	ctx, cancel := context.WithTimeout(e.opCtx, 30*time.Second)
	defer cancel()
	appBridges := make(map[string]bool, len(r.Application.BridgeIDs))
	for _, id := range r.Application.BridgeIDs {
		appBridges[id] = true
	}
	// Bridges first: destroying one frees its members for adoption.
	for _, b := range r.Bridges {
		if !(appBridges[b.ID] || b.Name == e.cfg.App) || e.isOwned(ari.BridgeKey(b.ID)) {
			continue
		}
		e.log.Warn("destroying a bridge no call owns", "bridge", b.ID)
		if err := e.d.ARI.DestroyBridge(ctx, b.ID); err != nil && !ari.IsNotFound(err) {
			e.log.Error("destroy orphaned bridge", "bridge", b.ID, "err", err)
		}
	}
	var adopt []ari.Channel
	for _, ch := range appChans {
		if e.isOwned(ari.ChannelKey(ch.ID)) {
			continue
		}
		if isMediaChannel(&ch, nil) || isOurMediaID(ch.ID) {
			e.log.Warn("hanging up a media channel no call owns", "channel", ch.ID, "name", ch.Name)
			if err := e.d.ARI.Hangup(ctx, ch.ID, ari.ReasonNormal); err != nil && !ari.IsNotFound(err) {
				e.log.Error("hang up orphaned media channel", "channel", ch.ID, "err", err)
			}
			continue
		}
		adopt = append(adopt, ch)
	}
	for _, ch := range adopt {
		e.adopt(ch)
	}
}

// isOwned reports whether a live call owns the channel or bridge (as its
// caller, media channel or bridge).
func (e *Engine) isOwned(k ari.Key) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.owned[k] != nil {
		return true
	}
	return k.Kind() == "channel" && e.byChannel[k.ID()] != nil
}

// isOurMediaID recognises "<call id>-media-<n>" channel ids.
func isOurMediaID(id string) bool {
	const uuidLen = 36
	return len(id) > uuidLen+7 && id[uuidLen:uuidLen+7] == "-media-"
}

// adopt takes a caller channel found in the app as a new call.
func (e *Engine) adopt(ch ari.Channel) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped || e.byChannel[ch.ID] != nil {
		return
	}
	if at, ok := e.ended[ch.ID]; ok && time.Since(at) < time.Minute {
		return // our own hangup of it is in flight
	}
	e.log.Info("adopting a caller found in the app", "channel", ch.ID, "state", ch.State)
	// Subscribe under e.mu: a racing NewChannel for the same channel then
	// finds it owned and gives its subscription up.
	sub := e.d.ARI.Subscribe(ari.ChannelKey(ch.ID))
	e.startCallLocked(sub, ch, true)
}

// closeStaleRecords marks records a previous run left "in progress" (it
// crashed mid-call) as failed, ended now: the latest they can have ended, and
// what tells a volunteer's page that the call it still shows is over. Only
// the last 30 days are scanned.
func (e *Engine) closeStaleRecords(ctx context.Context) {
	now := e.d.Now()
	since := now.Add(-30 * 24 * time.Hour)
	var stale []store.Call
	cursor := ""
	for {
		var page []store.Call
		var next string
		err := e.d.Store.View(ctx, func(tx *store.Tx) error {
			var err error
			page, next, err = tx.ListCalls(store.CallFilter{From: since}, cursor, 200)
			return err
		})
		if err != nil {
			e.log.Error("scan for interrupted call records", "err", err)
			return
		}
		for _, c := range page {
			if c.Outcome == store.OutcomeInProgress {
				stale = append(stale, c)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, c := range stale {
		c.Outcome = store.OutcomeFailed
		if c.EndedAt.IsZero() {
			c.EndedAt = now
		}
		err := e.d.Store.Update(ctx, func(tx *store.Tx) error {
			if _, err := tx.PutCall(c); err != nil {
				return err
			}
			return tx.Audit(store.ActorSystem, "call.interrupted", "call:"+c.ID)
		})
		if err != nil {
			e.log.Error("close an interrupted call record", "call", c.ID, "err", err)
			return
		}
	}
	if len(stale) > 0 {
		e.log.Warn("closed call records a previous run left in progress", "count", len(stale))
	}
}
