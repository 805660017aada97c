package hotline

import (
	"fmt"
	"sort"
	"time"

	"llamenos/store"
)

// ScheduledNow lists who is on shift at now by the stored settings, rules
// and overrides. A hotline with no shifts and no fallback group has not set
// up a schedule yet: then every active volunteer counts as on shift, and
// availability alone decides who rings (a fresh install must not silently
// ring nobody).
func ScheduledNow(tx *store.Tx, now time.Time) ([]string, error) {
	set, err := tx.Settings()
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(set.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("hotline: time zone %q: %w", set.TimeZone, err)
	}
	rules, err := tx.ShiftRules()
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		fallback, err := tx.FallbackGroup()
		if err != nil || len(fallback) > 0 {
			return nil, err
		}
		vols, err := tx.Volunteers()
		if err != nil {
			return nil, err
		}
		var all []string
		for _, v := range vols {
			if v.Active {
				all = append(all, v.PubKey)
			}
		}
		sort.Strings(all)
		return all, nil
	}
	local := now.In(loc)
	// An overnight shift that started yesterday is governed by yesterday's
	// overrides.
	overrides, err := tx.ShiftOverrides(dateOf(local.AddDate(0, 0, -1)), dateOf(local))
	if err != nil {
		return nil, err
	}
	return OnShift(now, loc, rules, overrides), nil
}

// OnShift returns who is scheduled at now (sorted, unique). Times are read in
// loc, the hotline's IANA zone, as wall-clock minutes, so a shift keeps its
// local hours across daylight-saving changes. The store validated the rules
// and overrides on write; a stored rule that still fails to parse schedules
// nobody rather than everybody.
func OnShift(now time.Time, loc *time.Location, rules []store.ShiftRule, overrides []store.ShiftOverride) []string {
	local := now.In(loc)
	minute := local.Hour()*60 + local.Minute()
	today := dateOf(local)
	yesterdayT := local.AddDate(0, 0, -1)
	yesterday := dateOf(yesterdayT)
	set := map[string]bool{}
	for _, r := range rules {
		start, err1 := store.ParseClock(r.Start, false)
		end, err2 := store.ParseClock(r.End, true)
		if err1 != nil || err2 != nil || start == end {
			continue
		}
		// Which occurrence (if any) covers now: one that started today, or an
		// overnight one (end before start) that started yesterday and has not
		// ended yet. Llámenos tested only the current weekday, which dropped
		// the early-morning half of overnight shifts.
		var startDate string
		switch {
		case start < end && hasDay(r.Days, local.Weekday()) && minute >= start && minute < end:
			startDate = today
		case start > end && hasDay(r.Days, local.Weekday()) && minute >= start:
			startDate = today
		case start > end && hasDay(r.Days, yesterdayT.Weekday()) && minute < end:
			startDate = yesterday
		default:
			continue
		}
		vols := r.Volunteers
		for _, o := range overrides {
			if o.Date != startDate || (o.RuleID != "" && o.RuleID != r.ID) {
				continue
			}
			switch o.Kind {
			case store.OverrideCancel:
				vols = nil
			case store.OverrideSubstitute:
				vols = o.Volunteers
			}
		}
		for _, v := range vols {
			set[v] = true
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func dateOf(t time.Time) string { return t.Format(time.DateOnly) }

func hasDay(days []time.Weekday, d time.Weekday) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}
