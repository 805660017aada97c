package hotline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ShiftRule is a weekly shift in the hotline's time zone. End at or before
// Start means the shift runs overnight into the next day; End equal to Start
// is a full 24 hours.
type ShiftRule struct {
	ID         string
	Days       []time.Weekday // days the shift starts on
	Start, End string         // "HH:MM", wall clock in the hotline's zone
	Volunteers []string
}

// ShiftOverride changes one date's shifts. The date is the local date a shift
// starts on, so cancelling Friday's overnight shift also clears early Saturday.
type ShiftOverride struct {
	Date       string // YYYY-MM-DD
	RuleID     string // empty: every rule starting that date
	Kind       string // "cancel" or "substitute"
	Volunteers []string
}

// Override kinds.
const (
	OverrideCancel     = "cancel"
	OverrideSubstitute = "substitute"
)

// ParseClock turns "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q must be HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("time %q must be HH:MM between 00:00 and 23:59", s)
	}
	return hh*60 + mm, nil
}

// ValidateShifts checks rules and overrides as an admin submits them.
func ValidateShifts(rules []ShiftRule, overrides []ShiftOverride) error {
	ids := map[string]bool{}
	for i, r := range rules {
		if r.ID == "" || ids[r.ID] {
			return fmt.Errorf("shift %d: id must be set and unique", i+1)
		}
		ids[r.ID] = true
		if len(r.Days) == 0 {
			return fmt.Errorf("shift %q: choose at least one day", r.ID)
		}
		for _, d := range r.Days {
			if d < time.Sunday || d > time.Saturday {
				return fmt.Errorf("shift %q: day %d is not 0 (Sunday) to 6 (Saturday)", r.ID, d)
			}
		}
		if _, err := ParseClock(r.Start); err != nil {
			return fmt.Errorf("shift %q: start: %w", r.ID, err)
		}
		if _, err := ParseClock(r.End); err != nil {
			return fmt.Errorf("shift %q: end: %w", r.ID, err)
		}
	}
	for i, o := range overrides {
		if _, err := time.Parse("2006-01-02", o.Date); err != nil {
			return fmt.Errorf("override %d: date %q must be YYYY-MM-DD", i+1, o.Date)
		}
		if o.RuleID != "" && !ids[o.RuleID] {
			return fmt.Errorf("override %d: no shift with id %q", i+1, o.RuleID)
		}
		switch o.Kind {
		case OverrideCancel:
		case OverrideSubstitute:
			if len(o.Volunteers) == 0 {
				return fmt.Errorf("override %d: a substitution needs volunteers (use cancel to clear a shift)", i+1)
			}
		default:
			return fmt.Errorf("override %d: kind %q must be cancel or substitute", i+1, o.Kind)
		}
	}
	return nil
}

// OnShift returns who is scheduled at now (sorted, unique). Times are read in
// loc, the hotline's IANA zone, as wall-clock minutes, so a shift keeps its
// local hours across daylight-saving changes.
func OnShift(now time.Time, loc *time.Location, rules []ShiftRule, overrides []ShiftOverride) []string {
	local := now.In(loc)
	minute := local.Hour()*60 + local.Minute()
	today := dateOf(local)
	yesterday := dateOf(local.AddDate(0, 0, -1))
	set := map[string]bool{}
	for _, r := range rules {
		start, err1 := ParseClock(r.Start)
		end, err2 := ParseClock(r.End)
		if err1 != nil || err2 != nil {
			continue // validated on write; a bad stored rule schedules nobody
		}
		// Which occurrence (if any) covers now: one that started today, or an
		// overnight one that started yesterday and has not ended yet.
		var startDate string
		switch {
		case start < end && hasDay(r.Days, local.Weekday()) && minute >= start && minute < end:
			startDate = today
		case start >= end && hasDay(r.Days, local.Weekday()) && minute >= start:
			startDate = today
		case start >= end && hasDay(r.Days, local.AddDate(0, 0, -1).Weekday()) && minute < end:
			startDate = yesterday
		default:
			continue
		}
		vols := r.Volunteers
		for _, o := range overrides {
			if o.Date != startDate || (o.RuleID != "" && o.RuleID != r.ID) {
				continue
			}
			if o.Kind == OverrideCancel {
				vols = nil
			} else if o.Kind == OverrideSubstitute {
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

func dateOf(t time.Time) string { return t.Format("2006-01-02") }

func hasDay(days []time.Weekday, d time.Weekday) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}
