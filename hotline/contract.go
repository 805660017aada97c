package hotline

import (
	"errors"
	"time"

	"llamenos/store"
)

// Errors returned to the API for call requests.
var (
	ErrNoCall          = errors.New("hotline: no such call")
	ErrNotRung         = errors.New("hotline: you were not rung for this call")
	ErrAlreadyAnswered = errors.New("hotline: the call was answered by someone else")
)

// ActiveCall is a live call as admins see it.
type ActiveCall struct {
	CallID     string
	State      string
	StartedAt  time.Time
	AnsweredBy string
}

// ScheduledNow lists who is on shift at now, read from the store.
func ScheduledNow(tx *store.Tx, now time.Time) ([]string, error) {
	set, err := tx.Settings()
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(set.TimeZone)
	if err != nil {
		return nil, err
	}
	rules, err := tx.ShiftRules()
	if err != nil {
		return nil, err
	}
	local := now.In(loc)
	overrides, err := tx.ShiftOverrides(local.AddDate(0, 0, -1).Format("2006-01-02"), local.Format("2006-01-02"))
	if err != nil {
		return nil, err
	}
	var rs []ShiftRule
	for _, r := range rules {
		rs = append(rs, ShiftRule{ID: r.ID, Days: r.Days, Start: r.Start, End: r.End, Volunteers: r.Volunteers})
	}
	var os []ShiftOverride
	for _, o := range overrides {
		os = append(os, ShiftOverride{Date: o.Date, RuleID: o.RuleID, Kind: string(o.Kind), Volunteers: o.Volunteers})
	}
	return OnShift(now, loc, rs, os), nil
}
