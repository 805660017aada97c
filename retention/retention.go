// Package retention is the daemon's housekeeping in the background:
//
//   - every EraseEvery, the caller hash of every call older than the rate
//     limit's window (store.CallerHashWindow) is erased, so a call record
//     keeps it for at most the window plus EraseEvery;
//   - every PurgeEvery (and at start), what the admins' retention settings
//     no longer keep is deleted (store.Tx.Purge: notes, transcripts and
//     voicemails, call records, by the call's age), and so are expired
//     sessions and invites. Each transaction that deletes something appends
//     a "retention.purged" audit entry with counts only.
//
// Login challenges are not stored (auth keeps a bounded memory of used ones
// and prunes it itself), so there is nothing of them to purge here.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"llamenos/hotline"
	"llamenos/store"
)

const (
	// EraseEvery is how often caller hashes past the window are erased.
	EraseEvery = 15 * time.Second
	// PurgeEvery is how often the retention settings are applied.
	PurgeEvery = time.Hour
	// batch is how many calls one purge transaction visits.
	batch = 500
)

// Purger runs the housekeeping. Clock is the time it goes by (the
// hotline's seam, default the real clock: tests pass one they advance by
// hand).
type Purger struct {
	Store *store.Store
	Clock hotline.Clock
	Log   *slog.Logger

	passDone func() // tests: called after each pass
}

// Run works until ctx ends. A failing pass is logged and tried again at the
// next tick: housekeeping never stops the hotline.
func (p *Purger) Run(ctx context.Context) error {
	if p.Clock == nil {
		p.Clock = hotline.RealClock
	}
	tick := make(chan struct{}, 1)
	var lastPurge time.Time
	for {
		now := p.Clock.Now()
		if _, err := p.EraseCallerHashes(ctx, now); err != nil {
			p.Log.Error("retention: erase caller hashes", "err", err)
		}
		if lastPurge.IsZero() || now.Sub(lastPurge) >= PurgeEvery {
			if _, err := p.Purge(ctx, now); err != nil {
				p.Log.Error("retention: purge", "err", err)
			} else {
				lastPurge = now
			}
		}
		t := p.Clock.AfterFunc(EraseEvery, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		if p.passDone != nil {
			p.passDone() // after the next tick is armed
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-tick:
		}
	}
}

// EraseCallerHashes erases the caller hash of every call that started more
// than store.CallerHashWindow before now, and returns how many. It writes
// nothing when there is nothing to erase.
func (p *Purger) EraseCallerHashes(ctx context.Context, now time.Time) (int, error) {
	before := now.Add(-store.CallerHashWindow)
	due, err := store.Read(ctx, p.Store, func(tx *store.Tx) (bool, error) { return tx.HasCallerHashesBefore(before) })
	if err != nil || !due {
		return 0, err
	}
	return store.Write(ctx, p.Store, func(tx *store.Tx) (int, error) { return tx.EraseCallerHashes(before) })
}

// Counts is what one Purge deleted.
type Counts struct {
	store.PurgeCounts
	Sessions, Invites int
}

// Purge applies the retention settings as of now and deletes expired
// sessions and invites.
func (p *Purger) Purge(ctx context.Context, now time.Time) (Counts, error) {
	var total Counts
	settings, err := store.Read(ctx, p.Store, (*store.Tx).Settings)
	if err != nil {
		return total, err
	}
	for more := true; more; {
		err := p.Store.Update(ctx, func(tx *store.Tx) error {
			var c store.PurgeCounts
			var err error
			c, more, err = tx.Purge(now, settings, batch)
			if err != nil || c.Total() == 0 {
				return err
			}
			total.Calls += c.Calls
			total.Notes += c.Notes
			total.Transcripts += c.Transcripts
			total.Voicemails += c.Voicemails
			return audit(tx, Counts{PurgeCounts: c})
		})
		if err != nil {
			return total, fmt.Errorf("retention: purge: %w", err)
		}
	}
	err = p.Store.Update(ctx, func(tx *store.Tx) error {
		s, err := tx.DeleteExpiredSessions(now)
		if err != nil {
			return err
		}
		i, err := tx.DeleteInvitesBefore(now)
		if err != nil {
			return err
		}
		total.Sessions, total.Invites = s, i
		if s+i == 0 {
			return nil
		}
		return audit(tx, Counts{Sessions: s, Invites: i})
	})
	if err != nil {
		return total, fmt.Errorf("retention: purge sessions and invites: %w", err)
	}
	if total.Total()+total.Sessions+total.Invites > 0 {
		p.Log.Info("retention: purged", "calls", total.Calls, "notes", total.Notes, "transcripts", total.Transcripts,
			"voicemails", total.Voicemails, "sessions", total.Sessions, "invites", total.Invites)
	}
	return total, nil
}

// audit records a transaction's deletions as counts, nothing else.
func audit(tx *store.Tx, c Counts) error {
	var subjects []string
	for _, k := range []struct {
		kind string
		n    int
	}{{"calls", c.Calls}, {"notes", c.Notes}, {"transcripts", c.Transcripts}, {"voicemails", c.Voicemails}, {"sessions", c.Sessions}, {"invites", c.Invites}} {
		if k.n > 0 {
			subjects = append(subjects, k.kind+":"+strconv.Itoa(k.n))
		}
	}
	return tx.Audit(store.ActorSystem, "retention.purged", subjects...)
}
