package hotline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"llamenos/e2ee"
	"llamenos/rtc"
	"llamenos/store"
)

// anonymousRateFactor: withheld and invalid numbers share one hash (zero),
// so they are not limited per caller; all of them together may make this
// many times the per-caller limit per minute, which stops a flood of
// withheld-number calls without turning away people who hide their number.
const anonymousRateFactor = 10

type screenResult struct{ banned, limited bool }

// screen identifies the caller by keyed hash, seals their number to the
// admins, and checks the ban list and the rate limit, writing the call's
// first record in the same transaction so concurrent calls from one number
// count each other. Nothing has been played or answered yet.
//
// The number is needed for nothing else: it is wiped when screen returns.
func (c *call) screen() (screenResult, error) {
	var res screenResult
	defer c.wipeNumber()
	key := c.e.d.Store.CallerKey()
	plain := bytes.TrimSpace(c.number) // what is sealed: E.164 when valid
	c.anonymous = true
	var legacy []store.Hash
	if e164, err := e2ee.NormalizedE164(c.number); err == nil {
		// Argon2id: tens of milliseconds of this call's own goroutine, so
		// other calls and the engine go on meanwhile.
		if h, err := key.PhoneHashBytes(e164); err == nil {
			clear(c.number)
			c.number, plain = e164, e164
			c.hash, c.anonymous = h, false
			if legacy, err = key.LegacyHashes(e164); err != nil {
				return res, err
			}
		} else {
			clear(e164)
		}
	}

	var admins []e2ee.PublicKey
	err := c.e.d.Store.View(c.ctx(), func(tx *store.Tx) error {
		var err error
		if c.settings, err = tx.Settings(); err != nil {
			return err
		}
		admins, err = tx.SealingAdminKeys()
		return err
	})
	if err != nil {
		return res, err
	}
	c.lang = "en"
	if len(c.settings.Languages) > 0 {
		c.lang = c.settings.Languages[0]
	}
	if len(plain) > 0 && len(admins) > 0 {
		env, err := e2ee.Seal(c.e.d.Rand, plain, e2ee.Context{Purpose: e2ee.PurposeCallerNumber, CallID: c.id, ItemID: "caller"}, admins)
		if err != nil {
			return res, fmt.Errorf("seal the caller number: %w", err)
		}
		c.sealed = env
	}

	err = c.e.d.Store.Update(c.ctx(), func(tx *store.Tx) error {
		res = screenResult{}
		var rekeyed store.Hash
		if !c.anonymous {
			banned, err := tx.IsBanned(c.hash)
			if err != nil {
				return err
			}
			// A ban from before schema v2 is keyed by the v1 hash: now that
			// the number is known, it moves to this call's hash.
			for _, lh := range legacy {
				if banned {
					break
				}
				if banned, err = tx.RekeyBan(lh, c.hash); err != nil {
					return err
				}
				if banned {
					rekeyed = lh
				}
			}
			res.banned = banned
		}
		if !rekeyed.IsZero() {
			if err := tx.Audit(store.ActorSystem, "ban.rekeyed", "ban:"+rekeyed.String(), "ban:"+c.hash.String()); err != nil {
				return err
			}
		}
		if !res.banned && !c.chanUp && c.settings.RateLimitPerMinute > 0 {
			// A caller re-queued after a restart was counted when they called.
			n, err := tx.CountCallsFrom(c.hash, c.startedAt.Add(-store.CallerHashWindow))
			if err != nil {
				return err
			}
			limit := c.settings.RateLimitPerMinute
			if c.anonymous {
				limit *= anonymousRateFactor
			}
			res.limited = n >= limit
		}
		rec := c.record()
		switch {
		case res.banned:
			rec.Outcome, rec.EndedAt = store.OutcomeBanned, c.startedAt
		case res.limited:
			rec.Outcome, rec.EndedAt = store.OutcomeRateLimited, c.startedAt
		}
		if _, err := tx.PutCall(rec); err != nil {
			return err
		}
		switch {
		case res.banned:
			return tx.Audit(store.ActorSystem, "call.rejected_banned", "call:"+c.id, "ban:"+c.hash.String())
		case res.limited:
			return tx.Audit(store.ActorSystem, "call.rate_limited", "call:"+c.id)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	c.recorded = true
	return res, nil
}

// record is the call's metadata as it stands.
func (c *call) record() store.Call {
	r := store.Call{
		ID:           c.id,
		StartedAt:    c.startedAt,
		AnsweredAt:   c.answeredAt,
		EndedAt:      c.endedAt,
		QueuedAt:     c.queuedAt,
		RangAt:       c.rangAt,
		AnsweredBy:   c.answerer,
		Outcome:      c.outcome,
		Language:     c.lang,
		CallerNumber: c.sealed,
		Transcribed:  c.transcribed,
	}
	// The record keeps the caller hash for the rate limit's window only (the
	// store's purge erases it after that), so a later write of a long call
	// does not bring it back.
	if c.now().Sub(c.startedAt) < store.CallerHashWindow {
		r.CallerHash = c.hash
	}
	queued := c.queuedAt
	if queued.IsZero() {
		queued = c.startedAt
	}
	switch {
	case !c.answeredAt.IsZero():
		r.QueueWait = nonNeg(c.answeredAt.Sub(queued))
		if !c.endedAt.IsZero() {
			r.Duration = nonNeg(c.endedAt.Sub(c.answeredAt))
		}
	case !c.endedAt.IsZero() && !c.queuedAt.IsZero():
		r.QueueWait = nonNeg(c.endedAt.Sub(c.queuedAt))
	}
	return r
}

func nonNeg(d time.Duration) time.Duration { return max(d, 0) }

// writeAnswered records the answer at once, so the volunteer can attach a
// note while the call is live.
func (c *call) writeAnswered() {
	rec := c.record()
	err := c.e.d.Store.Update(c.ctx(), func(tx *store.Tx) error {
		if _, err := tx.PutCall(rec); err != nil {
			return err
		}
		return tx.Audit(c.answerer, "call.answered", "call:"+c.id, "volunteer:"+c.answerer)
	})
	if err != nil {
		c.log.Error("record the answer", "err", err)
	}
}

// writeFinal writes the call's last record.
func (c *call) writeFinal() {
	if !c.recorded {
		return // screening never wrote one (the store failed)
	}
	if c.outcome == store.OutcomeInProgress {
		c.outcome = store.OutcomeFailed
	}
	rec := c.record()
	err := c.e.d.Store.Update(c.ctx(), func(tx *store.Tx) error {
		if _, err := tx.PutCall(rec); err != nil {
			return err
		}
		return tx.Audit(store.ActorSystem, "call.ended", "call:"+c.id)
	})
	if err != nil {
		c.log.Error("write the call record", "err", err)
		return
	}
	attrs := []any{"outcome", string(rec.Outcome), "queue_wait", rec.QueueWait.Round(time.Millisecond), "duration", rec.Duration.Round(time.Millisecond)}
	audio, relayed := c.audio, c.relayed
	if c.relay != nil {
		audio.Add(c.relay.Stats())
		relayed = true
	}
	if relayed {
		attrs = append(attrs, relayAttrs(audio))
	}
	c.log.Info("call ended", attrs...)
	if relayed && c.e.d.Relayed != nil {
		c.e.d.Relayed(audio)
	}
	if c.e.d.Recorded != nil {
		rec.CallerHash, rec.CallerNumber = store.Hash{}, nil
		c.e.d.Recorded(rec)
	}
}

// relayAttrs is what the call's relay carried, for the "call ended" line:
// a sysadmin reads a volunteer's "they couldn't hear me" off it (audio that
// arrived late and was dropped by the playout buffer, or never arrived).
func relayAttrs(st rtc.Stats) slog.Attr {
	return slog.Group("audio",
		"from_asterisk", st.FromAsterisk.Packets, "to_browser", st.ToBrowser.Packets,
		"from_browser", st.FromBrowser.Packets, "to_asterisk", st.ToAsterisk.Packets,
		"pacer_dropped", st.PacerDropped, "pacer_skipped", st.PacerSkipped,
		"refused", st.Malformed+st.WrongType+st.WrongSource, "no_remote", st.NoRemote,
		"errors", st.WriteErrors+st.ReadErrors)
}

func (e *Engine) isAdmin(ctx context.Context, pubkey string) bool {
	ok := false
	_ = e.d.Store.View(ctx, func(tx *store.Tx) error {
		v, err := tx.Volunteer(pubkey)
		ok = err == nil && v.IsActiveAdmin()
		return nil
	})
	return ok
}

// writeBan stores a ban by caller hash with the call's sealed number.
func (e *Engine) writeBan(ctx context.Context, callID string, h store.Hash, number, reason []byte, actor string) error {
	err := e.d.Store.Update(ctx, func(tx *store.Tx) error {
		if len(reason) > 0 {
			// The reason is for the admins: sealed to every one of them.
			if err := tx.CheckSealed(reason); err != nil {
				return err
			}
		}
		// Number is the call's caller-number envelope, whose context names
		// the call: CallID lets the admins' browsers open it.
		ban := store.Ban{Hash: h, Number: number, Reason: reason, CreatedBy: actor}
		if len(number) > 0 {
			ban.CallID = callID
		}
		if _, err := tx.PutBan(ban); err != nil {
			return err
		}
		return tx.Audit(actor, "ban.added", "ban:"+h.String(), "call:"+callID)
	})
	if err != nil {
		return fmt.Errorf("hotline: ban caller of call %s: %w", callID, err)
	}
	return nil
}

// banPastCall bans from a call's stored record.
func (e *Engine) banPastCall(ctx context.Context, callID, actor string, reason []byte) error {
	var rec store.Call
	err := e.d.Store.View(ctx, func(tx *store.Tx) error {
		var err error
		rec, err = tx.Call(callID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return ErrNoCall
	}
	if err != nil {
		return fmt.Errorf("hotline: ban caller of call %s: %w", callID, err)
	}
	if actor == "" || (actor != rec.AnsweredBy && !e.isAdmin(ctx, actor)) {
		return ErrNoCall // not theirs: the same answer as no such call
	}
	if rec.CallerHash.IsZero() {
		return ErrNotBannable // withheld, or older than store.CallerHashWindow
	}
	return e.writeBan(ctx, callID, rec.CallerHash, rec.CallerNumber, reason, actor)
}

// eligible returns who may be rung now: on shift (or, when none of those is
// ready, the fallback group), active, available, not on break, not on a
// call, and reachable (a browser connected, see Deps.Reach).
func (e *Engine) eligible(ctx context.Context, now time.Time) (map[string]bool, error) {
	var (
		vols      []store.Volunteer
		scheduled []string
		fallback  []string
	)
	err := e.d.Store.View(ctx, func(tx *store.Tx) error {
		var err error
		if vols, err = tx.Volunteers(); err != nil {
			return err
		}
		if scheduled, err = ScheduledNow(tx, now); err != nil {
			return err
		}
		fallback, err = tx.FallbackGroup()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hotline: who is eligible: %w", err)
	}
	ready := make(map[string]bool, len(vols))
	for _, v := range vols {
		if v.Active && v.Available && !v.OnBreak && !e.isOnCall(v.PubKey) && e.reachable(v.PubKey) {
			ready[v.PubKey] = true
		}
	}
	out := map[string]bool{}
	for _, pk := range scheduled {
		if ready[pk] {
			out[pk] = true
		}
	}
	if len(out) == 0 {
		for _, pk := range fallback {
			if ready[pk] {
				out[pk] = true
			}
		}
	}
	return out, nil
}
