package callstats

import (
	"context"
	"fmt"
	"time"

	"llamenos/store"
)

// The dashboard's windows.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// Dashboard is the last day and the last week of calls.
type Dashboard struct {
	At   time.Time
	Day  Summary
	Week Summary
	// VoicemailTaken says whether the hotline takes voicemail now (this
	// build takes it, and its voicemail mode is not "never"), so a
	// voicemail count of 0 is not read as "nobody left one".
	VoicemailTaken bool
}

// Service computes the dashboard from the stored call records.
type Service struct {
	Store *store.Store
	// VoicemailTaken: this build takes voicemail; each Dashboard also
	// asks the settings' voicemail mode.
	VoicemailTaken bool
	Now            func() time.Time // nil: time.Now
}

// Dashboard reads the calls that started in the last week, in one read
// transaction, and summarises the last day and the last week up to now.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	from := now.Add(-Week)
	var mode store.VoicemailMode
	calls, err := store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.Call, error) {
		set, err := tx.Settings()
		if err != nil {
			return nil, err
		}
		mode = set.VoicemailMode
		var out []store.Call
		cursor := ""
		for {
			page, next, err := tx.ListCalls(store.CallFilter{From: from}, cursor, store.MaxLimit)
			if err != nil {
				return nil, err
			}
			out = append(out, page...)
			if next == "" {
				return out, nil
			}
			cursor = next
		}
	})
	if err != nil {
		return Dashboard{}, fmt.Errorf("callstats: read the week's calls: %w", err)
	}
	return Dashboard{
		At:             now,
		Day:            Summarize(calls, now.Add(-Day), now),
		Week:           Summarize(calls, from, now),
		VoicemailTaken: s.VoicemailTaken && mode != store.VoicemailNever,
	}, nil
}
